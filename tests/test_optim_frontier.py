"""Optimizers beyond torch.optim against independent, maintained implementations.

Lion, LARS, LAMB and SAM against optax 0.2.8 (CPU jax, float64 enabled for the float64 runs);
schedule-free SGD and AdamW against the authors' ``schedulefree`` 1.4.1 (training iterate,
evaluation average, train/eval switch, BatchNorm caveat); Shampoo, SOAP, LARS with weight
decay and Lion against ``pytorch_optimizer`` 4.1.0. Agreement is measured over 100 steps of a
least-squares problem (a 5x3 weight and a bias) with a fixed sequence of gradient noise, the
same for both sides, as max over tensors of ||ours - reference|| / ||reference||: at most
1e-6 in float32 and 1e-12 in float64 (the issue's criterion; each run moves the parameters
by more than half their norm, asserted, so an error in a step shows). Also: the NumPy path
of each rule equals its torch class to rounding; invalid hyperparameters raise ValueError;
state-dict round trips continue bit for bit; maximize; the rules leave ``p.grad`` alone;
SAM's perturbation rho g / ||g|| and its two closure calls per step; ASAM's perturbation;
schedule-free's average x (the mean of the z's) and the exact restoration of y; SOAP's first
step.
"""

import copy

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import pytorch_optimizer
import schedulefree
import torch

from course_lib.averaging import update_bn
from course_lib.optim import SGD, Adam
from course_lib.optim.descent import run
from course_lib.optim.lamb import LAMB, lamb
from course_lib.optim.lars import LARS, exclude_from_adaptation, lars
from course_lib.optim.lion import Lion, lion
from course_lib.optim.sam import SAM, sam_perturbation, sam_scaled_gradient_norm, sam_step
from course_lib.optim.schedule_free import (
    AdamWScheduleFree,
    SGDScheduleFree,
    schedule_free_adamw,
    schedule_free_eval_point,
    schedule_free_sgd,
)
from course_lib.optim.shampoo import Shampoo, shampoo
from course_lib.optim.soap import SOAP, soap

# float64 references (before any jax array exists); float32 arrays stay float32
jax.config.update("jax_enable_x64", True)

STEPS = 100
TOL = {np.float32: 1e-6, np.float64: 1e-12}     # the criterion
TORCH = {np.float32: torch.float32, np.float64: torch.float64}
DTYPES = [np.float32, np.float64]

_gen = np.random.default_rng(20240)
X = _gen.standard_normal((32, 5))
Y = _gen.standard_normal((32, 3))
W0 = 0.5 * _gen.standard_normal((5, 3))
B0 = 0.1 * _gen.standard_normal(3)
# Gradient noise, the same for ours and the reference: a stochastic-gradient run. It also
# keeps Lion's sign(c) away from 0, where 1e-7 differences would flip it (near an optimum
# a sign method without noise is chaotic, and two implementations drift apart).
NOISE = 0.3 * _gen.standard_normal((2 * STEPS, 18))


def grad_fn(params, t=None):
    """Gradient of 1/(2N) ||X W + b - Y||^2 at (W, b) plus ``NOISE[t]``, in the parameters'
    dtype."""
    W, b = params
    x, y = X.astype(W.dtype), Y.astype(W.dtype)
    residual = x @ W + b - y
    grads = [x.T @ residual / len(x), residual.mean(0)]
    if t is not None:
        noise = NOISE[t % len(NOISE)].astype(W.dtype)
        grads = [grads[0] + noise[:15].reshape(5, 3), grads[1] + noise[15:]]
    return grads


def rel_error(ours, reference) -> float:
    return max(float(np.linalg.norm(a - r) / np.linalg.norm(r))
               for a, r in zip(ours, reference, strict=True))


def torch_params(dtype):
    return [torch.tensor(W0, dtype=TORCH[dtype]), torch.tensor(B0, dtype=TORCH[dtype])]


def set_grads(params, t=None):
    for p, g in zip(params, grad_fn([p.detach().numpy() for p in params], t)):
        p.grad = torch.from_numpy(np.array(g))


def run_torch(make, dtype, steps=STEPS):
    """``steps`` steps of the optimizer ``make(params)``; the parameters as NumPy arrays."""
    params = torch_params(dtype)
    opt = make(params)
    if hasattr(opt, "train"):
        opt.train()                 # the schedulefree package starts in eval mode
    for t in range(steps):
        set_grads(params, t)
        opt.step()
    return [p.detach().numpy().copy() for p in params], opt, params


def run_optax(tx, dtype, steps=STEPS):
    params = [jnp.asarray(W0.astype(dtype)), jnp.asarray(B0.astype(dtype))]
    state = tx.init(params)
    update = jax.jit(tx.update)
    for t in range(steps):
        grads = [jnp.asarray(g) for g in grad_fn([np.asarray(p) for p in params], t)]
        updates, state = update(grads, state, params)
        params = optax.apply_updates(params, updates)
    out = [np.asarray(p) for p in params]
    assert all(p.dtype == dtype for p in out)
    return out


def run_numpy(rule, dtype, steps=STEPS, **hyper):
    params, states = [W0.astype(dtype), B0.astype(dtype)], [{}, {}]
    for t in range(steps):
        for p, g, s in zip(params, grad_fn(params, t), states):
            rule(p, g, s, **hyper)
    return params


# ----------------------------------------------------------------------------------- optax
OPTAX_CASES = {
    "lion": (lambda ps: Lion(ps, lr=1e-3, weight_decay=0.1),
             lambda: optax.lion(1e-3, weight_decay=0.1)),
    "lion-betas": (lambda ps: Lion(ps, lr=3e-3, betas=(0.8, 0.95)),
                   lambda: optax.lion(3e-3, b1=0.8, b2=0.95, weight_decay=0.0)),
    "lars": (lambda ps: LARS(ps, lr=0.1, momentum=0.9, trust_coefficient=0.01),
             lambda: optax.lars(0.1, momentum=0.9, trust_coefficient=0.01)),
    "lars-nesterov": (lambda ps: LARS(ps, lr=0.1, momentum=0.9, nesterov=True,
                                      trust_coefficient=0.01, eps=1e-3),
                      lambda: optax.lars(0.1, momentum=0.9, nesterov=True,
                                         trust_coefficient=0.01, eps=1e-3)),
    "lamb": (lambda ps: LAMB(ps, lr=1e-2, weight_decay=0.01),
             lambda: optax.lamb(1e-2, weight_decay=0.01)),
    "lamb-betas": (lambda ps: LAMB(ps, lr=3e-2, betas=(0.8, 0.99), eps=1e-8),
                   lambda: optax.lamb(3e-2, b1=0.8, b2=0.99, eps=1e-8)),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("case", list(OPTAX_CASES))
def test_agrees_with_optax(case, dtype):
    make, tx = OPTAX_CASES[case]
    ours, _, _ = run_torch(make, dtype)
    reference = run_optax(tx(), dtype)
    assert rel_error([W0, B0], reference) > 0.5            # the run goes somewhere
    assert rel_error(ours, reference) <= TOL[dtype]


def _sam_closure_run(base, dtype, steps=STEPS, **kw):
    params = torch_params(dtype)
    opt = SAM(params, base, **kw)
    calls = [0]

    def closure():
        set_grads(params, calls[0])
        calls[0] += 1
        return calls[0]

    for _ in range(steps):
        opt.step(closure)
    assert calls[0] == 2 * steps                           # two gradient evaluations per step
    return [p.detach().numpy().copy() for p in params]


def run_optax_sam(outer, rho, dtype, steps=STEPS):
    tx = optax.contrib.sam(outer, optax.chain(optax.contrib.normalize(), optax.sgd(rho)),
                           sync_period=2)
    return run_optax(tx, dtype, 2 * steps)                 # adversarial + outer call per step


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("base", ["sgd", "adam"])
def test_sam_agrees_with_optax(base, dtype):
    if base == "sgd":
        ours = _sam_closure_run(SGD, dtype, rho=0.05, perturb_eps=0.0, lr=0.05, momentum=0.9)
        reference = run_optax_sam(optax.sgd(0.05, momentum=0.9), 0.05, dtype)
    else:
        ours = _sam_closure_run(Adam, dtype, rho=0.1, perturb_eps=0.0, lr=2e-3)
        reference = run_optax_sam(optax.adam(2e-3), 0.1, dtype)
    assert rel_error([W0, B0], reference) > 0.5
    assert rel_error(ours, reference) <= TOL[dtype]


# ------------------------------------------------------------------------ pytorch_optimizer
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("hyper", [dict(lr=0.1), dict(lr=0.3, momentum=0.5, weight_decay=0.01)],
                         ids=["plain", "momentum-decay"])
def test_shampoo_agrees_with_pytorch_optimizer(hyper, dtype):
    # matrix_eps = 1 keeps the statistics well conditioned: with 1e-6 the first steps'
    # roots have condition numbers ~1e6 and float32 runs of *any* two implementations
    # differ by more than 1e-6 (ours and the reference agree bit for bit even then).
    ours, _, _ = run_torch(lambda ps: Shampoo(ps, matrix_eps=1.0, **hyper), dtype)
    reference, _, _ = run_torch(
        lambda ps: pytorch_optimizer.Shampoo(ps, matrix_eps=1.0, **hyper), dtype)
    assert rel_error([W0, B0], reference) > 0.5
    assert rel_error(ours, reference) <= TOL[dtype]


SOAP_CASES = {
    "default": dict(lr=3e-2),
    "1d-decay": dict(lr=1e-2, precondition_1d=True, weight_decay=0.1),
    "betas-freq3": dict(lr=3e-2, betas=(0.9, 0.99), shampoo_beta=0.9, precondition_frequency=3),
    "max-dim": dict(lr=3e-2, max_precondition_dim=4, correct_bias=False),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("case", list(SOAP_CASES))
def test_soap_agrees_with_pytorch_optimizer(case, dtype):
    """The reference runs its power-iteration QR in float32 even for float64 parameters
    (ours in the parameters' dtype), so in float64 the basis is refreshed after the run
    (precondition_frequency > STEPS); the float32 runs cover the refreshes."""
    hyper = dict(SOAP_CASES[case])
    if dtype == np.float64:
        hyper["precondition_frequency"] = STEPS + 1
    ours, _, _ = run_torch(lambda ps: SOAP(ps, **hyper), dtype)
    reference, _, _ = run_torch(lambda ps: pytorch_optimizer.SOAP(ps, **hyper), dtype)
    assert rel_error([W0, B0], reference) > 0.5
    assert rel_error(ours, reference) <= TOL[dtype]


def test_soap_first_step_only_sets_up_the_bases():
    params = torch_params(np.float64)
    opt = SOAP(params, lr=0.1)
    set_grads(params, 0)
    opt.step()
    assert torch.equal(params[0], torch.tensor(W0)) and torch.equal(params[1], torch.tensor(B0))
    state = opt.state[params[0]]
    q_left, q_right = state["Q_0"], state["Q_1"]
    for q in (q_left, q_right):                     # orthonormal bases
        torch.testing.assert_close(q.T @ q, torch.eye(len(q)), rtol=0, atol=1e-13)
    g = torch.from_numpy(grad_fn([W0, B0], 0)[0])
    # they diagonalize the statistics (1 - beta_s) G G^T and (1 - beta_s) G^T G
    for q, stat in ((q_left, 0.05 * g @ g.T), (q_right, 0.05 * g.T @ g)):
        d = q.T @ stat @ q
        torch.testing.assert_close(d, torch.diag(torch.diagonal(d)), rtol=0, atol=1e-14)
        assert torch.all(torch.diff(torch.diagonal(d)) <= 1e-15)      # decreasing
    assert "Q_0" not in opt.state[params[1]]        # a vector is not rotated by default


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_lars_with_weight_decay_agrees_with_pytorch_optimizer(dtype):
    """The paper's trust ratio gamma ||w|| / (||g|| + lambda ||w||), biases excluded from
    adaptation and decay (pytorch_optimizer's rule for ndim <= 1); constant lr, so the
    placement of lr (inside the buffer here, outside there) does not matter."""
    hyper = dict(lr=0.2, momentum=0.9, weight_decay=0.05, trust_coefficient=0.02)
    ours, _, _ = run_torch(lambda ps: LARS(exclude_from_adaptation(ps), **hyper), dtype)
    reference, _, _ = run_torch(lambda ps: pytorch_optimizer.LARS(ps, **hyper), dtype)
    assert rel_error([W0, B0], reference) > 0.5
    assert rel_error(ours, reference) <= TOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_lion_agrees_with_pytorch_optimizer(dtype):
    ours, _, _ = run_torch(lambda ps: Lion(ps, lr=1e-3), dtype)
    reference, _, _ = run_torch(lambda ps: pytorch_optimizer.Lion(ps, lr=1e-3), dtype)
    assert rel_error(ours, reference) <= TOL[dtype]


# ---------------------------------------------------------------------------- schedule-free
SF_CASES = {
    "sgd": (SGDScheduleFree, schedulefree.SGDScheduleFree,
            dict(lr=0.1, momentum=0.9, weight_decay=0.01, warmup_steps=10)),
    "sgd-r": (SGDScheduleFree, schedulefree.SGDScheduleFree,
              dict(lr=0.05, momentum=0.8, r=0.5, weight_lr_power=1.0)),
    "adamw": (AdamWScheduleFree, schedulefree.AdamWScheduleFree,
              dict(lr=0.01, weight_decay=0.01, warmup_steps=10)),
    "adamw-betas": (AdamWScheduleFree, schedulefree.AdamWScheduleFree,
                    dict(lr=0.02, betas=(0.7, 0.99), eps=1e-6)),
}


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("case", list(SF_CASES))
def test_schedule_free_agrees_with_schedulefree(case, dtype, foreach):
    cls, ref_cls, hyper = SF_CASES[case]
    y, opt, params = run_torch(lambda ps: cls(ps, **hyper), dtype)
    y_ref, ref, ref_params = run_torch(lambda ps: ref_cls(ps, foreach=foreach, **hyper), dtype)
    assert rel_error([W0, B0], y_ref) > 0.5
    assert rel_error(y, y_ref) <= TOL[dtype]                           # training iterate y
    opt.eval()
    ref.eval()
    x = [p.detach().numpy().copy() for p in params]
    x_ref = [p.detach().numpy().copy() for p in ref_params]
    assert rel_error(x, x_ref) <= TOL[dtype]                           # average x
    assert rel_error(x, y) > 1e-3                                      # x is not y
    opt.train()
    assert all(np.array_equal(p.detach().numpy(), a) for p, a in zip(params, y))  # exactly


def test_schedule_free_eval_is_the_average_of_z():
    """With constant weights (no warm-up, constant lr) c_{t+1} = 1/(t+1), so x_t is the
    plain mean of z_1..z_t, whatever beta; float64, so to 1e-13 relative."""
    params = torch_params(np.float64)
    opt = SGDScheduleFree(params, lr=0.05, momentum=0.7)
    zs = []
    for _ in range(40):
        set_grads(params)
        opt.step()
        zs.append([opt.state[p]["z"].clone() for p in params])
    y = [p.detach().clone() for p in params]
    opt.eval()
    for i, p in enumerate(params):
        mean = torch.stack([z[i] for z in zs]).mean(0)
        torch.testing.assert_close(p.detach(), mean, rtol=1e-13, atol=0)
        # the NumPy helper gives the same point
        x = schedule_free_eval_point(y[i].numpy(), {"z": opt.state[p]["z"].numpy()}, 0.7)
        np.testing.assert_allclose(x, p.detach().numpy(), rtol=1e-15, atol=1e-15)
    assert all("y" in opt.state[p] for p in params)
    with pytest.raises(RuntimeError, match=r"train\(\)"):
        opt.step()
    opt.eval()                                          # a second eval() changes nothing
    opt.train()
    assert all(torch.equal(p, a) for p, a in zip(params, y))
    assert all("y" not in opt.state[p] for p in params)


def test_schedule_free_batchnorm_statistics_need_recomputing_at_x():
    """The BatchNorm caveat: running statistics are accumulated at y; after eval() they
    belong to another point, and update_bn recomputes them for x -- the same for the
    package and for ours, since both models hold the same parameters."""
    gen = torch.Generator().manual_seed(3)
    inputs = torch.randn(64, 4, generator=gen, dtype=torch.float64)
    targets = torch.randn(64, 1, generator=gen, dtype=torch.float64)
    torch.manual_seed(5)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8),
                                torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    twin = copy.deepcopy(model)
    opts = [AdamWScheduleFree(model.parameters(), lr=0.05),
            schedulefree.AdamWScheduleFree(twin.parameters(), lr=0.05)]
    opts[1].train()
    for _ in range(30):
        for m, opt in zip((model, twin), opts):
            opt.zero_grad()
            torch.nn.functional.mse_loss(m(inputs), targets).backward()
            opt.step()
    for opt in opts:
        opt.eval()
    bn, bn_twin = model[1], twin[1]
    stale = bn.running_mean.clone()
    update_bn(inputs, model)
    update_bn(inputs, twin)
    with torch.no_grad():
        at_x = model[0](inputs)             # the BatchNorm input at x
    torch.testing.assert_close(bn.running_mean, at_x.mean(0), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(bn.running_mean, bn_twin.running_mean, rtol=1e-12, atol=1e-14)
    assert (bn.running_mean - stale).abs().max() > 1e-3   # the stale statistics were off


# ----------------------------------------------------------------------------------- SAM
def test_sam_perturbation_is_rho_g_over_norm_and_closure_runs_twice():
    params = torch_params(np.float64)
    opt = SAM(params, SGD, rho=0.07, lr=0.1)
    theta = [p.detach().clone() for p in params]
    g = [torch.from_numpy(a) for a in grad_fn([t.numpy() for t in theta])]
    norm = torch.sqrt(sum((x * x).sum() for x in g))
    seen = []

    def closure():
        seen.append([p.detach().clone() for p in params])
        set_grads(params)
        return len(seen)

    assert opt.step(closure) == 1                       # the loss at theta is returned
    assert len(seen) == 2
    for p0, p_adv, t, gi in zip(seen[0], seen[1], theta, g):
        assert torch.equal(p0, t)
        expected = t + 0.07 * gi / (norm + 1e-12)       # epsilon = rho g / ||g||
        torch.testing.assert_close(p_adv, expected, rtol=1e-15, atol=1e-15)
    # the step is SGD's with the gradient at the perturbed point, from theta exactly
    g_adv = grad_fn([a.numpy() for a in seen[1]])
    for p, t, ga in zip(params, theta, g_adv):
        torch.testing.assert_close(p.detach(), t - 0.1 * torch.from_numpy(ga), rtol=1e-15,
                                   atol=1e-15)
    with pytest.raises(RuntimeError, match="closure"):
        opt.step()


def test_asam_perturbation_and_numpy_sam_step():
    """ASAM: epsilon = rho |theta|^2 g / || |theta| g ||; sam_step on NumPy equals the class."""
    theta = [W0.copy(), B0.copy()]
    g = grad_fn(theta)
    norm = np.sqrt(sum(np.sum((np.abs(t) * x) ** 2) for t, x in zip(theta, g)))
    assert sam_scaled_gradient_norm(theta, g, adaptive=True) == pytest.approx(norm, rel=1e-15)
    e = sam_perturbation(theta[0], g[0], rho=0.2, norm=norm, adaptive=True, eps=0.0)
    np.testing.assert_allclose(e, 0.2 * theta[0] ** 2 * g[0] / norm, rtol=1e-15)
    # the NumPy driver on a flat vector equals the class on one flat tensor
    flat = np.concatenate([W0.ravel(), B0])

    def flat_grad(v):
        return np.concatenate([a.ravel() for a in grad_fn([v[:15].reshape(5, 3), v[15:]])])

    x, state = flat.copy(), {}
    for _ in range(20):
        sam_step(SGD.rule, x, flat_grad, state, rho=0.1, adaptive=True, lr=0.05, momentum=0.5)
    p = torch.tensor(flat)
    opt = SAM([p], SGD, rho=0.1, adaptive=True, lr=0.05, momentum=0.5)

    def closure():
        p.grad = torch.from_numpy(flat_grad(p.detach().numpy()))
        return 0.0

    for _ in range(20):
        opt.step(closure)
    np.testing.assert_allclose(x, p.detach().numpy(), rtol=1e-12, atol=1e-14)


# -------------------------------------------------------------------- NumPy path == torch
NUMPY_CASES = {
    "lion": (lion, Lion, dict(lr=1e-3, weight_decay=0.1)),
    "lars": (lars, LARS, dict(lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)),
    "lamb": (lamb, LAMB, dict(lr=1e-2, weight_decay=0.01)),
    "schedule_free_sgd": (schedule_free_sgd, SGDScheduleFree, dict(lr=0.1, warmup_steps=5)),
    "schedule_free_adamw": (schedule_free_adamw, AdamWScheduleFree,
                            dict(lr=0.01, weight_decay=0.01, warmup_steps=5)),
    "shampoo": (shampoo, Shampoo, dict(lr=0.3, momentum=0.5, matrix_eps=1.0)),
    # max_precondition_dim=4: the 5x5 statistic's first basis is ill-posed (see soap.py)
    "soap": (soap, SOAP, dict(lr=1e-2, max_precondition_dim=4, precondition_1d=True,
                              precondition_frequency=3)),
}


@pytest.mark.parametrize("rule, hyper", [(lion, dict(lr=1e-2, weight_decay=0.1)),
                                         (lars, dict(lr=0.5, weight_decay=0.01)),
                                         (lamb, dict(lr=1e-2, weight_decay=0.01))],
                         ids=["lion", "lars", "lamb"])
def test_maximize_is_minimizing_the_negative(rule, hyper):
    up, down = [W0.copy(), B0.copy()], [W0.copy(), B0.copy()]
    states_up, states_down = [{}, {}], [{}, {}]
    for t in range(20):
        for p, g, s in zip(up, grad_fn(up, t), states_up):
            rule(p, -g, s, maximize=True, **hyper)
        for p, g, s in zip(down, grad_fn(down, t), states_down):
            rule(p, g, s, **hyper)
    assert all(np.array_equal(a, b) for a, b in zip(up, down))


def test_rules_leave_the_gradient_alone():
    """The schedulefree package and pytorch_optimizer write into p.grad; the rules do not."""
    for make in (lambda ps: SGDScheduleFree(ps, lr=0.1, weight_decay=0.1),
                 lambda ps: AdamWScheduleFree(ps, weight_decay=0.1),
                 lambda ps: Shampoo(ps, momentum=0.5, weight_decay=0.1),
                 lambda ps: SOAP(ps), lambda ps: LARS(ps, lr=1.0, weight_decay=0.1)):
        params = torch_params(np.float64)
        opt = make(params)
        for t in range(3):
            set_grads(params, t)
            grads = [p.grad.clone() for p in params]
            opt.step()
            assert all(torch.equal(p.grad, g) for p, g in zip(params, grads))


@pytest.mark.parametrize("case", list(NUMPY_CASES))
def test_numpy_path_equals_torch_path(case):
    """Same rule on NumPy arrays and in the torch class: equal to rounding (float64)."""
    rule, cls, hyper = NUMPY_CASES[case]
    on_numpy = run_numpy(rule, np.float64, **hyper)
    on_torch, _, _ = run_torch(lambda ps: cls(ps, **hyper), np.float64)
    assert rel_error(on_numpy, on_torch) <= 1e-12


def test_rules_run_in_descent_run():
    """The NumPy driver accepts the rules (validated through the Rule API)."""
    grad = lambda x, t: 2 * (x - 1.0)               # noqa: E731
    for rule, hyper in [(lion, dict(lr=0.02)), (lars, dict(lr=1.0, trust_coefficient=0.1)),
                        (lamb, dict(lr=0.05)), (schedule_free_sgd, dict(lr=0.1)),
                        (schedule_free_adamw, dict(lr=0.05)), (shampoo, dict(lr=0.5)),
                        (soap, dict(lr=0.05))]:
        res = run(rule, None, np.array([3.0, -2.0]), 200, grad=grad, **hyper)
        assert res.success
        assert np.linalg.norm(res.x - 1.0) < 0.5 * np.linalg.norm(np.array([2.0, -3.0]))
        with pytest.raises(ValueError, match="Invalid lr"):
            run(rule, None, np.zeros(2), 1, grad=grad, **dict(hyper, lr=-1.0))


# ------------------------------------------------------------------------------ validation
INVALID = [
    (Lion, dict(lr=-1e-3), r"Invalid lr: -0.001 \(expected a finite number >= 0\)"),
    (Lion, dict(betas=(0.9, 1.0)), r"Invalid betas: \(0.9, 1.0\)"),
    (Lion, dict(weight_decay=float("nan")), r"Invalid weight_decay: nan"),
    (LARS, dict(lr=1.0, momentum=1.0), r"Invalid momentum: 1.0 \(expected a number in \[0, 1\)\)"),
    (LARS, dict(lr=1.0, trust_coefficient=0.0), r"Invalid trust_coefficient: 0.0"),
    (LARS, dict(lr=1.0, momentum=0.0, nesterov=True), r"Invalid nesterov: True"),
    (LAMB, dict(eps=-1.0), r"Invalid eps: -1.0"),
    (LAMB, dict(betas=(-0.1, 0.9)), r"Invalid betas"),
    (SGDScheduleFree, dict(momentum=0.0),
     r"Invalid momentum: 0.0 \(expected a number in \(0, 1\)\)"),
    (SGDScheduleFree, dict(warmup_steps=2.5), r"Invalid warmup_steps: 2.5"),
    (AdamWScheduleFree, dict(betas=(0.0, 0.999)), r"Invalid betas"),
    (AdamWScheduleFree, dict(r=-1.0), r"Invalid r: -1.0"),
    (Shampoo, dict(matrix_eps=0.0), r"Invalid matrix_eps: 0.0 \(expected a finite number > 0\)"),
    (Shampoo, dict(update_freq=0), r"Invalid update_freq: 0 \(expected a positive integer\)"),
    (SOAP, dict(shampoo_beta=1.0), r"Invalid shampoo_beta: 1.0 \(expected None or a number"),
    (SOAP, dict(precondition_frequency=0), r"Invalid precondition_frequency: 0"),
]


@pytest.mark.parametrize("cls, hyper, message", INVALID,
                         ids=[f"{c.__name__}-{next(iter(h))}" for c, h, _ in INVALID])
def test_invalid_hyperparameters_raise(cls, hyper, message):
    with pytest.raises(ValueError, match=message):
        cls([torch.zeros(2, requires_grad=True)], **hyper)


def test_invalid_param_group_and_sam_arguments_raise():
    opt = LARS([torch.zeros(2, requires_grad=True)], lr=1.0)
    with pytest.raises(ValueError, match="Invalid lr: -2"):
        opt.add_param_group(dict(params=[torch.zeros(3, requires_grad=True)], lr=-2))
    assert len(opt.param_groups) == 1
    with pytest.raises(ValueError, match=r"Invalid rho: -0.1 \(expected a finite number >= 0\)"):
        SAM([torch.zeros(2, requires_grad=True)], SGD, rho=-0.1, lr=0.1)
    with pytest.raises(TypeError, match="torch.optim.Optimizer class"):
        SAM([torch.zeros(2, requires_grad=True)], "sgd", lr=0.1)


# ------------------------------------------------------------------------ state dict
ROUND_TRIP = {
    "Lion": lambda ps: Lion(ps, lr=1e-3, weight_decay=0.1),
    "LARS": lambda ps: LARS(ps, lr=0.1, weight_decay=0.01),
    "LAMB": lambda ps: LAMB(ps, lr=1e-2, weight_decay=0.01),
    "SGDScheduleFree": lambda ps: SGDScheduleFree(ps, lr=0.1, warmup_steps=3),
    "AdamWScheduleFree": lambda ps: AdamWScheduleFree(ps, lr=0.01, warmup_steps=3),
    "Shampoo": lambda ps: Shampoo(ps, lr=0.3, momentum=0.5, matrix_eps=1.0),
    "SAM": lambda ps: SAM(ps, Adam, rho=0.05, lr=1e-2),
    "SOAP": lambda ps: SOAP(ps, lr=1e-2, precondition_frequency=3),
}


@pytest.mark.parametrize("name", list(ROUND_TRIP))
def test_state_dict_round_trip(name):
    """Save after 5 steps (schedule-free: in eval mode, as its authors advise), load into a
    fresh optimizer, continue 5 steps: the same bits as never stopping."""
    make = ROUND_TRIP[name]

    def steps(opt, params, n):
        for _ in range(n):
            if isinstance(opt, SAM):
                opt.step(lambda: set_grads(params))
            else:
                set_grads(params)
                opt.step()

    params = torch_params(np.float64)
    opt = make(params)
    steps(opt, params, 5)
    if hasattr(opt, "eval"):
        opt.eval()
    saved = copy.deepcopy(opt.state_dict())
    saved_params = [p.detach().clone() for p in params]
    if hasattr(opt, "train"):
        opt.train()
    steps(opt, params, 5)

    fresh = [p.clone() for p in saved_params]
    other = make(fresh)
    other.load_state_dict(saved)
    if hasattr(other, "train"):
        other.train()
    steps(other, fresh, 5)
    assert all(torch.equal(a, b) for a, b in zip(params, fresh))
