"""Trusted checks of homework 3 (Adam and RMSProp).

The student's state keeps the assignment's keys ``"t"``, ``"m"``, ``"v"``; course_lib and torch
call them ``"step"``, ``"exp_avg"``, ``"exp_avg_sq"`` (``"square_avg"`` for RMSProp), so an
answer that hands ``state`` to the course's implementation does not produce the moments the
check reads. The runs continue from a given state and one uses ``np.longdouble`` arrays (which
torch cannot take). A wrong answer is compared with the usual mistakes (epsilon inside the
root, no or partial bias correction, epsilon before the correction, the step count off by one)
so that the message names the one that was made.
"""

from __future__ import annotations

import numpy as np

from ._base import Fail, close, known_mistake, shape

PRELUDE = '''
from course_lib.grading import forbid as _forbid, record as _record
import numpy as _np
def _key(state, key, n):
    value = state.get(key) if isinstance(state, dict) else None
    return _np.full(n, _np.nan) if value is None else _np.asarray(value, dtype=float) * _np.ones(n)
'''
ADAM_CASES = [(1e-3, (0.9, 0.999), 1e-8), (0.05, (0.8, 0.99), 1e-6), (0.3, (0.0, 0.9), 1e-3)]
RMS_CASES = [(1e-2, 0.99, 1e-8), (1e-3, 0.9, 1e-6), (0.1, 0.5, 1e-2)]

PROBES = {
    "task1_tests": PRELUDE + '''
_TARGETS = ("course_lib.optim.adam:adam", "torch.optim:Adam.step", "torch.optim:AdamW.step",
            "torch.optim.adam:adam")
_task = "the Adam step"
_g = _np.array([1e-3, -5.0, 200.0])
_x, _s = _np.zeros(3), {}
with _forbid(*_TARGETS, task=_task):
    adam_step(_x, _g, _s, lr=0.1)
_record("task1_tests.visible_x", _x)
_record("task1_tests.visible_t", _key(_s, "t", 1))
_record("task1_tests.visible_g", _g)
_rng = _np.random.default_rng(31)
for _i, (_lr, _betas, _eps) in enumerate(%r):
    _x = _rng.standard_normal(6)
    _s, _xs, _ms, _vs, _ts, _changed = {}, [], [], [], [], 0
    for _t in range(50):
        _g = _rng.standard_normal(6) * 10.0 ** _rng.uniform(-4, 3, 6)
        _gc = _g.copy()
        with _forbid(*_TARGETS, task=_task):
            adam_step(_x, _gc, _s, lr=_lr, betas=_betas, eps=_eps)
        _changed += int(not _np.array_equal(_gc, _g))
        _xs.append(_x.copy())
        _ms.append(_key(_s, "m", 6))
        _vs.append(_key(_s, "v", 6))
        _ts.append(_key(_s, "t", 1)[0])
    for _name, _value in (("xs", _xs), ("ms", _ms), ("vs", _vs), ("ts", _ts)):
        _record(f"task1_tests.{_name}{_i}", _value)
    _record(f"task1_tests.grad_changed{_i}", _changed)
# continuing from a given state, in extended precision (np.longdouble)
_rng = _np.random.default_rng(33)
_x = _rng.standard_normal(4).astype(_np.longdouble)
_s = {"t": 7, "m": (0.1 * _rng.standard_normal(4)).astype(_np.longdouble),
      "v": _rng.uniform(0.01, 1.0, 4).astype(_np.longdouble)}
_xs = []
for _t in range(10):
    _g = _rng.standard_normal(4).astype(_np.longdouble)
    with _forbid(*_TARGETS, task=_task):
        adam_step(_x, _g, _s, lr=0.01, betas=(0.9, 0.99), eps=1e-6)
    _xs.append(_np.asarray(_x, dtype=float))
_record("task1_tests.xs_long", _xs)
_record("task1_tests.m_long", _key(_s, "m", 4))
_record("task1_tests.v_long", _key(_s, "v", 4))
_record("task1_tests.t_long", _key(_s, "t", 1))
''' % (ADAM_CASES,),
    "task2_tests": PRELUDE + '''
_TARGETS = ("course_lib.optim.rmsprop:rmsprop", "torch.optim:RMSprop.step",
            "torch.optim.rmsprop:rmsprop")
_task = "the RMSProp step"
_x, _s = _np.zeros(2), {}
with _forbid(*_TARGETS, task=_task):
    rmsprop_step(_x, _np.array([2.0, -3.0]), _s, lr=0.01)
_record("task2_tests.visible_x", _x)
_record("task2_tests.visible_v", _key(_s, "v", 2))
_rng = _np.random.default_rng(32)
for _i, (_lr, _alpha, _eps) in enumerate(%r):
    _x = _rng.standard_normal(5)
    _s, _xs, _vs = {}, [], []
    for _t in range(40):
        _g = _rng.standard_normal(5) * 10.0 ** _rng.uniform(-3, 3, 5)
        with _forbid(*_TARGETS, task=_task):
            rmsprop_step(_x, _g.copy(), _s, lr=_lr, alpha=_alpha, eps=_eps)
        _xs.append(_x.copy())
        _vs.append(_key(_s, "v", 5))
    _record(f"task2_tests.xs{_i}", _xs)
    _record(f"task2_tests.vs{_i}", _vs)
_rng = _np.random.default_rng(34)
_x = _rng.standard_normal(4).astype(_np.longdouble)
_s = {"v": _rng.uniform(0.01, 1.0, 4).astype(_np.longdouble)}
_xs = []
for _t in range(10):
    _g = _rng.standard_normal(4).astype(_np.longdouble)
    with _forbid(*_TARGETS, task=_task):
        rmsprop_step(_x, _g, _s, lr=0.01, alpha=0.9, eps=1e-6)
    _xs.append(_np.asarray(_x, dtype=float))
_record("task2_tests.xs_long", _xs)
_record("task2_tests.v_long", _key(_s, "v", 4))
''' % (RMS_CASES,),
    "task3_tests": PRELUDE + '''
_record("task3_tests.rmsprop_limit_ratio", rmsprop_limit_ratio)
_record("task3_tests.uncorrected_ratio", uncorrected_ratio)
_record("task3_tests.first_step_sizes", first_step_sizes)
_record("task3_tests.largest_scale_eps_dominates", largest_scale_eps_dominates)
''',
}

# ------------------------------------------------------------------------- Adam

ADAM_VARIANTS = {
    "right": "",
    "eps_inside": "epsilon is inside the square root (sqrt(v_hat + eps)); it belongs outside: "
                  "sqrt(v_hat) + eps",
    "no_correction": "there is no bias correction: divide m_t by 1 - beta1^t and v_t by "
                     "1 - beta2^t before the step",
    "only_m": "only m is bias-corrected: v_hat = v_t / (1 - beta2^t) is missing",
    "only_v": "only v is bias-corrected: m_hat = m_t / (1 - beta1^t) is missing",
    "eps_before": "epsilon is added to sqrt(v_t) before the bias correction; add it after: "
                  "sqrt(v_hat) + eps",
    "t_plus_one": "the bias correction uses the wrong step count (beta^(t+1)): the first step "
                  "is t = 1",
}


def adam_run(x, grads, lr, betas, eps, variant="right", t0=0, m=None, v=None):
    b1, b2 = betas
    x = np.array(x, dtype=float)
    m = np.zeros_like(x) if m is None else np.array(m, dtype=float)
    v = np.zeros_like(x) if v is None else np.array(v, dtype=float)
    xs, ms, vs = [], [], []
    t = t0
    for g in grads:
        t += 1
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        tc = t + 1 if variant == "t_plus_one" else t
        c1 = 1 - b1 ** tc if variant not in ("no_correction", "only_v") else 1.0
        c2 = 1 - b2 ** tc if variant not in ("no_correction", "only_m") else 1.0
        with np.errstate(all="ignore"):
            if variant == "eps_inside":
                step = (m / c1) / np.sqrt(v / c2 + eps)
            elif variant == "eps_before":
                step = (m / c1) / ((np.sqrt(v) + eps) / np.sqrt(c2))
            else:
                step = (m / c1) / (np.sqrt(v / c2) + eps)
        x = x - lr * step
        xs.append(x)
        ms.append(m)
        vs.append(v)
    return np.array(xs), np.array(ms), np.array(vs)


def _adam_mistake(xs, x0, grads, lr, betas, eps, **start):
    for name, message in ADAM_VARIANTS.items():
        if name == "right":
            continue
        ref, _, _ = adam_run(x0, grads, lr, betas, eps, variant=name, **start)
        if xs.shape == ref.shape and np.allclose(xs, ref, rtol=1e-9, atol=1e-14):
            return message
    return None


def _check_reference_agrees(x0, grads, lr, betas, eps, xs_ref):
    """Our closed-form run must equal course_lib's adam (guards this file)."""
    import course_lib.optim

    x, state = np.array(x0, dtype=float), {}
    for g in grads:
        course_lib.optim.adam(x, g.copy(), state, lr=lr, betas=betas, eps=eps)
    assert np.allclose(x, xs_ref[-1], rtol=1e-10, atol=1e-14), "checks: adam reference"


def task1_tests(rec):
    g = np.array([1e-3, -5.0, 200.0])
    x = rec("visible_x")
    shape(x, (3,), "the parameters after one step")
    t = rec("visible_t")
    if np.isnan(t).any():
        raise Fail("keep the step count in state['t'] (and m, v in state['m'], state['v']): "
                   "the assignment's keys")
    if float(t.ravel()[0]) != 1:
        raise Fail(f"state['t'] counts the steps: 1 after the first step, got {t.ravel()[0]}")
    ref1, _, _ = adam_run(np.zeros(3), [g], 0.1, (0.9, 0.999), 1e-8)
    if not np.allclose(x, ref1[-1], rtol=1e-10, atol=1e-14):
        raise Fail(_adam_mistake(x[None], np.zeros(3), [g], 0.1, (0.9, 0.999), 1e-8)
                   or f"the first step should be -lr * g / (|g| + eps) = "
                      f"{np.round(ref1[-1], 6).tolist()}; got {x.tolist()}")
    if not np.array_equal(rec("visible_g"), g):
        raise Fail("adam_step must not modify grad")
    rng = np.random.default_rng(31)
    for i, (lr, betas, eps) in enumerate(ADAM_CASES):
        x0 = rng.standard_normal(6)
        grads = [rng.standard_normal(6) * 10.0 ** rng.uniform(-4, 3, 6) for _ in range(50)]
        xs_ref, ms_ref, vs_ref = adam_run(x0, grads, lr, betas, eps)
        if i == 0:
            _check_reference_agrees(x0, grads, lr, betas, eps, xs_ref)
        if rec.scalar(f"grad_changed{i}"):
            raise Fail("adam_step must not modify grad")
        ms, vs, ts = rec(f"ms{i}"), rec(f"vs{i}"), rec(f"ts{i}")
        if np.isnan(ms).any() or np.isnan(vs).any() or np.isnan(ts).any():
            raise Fail("keep the step count and the moments in state['t'], state['m'] and "
                       "state['v'] (the assignment's keys)")
        xs = rec(f"xs{i}")
        shape(xs, xs_ref.shape, "the parameters after each step")
        if not np.allclose(xs, xs_ref, rtol=1e-10, atol=1e-14):
            raise Fail((_adam_mistake(xs, x0, grads, lr, betas, eps) or
                        "the parameters differ from Adam") +
                       f" (lr={lr}, betas={betas}, eps={eps})")
        close(ts, np.arange(1, 51), "state['t'] should count the steps", rtol=0)
        close(ms, ms_ref, "state['m'] should be the (uncorrected) moving average of g",
              rtol=1e-10, atol=1e-300)
        close(vs, vs_ref, "state['v'] should be the (uncorrected) moving average of g^2",
              rtol=1e-10, atol=1e-300)
    rng = np.random.default_rng(33)
    x0 = rng.standard_normal(4)
    start = dict(t0=7, m=0.1 * rng.standard_normal(4), v=rng.uniform(0.01, 1.0, 4))
    grads = [rng.standard_normal(4) for _ in range(10)]
    xs_ref, ms_ref, vs_ref = adam_run(x0, grads, 0.01, (0.9, 0.99), 1e-6, **start)
    xs = rec("xs_long")
    if not np.allclose(xs, xs_ref, rtol=1e-10, atol=1e-14):
        raise Fail(_adam_mistake(xs, x0, grads, 0.01, (0.9, 0.99), 1e-6, **start) or
                    "continuing from a given state {'t': 7, 'm': ..., 'v': ...} with "
                    "np.longdouble arrays, the parameters differ from Adam: read t, m and v "
                    "from state")
    close(rec("m_long"), ms_ref[-1], "state['m'] after continuing from a given state",
          rtol=1e-10)
    close(rec("v_long"), vs_ref[-1], "state['v'] after continuing from a given state",
          rtol=1e-10)
    close(rec("t_long"), [17], "state['t'] after 10 steps from t = 7", rtol=0)
    return "parameters and state match Adam in 5 runs"


# ---------------------------------------------------------------------- RMSProp

RMS_VARIANTS = {
    "eps_inside": "epsilon is inside the square root (sqrt(v + eps)); it belongs outside: "
                  "sqrt(v) + eps",
    "corrected": "RMSProp (torch's convention) has no bias correction: divide by sqrt(v_t) + "
                 "eps, not by sqrt(v_t / (1 - alpha^t)) + eps",
    "swapped": "alpha weighs the old average: v_t = alpha v_(t-1) + (1 - alpha) g_t^2",
}


def rms_run(x, grads, lr, alpha, eps, variant="right", v=None):
    x = np.array(x, dtype=float)
    v = np.zeros_like(x) if v is None else np.array(v, dtype=float)
    xs, vs = [], []
    for t, g in enumerate(grads, start=1):
        if variant == "swapped":
            v = (1 - alpha) * v + alpha * g * g
        else:
            v = alpha * v + (1 - alpha) * g * g
        with np.errstate(all="ignore"):
            if variant == "eps_inside":
                step = g / np.sqrt(v + eps)
            elif variant == "corrected":
                step = g / (np.sqrt(v / (1 - alpha ** t)) + eps)
            else:
                step = g / (np.sqrt(v) + eps)
        x = x - lr * step
        xs.append(x)
        vs.append(v)
    return np.array(xs), np.array(vs)


def _rms_mistake(xs, *args, **kw):
    return known_mistake(xs, RMS_VARIANTS, rms_run, *args, rtol=1e-9, atol=1e-14, **kw)


def task2_tests(rec):
    import course_lib.optim

    v = rec("visible_v")
    if np.isnan(v).any():
        raise Fail("keep the moving average in state['v'] (the assignment's key)")
    close(v, [0.04, 0.09], "v_1 = (1 - alpha) g^2 for g = (2, -3)", rtol=1e-12)
    xs_ref, _ = rms_run(np.zeros(2), [np.array([2.0, -3.0])], 0.01, 0.99, 1e-8)
    x = rec("visible_x")
    if not np.allclose(x, xs_ref[-1], rtol=1e-10):
        raise Fail(_rms_mistake(x[None], np.zeros(2), [np.array([2.0, -3.0])], 0.01, 0.99,
                                1e-8) or f"the first step is lr g / sqrt(0.01 g^2) = 10 lr "
                   f"sign(g) = (-0.1, 0.1); got {x.tolist()}")
    rng = np.random.default_rng(32)
    for i, (lr, alpha, eps) in enumerate(RMS_CASES):
        x0 = rng.standard_normal(5)
        grads = [rng.standard_normal(5) * 10.0 ** rng.uniform(-3, 3, 5) for _ in range(40)]
        xs_ref, vs_ref = rms_run(x0, grads, lr, alpha, eps)
        if i == 0:
            xr, st = x0.copy(), {}
            for g in grads:
                course_lib.optim.rmsprop(xr, g.copy(), st, lr=lr, alpha=alpha, eps=eps)
            assert np.allclose(xr, xs_ref[-1], rtol=1e-10), "checks: rmsprop reference"
        vs = rec(f"vs{i}")
        if np.isnan(vs).any():
            raise Fail("keep the moving average in state['v'] (the assignment's key)")
        xs = rec(f"xs{i}")
        shape(xs, xs_ref.shape, "the parameters after each step")
        if not np.allclose(xs, xs_ref, rtol=1e-10, atol=1e-14):
            raise Fail((_rms_mistake(xs, x0, grads, lr, alpha, eps) or
                        "the parameters differ from RMSProp") +
                       f" (lr={lr}, alpha={alpha}, eps={eps})")
        close(vs, vs_ref, "state['v'] should be the moving average of g^2", rtol=1e-10,
              atol=1e-300)
    rng = np.random.default_rng(34)
    x0 = rng.standard_normal(4)
    v0 = rng.uniform(0.01, 1.0, 4)
    grads = [rng.standard_normal(4) for _ in range(10)]
    xs_ref, vs_ref = rms_run(x0, grads, 0.01, 0.9, 1e-6, v=v0)
    close(rec("xs_long"), xs_ref, "continuing from a given state['v'] with np.longdouble "
          "arrays, the parameters", rtol=1e-10, atol=1e-14)
    close(rec("v_long"), vs_ref[-1], "state['v'] after continuing from a given state",
          rtol=1e-10)
    return "parameters and state match RMSProp in 4 runs"


def task3_tests(rec):
    ratio = rec.scalar("rmsprop_limit_ratio")
    if abs(ratio - 1.0 / np.sqrt(1 - 0.99 ** 2000)) > 1e-7:
        raise Fail(f"rmsprop_limit_ratio should be |last displacement| / lr after 2000 steps "
                   f"(about 1); got {ratio}")
    expected = 0.5 * 0.1 / (np.sqrt(0.25 * 0.001) + 1e-8) / (0.5 / (0.5 + 1e-8))
    got = rec.scalar("uncorrected_ratio")
    if abs(got - expected) > 1e-9:
        hint = " (that is the inverse ratio)" if abs(got * expected - 1) < 1e-6 else ""
        raise Fail(f"uncorrected_ratio should be about 3.16 (uncorrected / corrected first "
                   f"step); got {got}{hint}")
    scales = 10.0 ** -np.arange(0, 13)
    sizes = rec("first_step_sizes")
    shape(sizes, scales.shape, "first_step_sizes needs one entry per scale")
    close(sizes, scales / (scales + 1e-8), "the first Adam step from gradient s is "
          "s / (s + eps)", rtol=1e-9)
    largest = rec.scalar("largest_scale_eps_dominates")
    if largest != 1e-9:
        raise Fail(f"largest_scale_eps_dominates should be the largest s whose first step is "
                   f"below lr / 10; got {largest}")
    return "the three claims are verified"


CHECKS = {"task1_tests": task1_tests, "task2_tests": task2_tests, "task3_tests": task3_tests}
