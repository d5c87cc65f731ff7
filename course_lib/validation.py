"""One validation vocabulary for course_lib.

A wrong *type* raises ``TypeError``; a bad *value* raises ``ValueError`` worded
``Invalid <name>: <value> (expected ...)``; misuse of state (stepping a finished object,
restoring before anything was recorded) raises ``RuntimeError``. Classes that mirror a
torch class keep torch's exact wording instead (see :mod:`course_lib.optim.validation`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

__all__ = ["invalid", "is_real", "check_nonnegative", "check_positive", "check_int",
           "check_choice"]


def fmt(value) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def invalid(name: str, value, expected: str) -> ValueError:
    return ValueError(f"Invalid {name}: {fmt(value)} (expected {expected})")


def is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def check_nonnegative(value, name: str) -> None:
    if not is_real(value) or not math.isfinite(value) or value < 0:
        raise invalid(name, value, "a finite number >= 0")


def check_positive(value, name: str) -> None:
    if not is_real(value) or not math.isfinite(value) or value <= 0:
        raise invalid(name, value, "a finite number > 0")


def check_int(value, name: str, minimum: int) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise invalid(name, value, what)


def check_choice(value, name: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise invalid(name, value, "one of " + ", ".join(repr(c) for c in choices))
