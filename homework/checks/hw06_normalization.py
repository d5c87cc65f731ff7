"""Trusted checks of homework 6 (the BatchNorm backward pass, running statistics).

The backward pass is checked in parts (dbeta, dgamma, the zero column sums of dx, dx
orthogonal to x_hat, then dx itself), so the message says which part is wrong; one batch is in
``np.longdouble``, which torch (and its autograd) cannot take.
"""

from __future__ import annotations

import numpy as np

from ._base import Fail, close, shape

PRELUDE = '''
from course_lib.grading import forbid as _forbid, record as _record
import numpy as _np
'''
BN_CASES = [(4, 3, 1e-5), (16, 5, 1e-5), (2, 3, 1e-3), (64, 1, 1e-5), (8, 20, 0.1)]
RUNNING_CASES = [(8, 4, 0.1), (2, 3, 0.5), (32, 6, 0.01)]

PROBES = {
    "task1_tests": PRELUDE + '''
_TARGETS = (
    "course_lib.nn.normalization:batchnorm_backward",
    "course_lib.nn.normalization:batchnorm_backward_three_terms",
    "course_lib.nn.normalization:layernorm_backward",
    "course_lib.nn.normalization:standardize_backward",
    "course_lib.nn.normalization:BatchNorm1d.backward",
    "course_lib.nn.gradcheck:numerical_gradient_array",
    "course_lib.nn.gradcheck:numerical_gradient",
    "torch.autograd:grad", "torch.autograd:backward", "torch:Tensor.backward")
_rng = _np.random.default_rng(60)
for _i, (_B, _D, _eps) in enumerate(%r):
    _x = _rng.standard_normal((_B, _D)) * _rng.uniform(0.1, 10, _D) + _rng.uniform(-5, 5, _D)
    _gam, _d = _rng.uniform(-2, 2, _D), _rng.standard_normal((_B, _D))
    if _i == len(%r) - 1:
        _x, _gam, _d = (a.astype(_np.longdouble) for a in (_x, _gam, _d))
    with _forbid(*_TARGETS, task="the BatchNorm backward pass"):
        _out = batchnorm_backward(_d.copy(), _x.copy(), _gam.copy(), _eps)
    _dx, _dgamma, _dbeta = _out
    _record(f"task1_tests.dx{_i}", _dx)
    _record(f"task1_tests.dgamma{_i}", _dgamma)
    _record(f"task1_tests.dbeta{_i}", _dbeta)
''' % (BN_CASES, BN_CASES),
    "task2_tests": PRELUDE + '''
_TARGETS = ("course_lib.nn.normalization:BatchNorm1d.forward", "torch.nn.functional:batch_norm",
            "torch.nn.modules.batchnorm:_BatchNorm.forward")
_task = "the running statistics"
_rm, _rv = _np.zeros(1), _np.ones(1)
with _forbid(*_TARGETS, task=_task):
    update_running_stats(_rm, _rv, _np.array([[1.0], [3.0]]), momentum=0.5)
_record("task2_tests.visible", [_rm[0], _rv[0]])
_rng = _np.random.default_rng(61)
for _i, (_B, _D, _mom) in enumerate(%r):
    _rm, _rv = _np.zeros(_D), _np.ones(_D)
    if _i == 1:
        _rm, _rv = _rm.astype(_np.longdouble), _rv.astype(_np.longdouble)
    for _k in range(5):
        _xb = _rng.standard_normal((_B, _D)) * 3 + 1
        with _forbid(*_TARGETS, task=_task):
            update_running_stats(_rm, _rv, _xb.astype(_rm.dtype), momentum=_mom)
    _record(f"task2_tests.rm{_i}", _rm)
    _record(f"task2_tests.rv{_i}", _rv)
''' % (RUNNING_CASES,),
    "task3_tests": PRELUDE + '''
_lrs = [0.03, 0.3, 1.0, 3.0]
_record("task3_tests.loss_bn", [loss_bn[_lr] for _lr in _lrs])
_record("task3_tests.loss_plain", [loss_plain[_lr] for _lr in _lrs])
_record("task3_tests.largest", [largest_lr_bn, largest_lr_plain])
''',
}


def _inputs():
    rng = np.random.default_rng(60)
    for B, D, eps in BN_CASES:
        x = rng.standard_normal((B, D)) * rng.uniform(0.1, 10, D) + rng.uniform(-5, 5, D)
        gamma, dout = rng.uniform(-2, 2, D), rng.standard_normal((B, D))
        yield x, gamma, dout, eps


def _parts(x, gamma, dout, eps):
    from course_lib.nn import batchnorm_backward, batchnorm_forward

    _, cache = batchnorm_forward(x, gamma, np.zeros(x.shape[1]), eps)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    xhat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
    return dx, dgamma, dbeta, xhat


def task1_tests(rec):
    for i, (x, gamma, dout, eps) in enumerate(_inputs()):
        B, D = x.shape
        case = f"for a batch of shape ({B}, {D}), eps={eps}" + (
            " in np.longdouble" if i == len(BN_CASES) - 1 else "")
        dx_ref, dgamma_ref, dbeta_ref, xhat = _parts(x, gamma, dout, eps)
        dx, dgamma, dbeta = rec(f"dx{i}"), rec(f"dgamma{i}"), rec(f"dbeta{i}")
        shape(dbeta, (D,), f"dbeta {case}")
        shape(dgamma, (D,), f"dgamma {case}")
        shape(dx, (B, D), f"dx {case}")
        close(dbeta, dbeta_ref, f"dbeta {case}: it is the sum of dout over the batch",
              rtol=1e-8, atol=1e-10)
        if not np.allclose(dgamma, dgamma_ref, rtol=1e-8, atol=1e-10):
            unbiased = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0, ddof=1) + eps)
            hint = (" (you normalized with the unbiased variance; training-mode BatchNorm "
                    "uses the biased one, 1/B)"
                    if B > 1 and np.allclose(dgamma, (dout * unbiased).sum(axis=0), rtol=1e-8)
                    else "")
            raise Fail(f"dgamma {case}: it is the sum over the batch of dout * x_hat{hint}")
        scale = np.abs(dx_ref).max() + np.abs(dout * gamma).max()
        col_sums = dx.sum(axis=0)
        if np.abs(col_sums).max() > 1e-8 * scale * B:
            raise Fail(f"dx {case}: the columns of dx must sum to zero (shifting a feature by a "
                       f"constant does not change BatchNorm's output), yours sum to "
                       f"{np.round(col_sums[:3], 6).tolist()}...: the term -sum_k dout_k "
                       "(through the mean) is missing or wrong")
        ortho = (dx * xhat).sum(axis=0) - (dx_ref * xhat).sum(axis=0)
        if np.abs(ortho).max() > 1e-8 * scale * B:
            raise Fail(f"dx {case}: the component of dx along x_hat is wrong (sum_i dx_i x_hat_i "
                       "is not what it should be; with eps = 0 it would be zero, since scaling "
                       "a feature does not change the output): the term -x_hat_i sum_k "
                       "dout_k x_hat_k (through the variance) is missing or wrong")
        close(dx, dx_ref, f"dx {case} (its parts dbeta, dgamma, column sums are right: check "
              "the factor gamma / (B sqrt(var + eps)))", rtol=1e-8, atol=1e-10)
    return "dx, dgamma and dbeta are right on 5 batches"


def _running(B, D, mom, batches):
    rm, rv = np.zeros(D), np.ones(D)
    for xb in batches:
        rm = (1 - mom) * rm + mom * xb.mean(axis=0)
        rv = (1 - mom) * rv + mom * xb.var(axis=0, ddof=1)
    return rm, rv


def task2_tests(rec):
    import torch

    rm, rv = rec("visible").ravel()
    if abs(rm - 1.0) > 1e-12:
        raise Fail(f"running_mean: 0.5 * 0 + 0.5 * mean(1, 3) = 1; got {rm} (update the "
                   "arrays in place)")
    if abs(rv - 1.5) > 1e-12:
        hint = " (you used the biased variance: multiply by B / (B - 1))" \
            if abs(rv - 1.0) < 1e-12 else ""
        raise Fail(f"running_var: 0.5 * 1 + 0.5 * (2/1) * 1 = 1.5; got {rv}{hint}")
    rng = np.random.default_rng(61)
    for i, (B, D, mom) in enumerate(RUNNING_CASES):
        batches = [rng.standard_normal((B, D)) * 3 + 1 for _ in range(5)]
        bn = torch.nn.BatchNorm1d(D, momentum=mom, dtype=torch.float64)
        for xb in batches:
            bn(torch.tensor(xb))
        ref_m, ref_v = bn.running_mean.numpy(), bn.running_var.numpy()
        got_m, got_v = rec(f"rm{i}"), rec(f"rv{i}")
        case = f"(B={B}, momentum={mom}" + (", np.longdouble)" if i == 1 else ")")
        if got_m.shape == ref_m.shape and np.allclose(got_m, 0) and np.allclose(got_v, 1):
            raise Fail(f"the running statistics did not change {case}: update running_mean "
                       "and running_var in place (running_mean *= ..., not running_mean = ...)")
        if not np.allclose(got_m, ref_m, rtol=1e-10):
            swapped = _running(B, D, 1 - mom, batches)[0]
            hint = (": momentum weighs the new batch, (1 - m) the old average"
                    if np.allclose(got_m, swapped, rtol=1e-10) else "")
            raise Fail(f"running_mean differs from torch.nn.BatchNorm1d {case}{hint}")
        if not np.allclose(got_v, ref_v, rtol=1e-10):
            rv_b = np.ones(D)
            for xb in batches:
                rv_b = (1 - mom) * rv_b + mom * xb.var(axis=0)
            hint = (": you used the biased batch variance; multiply it by B / (B - 1)"
                    if np.allclose(got_v, rv_b, rtol=1e-10) else "")
            raise Fail(f"running_var differs from torch.nn.BatchNorm1d {case}{hint}")
    return "running statistics match torch.nn.BatchNorm1d in 3 runs"


def _train_mlp(lr, use_bn, epochs=5, seed=0):
    """The given cell's train_mlp, verbatim."""
    import course_lib.optim
    from course_lib.objectives import data
    from course_lib import nn

    digits = data.load_digits_split(seed=0)
    rng = np.random.default_rng(seed)
    layers, width = [], 64
    for fan_in in (64, width, width, width):
        layers.append(nn.Linear(fan_in, width, rng, bias=not use_bn))
        if use_bn:
            layers.append(nn.BatchNorm1d(width))
        layers.append(nn.ReLU())
    model = nn.Sequential(*layers, nn.Linear(width, 10, rng))
    loss_fn = nn.CrossEntropyLoss()
    states = []
    with np.errstate(all="ignore"):
        for _ in range(epochs):
            for idx in data.minibatches(len(digits.X_train), 64, rng):
                loss = loss_fn(model(digits.X_train[idx]), digits.y_train[idx])
                if not np.isfinite(loss):
                    return float("nan")
                model.backward(loss_fn.backward())
                nn.step(model, course_lib.optim.sgd, states, lr=lr)
        model.eval()
        return float(loss_fn(model(digits.X_train), digits.y_train))


def task3_tests(rec):
    loss_bn, loss_plain = rec("loss_bn"), rec("loss_plain")
    shape(loss_bn, (4,), "loss_bn needs one loss per learning rate")
    shape(loss_plain, (4,), "loss_plain needs one loss per learning rate")
    expected_bn3 = _train_mlp(3.0, True)
    if not abs(loss_bn[3] - expected_bn3) < 1e-9:
        raise Fail(f"loss_bn[3.0] should be the loss train_mlp(3.0, use_bn=True) returns, "
                   f"{expected_bn3:.6f}; got {loss_bn[3]}")
    if not np.isnan(loss_plain[3]) or not np.isnan(_train_mlp(3.0, False)):
        raise Fail("loss_plain[3.0] should be nan: without BatchNorm training diverges")
    expected_plain1 = _train_mlp(1.0, False)
    if not abs(loss_plain[2] - expected_plain1) < 1e-9:
        raise Fail(f"loss_plain[1.0] should be {expected_plain1:.6f}; got {loss_plain[2]}")
    largest = rec("largest").ravel()
    if largest.size != 2 or largest[0] != 3.0 or largest[1] != 1.0:
        raise Fail("the largest usable learning rates (final loss below 0.5) are wrong")
    return "losses and largest learning rates are right"


CHECKS = {"task1_tests": task1_tests, "task2_tests": task2_tests, "task3_tests": task3_tests}
