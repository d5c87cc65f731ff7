"""0.1 home of the kernel-free figures, now in :mod:`course_lib.viz.slider` (the generic
precomputed slider) and :mod:`course_lib.viz.explorer` (the explorer's kernel-free forms);
these names are re-exported for one release."""

from .explorer import momentum_explorer_static, optimizer_comparison_static
from .slider import figure_bytes, figure_pixels, frames_player, precomputed_slider

__all__ = ["precomputed_slider", "frames_player", "momentum_explorer_static",
           "optimizer_comparison_static", "figure_bytes", "figure_pixels"]
