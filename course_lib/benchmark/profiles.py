r"""Dolan--Moré performance profiles: one picture of many methods over many problems.

For methods :math:`s` and problems :math:`p` with costs :math:`t_{p,s} > 0` (steps or seconds
to reach the target; ``inf`` when the method never reaches it), the *performance ratio* is

.. math::

    r_{p,s} = \frac{t_{p,s}}{\min_{s'} t_{p,s'}},

and the profile of method :math:`s` is the fraction of problems it solves within a factor
:math:`\tau` of the best method,

.. math::

    \rho_s(\tau) = \frac{1}{n_p}\,\bigl|\{p : r_{p,s} \le \tau\}\bigr| .

:math:`\rho_s(1)` is the fraction of problems on which :math:`s` is (one of) the fastest;
:math:`\lim_{\tau\to\infty}\rho_s(\tau)` is the fraction it solves at all. A problem that no
method solves has every ratio ``inf`` (Dolan & Moré 2002).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..validation import invalid

__all__ = ["PerformanceProfile", "performance_ratios", "performance_profile"]


def performance_ratios(costs) -> np.ndarray:
    """The ratios :math:`r_{p,s}` of a cost array of shape (problems, methods).

    Costs must be positive (``inf`` = not solved, ``nan`` is not allowed)."""
    t = np.asarray(costs, dtype=float)
    if t.ndim != 2 or t.shape[0] < 1 or t.shape[1] < 1:
        raise invalid("costs", f"an array of shape {t.shape}",
                      "a 2-D array (problems, methods)")
    if np.isnan(t).any() or (t <= 0).any():
        raise invalid("costs", t.tolist(), "positive numbers or inf (not solved)")
    best = t.min(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        ratios = t / best
    ratios[~np.isfinite(best[:, 0])] = math.inf       # nobody solved the problem
    return ratios


@dataclass(frozen=True)
class PerformanceProfile:
    """``ratios[p, s]``; :meth:`rho` evaluates :math:`\\rho_s(\\tau)`."""

    methods: tuple
    problems: tuple
    ratios: np.ndarray

    def rho(self, tau) -> np.ndarray:
        """:math:`\\rho_s(\\tau)` for every method; shape ``(len(tau), n_methods)`` for an
        array ``tau``, ``(n_methods,)`` for a number."""
        taus = np.asarray(tau, dtype=float)
        out = (self.ratios[None, :, :] <= taus.reshape(-1, 1, 1)).mean(axis=1)
        return out.reshape(taus.shape + (len(self.methods),))

    def steps(self) -> tuple[np.ndarray, np.ndarray]:
        """The breakpoints of the step functions: the sorted finite ratios (with 1) and the
        profile at each of them, shape ``(n_breaks, n_methods)``."""
        finite = self.ratios[np.isfinite(self.ratios)]
        taus = np.unique(np.concatenate([[1.0], finite]))
        return taus, self.rho(taus)

    def solved(self) -> np.ndarray:
        """:math:`\\rho_s(\\infty)`: the fraction of problems each method solves."""
        return np.isfinite(self.ratios).mean(axis=0)

    def table(self, taus=(1.0, 2.0, 4.0, math.inf)) -> str:
        """A Markdown table of :math:`\\rho_s(\\tau)` at the given ``taus``."""
        header = "| method | " + " | ".join(
            "τ = ∞" if math.isinf(t) else f"τ = {t:g}" for t in taus) + " |"
        lines = [header, "|---" * (len(taus) + 1) + "|"]
        values = np.stack([self.solved() if math.isinf(t) else self.rho(t) for t in taus])
        for j, name in enumerate(self.methods):
            lines.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in values[:, j]) + " |")
        return "\n".join(lines)


def performance_profile(costs, methods=None, problems=None) -> PerformanceProfile:
    """The profile of a cost table.

    ``costs`` is either an array of shape (problems, methods), or a dict
    ``{method: {problem: cost}}`` (every method must report every problem).
    """
    if isinstance(costs, dict):
        methods = tuple(costs) if methods is None else tuple(methods)
        if not methods:
            raise invalid("costs", costs, "at least one method")
        first = costs[methods[0]]
        problems = tuple(first) if problems is None else tuple(problems)
        for m in methods:
            missing = set(problems) - set(costs[m])
            if missing:
                raise invalid("costs", f"method {m!r} without {sorted(missing)}",
                              "a cost for every method and problem")
        array = np.array([[costs[m][p] for m in methods] for p in problems], dtype=float)
    else:
        array = np.asarray(costs, dtype=float)
        if array.ndim != 2:
            raise invalid("costs", f"an array of shape {array.shape}",
                          "a 2-D array (problems, methods)")
        methods = tuple(methods) if methods is not None else tuple(
            f"method {j}" for j in range(array.shape[1]))
        problems = tuple(problems) if problems is not None else tuple(
            f"problem {i}" for i in range(array.shape[0]))
    if array.shape != (len(problems), len(methods)):
        raise invalid("costs", f"an array of shape {array.shape}",
                      f"shape ({len(problems)}, {len(methods)})")
    return PerformanceProfile(methods, problems, performance_ratios(array))
