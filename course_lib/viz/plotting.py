"""The book's figures: contours of test objectives, trajectories, loss curves, animations.

All functions draw on a Matplotlib ``Axes`` (created if not given) and return it, so a
notebook can compose panels and add its own caption-worthy annotations.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation

from .slider import frames_player

__all__ = ["contour", "trajectory", "plot_trajectories", "loss_curves", "animate_trajectories",
           "animation_html", "grid_values", "iterates"]

COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def grid_values(objective, bounds=None, resolution: int = 200):
    """``(X, Y, Z)`` meshgrid arrays of a 2-D objective over ``bounds`` (default its own)."""
    if objective.dim != 2:
        raise ValueError(f"contour plots need a 2-D objective, got dim={objective.dim}")
    (x0, x1), (y0, y1) = bounds if bounds is not None else objective.bounds
    X, Y = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    Z = objective.value(np.stack([X, Y], axis=-1))
    return X, Y, Z


def contour(objective, ax=None, *, bounds=None, levels: int = 30, log: bool = True,
            resolution: int = 200, filled: bool = True, show_minimizers: bool = True,
            cmap: str = "viridis"):
    """Contour plot of a 2-D objective. With ``log=True`` the levels are spaced in
    :math:`\\log(f - f_{\\min} + \\text{shift})` so narrow valleys and wide plateaus both show."""
    ax = ax or plt.gca()
    X, Y, Z = grid_values(objective, bounds, resolution)
    if log:
        shift = max(1e-3 * float(np.ptp(Z)), 1e-12)
        Zp = np.log(Z - Z.min() + shift)
    else:
        Zp = Z
    draw = ax.contourf if filled else ax.contour
    draw(X, Y, Zp, levels=levels, cmap=cmap, alpha=0.75 if filled else 1.0)
    if filled:
        ax.contour(X, Y, Zp, levels=levels, colors="k", linewidths=0.3, alpha=0.4)
    if show_minimizers:
        for m in objective.minimizers:
            ax.plot(*m, marker="*", color="white", markeredgecolor="k", markersize=13, zorder=5)
    ax.set_xlim(X.min(), X.max())
    ax.set_ylim(Y.min(), Y.max())
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax


def iterates(path) -> np.ndarray:
    """The iterates of ``path`` as an array (k + 1, n): the ``path`` field of an
    :class:`~course_lib.result.OptimizeResult` (what :func:`course_lib.second_order.minimize`
    and :func:`course_lib.optim.descent.run` return), or ``path`` itself as an array."""
    if isinstance(path, dict) and "path" in path:
        path = path["path"]
    elif not isinstance(path, np.ndarray) and hasattr(path, "xs"):
        path = path.xs                  # any other object with iterates ``xs`` (0.1's Trajectory)
    return np.asarray(path)


def trajectory(ax, path, label: str | None = None, color=None, marker: str = "o",
               markersize: float = 2.5, **kwargs):
    """Draw the iterates ``path`` (an :class:`~course_lib.result.OptimizeResult`, e.g. a
    :class:`~course_lib.optim.descent.Trajectory`, or an array (k, 2)) as a polyline with its
    start circled."""
    xs = iterates(path)
    (line,) = ax.plot(xs[:, 0], xs[:, 1], marker=marker, markersize=markersize, lw=1.3,
                      label=label, color=color, **kwargs)
    ax.plot(*xs[0], marker="o", markersize=7, markerfacecolor="none",
            markeredgecolor=line.get_color())
    return line


def plot_trajectories(objective, paths: dict, ax=None, *, title: str | None = None,
                      legend: bool = True, **contour_kwargs):
    """Contours of ``objective`` with one trajectory per entry of ``{label: path}`` (a result
    with a ``path`` field or an array, see :func:`iterates`)."""
    ax = contour(objective, ax, **contour_kwargs)
    for i, (label, path) in enumerate(paths.items()):
        trajectory(ax, path, label=label, color=COLORS[i % len(COLORS)])
    if title:
        ax.set_title(title)
    if legend and paths:
        ax.legend(loc="best", fontsize=8, framealpha=0.85)
    return ax


def loss_curves(curves: dict, ax=None, *, log: bool = True, xlabel: str = "step",
                ylabel: str = "loss", minimum: float | None = None):
    """One line per ``{label: values}``; with ``minimum`` the gap :math:`f - f^\\star` is drawn.
    A value may be an :class:`~course_lib.result.OptimizeResult` (its ``fun_path`` is drawn)."""
    ax = ax or plt.gca()
    for i, (label, values) in enumerate(curves.items()):
        if isinstance(values, dict) and "fun_path" in values:
            values = values["fun_path"]
        v = np.asarray(values, dtype=float)
        if minimum is not None:
            v = v - minimum
        ax.plot(np.arange(len(v)), v, label=label, color=COLORS[i % len(COLORS)], lw=1.4)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel if minimum is None else f"{ylabel} $- f^\\star$")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def animate_trajectories(objective, paths: dict, *, frames: int = 40, interval: int = 100,
                         figsize=(5.5, 4.5), dpi: int = 72, title: str | None = None,
                         **contour_kwargs):
    """A ``FuncAnimation`` that draws the trajectories step by step over the contours;
    ``paths`` maps labels to results or arrays, as in :func:`plot_trajectories`.

    Show it in a notebook with :func:`animation_html`: the frames are embedded in the page,
    so the animation plays in the static HTML book without a kernel. The figure is closed
    so it is not displayed a second time.
    """
    fig, ax = plt.subplots(figsize=figsize, dpi=dpi)
    contour(objective, ax, **contour_kwargs)
    lines, heads = [], []
    arrays = {label: iterates(p) for label, p in paths.items()}
    for i, label in enumerate(arrays):
        color = COLORS[i % len(COLORS)]
        (line,) = ax.plot([], [], lw=1.5, color=color, label=label)
        (head,) = ax.plot([], [], "o", color=color, markersize=6)
        lines.append(line)
        heads.append(head)
    ax.legend(loc="upper right", fontsize=8)
    if title:
        ax.set_title(title)
    longest = max(len(a) for a in arrays.values())
    frame_steps = np.unique(np.linspace(1, longest, frames).astype(int))

    def draw(k):
        for line, head, xs in zip(lines, heads, arrays.values()):
            upto = xs[: min(k, len(xs))]
            line.set_data(upto[:, 0], upto[:, 1])
            head.set_data(upto[-1:, 0], upto[-1:, 1])
        return lines + heads

    anim = animation.FuncAnimation(fig, draw, frames=frame_steps, interval=interval, blit=True)
    plt.close(fig)
    return anim


class _CollectFrames(animation.AbstractMovieWriter):
    """A movie writer that keeps each frame's pixels instead of writing a file."""

    def __init__(self) -> None:
        super().__init__(fps=10)
        self.frames: list[np.ndarray] = []

    def setup(self, fig, outfile, dpi=None):
        super().setup(fig, outfile, dpi)

    def grab_frame(self, **savefig_kwargs):
        import io

        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="rgba", dpi=self.dpi, facecolor="white")
        width, height = self.fig.canvas.get_width_height(physical=True)
        pixels = np.frombuffer(buffer.getvalue(), np.uint8)
        self.frames.append(pixels.reshape(height, width, 4)[..., :3].copy())

    def finish(self):
        pass


def animation_html(anim, *, alt: str = "", title: str | None = None):
    """An ``IPython.display.HTML`` player for ``anim`` (a Matplotlib animation) that plays in
    the static HTML book without a kernel: a frame slider and a play button
    (:func:`course_lib.viz.slider.frames_player`). The frames are stored as transparent
    layers over one key image, so a 40-frame animation weighs about as much as three whole
    frames. ``alt`` describes what the animation shows, for readers who cannot see it."""
    writer = _CollectFrames()
    anim.save("unused.frames", writer=writer, dpi=anim._fig.dpi)
    return frames_player(writer.frames, interval=int(getattr(anim, "_interval", 100)),
                         alt=alt, title=title, label="step")
