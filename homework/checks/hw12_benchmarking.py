"""Trusted checks of homework 12 (comparing optimizers: grid edges, performance profiles,
significance from seeds)."""

from __future__ import annotations

import math

import numpy as np

from ._base import Fail, close, shape

PRELUDE = '''
from course_lib.grading import forbid as _forbid, record as _record
import numpy as _np
'''
# Task 1: (values, scores) -- unsorted values, nan = a diverged trial
EDGE_CASES = [
    ([1e-3, 1e-2, 1e-1, 1.0], [0.30, 0.12, 0.08, 0.05]),          # best at the high end
    ([0.3, 0.01, 0.1, 0.03, 1.0], [0.2, 0.5, 0.1, 0.3, 0.9]),       # interior, unsorted
    ([1e-4, 3e-4, 1e-3, 3e-3], [0.05, 0.06, 0.2, 0.4]),             # best at the low end
    ([0.5, 2.0, 8.0, 1.0, 4.0], [0.3, 0.1, float("nan"), 0.2, 0.15]),   # nan is worst
    ([0.1, 1.0, 10.0], [float("nan"), 0.4, float("nan")]),          # interior, the rest nan
    ([3.0, 1.0, 2.0], [0.2, 0.5, 0.1]),                              # 2.0 between 1 and 3
]
# Task 2: cost tables (problems x methods), inf = not solved
INF = float("inf")
PROFILE_CASES = [
    [[10, 20, INF], [30, 15, 45], [INF, INF, INF], [5, 5, 50]],
    [[1.0, 1.5], [2.0, 1.0], [4.0, 8.0], [INF, 3.0], [7.0, INF]],
    [[100.0, 120.0, 90.0, 300.0]],
]
PROFILE_TAUS = [1.0, 1.2, 1.5, 2.0, 3.0, 4.0, 10.0, 1e6]
# Task 3: per-seed outcomes
SEED_CASES = [
    ([0.041, 0.047, 0.039, 0.044, 0.052], [0.061, 0.058, 0.066, 0.059, 0.063]),
    ([0.10, 0.14, 0.09, 0.16], [0.12, 0.11, 0.13, 0.15]),
    ([1.0, 2.0, 3.0], [2.5, 3.5, 4.5]),
    ([3.4, 3.5, 3.6], [1.9, 2.0, 2.1]),
    ([7.0, 7.2, 6.9, 7.1, 7.0, 7.05], [7.3, 7.4, 7.35, 7.5, 7.45, 7.3]),
]



def _literal(value) -> str:
    """``repr`` with nan and inf written as NumPy names (valid code in the probe)."""
    return repr(value).replace("nan", "_np.nan").replace("inf", "_np.inf")


PROBES = {
    "task1_tests": PRELUDE + '''
_TARGETS = ("course_lib.benchmark.tuning:interior_check",)
_task = "the grid-edge check"
for _i, (_v, _s) in enumerate(EDGE_CASES):
    with _forbid(*_TARGETS, task=_task):
        _best, _side = edge_check(_np.array(_v), _np.array(_s))
    _record(f"task1_tests.case{_i}", [float(_best), float(_side)])
try:
    edge_check(_np.array([0.1, 1.0]), _np.array([0.2, 0.1]))
except ValueError:
    _record("task1_tests.raises", 1)
else:
    _record("task1_tests.raises", 0)
'''.replace("EDGE_CASES", _literal(EDGE_CASES)),
    "task2_tests": PRELUDE + '''
_TARGETS = ("course_lib.benchmark.profiles:performance_profile",
            "course_lib.benchmark.profiles:performance_ratios")
_task = "the performance profile"
for _i, _c in enumerate(PROFILE_CASES):
    with _forbid(*_TARGETS, task=_task):
        _record(f"task2_tests.rho{_i}",
                performance_profile(_np.array(_c, dtype=float), _np.array(PROFILE_TAUS)))
'''.replace("PROFILE_CASES", _literal(PROFILE_CASES)).replace(
        "PROFILE_TAUS", repr(PROFILE_TAUS)),
    "task3_tests": PRELUDE + '''
_TARGETS = ("course_lib.benchmark.stats:summarize", "course_lib.benchmark.stats:compare")
_task = "the confidence interval and the verdict"
for _i, (_a, _b) in enumerate(SEED_CASES):
    with _forbid(*_TARGETS, task=_task):
        _record(f"task3_tests.ci{_i}", [float(_x) for _x in t_interval(_np.array(_a))]
                + [float(_x) for _x in t_interval(_np.array(_a), 0.9)])
        _record(f"task3_tests.verdict{_i}", significance(_np.array(_a), _np.array(_b)))
_record("task3_tests.verdicts", _np.array(verdicts, dtype=float))
'''.replace("SEED_CASES", repr(SEED_CASES)),
}

#: The per-seed validation errors given in the notebook for Task 3 (three workloads).
GIVEN = {
    "A": ([0.042, 0.047, 0.044, 0.040, 0.046], [0.051, 0.056, 0.049, 0.054, 0.053]),
    "B": ([0.118, 0.131, 0.104, 0.125, 0.140], [0.112, 0.127, 0.121, 0.109, 0.133]),
    "C": ([0.0105, 0.0090, 0.0120, 0.0098, 0.0112], [0.0061, 0.0120, 0.0036, 0.0190, 0.0055]),
}


def _edge(values, scores):
    from course_lib.benchmark import LogUniform, SearchSpace, interior_check

    values, scores = np.asarray(values, float), np.asarray(scores, float)
    clean = np.where(np.isnan(scores), np.inf, scores)
    best = float(values[int(np.argmin(clean))])
    space = SearchSpace(x=LogUniform(float(values.min()) / 2, float(values.max()) * 2))
    check = interior_check(space, {"x": best}, [{"x": v} for v in values], margin=0.0)["x"]
    return best, {"low": -1, "high": 1, None: 0}[check.at_edge]


def _verdict(a, b):
    from course_lib.benchmark import compare

    c = compare(a, b, confidence=0.95)
    return {"a": -1, "b": 1, None: 0}[c.winner]


def task1_tests(rec):
    for i, (values, scores) in enumerate(EDGE_CASES):
        got = rec(f"case{i}").ravel()
        shape(got, (2,), "edge_check must return (best value, side)")
        best, side = _edge(values, scores)
        if not math.isclose(got[0], best, rel_tol=1e-12):
            hint = (" (a nan score is a diverged trial: it must never be chosen)"
                    if any(math.isnan(s) for s in scores) else "")
            raise Fail(f"values {values}, scores {scores}: the best value is {best}, "
                       f"got {got[0]}{hint}")
        if got[1] != side:
            word = {-1: "-1 (the smallest value tried)", 0: "0 (interior)",
                    1: "+1 (the largest value tried)"}[side]
            raise Fail(f"values {values}, scores {scores}: the side of {best} is {word}, "
                       f"got {got[1]:g}")
    if not rec.scalar("raises"):
        raise Fail("with fewer than 3 values tried no optimum can be bracketed: raise "
                   "ValueError")
    return f"the best value and its side are right in {len(EDGE_CASES)} searches"


def task2_tests(rec):
    from course_lib.benchmark import performance_profile

    for i, costs in enumerate(PROFILE_CASES):
        got = rec(f"rho{i}")
        ref = performance_profile(costs).rho(PROFILE_TAUS)
        shape(got, ref.shape, f"profile of a {len(costs)} x {len(costs[0])} cost table at "
                              f"{len(PROFILE_TAUS)} values of tau")
        if np.isnan(got).any():
            raise Fail("the profile contains nan: a problem that no method solves gives "
                       "inf / inf; count it as unsolved for every method")
        close(got, ref, f"rho(tau) for the costs {costs}", rtol=1e-12, atol=1e-12)
    return f"the profiles of {len(PROFILE_CASES)} cost tables are right"


def task3_tests(rec):
    from course_lib.benchmark import summarize

    for i, (a, b) in enumerate(SEED_CASES):
        got = rec(f"ci{i}").ravel()
        shape(got, (4,), "t_interval must return (low, high)")
        s95, s90 = summarize(a, 0.95), summarize(a, 0.9)
        expected = [s95.low, s95.high, s90.low, s90.high]
        if math.isclose(got[1] - got[0], 2 * 1.959964 * s95.std / math.sqrt(len(a)),
                        rel_tol=1e-4):
            raise Fail("the interval uses the normal quantile 1.96; with a few seeds the "
                       "standard deviation is itself estimated: use Student's t with n - 1 "
                       "degrees of freedom")
        sd0 = float(np.std(a))
        if math.isclose(got[1] - got[0], (s95.high - s95.low) * sd0 / s95.std, rel_tol=1e-6):
            raise Fail("use the sample standard deviation (ddof=1), not np.std's default")
        close(got, expected, f"the 95% and 90% intervals of {a}", rtol=1e-9, atol=1e-12)
        v = rec.scalar(f"verdict{i}")
        if v != _verdict(a, b):
            raise Fail(f"significance({a}, {b}) should be {_verdict(a, b)}, got {v:g}")
    verdicts = rec("verdicts").ravel()
    expected = [_verdict(*GIVEN[k]) for k in "ABC"]
    shape(verdicts, (3,), "verdicts (one per workload)")
    if list(verdicts) != expected:
        raise Fail(f"the verdicts for the workloads A, B, C should be {expected}, got "
                   f"{[int(v) for v in verdicts]}")
    return "the intervals and the verdicts are right"


CHECKS = {"task1_tests": task1_tests, "task2_tests": task2_tests, "task3_tests": task3_tests}
