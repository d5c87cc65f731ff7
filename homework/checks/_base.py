"""Helpers of the trusted checks: the probe's records and comparisons that name the mistake.

Everything here runs in the grader's own process (never in the student's kernel): the probe
of a test cell hands back plain arrays, :class:`Records` gives them to the check function of
that cell, which computes the expected values with course_lib and raises :class:`Fail` with a
message for the student when something is wrong.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Fail", "Records", "close", "shape", "scalar", "equal"]


class Fail(Exception):
    """A check failed; ``str(exc)`` is the message shown to the student."""


class Records:
    """The arrays recorded by one test cell's probe (names ``<grade_id>.<key>``)."""

    def __init__(self, arrays: dict, prefix: str, errors: list):
        self._arrays = arrays
        self._prefix = prefix
        self.errors = errors            # [(ename, evalue)] of the probe cell, in order

    def has(self, key: str) -> bool:
        return self._prefix + key in self._arrays

    def __call__(self, key: str) -> np.ndarray:
        try:
            return self._arrays[self._prefix + key]
        except KeyError:
            raise Fail(self.missing(key)) from None

    def missing(self, key: str) -> str:
        if self.errors:
            ename, evalue = self.errors[0]
            evalue = evalue.strip().splitlines()[0] if evalue.strip() else ""
            hint = (" (this test passes np.longdouble arrays: write the method with NumPy "
                    "operations, which take them; torch does not)"
                    if "longdouble" in evalue or "float128" in evalue else "")
            return (f"the test could not get a result from your code: it raised {ename}"
                    + (f": {evalue}" if evalue else "") + hint)
        return f"the test could not get a result from your code ({key} is missing)"

    def scalar(self, key: str) -> float:
        value = self(key)
        if value.size != 1:
            raise Fail(f"{key} should be a single number, got an array of shape {value.shape}")
        return float(value.reshape(()))


def shape(value: np.ndarray, expected: tuple, what: str) -> None:
    if tuple(value.shape) != tuple(expected):
        raise Fail(f"{what}: expected an array of shape {tuple(expected)}, got shape "
                   f"{tuple(value.shape)}")


def close(got, expected, what: str, *, rtol: float, atol: float = 0.0) -> None:
    """``got`` equals ``expected`` to the tolerances (same shape, finite where expected is)."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        raise Fail(f"{what}: expected shape {expected.shape}, got {got.shape}")
    if not np.array_equal(np.isnan(got), np.isnan(expected)):
        raise Fail(f"{what}: got nan where a number was expected (or the reverse)")
    ok = np.isnan(expected) | (np.abs(got - expected) <= atol + rtol * np.abs(expected))
    if not np.all(ok):
        i = np.unravel_index(np.argmax(~ok), ok.shape) if ok.ndim else ()
        where = f" (first at index {tuple(int(k) for k in i)})" if ok.ndim else ""
        raise Fail(f"{what}: got {got[i]!r}, expected {expected[i]!r}{where}")


def equal(got, expected, what: str) -> None:
    got, expected = np.asarray(got), np.asarray(expected)
    if got.shape != expected.shape or not np.array_equal(got, expected):
        raise Fail(what)


def scalar(value: np.ndarray, what: str) -> float:
    if np.size(value) != 1:
        raise Fail(f"{what} should be a single number, got an array of shape {np.shape(value)}")
    return float(np.reshape(value, ()))


def known_mistake(got, variants: dict, run, *args, rtol: float, atol: float, **kw):
    """The message of the first known mistake that explains ``got``: for each ``name, message``
    of ``variants``, the reference ``run(*args, variant=name, **kw)[0]`` (the iterates of a
    deliberately wrong version) is compared with ``got``; ``None`` when none matches."""
    for name, message in variants.items():
        ref = run(*args, variant=name, **kw)[0]
        if got.shape == ref.shape and np.allclose(got, ref, rtol=rtol, atol=atol):
            return message
    return None
