"""The momentum explorer: one figure, a kernel form and a kernel-free form.

:class:`ExplorerFigure` is the figure: contours with trajectories (left) and the gaps
:math:`f(x_k) - f^\\star` on a log scale (right). Everything that shows it draws with it:

* :func:`momentum_explorer` -- the kernel form: ipywidgets sliders that rerun SGD with
  momentum (:func:`sgd_path`) and redraw (Binder, Colab, a local Jupyter);
* :func:`momentum_explorer_static` -- the kernel-free form for the HTML book: every frame of a
  grid of slider values drawn in advance and shown by
  :func:`course_lib.viz.slider.precomputed_slider`;
* :func:`optimizer_comparison_static` -- several optimizers on one or more surfaces with a
  slider over the step (kernel-free);
* :func:`lr_momentum_grid` -- a static grid of small panels, the printable stand-in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import ArrayLike

from ..optim import sgd
from ..optim.descent import run
from . import plotting
from .slider import FrameGrabber, precomputed_slider

if TYPE_CHECKING:
    import ipywidgets
    from IPython.display import HTML
    from matplotlib.figure import Figure

    from ..objectives.surfaces import Objective

__all__ = ["ExplorerFigure", "sgd_path", "gap_limits", "momentum_explorer",
           "momentum_explorer_static", "optimizer_comparison_static", "lr_momentum_grid"]

# the title drawn before ``tight_layout`` so that it reserves the room the longest one needs
EXPLORER_TITLE = "η=0.001, μ=0.00  (completed 0 steps)"


def sgd_path(objective: Objective, x0: ArrayLike | None, steps: int, lr: float, momentum: float,
             nesterov: bool) -> Any:
    """SGD with ``momentum`` (Nesterov's when ``nesterov`` and ``momentum > 0``) for ``steps``
    steps from ``x0`` (None: the objective's own): the run every explorer shows."""
    return run(sgd, objective, x0, steps, lr=lr, momentum=momentum,
               nesterov=nesterov and momentum > 0)


def _iterates(path) -> np.ndarray:
    """The iterates of a run (``Trajectory.xs``, ``OptimizeResult.path``) or an array."""
    for name in ("xs", "path"):
        if hasattr(path, name):
            return np.asarray(getattr(path, name))
    return np.asarray(path)


def _gap(path, objective) -> np.ndarray:
    """:math:`f(x_k) - f^\\star` of a run (``Trajectory.values``, ``OptimizeResult.fun_path``),
    floored at 1e-300 (log axes), NaN where not finite."""
    values = path["fun_path"] if isinstance(path, Mapping) else path.values
    gap = np.maximum(np.asarray(values) - objective.minimum, 1e-300)
    return np.where(np.isfinite(gap), gap, np.nan)


def gap_limits(gaps: Iterable[ArrayLike]) -> tuple[float, float]:
    """Fixed log-scale limits for the gap curves of many runs from one start: all the finite
    values, but at most 1e3 times above the starting gap (a diverging run leaves through the
    top) and at most 1e12 times below it (a run that hits the minimum exactly leaves through
    the bottom), so that the runs that converge are not squeezed into a corner."""
    arrays: list[np.ndarray] = [np.asarray(g, dtype=float) for g in gaps]
    finite = np.concatenate([g[np.isfinite(g) & (g > 0)] for g in arrays] + [np.ones(1)])
    starts = [g[0] for g in arrays if g.size and np.isfinite(g[0]) and g[0] > 0]
    start = max(starts) if starts else 1.0
    low = max(float(finite.min()), 1e-12 * start, 1e-300)
    high = min(float(finite.max()), 1e3 * start)
    return low / 3, max(high, 10 * low) * 3


class ExplorerFigure:
    """The explorer's figure, the one definition every explorer draws with: the contours with
    the trajectories (left) and the gaps :math:`f(x_k) - f^\\star` on a log scale (right),
    with a title.

    The contours are drawn once; :meth:`draw` (one run, the momentum explorer) and
    :meth:`draw_runs` (several runs up to a step, the optimizer comparison) replace only the
    trajectories, the curves and the title, so a kernel-free form renders many frames from
    one figure (``self.artists`` are what changed, for
    :class:`~course_lib.viz.slider.FrameGrabber`). With ``gap_limits=(low, high)`` and
    ``steps`` the gap axes stay fixed (frames are comparable); otherwise they rescale to each
    run. ``pyplot=False`` makes a figure that pyplot does not manage (never shown by
    ``plt.show()``, nothing to close). ``title`` reserves the room of the longest title.
    """

    def __init__(self, objective, *, figsize=(9, 3.8), dpi: float | None = None,
                 gap_limits: tuple[float, float] | None = None, steps: int | None = None,
                 pyplot: bool = True, title: str = EXPLORER_TITLE):
        self.objective = objective
        if pyplot:
            self.fig, (self.ax_path, self.ax_gap) = plt.subplots(1, 2, figsize=figsize, dpi=dpi)
        else:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            self.fig = Figure(figsize=figsize, dpi=dpi)
            FigureCanvasAgg(self.fig)
            self.ax_path, self.ax_gap = self.fig.subplots(1, 2)
        plotting.contour(objective, self.ax_path)
        self.ax_gap.set_xlabel("step")
        self.ax_gap.set_ylabel("$f(x_k) - f^\\star$")
        self.ax_gap.set_yscale("log")
        self.ax_gap.grid(alpha=0.3)
        self.fixed = gap_limits is not None
        if gap_limits is not None:              # i.e. self.fixed
            self.ax_gap.set_ylim(*gap_limits)
            self.ax_gap.set_xlim(0, steps if steps else 1)
        self.title = self.fig.suptitle(title, fontsize=9)
        self.fig.tight_layout()
        self.title.set_text("")
        self.artists: list = []   # what the last draw changed; the title is the last one

    def _replace(self, title: str) -> int:
        for artist in self.artists[:-1]:
            artist.remove()
        self.title.set_text(title)
        return len(self.ax_path.lines)

    def _drawn(self, before: int, extra: list):
        self.artists = self.ax_path.lines[before:] + extra + [self.title]
        if not self.fixed:
            self.ax_gap.relim()
            self.ax_gap.autoscale_view()
            self.fig.tight_layout()
        return self.fig

    def draw(self, path: Any, *, lr: float, momentum: float) -> Figure:
        """Show one run ``path`` of SGD with learning rate ``lr`` and ``momentum``."""
        before = self._replace(f"η={lr:.3g}, μ={momentum:.2f}  ({path.message})")
        plotting.trajectory(self.ax_path, path, color="tab:red")
        (curve,) = self.ax_gap.plot(_gap(path, self.objective), color="tab:red")
        return self._drawn(before, [curve])

    def draw_runs(self, paths: Mapping[str, Any], *, upto: int | None = None,
                  title: str = "") -> Figure:
        """Show the runs ``{label: path}`` up to step ``upto`` (all steps by default), each in
        a colour of :data:`course_lib.viz.plotting.COLORS`, with a legend and the last gap
        marked."""
        before = self._replace(title)
        end = None if upto is None else upto + 1
        curves = []
        for i, (label, path) in enumerate(paths.items()):
            color = plotting.COLORS[i % len(plotting.COLORS)]
            plotting.trajectory(self.ax_path, _iterates(path)[:end], label=label, color=color,
                                markersize=1.5)
            shown = _gap(path, self.objective)[:end]
            (curve,) = self.ax_gap.plot(np.arange(len(shown)), shown, color=color, lw=1.4,
                                        marker="o", markersize=3, markevery=[len(shown) - 1])
            curves.append(curve)
        legend = self.ax_path.legend(loc="best", fontsize=8, framealpha=0.85)
        return self._drawn(before, curves + [legend])


def lr_momentum_grid(objective: Objective, lrs: Sequence[float], momenta: Sequence[float], *,
                     x0: ArrayLike | None = None, steps: int = 60, nesterov: bool = False,
                     panel_size: float = 2.6) -> Figure:
    """Static small multiples: one contour panel per (learning rate, momentum) pair, with the
    final gap :math:`f(x_k) - f^\\star` in each title. Returns the figure."""
    fig, axes = plt.subplots(len(momenta), len(lrs), squeeze=False,
                             figsize=(panel_size * len(lrs), panel_size * len(momenta)),
                             sharex=True, sharey=True)
    for i, mu in enumerate(momenta):
        for j, lr in enumerate(lrs):
            ax = axes[i, j]
            path = sgd_path(objective, x0, steps, lr, mu, nesterov)
            plotting.contour(objective, ax, levels=20, resolution=120)
            plotting.trajectory(ax, path, color="tab:red", markersize=1.5)
            gap = path.values[-1] - objective.minimum
            status = "diverged" if path.diverged or not np.isfinite(gap) else f"gap {gap:.1e}"
            ax.set_title(f"η={lr:g}, μ={mu:g}\n{status}", fontsize=8)
            ax.set_xlabel("")
            ax.set_ylabel("")
    fig.tight_layout()
    return fig


def momentum_explorer(objective: Objective, *, x0: ArrayLike | None = None, steps: int = 60,
                      lr: tuple[float, float, float] = (1e-3, 1.0, 0.05),
                      momentum: tuple[float, float, float] = (0.0, 0.99, 0.5),
                      nesterov: bool = False) -> ipywidgets.VBox:
    """The kernel form: sliders for the learning rate (log scale) and momentum, and a
    Nesterov switch, over an :class:`ExplorerFigure` redrawn at every change.

    ``lr = (min, max, initial)`` and ``momentum = (min, max, initial)``. Returns an
    ``ipywidgets.VBox``; display it in a notebook running a kernel.
    """
    import ipywidgets as w

    lr_slider = w.FloatLogSlider(value=lr[2], base=10, min=np.log10(lr[0]), max=np.log10(lr[1]),
                                 step=0.05, description="learning rate", readout_format=".3g",
                                 continuous_update=False)
    mu_slider = w.FloatSlider(value=momentum[2], min=momentum[0], max=momentum[1], step=0.01,
                              description="momentum", continuous_update=False)
    nest_box = w.Checkbox(value=nesterov, description="Nesterov")
    out = w.Output()

    def redraw(*_):
        path = sgd_path(objective, x0, steps, lr_slider.value, mu_slider.value, nest_box.value)
        with out:
            out.clear_output(wait=True)
            ExplorerFigure(objective).draw(path, lr=lr_slider.value, momentum=mu_slider.value)
            plt.show()

    for control in (lr_slider, mu_slider, nest_box):
        control.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox([lr_slider, mu_slider, nest_box]), out])


def momentum_explorer_static(objective: Objective, lrs: Sequence[float], momenta: Sequence[float],
                             *, x0: ArrayLike | None = None, steps: int = 60,
                             nesterov: bool | Sequence[bool] = False, initial: tuple | None = None,
                             dpi: float = 72, fmt: str = "webp", title: str | None = None) -> HTML:
    """The kernel-free form of :func:`momentum_explorer` for the HTML book: sliders over the
    learning rates ``lrs`` and the momenta ``momenta`` (and, with ``nesterov=(False, True)``,
    a third one for the Nesterov switch); every frame is drawn in advance by the same
    :class:`ExplorerFigure` from :func:`sgd_path`, with the gap axes fixed across frames so
    that they compare. ``initial``: the ``(lr, momentum[, nesterov])`` shown first.
    Returns ``IPython.display.HTML``.
    """
    switch = isinstance(nesterov, (list, tuple))
    variants = list(nesterov) if isinstance(nesterov, (list, tuple)) else [bool(nesterov)]
    paths = {(lr, mu, nag): sgd_path(objective, x0, steps, lr, mu, nag)
             for lr in lrs for mu in momenta for nag in variants}
    figure = ExplorerFigure(objective, dpi=dpi, steps=steps, pyplot=False,
                            gap_limits=gap_limits(_gap(p, objective) for p in paths.values()))
    grabber = FrameGrabber(figure.fig)
    frames = {}
    for (lr, mu, nag), path in paths.items():
        figure.draw(path, lr=lr, momentum=mu)
        if nag and mu > 0:
            figure.title.set_text(figure.title.get_text().replace(",", ", Nesterov,", 1))
        frames[(lr, mu, nag) if switch else (lr, mu)] = grabber.grab(figure.artists)
    sliders: list[tuple[str, list]] = [
        ("learning rate η", list(lrs)),
        ("momentum μ" + (" (Nesterov)" if nesterov is True else ""), list(momenta))]
    if switch:
        sliders.append(("Nesterov", variants))
    return precomputed_slider(frames, sliders, initial=initial, title=title, fmt=fmt,
                              alt="Contour plot with the trajectory of SGD with momentum, and "
                                  "the gap to the minimum per step")


def optimizer_comparison_static(objectives: Objective | Mapping[str, Objective],
                                optimizers: Mapping, *, steps: int = 100, frames: int = 21,
                                x0: ArrayLike | None = None, overrides: Mapping | None = None,
                                dpi: float = 72, fmt: str = "webp",
                                figsize: tuple[float, float] = (9, 3.8),
                                title: str | None = None) -> HTML:
    """Several optimizers on one or more test surfaces, with a slider over the step ``k``
    (kernel-free).

    Parameters
    ----------
    objectives : a 2-D objective, or ``{name: objective}`` (then a "surface" slider too).
    optimizers : ``{label: (rule, hyperparameters)}``, e.g.
        ``{"SGD": (optim.sgd, {"lr": 0.01}), "Adam": (optim.adam, {"lr": 0.1})}``; each runs
        with :func:`course_lib.optim.descent.run` for ``steps`` steps from ``x0`` (default: the
        objective's own).
    overrides : ``{surface name: {label: {hyperparameter: value}}}`` for surface-specific
        settings (a learning rate that suits each surface).
    frames : how many values of ``k`` the step slider has (0 to ``steps``).

    Each frame is :meth:`ExplorerFigure.draw_runs` up to step ``k``: the contours with every
    trajectory (left) and the gaps :math:`f(x_i) - f^\\star`, :math:`i \\le k`, on a log scale
    with axes fixed across frames (right). Returns ``IPython.display.HTML``.
    """
    if not isinstance(objectives, Mapping):
        objectives = {getattr(objectives, "name", type(objectives).__name__): objectives}
    overrides = overrides or {}
    ks = sorted({int(round(k)) for k in np.linspace(0, steps, frames)})
    images = {}
    for name, objective in objectives.items():
        paths = {}
        for label, (rule, hyper) in optimizers.items():
            settings = dict(hyper, **overrides.get(name, {}).get(label, {}))
            paths[label] = run(rule, objective, x0, steps, **settings)
        figure = ExplorerFigure(
            objective, figsize=figsize, dpi=dpi, steps=steps, pyplot=False,
            gap_limits=gap_limits(_gap(p, objective) for p in paths.values()),
            title=f"{name}: step k = {steps}")
        grabber = FrameGrabber(figure.fig)
        for k in ks:
            figure.draw_runs(paths, upto=k, title=f"{name}: step k = {k}")
            images[(name, k) if len(objectives) > 1 else k] = grabber.grab(figure.artists)
    sliders: list[tuple[str, list]] = [("surface", list(objectives))] if len(objectives) > 1 else []
    sliders.append(("step k", ks))
    return precomputed_slider(images, sliders, title=title, fmt=fmt,
                              alt="Trajectories of several optimizers on a test surface, and "
                                  "their gaps to the minimum, up to step k")
