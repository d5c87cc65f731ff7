"""Trusted checks of homework 10 (Lion, Newton–Schulz orthogonalization, the SAM step).

The student's Lion keeps its momentum in the assignment's key ``state["m"]`` (course_lib and
torch call it ``"exp_avg"``), so an answer that hands ``state`` to the course's rule does not
produce the moment the check reads; one run continues from a given state in ``np.longdouble``
(which torch cannot take). The Newton–Schulz task is checked after a *small* number of
iterations, where the iterate is still far from :math:`UV^\top`, so an SVD does not pass; the
SAM task hands the student a gradient function that records where it is called, so the check
sees both evaluation points, not only the result. Wrong answers are compared with the usual
mistakes so that the message names the one that was made.
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
LION_CASES = [(1e-3, (0.9, 0.99), 0.0), (0.01, (0.8, 0.95), 0.1), (0.05, (0.0, 0.5), 1.0)]
NS_CASES = [((6, 4), 1, (1.5, -0.5, 0.0)), ((4, 7), 3, (1.5, -0.5, 0.0)),
            ((9, 5), 5, (3.4445, -4.775, 2.0315)), ((5, 5), 2, (2.0, -1.5, 0.5))]
SAM_CASES = [(0.1, 0.05), (0.02, 0.5), (0.3, 1e-3)]

PROBES = {
    "task1_tests": PRELUDE + '''
_TARGETS = ("course_lib.optim.lion:lion.update", "course_lib.optim.lion:Lion.step")
_task = "the Lion step"
_g = _np.array([0.5, -2.0, 1e-3])
_x, _s = _np.ones(3), {}
with _forbid(*_TARGETS, task=_task):
    lion_step(_x, _g, _s, lr=0.1)
_record("task1_tests.visible_x", _x)
_record("task1_tests.visible_m", _key(_s, "m", 3))
_record("task1_tests.visible_g", _g)
_rng = _np.random.default_rng(101)
for _i, (_lr, _betas, _wd) in enumerate(''' + repr(LION_CASES) + '''):
    _x = _rng.standard_normal(6)
    _s, _xs, _ms, _changed = {}, [], [], 0
    for _t in range(40):
        _g = _rng.standard_normal(6) * 10.0 ** _rng.uniform(-3, 2, 6)
        _gc = _g.copy()
        with _forbid(*_TARGETS, task=_task):
            lion_step(_x, _gc, _s, lr=_lr, betas=_betas, weight_decay=_wd)
        _changed += int(not _np.array_equal(_gc, _g))
        _xs.append(_x.copy())
        _ms.append(_key(_s, "m", 6))
    _record(f"task1_tests.xs{_i}", _xs)
    _record(f"task1_tests.ms{_i}", _ms)
    _record(f"task1_tests.grad_changed{_i}", _changed)
# continuing from a given state, in extended precision (np.longdouble)
_rng = _np.random.default_rng(102)
_x = _rng.standard_normal(4).astype(_np.longdouble)
_s = {"m": (0.1 * _rng.standard_normal(4)).astype(_np.longdouble)}
_xs = []
for _t in range(10):
    _g = _rng.standard_normal(4).astype(_np.longdouble)
    with _forbid(*_TARGETS, task=_task):
        lion_step(_x, _g, _s, lr=0.01, betas=(0.9, 0.99), weight_decay=0.5)
    _xs.append(_np.asarray(_x, dtype=float))
_record("task1_tests.xs_long", _xs)
_record("task1_tests.m_long", _key(_s, "m", 4))
''',
    "task2_tests": PRELUDE + '''
_TARGETS = ("course_lib.optim.muon:newton_schulz", "course_lib.optim.muon:muon.update",
            "course_lib.optim.muon:Muon.step", "torch.optim:Muon.step",
            "torch.optim._muon:_zeropower_via_newtonschulz")
_task = "the Newton-Schulz iteration"
_G = _np.array([[3.0, 0.0], [0.0, 4.0], [0.0, 0.0]])
_Gc = _G.copy()
with _forbid(*_TARGETS, task=_task):
    _X = newton_schulz(_G, 1)
_record("task2_tests.visible", _X)
_record("task2_tests.visible_changed", int(not _np.array_equal(_G, _Gc)))
_rng = _np.random.default_rng(103)
for _i, (_shape, _steps, _coeffs) in enumerate(''' + repr(NS_CASES) + '''):
    _G = _rng.standard_normal(_shape) * 10.0 ** _rng.uniform(-2, 2)
    with _forbid(*_TARGETS, task=_task):
        _X = newton_schulz(_G, _steps, coefficients=_coeffs)
    _record(f"task2_tests.case{_i}", _X)
_G = _rng.standard_normal((8, 5))
with _forbid(*_TARGETS, task=_task):
    _X = newton_schulz(_G, 40)
_record("task2_tests.converged", _X)
_record("task2_tests.converged_input", _G)
''',
    "task3_tests": PRELUDE + '''
_TARGETS = ("course_lib.optim.sam:sam_step", "course_lib.optim.sam:sam_perturbation",
            "course_lib.optim.sam:SAM.step")
_task = "the SAM step"
_A = _np.array([[2.0, 0.5], [0.5, 1.0]])
_calls = []
def _grad_fn(x):
    x = _np.asarray(x, dtype=float)
    _calls.append(x.copy())
    return _A @ x + _np.sin(x)
_theta = _np.array([1.0, -1.0])
with _forbid(*_TARGETS, task=_task):
    _new = sam_step(_theta.copy(), _grad_fn, lr=0.1, rho=0.05)
_record("task3_tests.visible", _new)
_record("task3_tests.visible_calls", _np.array(_calls).reshape(-1))
_rng = _np.random.default_rng(104)
for _i, (_lr, _rho) in enumerate(''' + repr(SAM_CASES) + '''):
    _calls.clear()
    _theta = _rng.standard_normal(2) * 3
    _before = _theta.copy()
    with _forbid(*_TARGETS, task=_task):
        _new = sam_step(_theta, _grad_fn, lr=_lr, rho=_rho)
    _record(f"task3_tests.theta{_i}", _before)
    _record(f"task3_tests.new{_i}", _new)
    _record(f"task3_tests.calls{_i}", _np.array(_calls).reshape(-1))
    _record(f"task3_tests.input_changed{_i}", int(not _np.array_equal(_theta, _before)))
''',
}


# ------------------------------------------------------------------------- Lion

LION_VARIANTS = {
    "sign_of_m": "the step is the sign of the interpolation c_t = beta1 m_(t-1) + (1 - beta1) "
                 "g_t, not of the momentum m_t",
    "swapped": "beta1 and beta2 are swapped: beta1 interpolates for the step, beta2 is the "
               "decay of the stored momentum",
    "decay_no_lr": "the weight decay is multiplied by the learning rate: theta <- theta - lr * "
                   "(sign(c_t) + weight_decay * theta)",
    "no_sign": "the step is lr * sign(c_t): take the sign of the interpolation",
    "m_before": "the momentum is updated after the step, with the plain gradient; c_t uses "
                "the old m_(t-1)",
}


def lion_run(x, grads, lr, betas, wd, variant="right", m=None):
    b1, b2 = betas
    if variant == "swapped":
        b1, b2 = b2, b1
    x = np.array(x, dtype=float)
    m = np.zeros_like(x) if m is None else np.array(m, dtype=float)
    xs, ms = [], []
    for g in grads:
        if variant == "m_before":
            m = b2 * m + (1 - b2) * g
            c = b1 * m + (1 - b1) * g
        else:
            c = b1 * m + (1 - b1) * g
        if variant == "sign_of_m":
            c = b2 * m + (1 - b2) * g
        direction = c if variant == "no_sign" else np.sign(c)
        decay = wd * x if variant == "decay_no_lr" else lr * wd * x
        x = x - lr * direction - decay
        if variant != "m_before":
            m = b2 * m + (1 - b2) * g
        xs.append(x)
        ms.append(m)
    return np.array(xs), np.array(ms)


def _lion_mistake(xs, *args, **kw):
    return known_mistake(xs, LION_VARIANTS, lion_run, *args, rtol=1e-9, atol=1e-12, **kw)


def task1_tests(rec):
    import importlib

    lion_rule = importlib.import_module("course_lib.optim.lion").lion

    g = np.array([0.5, -2.0, 1e-3])
    m = rec("visible_m")
    if np.isnan(m).any():
        raise Fail("keep the momentum in state['m'] (the assignment's key)")
    close(m, 0.01 * g, "after one step from m_0 = 0, m_1 = (1 - beta2) g", rtol=1e-12)
    x = rec("visible_x")
    shape(x, (3,), "the parameters after one step")
    ref1, _ = lion_run(np.ones(3), [g], 0.1, (0.9, 0.99), 0.0)
    if not np.allclose(x, ref1[-1], rtol=1e-12):
        raise Fail(_lion_mistake(x[None], np.ones(3), [g], 0.1, (0.9, 0.99), 0.0)
                   or f"the first step from theta = 1 is 1 - lr * sign(g) = "
                      f"{ref1[-1].tolist()}; got {x.tolist()}")
    if not np.array_equal(rec("visible_g"), g):
        raise Fail("lion_step must not modify grad")
    rng = np.random.default_rng(101)
    for i, (lr, betas, wd) in enumerate(LION_CASES):
        x0 = rng.standard_normal(6)
        grads = [rng.standard_normal(6) * 10.0 ** rng.uniform(-3, 2, 6) for _ in range(40)]
        xs_ref, ms_ref = lion_run(x0, grads, lr, betas, wd)
        if i == 1:          # guards this file: the closed form equals course_lib's rule
            xr, st = x0.copy(), {}
            for g_ in grads:
                lion_rule(xr, g_.copy(), st, lr=lr, betas=betas, weight_decay=wd)
            assert np.allclose(xr, xs_ref[-1], rtol=1e-12), "checks: lion reference"
        if rec.scalar(f"grad_changed{i}"):
            raise Fail("lion_step must not modify grad")
        ms = rec(f"ms{i}")
        if np.isnan(ms).any():
            raise Fail("keep the momentum in state['m'] (the assignment's key)")
        xs = rec(f"xs{i}")
        shape(xs, xs_ref.shape, "the parameters after each step")
        if not np.allclose(xs, xs_ref, rtol=1e-10, atol=1e-12):
            raise Fail((_lion_mistake(xs, x0, grads, lr, betas, wd) or
                        "the parameters differ from Lion") +
                       f" (lr={lr}, betas={betas}, weight_decay={wd})")
        close(ms, ms_ref, "state['m'] should be the moving average of g with beta2",
              rtol=1e-10, atol=1e-300)
    rng = np.random.default_rng(102)
    x0 = rng.standard_normal(4)
    m0 = 0.1 * rng.standard_normal(4)
    grads = [rng.standard_normal(4) for _ in range(10)]
    xs_ref, ms_ref = lion_run(x0, grads, 0.01, (0.9, 0.99), 0.5, m=m0)
    xs = rec("xs_long")
    if not np.allclose(xs, xs_ref, rtol=1e-10, atol=1e-12):
        raise Fail(_lion_mistake(xs, x0, grads, 0.01, (0.9, 0.99), 0.5, m=m0) or
                   "continuing from a given state {'m': ...} with np.longdouble arrays, the "
                   "parameters differ from Lion: read m from state")
    close(rec("m_long"), ms_ref[-1], "state['m'] after continuing from a given state",
          rtol=1e-10)
    return "parameters and state match Lion in 5 runs"


# --------------------------------------------------------------- Newton-Schulz

def ns_run(G, steps, coefficients=(1.5, -0.5, 0.0), variant="right"):
    a, b, c = coefficients
    X = np.array(G, dtype=float)
    tall = X.shape[0] > X.shape[1]
    if tall and variant != "no_transpose":
        X = X.T
    if variant == "spectral":
        X = X / np.linalg.norm(X, 2)
    elif variant != "no_normalize":
        X = X / np.linalg.norm(X)
    for _ in range(steps):
        A = X @ X.T if variant != "gram_left" else X.T @ X
        if variant == "gram_left":
            X = a * X + X @ (b * A + c * A @ A)
        else:
            X = a * X + (b * A + c * A @ A) @ X
    return X.T if tall and variant != "no_transpose" else X


NS_VARIANTS = {
    "no_normalize": "scale G by its Frobenius norm first (X_0 = G / ||G||_F), so that every "
                    "singular value is at most 1",
    "spectral": "normalize by the Frobenius norm ||G||_F (what the method can compute "
                "cheaply), not by the spectral norm",
}


def _ns_mistake(X, G, steps, coeffs):
    for name, text in NS_VARIANTS.items():
        if np.allclose(X, ns_run(G, steps, coeffs, name), rtol=1e-9, atol=1e-12):
            return text
    U, _, Vt = np.linalg.svd(G, full_matrices=False)
    if X.shape == (U @ Vt).shape and np.allclose(X, U @ Vt, atol=1e-9):
        return ("this is the exact U V^T; the task asks for the result of the given number of "
                "iterations (after few steps it is not yet U V^T)")
    return None


def task2_tests(rec):
    import importlib

    reference_ns = importlib.import_module("course_lib.optim.muon").newton_schulz

    G = np.array([[3.0, 0.0], [0.0, 4.0], [0.0, 0.0]])
    if rec.scalar("visible_changed"):
        raise Fail("newton_schulz must not modify G")
    X = rec("visible")
    shape(X, (3, 2), "newton_schulz(G, 1) for a 3 x 2 matrix G")
    if not np.allclose(X, ns_run(G, 1), rtol=1e-12, atol=1e-15):
        raise Fail(_ns_mistake(X, G, 1, (1.5, -0.5, 0.0)) or
                   f"one cubic step from G / ||G||_F (singular values 0.6, 0.8) gives singular "
                   f"values 0.792, 0.944; got {np.round(X, 6).tolist()}")
    rng = np.random.default_rng(103)
    for i, (shp, steps, coeffs) in enumerate(NS_CASES):
        G = rng.standard_normal(shp) * 10.0 ** rng.uniform(-2, 2)
        ref = ns_run(G, steps, coeffs)
        if i == 2:          # guards this file: torch's quintic equals course_lib's
            other = reference_ns(G, coeffs, steps)
            assert np.allclose(other, ref, rtol=1e-10, atol=1e-13), "checks: ns reference"
        X = rec(f"case{i}")
        shape(X, shp, f"the result for a {shp[0]} x {shp[1]} matrix (same shape as G)")
        if not np.allclose(X, ref, rtol=1e-9, atol=1e-12):
            raise Fail((_ns_mistake(X, G, steps, coeffs) or
                        "the iterate differs from the Newton-Schulz iteration") +
                       f" ({shp[0]} x {shp[1]}, {steps} steps, coefficients {coeffs})")
    G = rec("converged_input")
    U, _, Vt = np.linalg.svd(G, full_matrices=False)
    close(rec("converged"), U @ Vt, "after 40 cubic steps the iterate should be U V^T",
          rtol=0, atol=1e-10)
    return "the iteration matches on 6 matrices"


# ------------------------------------------------------------------------- SAM

def sam_grad(x):
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    return A @ x + np.sin(x)


SAM_VARIANTS = {
    "plain": "the step uses the gradient at theta; SAM's step uses the gradient at the "
             "perturbed point theta + eps",
    "no_norm": "eps = rho * g / ||g||: divide the gradient by its norm",
    "squared": "eps = rho * g / ||g|| (the norm, not its square)",
    "descent": "eps points up the gradient (ascent): eps = +rho * g / ||g||",
    "stay": "the step starts from theta, not from theta + eps: new theta = theta - lr * "
            "grad(theta + eps)",
}


def sam_expected(theta, lr, rho, variant="right"):
    g = sam_grad(theta)
    norm = np.linalg.norm(g)
    eps = {"no_norm": rho * g, "squared": rho * g / norm**2,
           "descent": -rho * g / norm}.get(variant, rho * g / norm)
    g_adv = g if variant == "plain" else sam_grad(theta + eps)
    start = theta + eps if variant == "stay" else theta
    return start - lr * g_adv, theta + eps


def task3_tests(rec):
    new = rec("visible")
    shape(new, (2,), "the new theta")
    ref, _ = sam_expected(np.array([1.0, -1.0]), 0.1, 0.05)
    calls = rec("visible_calls").reshape(-1, 2) if rec("visible_calls").size % 2 == 0 else None
    if calls is None or len(calls) != 2:
        n = 0 if calls is None else len(calls)
        raise Fail(f"a SAM step evaluates the gradient exactly twice (at theta and at theta + "
                   f"eps); your sam_step called grad_fn {n} times")
    rng = np.random.default_rng(104)
    for i, (lr, rho) in enumerate(SAM_CASES):
        theta = rng.standard_normal(2) * 3
        close(rec(f"theta{i}"), theta, "the probe's starting point", rtol=0)
        if rec.scalar(f"input_changed{i}"):
            raise Fail("sam_step must return a new array and leave theta unchanged")
        calls = rec(f"calls{i}")
        if calls.size != 4:
            raise Fail(f"a SAM step evaluates the gradient exactly twice; your sam_step "
                       f"called grad_fn {calls.size // 2} times")
        calls = calls.reshape(2, 2)
        expected, perturbed = sam_expected(theta, lr, rho)
        got = rec(f"new{i}")
        shape(got, (2,), "the new theta")
        if not np.allclose(got, expected, rtol=1e-12, atol=1e-14):
            message = None
            for name, text in SAM_VARIANTS.items():
                if np.allclose(got, sam_expected(theta, lr, rho, name)[0], rtol=1e-10,
                               atol=1e-12):
                    message = text
                    break
            raise Fail((message or "the new theta differs from theta - lr * grad(theta + "
                        "rho g / ||g||)") + f" (lr={lr}, rho={rho})")
        close(calls[0], theta, "the first gradient is evaluated at theta", rtol=1e-12)
        close(calls[1], perturbed, "the second gradient is evaluated at theta + rho g / ||g||",
              rtol=1e-12)
    close(new, ref, "the visible example", rtol=1e-12)
    return "the SAM step matches on 4 points"


CHECKS = {"task1_tests": task1_tests, "task2_tests": task2_tests, "task3_tests": task3_tests}
