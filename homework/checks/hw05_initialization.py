"""Trusted checks of homework 5 (Glorot initialization, signals through depth)."""

from __future__ import annotations

import numpy as np

from ._base import Fail, close, shape

PRELUDE = '''
from course_lib.grading import forbid as _forbid, record as _record
import numpy as _np
import course_lib.nn.init as _init
'''
GLOROT_CASES = [(300, 500, 1), (784, 100, 2), (64, 64, 3)]
NAMES = ("uniform_fan_in", "glorot_uniform", "he_normal")

PROBES = {
    "task1_tests": PRELUDE + '''
_TARGETS = ("course_lib.nn.init:glorot_uniform", "torch.nn.init:xavier_uniform_")
_task = "Glorot uniform initialization"
with _forbid(*_TARGETS, task=_task):
    _W = glorot_uniform(30, 50, _np.random.default_rng(0))
    _W2 = glorot_uniform(30, 50, _np.random.default_rng(0))
_record("task1_tests.visible", _W)
_record("task1_tests.visible_same", _np.array_equal(_W, _W2))
for _i, (_m, _n, _seed) in enumerate(%r):
    with _forbid(*_TARGETS, task=_task):
        _W = glorot_uniform(_m, _n, _np.random.default_rng(_seed))
        _W2 = glorot_uniform(_m, _n, _np.random.default_rng(_seed + 100))
    _record(f"task1_tests.W{_i}", _W)
    _record(f"task1_tests.other{_i}", not _np.array_equal(_W, _W2))
''' % (GLOROT_CASES,),
    "task2_tests": PRELUDE + '''
_identity = lambda z: z
_record("task2_tests.v0", forward_stds(lambda m, n, rng: _np.eye(m, n) * 2.0, _np.ones((2, 3)),
                                        3, _identity, seed=0))
_record("task2_tests.v1", forward_stds(lambda m, n, rng: _np.eye(m, n) * 2.0,
                                        _np.array([[1.0, -1.0]]), 3, _identity, seed=0))
_xh = _np.random.default_rng(50).standard_normal((64, 40))
for _i, (_f, _a) in enumerate([(_init.glorot_uniform, _np.tanh),
                               (_init.he_normal, lambda z: _np.maximum(z, 0)),
                               (_init.uniform_fan_in, _identity)]):
    _record(f"task2_tests.s{_i}", forward_stds(_f, _xh.copy(), 6, _a, seed=3))
''',
    "task3_tests": PRELUDE + '''
_record("task3_tests.final_std", [final_std[_k] for _k in %r])
_record("task3_tests.keeps", %r.index(keeps_scale) if keeps_scale in %r else -1)
''' % (NAMES, NAMES, NAMES),
}


def task1_tests(rec):
    from scipy import stats

    W = rec("visible")
    if W.shape == (50, 30):
        raise Fail("the shape is (fan_in, fan_out): the layer computes x @ W")
    shape(W, (30, 50), "glorot_uniform(30, 50, rng)")
    if not rec.scalar("visible_same"):
        raise Fail("draw the numbers with rng, so that a seed reproduces them")
    for i, (m, n, _seed) in enumerate(GLOROT_CASES):
        a = np.sqrt(6.0 / (m + n))
        W = rec(f"W{i}")
        shape(W, (m, n), f"glorot_uniform({m}, {n}, rng)")
        top = np.max(np.abs(W))
        if abs(top - np.sqrt(6.0) / (m + n)) < 0.02 * a and top < 0.5 * a:
            raise Fail("the bound is sqrt(6 / (m + n)): the square root covers the whole "
                       "fraction, not only the 6")
        if top > a or top <= 0.99 * a:
            raise Fail(f"the entries do not fill U(-a, a) with a = sqrt(6/(m+n)) for "
                       f"({m}, {n}): the largest |W| is {top:.4g}, a = {a:.4g}")
        if abs(W.var() / (2.0 / (m + n)) - 1) >= 0.03:
            raise Fail(f"the variance is not 2/(m+n) for ({m}, {n})")
        if abs(W.mean()) >= 0.02 * a:
            raise Fail("the weights are not centred at 0")
        if stats.kstest(W.ravel(), stats.uniform(loc=-a, scale=2 * a).cdf).pvalue <= 1e-4:
            raise Fail("the weights are not uniformly distributed")
        if not rec.scalar(f"other{i}"):
            raise Fail("different generators must give different weights")
    return "shape, bound, variance and distribution are right"


def _reference_stds(init, x, depth, activation, seed):
    rng = np.random.default_rng(seed)
    h, out = x, []
    for _ in range(depth):
        z = h @ init(h.shape[1], h.shape[1], rng)
        out.append(z.std())
        h = activation(z)
    return np.array(out)


def task2_tests(rec):
    import course_lib.nn.init as init

    s = rec("v0")
    shape(s, (3,), "one standard deviation per layer")
    close(s, [0, 0, 0], "a constant batch has standard deviation 0 at every layer", rtol=0,
          atol=1e-12)
    close(rec("v1"), [2.0, 4.0, 8.0], "doubling weights double the standard deviation per "
          "layer (record np.std of the pre-activations z, not of the activations)", rtol=1e-12)
    xh = np.random.default_rng(50).standard_normal((64, 40))
    for i, (f, a) in enumerate([(init.glorot_uniform, np.tanh),
                                (init.he_normal, lambda z: np.maximum(z, 0)),
                                (init.uniform_fan_in, lambda z: z)]):
        close(rec(f"s{i}"), _reference_stds(f, xh, 6, a, 3), f"forward_stds with "
              f"{f.__name__} (draw one init(n, n, rng) per layer, in order)", rtol=1e-10)
    return "the standard deviations follow the specification"


def task3_tests(rec):
    import course_lib.nn.init as init

    x = np.random.default_rng(0).standard_normal((200, 100))
    relu = lambda z: np.maximum(z, 0.0)  # noqa: E731
    got = rec("final_std").ravel()
    shape(got, (3,), "final_std needs one entry per initializer")
    for name, g in zip(NAMES, got):
        expected = _reference_stds(getattr(init, name), x, 15, relu, 7)[-1]
        if abs(g / expected - 1) >= 1e-8:
            raise Fail(f"final_std[{name!r}] should be {expected:.6g}; got {g}")
    if int(rec.scalar("keeps")) != NAMES.index("he_normal"):
        raise Fail("keeps_scale is wrong: which final standard deviation is closest to 1?")
    return "the final scales and the winner are right"


CHECKS = {"task1_tests": task1_tests, "task2_tests": task2_tests, "task3_tests": task3_tests}
