"""Figures: the book's plots, explorers (with and without a kernel) and loss-landscape slices.

* :mod:`~course_lib.viz.plotting` -- contour plots of paths, loss curves, animations;
* :mod:`~course_lib.viz.slider` -- the generic kernel-free figure: sliders over precomputed
  frames (:func:`~course_lib.viz.slider.precomputed_slider`), used by the explorer and the
  animations;
* :mod:`~course_lib.viz.explorer` -- the momentum explorer: one figure, its kernel form
  (ipywidgets) and its kernel-free form (precomputed frames), and the optimizer comparison;
* :mod:`~course_lib.viz.landscape` -- filter-normalized loss-landscape slices of torch models;
* :mod:`~course_lib.viz.widgets`, :mod:`~course_lib.viz.static_widgets` -- the 0.1 names of
  the last two, re-exported for one release.
"""
