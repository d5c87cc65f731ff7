"""Trusted checks of homework 4 (cyclic learning rates, iterate averaging)."""

from __future__ import annotations

import numpy as np

from ._base import Fail, close, shape

PRELUDE = '''
from course_lib.grading import forbid as _forbid, record as _record
import numpy as _np
'''
CYCLIC_CASES = [(1e-3, 0.1, 5, "triangular"), (0.0, 1.0, 7, "triangular2"),
                (0.05, 0.5, 1, "triangular"), (0.2, 2.0, 13, "triangular2")]
NAMES = ("last", "polyak", "polyak_tail", "ema")

PROBES = {
    "task1_tests": PRELUDE + '''
_TARGETS = ("course_lib.schedules:cyclic",
            "course_lib.schedules.closed_form:cyclic",
            "course_lib.schedules.closed_form:_cyclic",
            "torch.optim.lr_scheduler:CyclicLR.get_lr")
_task = "the cyclic schedule"
with _forbid(*_TARGETS, task=_task):
    _record("task1_tests.visible", [cyclic_lr(_t, 0.1, 1.0, 4) for _t in (0, 2, 4, 6, 8, 12)]
            + [cyclic_lr(12, 0.1, 1.0, 4, mode="triangular2")])
try:
    cyclic_lr(0, 0.1, 1.0, 4, mode="sawtooth")
except ValueError:
    _record("task1_tests.raises", 1)
else:
    _record("task1_tests.raises", 0)
for _i, (_base, _peak, _s, _mode) in enumerate(%r):
    with _forbid(*_TARGETS, task=_task):
        _record(f"task1_tests.lr{_i}", [cyclic_lr(_t, _base, _peak, _s, mode=_mode)
                                         for _t in range(200)])
''' % (CYCLIC_CASES,),
    "task2_tests": PRELUDE + '''
_TARGETS = ("course_lib.averaging:uniform_average", "course_lib.averaging:exponential_average")
_task = "the running averages"
_seq = _np.array([[2.0], [4.0], [9.0]])
with _forbid(*_TARGETS, task=_task):
    _record("task2_tests.visible_u", running_average(_seq.copy()))
    _record("task2_tests.visible_e", exponential_average(_seq.copy(), 0.5))
_rng = _np.random.default_rng(41)
_seqs = [_rng.standard_normal((500, 3)), _rng.standard_normal((1, 4)),
         _rng.standard_normal((50, 2, 2))]
for _i, _s in enumerate(_seqs):
    with _forbid(*_TARGETS, task=_task):
        _record(f"task2_tests.u{_i}", running_average(_s.copy()))
        _record(f"task2_tests.e{_i}", exponential_average(_s.copy(), 0.9))
''',
    "task3_tests": PRELUDE + '''
_record("task3_tests.errors", [err_last, err_polyak, err_polyak_tail, err_ema])
_record("task3_tests.best", %r.index(best_estimate) if best_estimate in %r else -1)
''' % (NAMES, NAMES),
}


def task1_tests(rec):
    from course_lib.schedules import cyclic

    v = rec("visible").ravel()
    shape(v, (7,), "cyclic_lr must return a single number")
    close(v[:6], [0.1, 0.55, 1.0, 0.55, 0.1, 1.0], "triangular schedule with base 0.1, max 1, "
          "step_size 4 at t = 0, 2, 4, 6, 8, 12", rtol=1e-12, atol=1e-15)
    if abs(v[6] - 0.55) > 1e-12:
        raise Fail(f"triangular2: the second peak is base + (max - base) / 2 = 0.55; got {v[6]}")
    if not rec.scalar("raises"):
        raise Fail("an unknown mode must raise ValueError")
    for i, (base, peak, s, mode) in enumerate(CYCLIC_CASES):
        schedule = cyclic(base, peak, s, mode=mode)
        expected = np.array([schedule(t) for t in range(200)])
        got = rec(f"lr{i}")
        shape(got, (200,), "cyclic_lr values")
        if not np.allclose(got, expected, rtol=1e-12, atol=1e-15):
            t = int(np.argmax(~np.isclose(got, expected, rtol=1e-12, atol=1e-15)))
            raise Fail(f"the schedule differs from Smith's (base={base}, max={peak}, "
                       f"step_size={s}, mode={mode}), first at t={t}: {got[t]} instead of "
                       f"{expected[t]}")
    return "the schedule matches Smith's in 4 settings"


def task2_tests(rec):
    from course_lib.averaging import exponential_average, uniform_average

    close(rec("visible_u")[:, 0], [2.0, 3.0, 5.0], "running means of 2, 4, 9", rtol=1e-12)
    e = rec("visible_e")[:, 0]
    if np.allclose(e, [1.0, 2.5, 5.75]):
        raise Fail("start the exponential average at the first row (a_1 = x_1), not at 0")
    close(e, [2.0, 3.0, 6.0], "EMA with decay 0.5 of 2, 4, 9", rtol=1e-12)
    rng = np.random.default_rng(41)
    seqs = [rng.standard_normal((500, 3)), rng.standard_normal((1, 4)),
            rng.standard_normal((50, 2, 2))]
    for i, seq in enumerate(seqs):
        close(rec(f"u{i}"), uniform_average(seq), f"running_average of a sequence of shape "
              f"{seq.shape}", rtol=1e-10, atol=1e-12)
        close(rec(f"e{i}"), exponential_average(seq, 0.9), f"exponential_average of a "
              f"sequence of shape {seq.shape}", rtol=1e-10, atol=1e-12)
    return "both averages are right on 4 sequences"


def task3_tests(rec):
    import course_lib.averaging
    import course_lib.optim.descent
    import course_lib.optim
    from course_lib.objectives.finite_sum import LeastSquares

    data_rng = np.random.default_rng(4)
    X = data_rng.standard_normal((200, 5))
    y = X @ data_rng.standard_normal(5) + 0.5 * data_rng.standard_normal(200)
    problem = LeastSquares(X, y)
    trajectory = course_lib.optim.descent.run(
        course_lib.optim.sgd, problem, problem.x0, 3000,
        grad=problem.minibatch_oracle(1, np.random.default_rng(5)), lr=0.02)
    w = problem.minimizers[0]
    its = trajectory.xs[1:]
    ref = [np.linalg.norm(its[-1] - w), np.linalg.norm(its.mean(axis=0) - w),
           np.linalg.norm(its[1500:].mean(axis=0) - w),
           np.linalg.norm(course_lib.averaging.exponential_average(its, 0.99)[-1] - w)]
    got = rec("errors").ravel()
    shape(got, (4,), "the four errors")
    for name, g, r in zip(NAMES, got, ref):
        if not abs(g - r) <= 1e-8 * r:
            raise Fail(f"err_{name} should be {r:.6g}; got {g}")
    best = int(rec.scalar("best"))
    if best < 0:
        raise Fail(f"best_estimate must be one of {', '.join(NAMES)}")
    if best != int(np.argmin(ref)):
        raise Fail("best_estimate is not the closest estimate")
    return "the errors and the ranking are right"


CHECKS = {"task1_tests": task1_tests, "task2_tests": task2_tests, "task3_tests": task3_tests}
