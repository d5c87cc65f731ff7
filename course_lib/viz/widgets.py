"""0.1 home of the momentum explorer, now :mod:`course_lib.viz.explorer` (one figure with
its kernel and kernel-free forms); these names are re-exported for one release."""

from .explorer import ExplorerFigure, lr_momentum_grid, momentum_explorer

__all__ = ["momentum_explorer", "lr_momentum_grid", "ExplorerFigure"]
