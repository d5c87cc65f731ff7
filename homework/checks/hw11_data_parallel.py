"""Trusted checks of homework 11 (data-parallel training).

Task 1 asks for a LARS step on a list of NumPy arrays (one per layer) with the assignment's
state key ``"b"`` (a list of momentum buffers); it is checked on layers of very different
scales, with weight decay, with a zero layer (trust ratio 1) and continuing from a given state
in extended precision. Task 2 combines per-worker mean gradients into the global mean (equal
and unequal shards) and gives the weights plain averaging puts on each example. Task 3 is the
ring all-reduce cost model. Wrong answers are compared with the usual mistakes (trust ratio
inverted, weight decay left out of the ratio, momentum before the scaling, averaging shard means
without weights, the ring's factor 2 or (p - 1)/p missing) so that the message names the one
that was made.
"""

from __future__ import annotations

import numpy as np

from ._base import Fail, close, known_mistake, shape

PRELUDE = '''
from course_lib.grading import forbid as _forbid, record as _record
import numpy as _np
'''

LARS_CASES = [(0.1, 0.9, 0.0, 0.02), (0.5, 0.0, 1e-3, 0.01), (1.0, 0.8, 5e-2, 0.001)]

PROBES = {
    "task1_tests": PRELUDE + '''
_TARGETS = ("course_lib.distributed.replicas:trust_ratio", "course_lib.optim.lars:lars",
            "course_lib.optim.lars:layer_trust_ratio", "course_lib.optim.lars:LARS.step")
_task = "the LARS step"
_w = [_np.array([3.0, 4.0]), _np.array([[0.0, 0.6], [0.8, 0.0]])]
_g = [_np.array([0.0, 0.5]), _np.array([[1.0, 0.0], [0.0, 0.0]])]
_s = {}
with _forbid(*_TARGETS, task=_task):
    lars_step(_w, [_x.copy() for _x in _g], _s, lr=1.0, momentum=0.9,
              trust_coefficient=0.01)
_record("task1_tests.visible_w0", _w[0])
_record("task1_tests.visible_w1", _w[1])
_rng = _np.random.default_rng(111)
for _i, (_lr, _mu, _wd, _c) in enumerate(''' + repr(LARS_CASES) + '''):
    _shapes = [(5, 3), (3,), (3, 2), (2,)]
    _scales = [1.0, 1e-3, 30.0, 0.0]
    _w = [_rng.standard_normal(_sh) * _sc for _sh, _sc in zip(_shapes, _scales)]
    _s, _hist, _changed = {}, [], 0
    for _t in range(12):
        _g = [_rng.standard_normal(_sh) * 10.0 ** _rng.uniform(-3, 2) for _sh in _shapes]
        _gc = [_x.copy() for _x in _g]
        with _forbid(*_TARGETS, task=_task):
            lars_step(_w, _gc, _s, lr=_lr, momentum=_mu, weight_decay=_wd,
                      trust_coefficient=_c)
        _changed += int(not all(_np.array_equal(_a, _b) for _a, _b in zip(_g, _gc)))
        _hist.append(_np.concatenate([_np.ravel(_x) for _x in _w]))
    _record(f"task1_tests.ws{_i}", _hist)
    _buf = _s.get("b") if isinstance(_s, dict) else None
    _record(f"task1_tests.b{_i}", _np.concatenate([_np.ravel(_x) for _x in _buf])
            if _buf is not None else _np.full(26, _np.nan))
    _record(f"task1_tests.grad_changed{_i}", _changed)
_rng = _np.random.default_rng(112)
_w = [_rng.standard_normal(4).astype(_np.longdouble),
      _rng.standard_normal((2, 2)).astype(_np.longdouble)]
_s = {"b": [0.1 * _rng.standard_normal(4).astype(_np.longdouble),
            0.1 * _rng.standard_normal((2, 2)).astype(_np.longdouble)]}
for _t in range(5):
    _g = [_rng.standard_normal(4).astype(_np.longdouble),
          _rng.standard_normal((2, 2)).astype(_np.longdouble)]
    with _forbid(*_TARGETS, task=_task):
        lars_step(_w, _g, _s, lr=0.5, momentum=0.9, weight_decay=1e-2, trust_coefficient=0.01)
_record("task1_tests.w_long",
        _np.concatenate([_np.ravel(_np.asarray(_x, dtype=float)) for _x in _w]))
''',
    "task2_tests": PRELUDE + '''
_rng = _np.random.default_rng(121)
for _i, _sizes in enumerate([(4, 4, 4, 4), (3, 1), (5, 2, 9), (1, 1, 1, 1, 1, 7)]):
    _grads = [_rng.standard_normal(6) for _ in _sizes]
    _record(f"task2_tests.combined{_i}", combine_shard_gradients(_grads, list(_sizes)))
_record("task2_tests.ddp_weights", ddp_weights)
_record("task2_tests.accumulation_scale", accumulation_scale)
''',
    "task3_tests": PRELUDE + '''
_TARGETS = ("course_lib.distributed.costs:ring_allreduce_time",
            "course_lib.distributed.costs:ring_allreduce_bytes")
with _forbid(*_TARGETS, task="the ring all-reduce time"):
    _grid = _np.array([[1e3, 1e6, 1e8, 4e8]]).T
    _ps = _np.array([[2, 3, 8, 64, 1024]])
    _record("task3_tests.times", ring_allreduce_time(_grid, _ps, 2e-5, 5e9))
    _record("task3_tests.times_b", ring_allreduce_time(_grid, _ps, 1e-6, 2e11))
    _record("task3_tests.scalar", ring_allreduce_time(1e8, 8, 1e-5, 1e10))
_record("task3_tests.bytes_per_worker", bytes_per_worker)
_record("task3_tests.latency_p", latency_p)
''',
}


# ------------------------------------------------------------------------- LARS

LARS_VARIANTS = {
    "inverted": "the trust ratio is inverted: it is ||w|| / (||g|| + weight_decay ||w||)",
    "no_wd_in_ratio": "the weight decay is missing from the trust ratio's denominator: "
                      "||g|| + weight_decay ||w||",
    "no_wd": "the weight decay is missing from the step: scale g + weight_decay * w",
    "momentum_first": "momentum is applied before the scaling: the buffer accumulates the "
                      "scaled step c * r * (g + weight_decay w)",
    "no_coefficient": "the trust coefficient c is missing from the step",
}


def _ratio(w, g, wd, variant):
    nw, ng = np.linalg.norm(w), np.linalg.norm(g)
    if nw == 0 or ng == 0:
        return 1.0
    if variant == "inverted":
        return (ng + wd * nw) / nw
    if variant == "no_wd_in_ratio":
        return nw / ng
    return nw / (ng + wd * nw)


def lars_run(ws, grads_seq, lr, momentum, wd, c, variant="right", bufs=None):
    ws = [np.array(w, dtype=float) for w in ws]
    bufs = [np.zeros_like(w) for w in ws] if bufs is None else [np.array(b, dtype=float)
                                                                  for b in bufs]
    hist = []
    for grads in grads_seq:
        for i, (w, g) in enumerate(zip(ws, grads)):
            r = _ratio(w, g, wd, variant)
            coef = 1.0 if variant == "no_coefficient" else c
            d = g + (0.0 if variant == "no_wd" else wd) * w
            if variant == "momentum_first":
                bufs[i] = momentum * bufs[i] + d
                ws[i] = w - lr * coef * r * bufs[i]
            else:
                bufs[i] = momentum * bufs[i] + coef * r * d
                ws[i] = w - lr * bufs[i]
        hist.append(np.concatenate([w.ravel() for w in ws]))
    return np.array(hist), np.concatenate([b.ravel() for b in bufs])


def _lars_mistake(got, *args, **kw):
    return known_mistake(got, LARS_VARIANTS, lars_run, *args, rtol=1e-9, atol=1e-12, **kw)


def task1_tests(rec):
    w0 = [np.array([3.0, 4.0]), np.array([[0.0, 0.6], [0.8, 0.0]])]
    g0 = [np.array([0.0, 0.5]), np.array([[1.0, 0.0], [0.0, 0.0]])]
    ref, _ = lars_run(w0, [g0], 1.0, 0.9, 0.0, 0.01)
    got = np.concatenate([rec("visible_w0").ravel(), rec("visible_w1").ravel()])
    shape(got, ref[-1].shape, "the layers after one step")
    if not np.allclose(got, ref[-1], rtol=1e-10, atol=1e-14):
        raise Fail(_lars_mistake(got[None], w0, [g0], 1.0, 0.9, 0.0, 0.01) or
                   f"after one step the layers should be {np.round(ref[-1], 6).tolist()}; "
                   f"got {got.tolist()}")
    rng = np.random.default_rng(111)
    for i, (lr, mu, wd, c) in enumerate(LARS_CASES):
        shapes = [(5, 3), (3,), (3, 2), (2,)]
        scales = [1.0, 1e-3, 30.0, 0.0]
        ws = [rng.standard_normal(sh) * sc for sh, sc in zip(shapes, scales)]
        seq = [[rng.standard_normal(sh) * 10.0 ** rng.uniform(-3, 2) for sh in shapes]
               for _ in range(12)]
        ref, bref = lars_run(ws, seq, lr, mu, wd, c)
        if rec.scalar(f"grad_changed{i}"):
            raise Fail("lars_step must not modify the gradients")
        got = rec(f"ws{i}")
        shape(got, ref.shape, "the layers after each step")
        if not np.allclose(got, ref, rtol=1e-9, atol=1e-12):
            raise Fail((_lars_mistake(got, ws, seq, lr, mu, wd, c) or
                        "the layers differ from LARS") +
                       f" (lr={lr}, momentum={mu}, weight_decay={wd}, c={c}; one layer is "
                       "all zeros: its trust ratio is 1)")
        b = rec(f"b{i}")
        if np.isnan(b).any():
            raise Fail("keep the momentum buffers in state['b'], a list with one array per "
                       "layer (the assignment's key)")
        close(b, bref, "state['b'] after 12 steps", rtol=1e-9, atol=1e-12)
    rng = np.random.default_rng(112)
    ws = [rng.standard_normal(4), rng.standard_normal((2, 2))]
    bufs = [0.1 * rng.standard_normal(4), 0.1 * rng.standard_normal((2, 2))]
    seq = [[rng.standard_normal(4), rng.standard_normal((2, 2))] for _ in range(5)]
    ref, _ = lars_run(ws, seq, 0.5, 0.9, 1e-2, 0.01, bufs=bufs)
    close(rec("w_long"), ref[-1], "continuing from a given state['b'] with np.longdouble "
          "arrays, the layers", rtol=1e-9, atol=1e-12)
    return "the layers and the buffers match LARS in 5 runs"


# -------------------------------------------------------------------- combining

def task2_tests(rec):
    rng = np.random.default_rng(121)
    for i, sizes in enumerate([(4, 4, 4, 4), (3, 1), (5, 2, 9), (1, 1, 1, 1, 1, 7)]):
        grads = [rng.standard_normal(6) for _ in sizes]
        expected = sum(n * g for n, g in zip(sizes, grads)) / sum(sizes)
        got = rec(f"combined{i}")
        shape(got, (6,), f"combine_shard_gradients for shards of sizes {sizes}")
        if not np.allclose(got, expected, rtol=1e-12, atol=1e-14):
            if np.allclose(got, np.mean(grads, axis=0), rtol=1e-12, atol=1e-14):
                raise Fail(f"for shards of sizes {sizes} the plain average of the shard means "
                           "is not the mean over the examples: weigh each by n_r / sum n")
            raise Fail(f"combine_shard_gradients for shards of sizes {sizes}: expected "
                       f"{np.round(expected, 6).tolist()}, got {np.round(got, 6).tolist()}")
    weights = rec("ddp_weights")
    shape(weights, (4,), "ddp_weights (one weight per example)")
    close(weights, [1 / 6, 1 / 6, 1 / 6, 1 / 2], "ddp_weights: averaging the means of shards "
          "of 3 and 1 examples weighs each example of the first shard by 1/2 * 1/3", rtol=1e-12)
    scale = rec.scalar("accumulation_scale")
    if abs(scale - 1 / 8) > 1e-15:
        raise Fail(f"accumulation_scale: each of the k = 8 micro-batch losses is multiplied by "
                   f"1/k so the summed gradients are the mean; got {scale}")
    return "shard means combined with the right weights"


# ------------------------------------------------------------------- all-reduce

def ring(n, p, a, bw, variant="right"):
    n, p = np.asarray(n, dtype=float), np.asarray(p, dtype=float)
    if variant == "no_two":
        return (p - 1) * a + (p - 1) / p * n / bw
    if variant == "no_fraction":
        return 2 * (p - 1) * a + 2 * n / bw
    if variant == "no_latency":
        return 2 * (p - 1) / p * n / bw
    return 2 * (p - 1) * a + 2 * (p - 1) / p * n / bw


RING_VARIANTS = {
    "no_two": "the factor 2 is missing: a ring all-reduce is a reduce-scatter and an "
              "all-gather, each p - 1 rounds",
    "no_fraction": "each round sends a chunk of N / p bytes, not N: the bandwidth term is "
                   "2 (p - 1) / p * N / bandwidth",
    "no_latency": "the latency term 2 (p - 1) * latency is missing",
}


def task3_tests(rec):
    import course_lib.distributed.costs as costs

    grid = np.array([[1e3, 1e6, 1e8, 4e8]]).T
    ps = np.array([[2, 3, 8, 64, 1024]])
    for key, a, bw in (("times", 2e-5, 5e9), ("times_b", 1e-6, 2e11)):
        expected = ring(grid, ps, a, bw)
        assert np.allclose(expected, costs.ring_allreduce_time(grid, ps, a, bw), rtol=1e-14), \
            "checks: ring reference"
        got = rec(key)
        shape(got, expected.shape, "ring_allreduce_time on a (4, 1) grid of sizes and a (1, 5) "
              "row of p (NumPy broadcasting)")
        if not np.allclose(got, expected, rtol=1e-12):
            for name, message in RING_VARIANTS.items():
                if np.allclose(got, ring(grid, ps, a, bw, name), rtol=1e-12):
                    raise Fail(message)
            raise Fail("ring_allreduce_time differs from 2 (p - 1) latency + 2 (p - 1) / p "
                       "* n_bytes / bandwidth")
    close(rec("scalar"), ring(1e8, 8, 1e-5, 1e10), "ring_allreduce_time(1e8, 8, 1e-5, 1e10)",
          rtol=1e-12)
    close(rec("bytes_per_worker"), 2 * 7 / 8 * 1e8, "bytes_per_worker for 100 MB and p = 8",
          rtol=1e-12)
    n, a, bw = 1e8, 1e-5, 1e10
    p = np.arange(2, 100_000)
    share = 2 * (p - 1) * a / ring(n, p, a, bw)
    first = int(p[np.argmax(share >= 0.1)])
    got = rec.scalar("latency_p")
    if got != first:
        raise Fail(f"latency_p should be the smallest p whose latency term is at least 10 % of "
                   f"the total; got {got}")
    return "the ring model and its numbers are right"


CHECKS = {"task1_tests": task1_tests, "task2_tests": task2_tests, "task3_tests": task3_tests}
