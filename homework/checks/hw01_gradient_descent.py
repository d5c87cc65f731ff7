"""Trusted checks of homework 1 (gradient descent and its stability limit)."""

from __future__ import annotations

import numpy as np

from ._base import Fail, close, equal, shape

SETUP = '''
from course_lib.grading import forbid as _forbid, record as _record
import numpy as _np
from course_lib.objectives import Quadratic as _Quadratic
_quad = _Quadratic.from_spectrum([1.0, 20.0], rng=_np.random.default_rng(1),
                                 x0=_np.array([2.0, -1.0]))
'''

GD_CASES = [(0.05, 40), (0.09, 25), (0.11, 10), (0.0, 3)]
RATE_SIZES = (2, 5, 8)

PROBES = {
    "task1_tests": SETUP + '''
_GD = ("course_lib.optim.descent:run", "course_lib.optim.sgd:sgd", "torch.optim:SGD.step")
_x0 = _np.array([1.0, 2.0])
with _forbid(*_GD, task="gradient descent"):
    _xs = gradient_descent(lambda x: x, _x0, lr=0.5, steps=3)
_record("task1_tests.visible", _xs)
_record("task1_tests.visible_x0", _x0)
for _i, (_lr, _steps) in enumerate(%r):
    _start = _quad.x0.copy()
    with _forbid(*_GD, task="gradient descent"):
        _xs = gradient_descent(_quad.grad, _start, _lr, _steps)
    _record(f"task1_tests.xs{_i}", _xs)
    _record(f"task1_tests.x0_{_i}", _start)
''' % (GD_CASES,),
    "task2_tests": SETUP + '''
_RATE = ("course_lib.optim.convergence:gd_rate", "course_lib.optim.convergence:optimal_gd")
_task = "the stability threshold and the contraction factor"
_D = _np.diag([1.0, 4.0])
with _forbid(*_RATE, task=_task):
    _record("task2_tests.visible",
            [critical_learning_rate(_D), contraction_factor(_D, 0.25), contraction_factor(_D, 0.5)])
_rng = _np.random.default_rng(20)
for _n in %r:
    _Q, _ = _np.linalg.qr(_rng.standard_normal((_n, _n)))
    _lam = _np.sort(_rng.uniform(0.1, 10.0, _n))
    _M = (_Q * _lam) @ _Q.T
    _M = (_M + _M.T) / 2
    _lrs = [0.01, 0.5 / _lam[-1], 1.9 / _lam[-1], 2.5 / _lam[-1]]
    with _forbid(*_RATE, task=_task):
        _record(f"task2_tests.crit{_n}", critical_learning_rate(_M.copy()))
        _record(f"task2_tests.rates{_n}", [contraction_factor(_M.copy(), _lr) for _lr in _lrs])
_crit = 2.0 / _quad.eigenvalues[-1]
with _forbid(*_RATE, task=_task):
    _record("task2_tests.quad", [contraction_factor(_quad.A.copy(), _f * _crit)
                                  for _f in (0.98, 1.02)])
''' % (RATE_SIZES,),
    "task3_tests": '''
from course_lib.grading import record as _record
_record("task3_tests.steps_to_tol", steps_to_tol)
_record("task3_tests.best_lr", best_lr)
_record("task3_tests.predicted_best_lr", predicted_best_lr)
''',
}


def _quad():
    from course_lib.objectives import Quadratic

    return Quadratic.from_spectrum([1.0, 20.0], rng=np.random.default_rng(1),
                                   x0=np.array([2.0, -1.0]))


def _check_iterates(got, expected, x0, lr, steps, what):
    if got.ndim == 2 and got.shape[0] == steps and expected.shape[0] == steps + 1:
        raise Fail(f"{what}: you returned {steps} rows; return steps + 1 rows, x_0 included")
    shape(got, expected.shape, what)
    if not np.allclose(got[0], x0, rtol=0, atol=1e-15):
        raise Fail(f"{what}: the first row must be x0")
    close(got, expected, f"{what}: the iterates differ from x_(k+1) = x_k - lr * grad(x_k)",
          rtol=1e-10, atol=1e-12)


def task1_tests(rec):
    xs = rec("visible")
    expected = np.array([[1.0, 2.0], [0.5, 1.0], [0.25, 0.5], [0.125, 0.25]])
    _check_iterates(xs, expected, [1.0, 2.0], 0.5, 3,
                    "gradient_descent(grad = x, x0 = (1, 2), lr=0.5, steps=3)")
    equal(rec("visible_x0"), [1.0, 2.0], "gradient_descent must not modify x0")
    import course_lib.optim.descent
    import course_lib.optim

    quad = _quad()
    for i, (lr, steps) in enumerate(GD_CASES):
        ref = course_lib.optim.descent.run(course_lib.optim.sgd, quad, quad.x0, steps, lr=lr).xs
        _check_iterates(rec(f"xs{i}"), ref, quad.x0, lr, steps,
                        f"on the 2-D quadratic with lr={lr}, steps={steps}")
        equal(rec(f"x0_{i}"), quad.x0, "gradient_descent must not modify x0")
    return "your iterates match gradient descent in 5 runs"


def task2_tests(rec):
    from course_lib.optim.convergence import gd_rate

    visible = rec("visible")
    if visible.size != 3:
        raise Fail("critical_learning_rate and contraction_factor must return single numbers")
    crit, f1, f2 = visible.ravel()
    if abs(crit - 0.5) > 1e-12:
        raise Fail(f"for eigenvalues 1 and 4 the threshold is 2/4 = 0.5, got {crit}")
    if abs(f1 - 0.75) > 1e-12 or abs(f2 - 1.0) > 1e-12:
        raise Fail(f"for eigenvalues 1 and 4: contraction_factor(lr=0.25) = 0.75 and "
                   f"(lr=0.5) = 1, got {f1} and {f2}")
    rng = np.random.default_rng(20)
    for n in RATE_SIZES:
        np.linalg.qr(rng.standard_normal((n, n)))       # same draws as the probe
        lam = np.sort(rng.uniform(0.1, 10.0, n))
        lrs = [0.01, 0.5 / lam[-1], 1.9 / lam[-1], 2.5 / lam[-1]]
        close(rec.scalar(f"crit{n}"), 2.0 / lam[-1],
              f"critical_learning_rate of a {n}x{n} matrix", rtol=1e-9)
        rates = rec(f"rates{n}")
        expected = [float(gd_rate(lr, lam)) for lr in lrs]
        if rates.shape == (4,) and np.allclose(rates, [max(abs(1 - lr * lam[0]), 0)
                                                       for lr in lrs], rtol=1e-9) \
                and not np.allclose(rates, expected, rtol=1e-9):
            raise Fail("contraction_factor uses only the smallest eigenvalue: the factor is "
                       "the maximum of |1 - lr * lambda_i| over all eigenvalues")
        close(rates, expected, f"contraction_factor of a {n}x{n} matrix (max_i |1 - lr "
              "lambda_i|)", rtol=1e-9)
    quad = _quad()
    crit = 2.0 / quad.eigenvalues[-1]
    close(rec("quad"), [float(gd_rate(f * crit, quad.eigenvalues)) for f in (0.98, 1.02)],
          "contraction_factor on the assignment's quadratic", rtol=1e-9)
    return "threshold and contraction factor are right on 4 matrices"


def task3_tests(rec):
    import course_lib.optim.descent
    import course_lib.optim

    quad = _quad()
    lrs, tol, max_steps = np.linspace(0.01, 0.1, 19), 1e-10, 1000
    expected = []
    for lr in lrs:
        xs = course_lib.optim.descent.run(course_lib.optim.sgd, quad, quad.x0, max_steps, lr=lr).xs
        below = np.flatnonzero(quad.value(xs) - quad.minimum < tol)
        expected.append(int(below[0]) if below.size else max_steps)
    expected = np.array(expected)
    steps = rec("steps_to_tol")
    shape(steps, lrs.shape, "steps_to_tol needs one entry per learning rate")
    if steps[-1] != max_steps:
        raise Fail("at lr = 2/lambda_max gradient descent does not converge: steps_to_tol[-1] "
                   "should be max_steps")
    bad = np.flatnonzero(np.abs(steps - expected) > 1)
    if bad.size:
        i = bad[0]
        raise Fail(f"steps_to_tol differs from a reference run by more than one step, e.g. "
                   f"for lr = {lrs[i]:.3f}: {steps[i]} instead of {expected[i]}")
    best = rec.scalar("best_lr")
    if abs(best - lrs[np.argmin(expected)]) > 1e-12:
        raise Fail(f"best_lr should be the fastest learning rate of lrs, "
                   f"{lrs[np.argmin(expected)]:.3f}; got {best}")
    predicted = rec.scalar("predicted_best_lr")
    if abs(predicted - 2.0 / 21.0) > 1e-9:
        raise Fail(f"predicted_best_lr should be 2/(lambda_min + lambda_max) = 2/21; "
                   f"got {predicted}")
    return "steps, best and predicted learning rates are right"


CHECKS = {"task1_tests": task1_tests, "task2_tests": task2_tests, "task3_tests": task3_tests}
