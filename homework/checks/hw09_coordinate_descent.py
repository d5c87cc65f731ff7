"""Trusted checks of homework 9 (coordinate descent)."""

from __future__ import annotations

import numpy as np

from ._base import Fail, close, shape

PRELUDE = '''
from course_lib.grading import forbid as _forbid, record as _record
import numpy as _np
'''
LASSO_ALPHAS = (0.01, 0.3)

PROBES = {
    "task1_tests": PRELUDE + '''
_TARGETS = ("course_lib.second_order.coordinate:lasso_coordinate_descent", "course_lib.second_order.coordinate:lasso_argmin",
            "course_lib.second_order.coordinate:soft_threshold", "course_lib.second_order.coordinate:coordinate_descent",
            "sklearn.linear_model:Lasso.fit", "sklearn.linear_model:ElasticNet.fit",
            "sklearn.linear_model:lasso_path", "sklearn.linear_model:enet_path")
_task = "coordinate descent for the lasso"
with _forbid(*_TARGETS, task=_task):
    _record("task1_tests.visible", lasso_cd(_np.array([[1.0, 0.0], [0.0, 1.0]]),
                                            _np.array([2.0, 0.1]), alpha=0.1, sweeps=1))
_rng = _np.random.default_rng(90)
_X = _rng.standard_normal((60, 8)) @ _np.diag(_rng.uniform(0.5, 3, 8))
_X[:, 5] = 0.0
_y = _X @ _rng.standard_normal(8) + 0.3 * _rng.standard_normal(60)
for _alpha in %r:
    _w0 = _rng.standard_normal(8)
    _w0c = _w0.copy()
    with _forbid(*_TARGETS, task=_task):
        _record(f"task1_tests.three{_alpha}", lasso_cd(_X.copy(), _y.copy(), _alpha, 3, w0=_w0))
        _record(f"task1_tests.many{_alpha}", lasso_cd(_X.copy(), _y.copy(), _alpha, 500))
    _record(f"task1_tests.w0_same{_alpha}", _np.array_equal(_w0, _w0c))
''' % (LASSO_ALPHAS,),
    "task2_tests": PRELUDE + '''
_TARGETS = ("course_lib.second_order.coordinate:kinked_valley_argmin",)
with _forbid(*_TARGETS, task="the exact coordinate minimizer"):
    _record("task2_tests.grid", [[kinked_argmin(_c, _a) for _c in _np.linspace(-4, 4, 33)]
                                 for _a in (5.0, 1.0, 8.0)])
    _record("task2_tests.default", [kinked_argmin(0.0), kinked_argmin(3.0)])
_record("task2_tests.stuck_point", stuck_point)
_record("task2_tests.f_stuck", f_stuck)
''',
    "task3_tests": PRELUDE + '''
_record("task3_tests.support_sizes", support_sizes)
_record("task3_tests.exact_support_alphas", _np.asarray(exact_support_alphas, dtype=float))
''',
}


def _jacobi(X, y, alpha, sweeps, w0):
    N = len(y)
    w = np.array(w0, dtype=float)
    z = (X ** 2).sum(axis=0) / N
    for _ in range(sweeps):
        r = y - X @ w
        rho = X.T @ r / N + z * w
        with np.errstate(all="ignore"):
            w = np.where(z > 0, np.sign(rho) * np.maximum(np.abs(rho) - alpha, 0) / z, 0.0)
    return w


def task1_tests(rec):
    from sklearn.linear_model import Lasso

    from course_lib.second_order.coordinate import lasso_coordinate_descent

    close(rec("visible"), [1.8, 0.0], "orthogonal columns: one sweep gives (S(1) / 0.5, "
          "S(0.05) / 0.5) = (1.8, 0)", rtol=1e-12, atol=1e-14)
    rng = np.random.default_rng(90)
    X = rng.standard_normal((60, 8)) @ np.diag(rng.uniform(0.5, 3, 8))
    X[:, 5] = 0.0
    y = X @ rng.standard_normal(8) + 0.3 * rng.standard_normal(60)
    for alpha in LASSO_ALPHAS:
        w0 = rng.standard_normal(8)
        ref3 = lasso_coordinate_descent(X, y, alpha, w0=w0, max_sweeps=3, tol=0.0).x
        sk = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=100000).fit(X, y).coef_
        if not rec.scalar(f"w0_same{alpha}"):
            raise Fail("lasso_cd must not modify w0")
        got3 = rec(f"three{alpha}")
        shape(got3, (8,), "lasso_cd's weights")
        if np.isnan(got3[5]) or got3[5] != 0.0:
            raise Fail("the weight of a zero column must be 0 (do not divide by z_j = 0)")
        if not np.allclose(got3, ref3, rtol=1e-8, atol=1e-10):
            hint = ""
            if np.allclose(got3, _jacobi(X, y, alpha, 3, w0), rtol=1e-8, atol=1e-10):
                hint = ": each coordinate update must use the latest values of the others " \
                       "(update the residual after every coordinate)"
            raise Fail(f"three sweeps from w0 give the wrong weights (alpha={alpha}){hint}")
        close(rec(f"many{alpha}"), sk, f"500 sweeps should reach the lasso solution "
              f"(alpha={alpha})", rtol=1e-6, atol=1e-8)
    return "sweeps and the limit match the lasso"


def task2_tests(rec):
    from course_lib.second_order.coordinate import kinked_valley_argmin

    d = rec("default").ravel()
    if abs(d[0]) > 1e-12 or abs(d[1] + 0.5) > 1e-12:
        raise Fail(f"kinked_argmin(0) = 0 (at the kink) and kinked_argmin(3) = a/2 - 3 = -0.5; "
                   f"got {d.tolist()}")
    grid = rec("grid")
    cs = np.linspace(-4, 4, 33)
    shape(grid, (3, 33), "kinked_argmin's values")
    for j, a in enumerate((5.0, 1.0, 8.0)):
        for i, c in enumerate(cs):
            ref = kinked_valley_argmin(np.array([0.0, c]), 0, a=a)
            if abs(grid[j, i] - ref) > 1e-12:
                raise Fail(f"wrong minimizer for c={c:.2f}, a={a}: {grid[j, i]} instead of "
                           f"{ref}")
    point = rec("stuck_point")
    shape(point, (2,), "stuck_point")
    if not np.allclose(point, [1.0, 1.0]) or abs(rec.scalar("f_stuck") - 4.0) > 1e-12:
        raise Fail("from (1, 1) coordinate descent cannot move: the point stays (1, 1), f = 4")
    return "the minimizer and the stuck point are right"


def task3_tests(rec):
    import course_lib.second_order.coordinate

    data_rng = np.random.default_rng(9)
    X = data_rng.standard_normal((100, 12))
    w_true = np.zeros(12)
    w_true[[0, 3, 7]] = [2.0, -1.5, 1.0]
    y = X @ w_true + 0.1 * data_rng.standard_normal(100)
    sizes, exact = [], []
    for alpha in np.geomspace(2.0, 1e-3, 12):
        w = course_lib.second_order.coordinate.lasso_coordinate_descent(X, y, alpha, max_sweeps=1000,
                                                           tol=1e-10).x
        support = np.flatnonzero(np.abs(w) > 1e-8)
        sizes.append(len(support))
        if list(support) == [0, 3, 7]:
            exact.append(float(alpha))
    got = rec("support_sizes").ravel()
    if [int(s) for s in got] != sizes:
        raise Fail(f"support_sizes is off: expected {sizes}")
    got = rec("exact_support_alphas").ravel()
    if got.shape != (len(exact),) or not np.allclose(got, exact, rtol=1e-12):
        raise Fail("exact_support_alphas is off")
    return "the path and the exact-support range are right"


CHECKS = {"task1_tests": task1_tests, "task2_tests": task2_tests, "task3_tests": task3_tests}
