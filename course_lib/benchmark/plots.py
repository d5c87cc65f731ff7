"""Figures of a benchmark, drawn on matplotlib axes the caller makes (this package does not
import matplotlib): performance profiles, tuning scatter with the searched range, curves."""

from __future__ import annotations

import math

import numpy as np

from .profiles import PerformanceProfile

__all__ = ["plot_profile", "plot_tuning", "plot_curves", "COLORS"]

#: Okabe--Ito colours (colour-blind safe), one per method in order.
COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442",
          "#000000")
_STYLES = ("-", "--", "-.", ":")


def plot_profile(ax, profile: PerformanceProfile, *, tau_max: float | None = None,
                 labels=None, title: str | None = None):
    """Step plots of :math:`\\rho_s(\\tau)` on a log-scaled τ axis."""
    taus, rho = profile.steps()
    top = tau_max or max(2.0, float(taus.max()) * 1.5)
    taus = np.append(taus, top)
    rho = np.vstack([rho, profile.rho(top)])
    for j, name in enumerate(profile.methods):
        ax.step(taus, rho[:, j], where="post", color=COLORS[j % len(COLORS)],
                ls=_STYLES[j % len(_STYLES)], lw=1.8,
                label=labels[j] if labels else name)
    ax.set(xscale="log", xlim=(1, top), ylim=(-0.02, 1.02), xlabel="τ (within a factor τ "
           "of the best)", ylabel="fraction of workloads  ρ(τ)")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    return ax


def plot_tuning(ax, values, scores, *, low: float, high: float, chosen: float | None = None,
                log: bool = True, color: str = COLORS[0], label: str | None = None,
                marker: str = "o"):
    """The score of every tuning trial against one hyperparameter, with the searched range
    shaded and the chosen value marked."""
    values, scores = np.asarray(values, float), np.asarray(scores, float)
    ax.axvspan(low, high, color="0.92", zorder=0)
    ax.scatter(values, scores, color=color, s=22, marker=marker, label=label, zorder=3)
    if chosen is not None:
        ax.axvline(chosen, color=color, ls=":", lw=1.2)
    if log:
        ax.set_xscale("log")
    ax.grid(alpha=0.3)
    return ax


def plot_curves(ax, records, *, color: str = COLORS[0], label: str | None = None,
                seconds: bool = False, target: float | None = None):
    """Validation curves of the given trial records (one line each, the first labelled)."""
    for i, r in enumerate(records):
        curve = np.array([[s, t, math.inf if m is None else m] for s, t, m in r["curve"]])
        x = curve[:, 1] if seconds else curve[:, 0]
        ax.plot(x, curve[:, 2], color=color, lw=1.2, alpha=0.8,
                label=label if i == 0 else None)
    if target is not None:
        ax.axhline(target, color="0.3", ls="--", lw=1)
    ax.set_xlabel("training seconds" if seconds else "step")
    ax.grid(alpha=0.3)
    return ax
