"""Trusted checks of homework 2 (heavy-ball momentum).

The student's ``state`` keeps the buffer under the assignment's key ``"b"``; course_lib's
``sgd`` (like torch) calls it ``"momentum_buffer"``, so an answer that hands ``state`` to the
course's implementation does not produce the buffer the check reads. One run uses
``np.longdouble`` arrays, which torch cannot take.
"""

from __future__ import annotations

import numpy as np

from ._base import Fail, close, shape

PRELUDE = '''
from course_lib.grading import forbid as _forbid, record as _record
import numpy as _np
'''
MOMENTUM_CASES = [(0.01, 0.9), (0.1, 0.5), (0.05, 0.0), (0.002, 0.99)]
UNROLL_CASES = [(0.1, 0.9), (0.03, 0.5), (1.0, 0.0)]
POLYAK_CASES = [(100.0, 1.0), (10.0, 0.5), (3.0, 2.0)]

PROBES = {
    "task1_tests": PRELUDE + '''
_TARGETS = ("course_lib.optim.sgd:sgd", "torch.optim:SGD.step", "torch.optim.sgd:sgd")
_task = "heavy-ball momentum"
def _buffer(state):
    b = state.get("b") if isinstance(state, dict) else None
    return _np.full(1, _np.nan) if b is None else _np.asarray(b, dtype=float)
_x, _g, _s = _np.zeros(1), _np.ones(1), {}
with _forbid(*_TARGETS, task=_task):
    momentum_step(_x, _g, _s, lr=0.1, momentum=0.9)
    _x1 = _x.copy()
    momentum_step(_x, _g, _s, lr=0.1, momentum=0.9)
_record("task1_tests.visible", [_x1[0], _x[0], _buffer(_s).ravel()[0], _g[0]])
_rng = _np.random.default_rng(21)
for _i, (_lr, _mu) in enumerate(%r):
    _grads = _rng.standard_normal((60, 7)) * _rng.uniform(0.1, 10.0, 7)
    _x = _rng.standard_normal(7)
    _s, _xs, _bs, _changed = {}, [], [], 0
    for _g in _grads:
        _gc = _g.copy()
        with _forbid(*_TARGETS, task=_task):
            momentum_step(_x, _gc, _s, lr=_lr, momentum=_mu)
        _changed += int(not _np.array_equal(_gc, _g))
        _xs.append(_x.copy())
        _bs.append(_buffer(_s) * _np.ones(7))
    _record(f"task1_tests.xs{_i}", _xs)
    _record(f"task1_tests.bs{_i}", _bs)
    _record(f"task1_tests.grad_changed{_i}", _changed)
# extended precision (np.longdouble), continuing from a given buffer
_rng = _np.random.default_rng(23)
_x = _rng.standard_normal(5).astype(_np.longdouble)
_s = {"b": _rng.standard_normal(5).astype(_np.longdouble)}
_xs = []
for _t in range(20):
    _g = _rng.standard_normal(5).astype(_np.longdouble)
    with _forbid(*_TARGETS, task=_task):
        momentum_step(_x, _g, _s, lr=0.05, momentum=0.8)
    _xs.append(_np.asarray(_x, dtype=float))
_record("task1_tests.xs_long", _xs)
_record("task1_tests.b_long", _buffer(_s))
''' % (MOMENTUM_CASES,),
    "task2_tests": PRELUDE + '''
_TARGETS = ("course_lib.optim.sgd:sgd", "torch.optim:SGD.step", "torch.optim.sgd:sgd")
_task = "the unrolled momentum sum"
with _forbid(*_TARGETS, task=_task):
    _record("task2_tests.visible", unrolled_displacements(_np.ones((3, 1)), 0.1, 0.5))
_rng = _np.random.default_rng(22)
for _i, (_lr, _mu) in enumerate(%r):
    _grads = _rng.standard_normal((40, 4))
    with _forbid(*_TARGETS, task=_task):
        _record(f"task2_tests.d{_i}", unrolled_displacements(_grads.copy(), _lr, _mu))
_record("task2_tests.effective_lr_factor", effective_lr_factor)
''' % (UNROLL_CASES,),
    "task3_tests": PRELUDE + '''
_TARGETS = ("course_lib.optim.convergence:optimal_heavy_ball",)
with _forbid(*_TARGETS, task="Polyak's optimal parameters"):
    _record("task3_tests.visible", polyak_parameters(4.0, 1.0))
    for _i, (_L, _m) in enumerate(%r):
        _record(f"task3_tests.p{_i}", polyak_parameters(_L, _m))
_record("task3_tests.observed_rate_hb", observed_rate_hb)
_record("task3_tests.observed_rate_gd", observed_rate_gd)
''' % (POLYAK_CASES,),
}


def _sgd_key():
    import course_lib.optim

    state = {}
    course_lib.optim.sgd(np.zeros(1), np.ones(1), state, lr=0.1, momentum=0.5)
    return next(iter(state))


def _reference(x, grads, lr, mu, b=None, dampening=0.0):
    """Positions and buffers of heavy ball in torch's convention (course_lib's sgd)."""
    import course_lib.optim

    key = _sgd_key()
    x, state, xs, bs = np.array(x, dtype=float), {}, [], []
    if b is not None:
        state[key] = np.array(b, dtype=float)
    for g in grads:
        course_lib.optim.sgd(x, np.array(g, dtype=float), state, lr=lr, momentum=mu,
                             dampening=dampening)
        xs.append(x.copy())
        bs.append(np.array(state.get(key, np.full(x.shape, np.nan))) * np.ones(x.shape))
    return np.array(xs), np.array(bs)


def _diagnose(xs, x0, grads, lr, mu):
    """A message naming a known mistake, if the trajectory matches one."""
    if mu == 0:
        return None
    damped, _ = _reference(x0, grads, lr, mu, dampening=mu)
    if xs.shape == damped.shape and np.allclose(xs, damped, rtol=1e-9, atol=1e-12):
        return ("your buffer is damped (b = mu b + (1 - mu) g); torch's buffer is undamped: "
                "b_t = mu b_(t-1) + g_t")
    return None


def task1_tests(rec):
    x1, x2, b2, g = rec("visible").ravel()
    if abs(x1 + 0.1) > 1e-12:
        raise Fail(f"the first step from 0 with g = 1, lr = 0.1 is -lr * g = -0.1; got {x1}")
    if np.isnan(b2):
        raise Fail("keep the buffer in state['b'] (the assignment's key)")
    if abs(b2 - 1.9) > 1e-12:
        hint = (" (a damped buffer gives 0.9 * 1 + 0.1 * 1 = 1.0: torch's buffer is "
                "undamped)" if abs(b2 - 1.0) < 1e-12 else "")
        raise Fail(f"after two steps with g = 1 the buffer is b_2 = 0.9 * 1 + 1 = 1.9; got "
                   f"{b2}{hint}")
    if abs(x2 + 0.29) > 1e-12:
        raise Fail(f"x_2 = -0.1 - 0.1 * 1.9 = -0.29; got {x2}")
    if g != 1.0:
        raise Fail("momentum_step must not modify grad")
    rng = np.random.default_rng(21)
    for i, (lr, mu) in enumerate(MOMENTUM_CASES):
        grads = rng.standard_normal((60, 7)) * rng.uniform(0.1, 10.0, 7)
        x0 = rng.standard_normal(7)
        ref_x, ref_b = _reference(x0, grads, lr, mu)
        if rec.scalar(f"grad_changed{i}"):
            raise Fail("momentum_step must not modify grad")
        xs = rec(f"xs{i}")
        shape(xs, ref_x.shape, "the parameters after each step")
        if not np.allclose(xs, ref_x, rtol=1e-10, atol=1e-12):
            raise Fail(_diagnose(xs, x0, grads, lr, mu) or
                       f"after 60 random gradients the parameters differ from torch's "
                       f"convention (lr={lr}, momentum={mu})")
        if mu:
            bs = rec(f"bs{i}")
            if np.isnan(bs).any():
                raise Fail("keep the buffer in state['b'] (the assignment's key)")
            close(bs, ref_b, f"the buffer state['b'] (momentum={mu})", rtol=1e-10, atol=1e-12)
    rng = np.random.default_rng(23)
    x0 = rng.standard_normal(5)
    b0 = rng.standard_normal(5)
    grads = [rng.standard_normal(5) for _ in range(20)]
    ref_x, ref_b = _reference(x0, grads, 0.05, 0.8, b=b0)
    close(rec("xs_long"), ref_x, "continuing from a given state['b'] with np.longdouble "
          "arrays, the parameters", rtol=1e-10, atol=1e-12)
    close(rec("b_long"), ref_b[-1], "continuing from a given state['b'], the buffer",
          rtol=1e-10, atol=1e-12)
    return "positions and buffer match torch's heavy ball in 6 runs"


def task2_tests(rec):
    d = rec("visible")
    shape(d, (3, 1), "unrolled_displacements(ones((3, 1)), 0.1, 0.5)")
    close(d[:, 0], [-0.1, -0.15, -0.175], "the displacements for g = 1, lr = 0.1, momentum "
          "0.5 are -0.1 * (1, 1.5, 1.75)", rtol=1e-12, atol=1e-14)
    rng = np.random.default_rng(22)
    for i, (lr, mu) in enumerate(UNROLL_CASES):
        grads = rng.standard_normal((40, 4))
        xs, _ = _reference(np.zeros(4), grads, lr, mu)
        expected = np.diff(np.vstack([np.zeros(4), xs]), axis=0)
        got = rec(f"d{i}")
        shape(got, expected.shape, "unrolled_displacements")
        close(got, expected, f"the unrolled sum differs from the buffer recursion (lr={lr}, "
              f"momentum={mu})", rtol=1e-9, atol=1e-12)
    factor = rec.scalar("effective_lr_factor")
    close(factor, (1 - 0.9 ** 200) / (1 - 0.9), "effective_lr_factor (the ratio of the 200th "
          "displacement to -lr g)", rtol=1e-9)
    return "the unrolled sum matches the recursion in 4 cases"


def task3_tests(rec):
    import course_lib.optim.convergence
    import course_lib.optim.descent
    import course_lib.optim
    from course_lib.objectives import Quadratic

    v = rec("visible").ravel()
    if v.size != 2:
        raise Fail("polyak_parameters must return the pair (lr, momentum)")
    if abs(v[0] - 4 / 9) > 1e-12 or abs(v[1] - 1 / 9) > 1e-12:
        raise Fail(f"for L = 4, m = 1: lr = (2/3)^2 and momentum = (1/3)^2; got {tuple(v)}")
    for i, (L, m) in enumerate(POLYAK_CASES):
        lr_ref, mu_ref, _ = course_lib.optim.convergence.optimal_heavy_ball(L, m)
        got = rec(f"p{i}").ravel()
        close(got, [lr_ref, mu_ref], f"polyak_parameters({L}, {m})", rtol=1e-12, atol=1e-12)
    L, m = 100.0, 1.0
    quad = Quadratic.from_spectrum(np.geomspace(m, L, 10), rng=np.random.default_rng(2),
                                   x0=np.ones(10))
    lr_ref, mu_ref, _ = course_lib.optim.convergence.optimal_heavy_ball(L, m)
    rates = {}
    for name, kw in (("hb", dict(lr=lr_ref, momentum=mu_ref)), ("gd", dict(lr=2 / (L + m)))):
        xs = course_lib.optim.descent.run(course_lib.optim.sgd, quad, quad.x0, 300, **kw).xs
        e = np.linalg.norm(xs - quad.minimizers[0], axis=1)
        rates[name] = (e[300] / e[150]) ** (1 / 150)
        got = rec.scalar(f"observed_rate_{name}")
        if abs(got - rates[name]) > 1e-6:
            raise Fail(f"observed_rate_{name} should be (e_300 / e_150)^(1/150) of the run, "
                       f"{rates[name]:.6f}; got {got}")
    return "parameters and observed rates are right"


CHECKS = {"task1_tests": task1_tests, "task2_tests": task2_tests, "task3_tests": task3_tests}
