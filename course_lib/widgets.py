"""Interactive explorers (ipywidgets) and their static stand-ins for the HTML book.

A widget needs a running kernel (Binder, Colab, a local Jupyter). The published HTML has
none, so each explorer comes with a function that draws a static grid of the same figure
over a few slider values; notebooks display both.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import plotting
from .descent import run
from .optim import sgd

__all__ = ["momentum_explorer", "lr_momentum_grid"]


def _path(objective, x0, steps, lr, momentum, nesterov):
    return run(sgd, objective, x0, steps, lr=lr, momentum=momentum,
               nesterov=nesterov and momentum > 0)


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
            fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.8))
            plotting.contour(objective, ax1)
            plotting.trajectory(ax1, path, color="tab:red")
            gap = np.maximum(path.values - objective.minimum, 1e-300)
            ax2.semilogy(gap, color="tab:red")
            ax2.set_xlabel("step")
            ax2.set_ylabel("$f(x_k) - f^\\star$")
            ax2.grid(alpha=0.3)
            fig.suptitle(f"η={lr_slider.value:.3g}, μ={mu_slider.value:.2f}  ({path.message})",
                         fontsize=9)
            fig.tight_layout()
            plt.show()

    for control in (lr_slider, mu_slider, nest_box):
        control.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox([lr_slider, mu_slider, nest_box]), out])
