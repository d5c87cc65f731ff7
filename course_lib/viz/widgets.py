"""Interactive explorers (ipywidgets) and their static stand-ins for the HTML book.

A widget needs a running kernel (Binder, Colab, a local Jupyter). The published HTML has
none, so each explorer comes with a function that draws a static grid of the same figure
over a few slider values, and :mod:`course_lib.static_widgets` turns the same figure into
kernel-free sliders over precomputed frames; notebooks display the widget and a stand-in.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import plotting
from .descent import run
from .optim import sgd

__all__ = ["momentum_explorer", "lr_momentum_grid", "ExplorerFigure"]


def _path(objective, x0, steps, lr, momentum, nesterov):
    return run(sgd, objective, x0, steps, lr=lr, momentum=momentum,
               nesterov=nesterov and momentum > 0)


class ExplorerFigure:
    """The momentum explorer's figure, the one definition both explorers draw with: the
    contours with the trajectory (left) and the gap :math:`f(x_k) - f^\\star` on a log scale
    (right), titled with the hyperparameters and how the run ended.

    The contours are drawn once and :meth:`draw` replaces only the trajectory, the curve and
    the title, so the kernel-free explorer
    (:func:`course_lib.static_widgets.momentum_explorer_static`) renders many frames from one
    figure. With ``gap_limits=(low, high)`` and ``steps`` the gap axes stay fixed (frames are
    comparable); otherwise they rescale to each run. ``pyplot=False`` makes a figure that
    pyplot does not manage (never shown by ``plt.show()``, nothing to close).
    """

    def __init__(self, objective, *, figsize=(9, 3.8), dpi=None, gap_limits=None,
                 steps: int | None = None, pyplot: bool = True):
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
        if self.fixed:
            self.ax_gap.set_ylim(*gap_limits)
            self.ax_gap.set_xlim(0, steps if steps else 1)
        self.title = self.fig.suptitle("η=0.001, μ=0.00  (completed 0 steps)", fontsize=9)
        self.fig.tight_layout()
        self.title.set_text("")
        self.artists = []   # what draw() changes: trajectory, gap curve, title

    def draw(self, path, *, lr, momentum):
        """Show the trajectory ``path`` run with learning rate ``lr`` and ``momentum``."""
        for artist in self.artists[:-1]:
            artist.remove()
        before = len(self.ax_path.lines)
        plotting.trajectory(self.ax_path, path, color="tab:red")
        gap = np.maximum(path.values - self.objective.minimum, 1e-300)
        gap = np.where(np.isfinite(gap), gap, np.nan)
        (curve,) = self.ax_gap.plot(gap, color="tab:red")
        self.title.set_text(f"η={lr:.3g}, μ={momentum:.2f}  ({path.message})")
        self.artists = self.ax_path.lines[before:] + [curve, self.title]
        if not self.fixed:
            self.ax_gap.relim()
            self.ax_gap.autoscale_view()
            self.fig.tight_layout()
        return self.fig


def lr_momentum_grid(objective, lrs, momenta, *, x0=None, steps: int = 60,
                     nesterov: bool = False, panel_size: float = 2.6):
    """Static small multiples: one contour panel per (learning rate, momentum) pair, with the
    final gap :math:`f(x_k) - f^\\star` in each title. Returns the figure."""
    fig, axes = plt.subplots(len(momenta), len(lrs), squeeze=False,
                             figsize=(panel_size * len(lrs), panel_size * len(momenta)),
                             sharex=True, sharey=True)
    for i, mu in enumerate(momenta):
        for j, lr in enumerate(lrs):
            ax = axes[i, j]
            path = _path(objective, x0, steps, lr, mu, nesterov)
            plotting.contour(objective, ax, levels=20, resolution=120)
            plotting.trajectory(ax, path, color="tab:red", markersize=1.5)
            gap = path.values[-1] - objective.minimum
            status = "diverged" if path.diverged or not np.isfinite(gap) else f"gap {gap:.1e}"
            ax.set_title(f"η={lr:g}, μ={mu:g}\n{status}", fontsize=8)
            ax.set_xlabel("")
            ax.set_ylabel("")
    fig.tight_layout()
    return fig


def momentum_explorer(objective, *, x0=None, steps: int = 60, lr=(1e-3, 1.0, 0.05),
                      momentum=(0.0, 0.99, 0.5), nesterov: bool = False):
    """Sliders for the learning rate (log scale) and momentum over a contour plot.

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
        path = _path(objective, x0, steps, lr_slider.value, mu_slider.value, nest_box.value)
        with out:
            out.clear_output(wait=True)
            ExplorerFigure(objective).draw(path, lr=lr_slider.value, momentum=mu_slider.value)
            plt.show()

    for control in (lr_slider, mu_slider, nest_box):
        control.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox([lr_slider, mu_slider, nest_box]), out])
