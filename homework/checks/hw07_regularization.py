"""Trusted checks of homework 7 (dropout, the weight-scaling rule, gradient clipping)."""

from __future__ import annotations

import itertools

import numpy as np

from ._base import Fail, close, shape

PRELUDE = '''
from course_lib.grading import forbid as _forbid, record as _record
import numpy as _np
'''
DROP_PS = (0.1, 0.3, 0.8)
MASK_CASES = [(5, 0.8, "tanh"), (7, 0.5, "relu"), (3, 0.3, "exp")]
CLIP_NORMS = (0.1, 1.0, 100.0)

PROBES = {
    "task1_tests": PRELUDE + '''
_TARGETS = ("course_lib.nn.layers:Dropout.forward", "torch.nn.functional:dropout",
            "torch:dropout")
_task = "inverted dropout"
_x = _np.arange(1.0, 13.0).reshape(3, 4)
with _forbid(*_TARGETS, task=_task):
    _out, _mask = inverted_dropout(_x.copy(), 0.5, _np.random.default_rng(0))
    _out_eval, _mask_eval = inverted_dropout(_x.copy(), 0.5, _np.random.default_rng(0),
                                             training=False)
for _name, _v in (("v_out", _out), ("v_mask", _mask), ("v_eval", _out_eval),
                  ("v_eval_mask", _mask_eval)):
    _record("task1_tests." + _name, _v)
_x = _np.random.default_rng(70).standard_normal((2000, 50)) + 1.0
for _p in %r:
    with _forbid(*_TARGETS, task=_task):
        _out, _mask = inverted_dropout(_x.copy(), _p, _np.random.default_rng(7))
        _out2, _mask2 = inverted_dropout(_x.copy(), _p, _np.random.default_rng(7))
    _record(f"task1_tests.out{_p}", _out)
    _record(f"task1_tests.mask{_p}", _mask)
    _record(f"task1_tests.same{_p}", _np.array_equal(_mask, _mask2))
with _forbid(*_TARGETS, task=_task):
    _out0, _ = inverted_dropout(_x.copy(), 0.0, _np.random.default_rng(1))
    _out1, _ = inverted_dropout(_x.copy(), 1.0, _np.random.default_rng(1))
    _out_e, _ = inverted_dropout(_x.copy(), 0.7, _np.random.default_rng(1), training=False)
_record("task1_tests.p0", _out0)
_record("task1_tests.p1", _out1)
_record("task1_tests.eval", _out_e)
''' % (DROP_PS,),
    "task2_tests": PRELUDE + '''
_acts = {"tanh": _np.tanh, "relu": lambda z: _np.maximum(z, 0), "exp": _np.exp}
_record("task2_tests.visible", expected_output_over_masks(
    _np.array([1.0, 2.0]), _np.array([1.0, 1.0]), 0.5, lambda z: z ** 2))
_rng = _np.random.default_rng(71)
for _i, (_n, _a, _act) in enumerate(%r):
    _w, _xx = _rng.standard_normal(_n), _rng.standard_normal(_n)
    _record(f"task2_tests.e{_i}", expected_output_over_masks(_w, _xx, _a, _acts[_act]))
_record("task2_tests.gaps", [gap_linear, gap_tanh])
''' % (MASK_CASES,),
    "task3_tests": PRELUDE + '''
_TARGETS = ("course_lib.nn.module:clip_grad_norm_", "torch.nn.utils:clip_grad_norm_",
            "torch.nn.utils.clip_grad:clip_grad_norm_")
_task = "gradient clipping by norm"
_g1, _g2 = _np.array([3.0]), _np.array([[4.0]])
with _forbid(*_TARGETS, task=_task):
    _total = clip_grad_norm([_g1, _g2], 1.0)
_record("task3_tests.visible", [_total, _g1[0], _g2[0, 0]])
_rng = _np.random.default_rng(72)
for _c in %r:
    _arrays = [_rng.standard_normal(_s) for _s in [(3, 4), (4,), (2, 2, 2)]]
    if _c == 100.0:
        _arrays = [_a.astype(_np.longdouble) for _a in _arrays]
    with _forbid(*_TARGETS, task=_task):
        _total = clip_grad_norm(_arrays, _c)
    _record(f"task3_tests.total{_c}", _total)
    _record(f"task3_tests.arrays{_c}", _np.concatenate([_np.ravel(_a) for _a in _arrays]))
''' % (CLIP_NORMS,),
    "task4_tests": PRELUDE + '''
_record("task4_tests.steps", [largest_step_plain, largest_step_clipped])
''',
}


def task1_tests(rec):
    x = np.arange(1.0, 13.0).reshape(3, 4)
    out, mask = rec("v_out"), rec("v_mask")
    shape(out, x.shape, "out must have the shape of x")
    shape(mask, x.shape, "mask must have the shape of x")
    if not set(np.unique(mask)) <= {0.0, 2.0}:
        hint = (" (return the scaled mask m / (1 - p), not the 0/1 mask)"
                if set(np.unique(mask)) <= {0.0, 1.0} else "")
        raise Fail(f"with p = 0.5 the mask entries are 0 or 1/(1 - 0.5) = 2; got "
                   f"{np.unique(mask)[:5].tolist()}{hint}")
    close(out, x * mask, "out must be x * mask", rtol=1e-12)
    close(rec("v_eval"), x, "in evaluation (training=False) dropout returns x", rtol=0)
    xh = np.random.default_rng(70).standard_normal((2000, 50)) + 1.0
    for p in DROP_PS:
        out, mask = rec(f"out{p}"), rec(f"mask{p}")
        shape(mask, xh.shape, f"mask (p={p})")
        shape(out, xh.shape, f"out (p={p})")
        kept = mask != 0
        if abs(kept.mean() - (1 - p)) >= 0.01:
            hint = " (p is the probability to DROP an entry)" \
                if abs(kept.mean() - p) < 0.01 else ""
            raise Fail(f"with p={p} about {1 - p:.0%} of the entries must be kept; you kept "
                       f"{kept.mean():.1%}{hint}")
        if not np.allclose(mask[kept], 1 / (1 - p)):
            raise Fail(f"kept entries must be scaled by 1/(1 - p) = {1 / (1 - p):.4g} (p={p})")
        close(out, xh * mask, f"out must be x * mask (p={p})", rtol=1e-12)
        if abs(out.mean() / xh.mean() - 1) >= 0.02:
            raise Fail(f"the output's mean must match the input's (p={p})")
        if not rec.scalar(f"same{p}"):
            raise Fail("draw the mask with the generator rng: the same generator state must "
                       "give the same mask")
        if np.max(np.abs(kept.mean(axis=0) - (1 - p))) >= 0.05 or \
                np.max(np.abs(kept.reshape(100, -1).mean(axis=1) - (1 - p))) >= 0.1:
            raise Fail("the entries are not dropped independently (rows or columns are kept "
                       "at different rates)")
    close(rec("p0"), xh, "p = 0 must keep everything", rtol=1e-12)
    out1 = rec("p1")
    if not np.all(np.isfinite(out1)) or not np.all(out1 == 0):
        raise Fail("p = 1 must drop everything: out is all zeros (no nan: avoid dividing by "
                   "1 - p = 0)")
    close(rec("eval"), xh, "evaluation mode must return x", rtol=0)
    return "the masks have the right rate, scale and independence"


def _exact(w, x, a, act):
    total = 0.0
    for bits in itertools.product([0, 1], repeat=len(x)):
        m = np.array(bits, dtype=float)
        total += np.prod(np.where(m == 1, a, 1 - a)) * act(w @ (m * x))
    return total


def task2_tests(rec):
    e = rec.scalar("visible")
    if abs(e - 14 / 4) > 1e-12:
        raise Fail(f"four masks, each with probability 1/4: (0 + 1 + 4 + 9)/4 = 3.5; got {e}")
    acts = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0), "exp": np.exp}
    rng = np.random.default_rng(71)
    for i, (n, a, act) in enumerate(MASK_CASES):
        w, x = rng.standard_normal(n), rng.standard_normal(n)
        expected = _exact(w, x, a, acts[act])
        got = rec.scalar(f"e{i}")
        if abs(got - expected) > 1e-10:
            swapped = _exact(w, x, 1 - a, acts[act])
            hint = (" (keep_prob is the probability that an entry is KEPT)"
                    if abs(got - swapped) < 1e-10 else "")
            raise Fail(f"the expectation is wrong for n={n}, keep_prob={a}{hint}")
    w = np.array([1.5, -2.0, 0.7, 2.5, -1.1, 0.9, 1.8, -0.4])
    x = np.array([0.9, -1.2, 2.0, 0.8, 1.5, -0.3, 1.1, 2.2])
    gaps = rec("gaps").ravel()
    if gaps.size != 2:
        raise Fail("gap_linear and gap_tanh must be numbers")
    if gaps[0] >= 1e-10:
        raise Fail(f"gap_linear should be 0 up to rounding (a linear unit); got {gaps[0]}")
    expected = abs(_exact(w, x, 0.6, np.tanh) - np.tanh(0.6 * (w @ x)))
    if abs(gaps[1] - expected) > 1e-10:
        raise Fail(f"gap_tanh should be |E tanh(w^T (m x)) - tanh(0.6 w^T x)| = "
                   f"{expected:.6f}; got {gaps[1]}")
    return "the expectations and gaps are right"


def task3_tests(rec):
    import course_lib.nn

    total, a, b = rec("visible").ravel()
    if abs(total - 5.0) > 1e-12:
        raise Fail(f"the joint norm of (3, 4) is 5 (return the norm before clipping); got "
                   f"{total}")
    if not np.allclose([a, b], [0.6, 0.8], rtol=1e-5):
        raise Fail("the arrays must be rescaled in place to norm 1")
    rng = np.random.default_rng(72)
    for c in CLIP_NORMS:
        arrays = [rng.standard_normal(s) for s in [(3, 4), (4,), (2, 2, 2)]]
        ref = [x.copy() for x in arrays]
        ref_total = course_lib.nn.clip_grad_norm_(ref, c)
        flat = np.concatenate([x.ravel() for x in ref])
        got_total = rec.scalar(f"total{c}")
        if abs(got_total - ref_total) > 1e-10 * ref_total:
            raise Fail(f"wrong total norm (max_norm={c}): return the joint norm of all the "
                       "arrays before clipping")
        got = rec(f"arrays{c}")
        if got.shape == flat.shape and not np.allclose(got, flat, rtol=1e-10, atol=1e-14):
            orig = np.concatenate([x.ravel() for x in arrays])
            if np.allclose(got, orig):
                hint = ("the arrays were not changed: rescale them in place (g *= coef)"
                        if c < ref_total else "")
            elif np.allclose(got, orig * (c / ref_total), rtol=1e-10):
                hint = ("you always rescale to norm max_norm: clip only when the norm is larger"
                        if c >= ref_total else
                        "the factor is max_norm / (norm + 1e-6), as torch computes it")
            else:
                hint = "the arrays must be rescaled together by one factor (the joint norm)"
            raise Fail(f"wrong clipped gradients (max_norm={c}): {hint}")
        close(got, flat, f"the clipped gradients (max_norm={c})", rtol=1e-10, atol=1e-14)
    return "norms and clipped gradients match torch's rule"


def task4_tests(rec):
    import course_lib.optim.descent
    import course_lib.optim
    from course_lib.objectives import Cliff

    cliff = Cliff()
    xs = course_lib.optim.descent.run(course_lib.optim.sgd, cliff, cliff.x0, 100, lr=0.1).xs
    plain = float(np.max(np.linalg.norm(np.diff(xs, axis=0), axis=1)))
    got = rec("steps").ravel()
    if got.size != 2:
        raise Fail("largest_step_plain and largest_step_clipped must be numbers")
    if abs(got[0] - plain) > 1e-9:
        raise Fail(f"largest_step_plain should be {plain:.6f}; got {got[0]}")
    if abs(got[1] - 0.1) > 1e-9:
        raise Fail(f"largest_step_clipped should be lr * 1 = 0.1; got {got[1]}")
    return "both largest steps are right"


CHECKS = {"task1_tests": task1_tests, "task2_tests": task2_tests, "task3_tests": task3_tests,
          "task4_tests": task4_tests}
