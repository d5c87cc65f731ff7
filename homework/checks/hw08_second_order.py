"""Trusted checks of homework 8 (the L-BFGS two-loop recursion, Newton's step)."""

from __future__ import annotations

import numpy as np

from ._base import Fail, close, shape

PRELUDE = '''
from course_lib.grading import forbid as _forbid, record as _record
import numpy as _np
'''
PAIR_COUNTS = (1, 2, 5, 9)
MEMORIES = [1, 3, 10, 30]

PROBES = {
    "task1_tests": PRELUDE + '''
_TARGETS = ("course_lib.second_order.quasi_newton:two_loop_recursion",
            "course_lib.second_order.quasi_newton:LBFGSMemory.apply",
            "course_lib.second_order.quasi_newton:bfgs_inverse_update",
            "scipy.optimize:LbfgsInvHessProduct._matvec",
            "scipy.optimize:LbfgsInvHessProduct.todense")
_task = "the L-BFGS two-loop recursion"
_g = _np.array([1.0, -2.0, 0.5])
_s, _y = _np.array([0.1, 0.0, 0.2]), _np.array([0.3, 0.1, 0.5])
with _forbid(*_TARGETS, task=_task):
    _record("task1_tests.v0", two_loop(_g.copy(), [], []))
    _record("task1_tests.v1", two_loop(_y.copy(), [_s.copy()], [_y.copy()]))
_rng = _np.random.default_rng(80)
_n = 6
_M = _rng.standard_normal((_n, _n))
_A = _M @ _M.T + _n * _np.eye(_n)
for _k in %r:
    _S = [_rng.standard_normal(_n) for _ in range(_k)]
    _Y = [_A @ _si + 0.1 * _rng.standard_normal(_n) for _si in _S]
    _gh = _rng.standard_normal(_n)
    _Si, _Yi, _gi = [a.copy() for a in _S], [a.copy() for a in _Y], _gh.copy()
    with _forbid(*_TARGETS, task=_task):
        _record(f"task1_tests.r{_k}", two_loop(_gi, _Si, _Yi))
    _record(f"task1_tests.unchanged{_k}", _np.array_equal(_gi, _gh) and all(
        _np.array_equal(a, b) for a, b in zip(_Si + _Yi, _S + _Y)))
''' % (PAIR_COUNTS,),
    "task2_tests": PRELUDE + '''
from course_lib.objectives import Quadratic as _Quadratic
_TARGETS = ("course_lib.second_order.newton:newton_step",)
_task = "the damped Newton step"
with _forbid(*_TARGETS, task=_task):
    _record("task2_tests.v0", damped_newton_step(_np.array([2.0, 3.0]), _np.diag([2.0, 1.0])))
    _record("task2_tests.v1", damped_newton_step(_np.array([2.0, 3.0]), _np.diag([2.0, 1.0]),
                                                  damping=1.0))
_rng = _np.random.default_rng(81)
_q = _Quadratic.from_spectrum(_np.geomspace(0.01, 100, 8), rng=_rng)
_q = _Quadratic(_q.A, b=_rng.standard_normal(8))
for _i in range(3):
    _x = _rng.standard_normal(8) * 10
    with _forbid(*_TARGETS, task=_task):
        _record(f"task2_tests.newton{_i}", damped_newton_step(_q.grad(_x), _q.hess(_x)))
_g, _H = _rng.standard_normal(8), _q.A
for _i, _alpha in enumerate((0.0, 0.5, 30.0, 1e9)):
    with _forbid(*_TARGETS, task=_task):
        _record(f"task2_tests.damped{_i}", damped_newton_step(_g.copy(), _H.copy(),
                                                               damping=_alpha))
''',
    "task3_tests": PRELUDE + '''
_record("task3_tests.iterations", [iterations[_m] for _m in %r])
_record("task3_tests.bfgs_iterations", bfgs_iterations)
_record("task3_tests.best_memory", best_memory)
''' % (MEMORIES,),
}


def _two_loop_variant(g, S, Y, gamma_from="newest"):
    q = np.array(g, dtype=float)
    k = len(S)
    rho = [1.0 / (Y[i] @ S[i]) for i in range(k)]
    alpha = [0.0] * k
    for i in reversed(range(k)):
        alpha[i] = rho[i] * (S[i] @ q)
        q = q - alpha[i] * Y[i]
    j = -1 if gamma_from == "newest" else 0
    gamma = (S[j] @ Y[j]) / (Y[j] @ Y[j]) if k and gamma_from != "none" else 1.0
    r = gamma * q
    for i in range(k):
        beta = rho[i] * (Y[i] @ r)
        r = r + S[i] * (alpha[i] - beta)
    return r


def task1_tests(rec):
    from course_lib.second_order.quasi_newton import bfgs_inverse_update, two_loop_recursion

    g = np.array([1.0, -2.0, 0.5])
    s = np.array([0.1, 0.0, 0.2])
    close(rec("v0"), g, "with no pairs H = I, so two_loop(g, [], []) = g", rtol=1e-12)
    close(rec("v1"), s, "the secant equation: H y = s for the newest pair", rtol=1e-10,
          atol=1e-14)
    rng = np.random.default_rng(80)
    n = 6
    M = rng.standard_normal((n, n))
    A = M @ M.T + n * np.eye(n)
    for k in PAIR_COUNTS:
        S = [rng.standard_normal(n) for _ in range(k)]
        Y = [A @ si + 0.1 * rng.standard_normal(n) for si in S]
        gh = rng.standard_normal(n)
        ref = two_loop_recursion(gh, S, Y)
        H = (S[-1] @ Y[-1]) / (Y[-1] @ Y[-1]) * np.eye(n)
        for si, yi in zip(S, Y):
            H = bfgs_inverse_update(H, si, yi)
        assert np.allclose(ref, H @ gh, rtol=1e-8), "checks: two-loop reference"
        got = rec(f"r{k}")
        shape(got, (n,), "two_loop's result")
        if not np.allclose(got, ref, rtol=1e-9, atol=1e-12):
            hint = ""
            if k > 1 and np.allclose(got, _two_loop_variant(gh, S, Y, "oldest"), rtol=1e-9):
                hint = ": gamma must come from the NEWEST pair (the last of the lists)"
            elif np.allclose(got, _two_loop_variant(gh, S, Y, "none"), rtol=1e-9):
                hint = ": H0 = gamma I with gamma = s^T y / y^T y of the newest pair, not I"
            elif k > 1 and np.allclose(got, _two_loop_variant(gh, S[::-1], Y[::-1]),
                                       rtol=1e-9):
                hint = ": the lists hold the pairs oldest first; the first loop runs from " \
                       "the newest pair"
            raise Fail(f"H g is wrong with {k} pairs (it differs from dense BFGS){hint}")
        if not rec.scalar(f"unchanged{k}"):
            raise Fail("two_loop must not modify its inputs (copy g before updating q)")
    return "H g matches dense BFGS with 1 to 9 pairs"


def task2_tests(rec):
    from course_lib.objectives import Quadratic
    from course_lib.second_order import newton_step

    close(rec("v0"), [-1.0, -3.0], "-H^-1 g for g = (2, 3), H = diag(2, 1)", rtol=1e-12)
    close(rec("v1"), [-2 / 3, -1.5], "-(H + I)^-1 g for g = (2, 3), H = diag(2, 1)",
          rtol=1e-12)
    rng = np.random.default_rng(81)
    q = Quadratic.from_spectrum(np.geomspace(0.01, 100, 8), rng=rng)
    q = Quadratic(q.A, b=rng.standard_normal(8))
    for i in range(3):
        x = rng.standard_normal(8) * 10
        p = rec(f"newton{i}")
        shape(p, (8,), "the Newton step")
        if not np.allclose(x + p, q.minimizers[0], rtol=1e-8, atol=1e-8):
            hint = " (the step is MINUS H^-1 g)" if np.allclose(
                x - p, q.minimizers[0], rtol=1e-8, atol=1e-8) else ""
            raise Fail(f"one Newton step on an SPD quadratic must land on the minimizer{hint}")
    g, H = rng.standard_normal(8), q.A
    for i, alpha in enumerate((0.0, 0.5, 30.0)):
        close(rec(f"damped{i}"), newton_step(g, H, damping=alpha),
              f"the step with damping {alpha}", rtol=1e-10)
    far = rec("damped3")
    close(far * 1e9, -g, "for huge damping the step must tend to -g/damping", rtol=1e-6)
    return "Newton and damped steps are right"


def task3_tests(rec):
    from course_lib.objectives import Rosenbrock
    from course_lib.second_order import minimize

    f = Rosenbrock(n=10)
    ref = [minimize(f.value, f.x0, f.grad, method="lbfgs", m=m, gtol=1e-6).nit
           for m in MEMORIES]
    got = rec("iterations").ravel()
    shape(got, (4,), "iterations needs one entry per memory size")
    if [int(v) for v in got] != ref:
        raise Fail(f"the iteration counts are off: expected {dict(zip(MEMORIES, ref))}")
    bfgs = minimize(f.value, f.x0, f.grad, method="bfgs", gtol=1e-6).nit
    if int(rec.scalar("bfgs_iterations")) != bfgs:
        raise Fail(f"bfgs_iterations should be {bfgs}")
    best = min(m for m, it in zip(MEMORIES, ref) if it == min(ref))
    if rec.scalar("best_memory") != best:
        raise Fail("best_memory is wrong: the smallest memory with the fewest iterations")
    return "the iteration counts and the best memory are right"


CHECKS = {"task1_tests": task1_tests, "task2_tests": task2_tests, "task3_tests": task3_tests}
