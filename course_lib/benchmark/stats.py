r"""Repetition over seeds: mean, spread, a t confidence interval, and an honest comparison.

A training run is a random variable (initialization, minibatch order, and on another CPU the
rounding). One run per method says little; :func:`summarize` reports what :math:`n \ge 2`
seeds say about the mean outcome,

.. math::

    \bar x \pm t_{1-\alpha/2,\,n-1}\, \frac{s}{\sqrt n},

Student's t interval with the sample standard deviation :math:`s` (``ddof=1``), computed with
``scipy.stats.t.interval``. :func:`compare` calls two methods *not distinguishable* when their
intervals overlap -- a deliberately conservative rule (non-overlap implies a significant
difference of the means at roughly the interval's level; overlap does not prove equality, it
only refuses to claim a ranking).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..validation import invalid

__all__ = ["Summary", "summarize", "Comparison", "compare", "NOT_DISTINGUISHABLE", "MIN_SEEDS"]

#: The fewest seeds a final configuration is run with in the benchmark.
MIN_SEEDS = 3
NOT_DISTINGUISHABLE = "not distinguishable"


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation (ddof=1) and t confidence interval of ``values``."""

    values: tuple
    mean: float
    std: float
    low: float
    high: float
    confidence: float

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def __str__(self) -> str:
        return (f"{self.mean:.4g} ± {self.half_width:.2g} "
                f"({100 * self.confidence:g}% CI, n={self.n})")


def summarize(values, confidence: float = 0.95) -> Summary:
    """The :class:`Summary` of finite ``values`` (at least 2 of them).

    The interval is ``scipy.stats.t.interval(confidence, n - 1, loc=mean, scale=s/sqrt(n))``;
    if every value is the same (``s = 0``) it is the single point ``[mean, mean]``.
    """
    from scipy import stats

    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) \
            or not 0 < confidence < 1:
        raise invalid("confidence", confidence, "a number in (0, 1)")
    array = np.asarray(values, dtype=float).ravel()
    if array.size < 2:
        raise invalid("values", list(array), "at least 2 values (seeds)")
    if not np.all(np.isfinite(array)):
        raise invalid("values", list(array), "finite numbers")
    mean = float(array.mean())
    std = float(array.std(ddof=1))
    if std == 0.0:
        low = high = mean
    else:
        low, high = stats.t.interval(confidence, array.size - 1, loc=mean,
                                     scale=std / math.sqrt(array.size))
    return Summary(tuple(float(v) for v in array), mean, std, float(low), float(high),
                   float(confidence))


@dataclass(frozen=True)
class Comparison:
    """The verdict of :func:`compare`: ``winner`` is ``"a"``, ``"b"`` or ``None``."""

    a: Summary
    b: Summary
    winner: str | None
    verdict: str

    @property
    def distinguishable(self) -> bool:
        return self.winner is not None


def compare(a, b, *, higher_is_better: bool = False, confidence: float = 0.95,
            names: tuple[str, str] = ("a", "b")) -> Comparison:
    """Compare two methods from their per-seed outcomes (or :class:`Summary` objects).

    Returns ``verdict = "not distinguishable"`` when the two confidence intervals overlap
    (touching counts as overlapping); otherwise the verdict names the better method
    (lower is better unless ``higher_is_better``).
    """
    sa = a if isinstance(a, Summary) else summarize(a, confidence)
    sb = b if isinstance(b, Summary) else summarize(b, confidence)
    if sa.high < sb.low:
        lower = "a"
    elif sb.high < sa.low:
        lower = "b"
    else:
        return Comparison(sa, sb, None, NOT_DISTINGUISHABLE)
    winner = ("b" if lower == "a" else "a") if higher_is_better else lower
    name = names[0] if winner == "a" else names[1]
    return Comparison(sa, sb, winner, f"{name} is better")
