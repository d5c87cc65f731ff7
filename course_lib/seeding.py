"""Seeds that a reader (or the robustness check) can shift, so no claim rests on one lucky seed.

Every notebook draws its random numbers from seeds written as ``seed(k)``: the number ``k``
plus the offset in the environment variable ``COURSE_SEED_OFFSET`` (0 when unset). The book
is built with offset 0; ``python3 tasks.py robustness`` re-executes every notebook with another
offset, and every claim must still hold (exact claims for any seed, statistical claims with
their margins).

    >>> from course_lib.seeding import seed, rng
    >>> gen = rng(0)            # numpy.random.default_rng(0 + offset)
    >>> torch.manual_seed(seed(3))
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["ENV_VAR", "seed_offset", "seed", "rng", "seeds"]

ENV_VAR = "COURSE_SEED_OFFSET"


def seed_offset() -> int:
    """The offset read from ``$COURSE_SEED_OFFSET`` (0 when unset or empty)."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"Invalid {ENV_VAR}: {raw!r} (expected a non-negative integer)") from None
    if value < 0:
        raise ValueError(f"Invalid {ENV_VAR}: {raw!r} (expected a non-negative integer)")
    return value


def seed(k: int) -> int:
    """The seed to use where the text says seed ``k``: ``k + seed_offset()``."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"seed expects an integer, got {type(k).__name__}")
    if k < 0:
        raise ValueError(f"Invalid seed: {k!r} (expected a non-negative integer)")
    return int(k) + seed_offset()


def rng(k: int) -> np.random.Generator:
    """``numpy.random.default_rng(seed(k))``."""
    return np.random.default_rng(seed(k))


def seeds(count: int, start: int = 0) -> list[int]:
    """``count`` consecutive shifted seeds ``[seed(start), ..., seed(start + count - 1)]``,
    for experiments repeated over seeds."""
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)):
        raise TypeError(f"seeds expects an integer count, got {type(count).__name__}")
    if count < 1:
        raise ValueError(f"Invalid count: {count!r} (expected a positive integer)")
    return [seed(start + i) for i in range(count)]
