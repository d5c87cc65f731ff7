"""course_lib.nn: every backward against central differences and torch autograd (float64);
BatchNorm1d/LayerNorm against torch.nn; losses at extreme logits; training with the course's
update rules against torch.optim; ERRATA demonstrations 8, 9, 10, 11, 31."""

import numpy as np
import pytest
import torch
from scipy.special import expit
from scipy.stats import skew

from course_lib import nn
from course_lib.nn.gradcheck import check_layer, numerical_gradient_array, relative_error
from course_lib.numerics import log_softmax, softmax
from course_lib.objectives.data import minibatches, one_hot
from course_lib.optim import sgd

FD_TOL = 1e-7  # the bound; measured worst over 300 random shapes: 2.4e-9
TORCH_RTOL = 1e-12  # same float64 formulas, different order of operations
SEEDS = range(8)


def random_shape(seed, min_n=3, min_d=3):
    """A random (N, D) and an input with a random offset and scale. BatchNorm needs N >= 3
    and LayerNorm D >= 3: with 2 values the normalized output is +-1 whatever x is, the
    input gradient is ~0, and a relative error of it is noise."""
    rng = np.random.default_rng(seed)
    N, D = int(rng.integers(min_n, 9)), int(rng.integers(min_d, 8))
    x = rng.standard_normal((N, D)) * rng.uniform(0.5, 3) + rng.uniform(-2, 2)
    return rng, N, D, x


def make_layer(kind, D, rng):
    if kind == "linear":
        layer = nn.Linear(D, int(rng.integers(1, 6)), rng)
        layer.b[:] = rng.standard_normal(layer.b.shape)
        return layer
    if kind in ("batchnorm", "batchnorm_eval", "layernorm"):
        layer = nn.LayerNorm(D) if kind == "layernorm" else nn.BatchNorm1d(D)
        layer.gamma[:] = rng.standard_normal(D)
        layer.beta[:] = rng.standard_normal(D)
        if kind == "batchnorm_eval":
            layer.running_mean[:] = rng.standard_normal(D)
            layer.running_var[:] = rng.uniform(0.5, 2, D)
            layer.eval()
        return layer
    return {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[kind]()


KINDS = ["linear", "relu", "tanh", "sigmoid", "batchnorm", "batchnorm_eval", "layernorm"]


# ---------------------------------------------------------------- finite differences

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_backward_matches_finite_differences(kind, seed):
    rng, N, D, x = random_shape(seed)
    errors = check_layer(make_layer(kind, D, rng), x, rng=rng, details=True)
    assert max(errors.values()) <= FD_TOL, errors


@pytest.mark.parametrize("mode", ["inverted", "classic"])
@pytest.mark.parametrize("training", [True, False])
def test_dropout_backward_matches_finite_differences(mode, training):
    rng, N, D, x = random_shape(11)
    layer = nn.Dropout(0.3, mode=mode, rng=5).train(training)
    assert check_layer(layer, x) <= FD_TOL


@pytest.mark.parametrize("seed", SEEDS)
def test_losses_backward_match_finite_differences(seed):
    rng, N, C, z = random_shape(seed, min_d=2)
    y = rng.integers(0, C, N)
    assert check_layer(nn.CrossEntropyLoss(), z, y, rng=rng) <= FD_TOL
    assert check_layer(nn.MSELoss(), z, rng.standard_normal(z.shape), rng=rng) <= FD_TOL


def test_sequential_backward_matches_finite_differences():
    rng = np.random.default_rng(3)
    model = nn.Sequential(nn.Linear(5, 7, rng), nn.Tanh(), nn.Linear(7, 6, rng, bias=False),
                          nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.25, rng=rng),
                          nn.LayerNorm(6), nn.Linear(6, 4, rng), nn.Sigmoid())
    errors = check_layer(model, rng.standard_normal((8, 5)), details=True)
    assert set(errors) == {"x", "0.W", "0.b", "2.W", "3.gamma", "3.beta", "6.gamma", "6.beta",
                           "7.W", "7.b"}
    assert max(errors.values()) <= FD_TOL, errors


# ---------------------------------------------------------------- torch autograd

def torch_grads(module, x, dout, *params):
    xt = torch.tensor(x, requires_grad=True)
    out = module(xt)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), xt.grad.numpy(), [p.grad.numpy() for p in params]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_backward_matches_torch_autograd(kind, seed):
    rng, N, D, x = random_shape(seed, min_n=2, min_d=1)
    layer = make_layer(kind, D, rng)
    module = layer.to_torch()
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    t_out, t_dx, t_grads = torch_grads(module, x, dout, *module.parameters())
    assert relative_error(out, t_out) <= TORCH_RTOL
    # floor |dout|: for N = 2 (BN) or D = 1 (LN) dx is 0 and torch's is rounding noise
    assert relative_error(dx, t_dx, floor=np.linalg.norm(dout)) <= TORCH_RTOL
    ours = [g.T if g.ndim == 2 else g for g in layer.grads()]  # Linear: W is torch's weight.T
    assert len(ours) == len(t_grads)
    for g, tg in zip(ours, t_grads):  # LN with D = 1: dgamma is 0 (xhat = 0)
        assert relative_error(g, tg, floor=np.linalg.norm(dout)) <= TORCH_RTOL


def test_dropout_matches_torch_with_the_same_mask():
    rng = np.random.default_rng(0)
    x, dout = rng.standard_normal((6, 9)), rng.standard_normal((6, 9))
    layer = nn.Dropout(0.4, rng=1)
    out, dx = layer.forward(x), layer.backward(dout)
    keep = torch.tensor(layer.mask != 0)
    xt = torch.tensor(x, requires_grad=True)
    ot = xt * keep / (1 - 0.4)  # what torch.nn.functional.dropout computes for this mask
    ot.backward(torch.tensor(dout))
    assert relative_error(out, ot.detach().numpy()) <= TORCH_RTOL
    assert relative_error(dx, xt.grad.numpy()) <= TORCH_RTOL


@pytest.mark.parametrize("seed", SEEDS)
def test_losses_match_torch(seed):
    rng, N, C, z = random_shape(seed, min_n=1, min_d=2)
    y = rng.integers(0, C, N)
    t = rng.standard_normal(z.shape)
    for loss_fn, torch_fn, target, t_target in [
        (nn.CrossEntropyLoss(), torch.nn.functional.cross_entropy, y, torch.tensor(y)),
        (nn.MSELoss(), torch.nn.functional.mse_loss, t, torch.tensor(t)),
    ]:
        loss, d = loss_fn(z, target), loss_fn.backward()
        zt = torch.tensor(z, requires_grad=True)
        lt = torch_fn(zt, t_target)
        lt.backward()
        assert loss == pytest.approx(lt.item(), rel=TORCH_RTOL)
        assert relative_error(d, zt.grad.numpy()) <= TORCH_RTOL


def test_sequential_matches_torch_network():
    rng = np.random.default_rng(1)
    # no bias before BN: its gradient is 0 (BN removes any constant), see test_gradcheck
    model = nn.Sequential(nn.Linear(6, 8, rng, bias=False), nn.BatchNorm1d(8), nn.ReLU(),
                          nn.LayerNorm(8), nn.Linear(8, 3, rng))
    tmodel = model.to_torch()
    x, y = rng.standard_normal((10, 6)), rng.integers(0, 3, 10)
    loss_fn = nn.CrossEntropyLoss()
    loss = loss_fn(model(x), y)
    model.backward(loss_fn.backward())
    lt = torch.nn.functional.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y))
    lt.backward()
    assert loss == pytest.approx(lt.item(), rel=1e-12)
    for (name, _), g, tp in zip(model.named_parameters(), model.grads(), tmodel.parameters()):
        assert relative_error(g.T if g.ndim == 2 else g, tp.grad.numpy()) <= 1e-11, name


# ---------------------------------------------------------------- BatchNorm1d and LayerNorm

@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm1d_matches_torch_over_training_then_eval(momentum):
    rng = np.random.default_rng(2)
    D = 5
    ours = nn.BatchNorm1d(D, eps=1e-3, momentum=momentum)
    ours.gamma[:], ours.beta[:] = rng.standard_normal(D), rng.standard_normal(D)
    theirs = ours.to_torch()
    shift, scale = rng.normal(3, 2, D), rng.uniform(0.5, 4, D)
    for _ in range(25):  # batches of varying size from a non-standard distribution
        x = rng.standard_normal((int(rng.integers(2, 17)), D)) * scale + shift
        out = ours.forward(x)
        t_out = theirs(torch.tensor(x)).detach().numpy()
        assert relative_error(out, t_out) <= TORCH_RTOL
        assert relative_error(ours.running_mean, theirs.running_mean.numpy()) <= TORCH_RTOL
        assert relative_error(ours.running_var, theirs.running_var.numpy()) <= TORCH_RTOL
        assert ours.num_batches_tracked == int(theirs.num_batches_tracked)
    ours.eval(), theirs.eval()
    x = rng.standard_normal((7, D)) * scale + shift
    dout = rng.standard_normal((7, D))
    out, dx = ours.forward(x), ours.backward(dout)
    t_out, t_dx, (t_dg, t_db) = torch_grads(theirs, x, dout, theirs.weight, theirs.bias)
    assert relative_error(out, t_out) <= TORCH_RTOL
    assert relative_error(dx, t_dx) <= TORCH_RTOL
    assert relative_error(ours.dgamma, t_dg) <= TORCH_RTOL
    assert relative_error(ours.dbeta, t_db) <= TORCH_RTOL
    before = ours.running_var.copy()
    ours.forward(x[:1])  # eval mode: a batch of one is fine and stats are frozen
    assert np.array_equal(ours.running_var, before)


def test_batchnorm1d_running_stats_and_momentum_convention():
    x = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 16.0]])
    bn = nn.BatchNorm1d(2, momentum=0.1)
    bn(x)
    # new = 0.9 * old + 0.1 * batch (torch); Keras' momentum=0.99 would be torch's 0.01.
    np.testing.assert_allclose(bn.running_mean, 0.1 * np.array([3.0, 12.0]), rtol=1e-15)
    unbiased = np.array([4.0, 12.0])  # biased 8/3 and 8, times B/(B-1) = 3/2
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * unbiased, rtol=1e-15)
    assert bn.weight is bn.gamma and bn.bias is bn.beta


def test_batchnorm_roundtrip_from_torch():
    t = torch.nn.BatchNorm1d(4)
    t(torch.randn(8, 4) * 3 + 1)
    with torch.no_grad():
        t.weight.mul_(2.0)
    t.eval()
    ours = nn.BatchNorm1d.from_torch(t)
    assert not ours.training and ours.num_batches_tracked == 1
    x = np.random.default_rng(0).standard_normal((3, 4))
    assert relative_error(ours(x), t(torch.tensor(x)).detach().numpy()) <= TORCH_RTOL


@pytest.mark.parametrize("seed", SEEDS)
def test_layernorm_matches_torch(seed):
    rng, N, D, x = random_shape(seed, min_n=1, min_d=1)
    ours = nn.LayerNorm(D)
    ours.gamma[:], ours.beta[:] = rng.standard_normal(D), rng.standard_normal(D)
    theirs = ours.to_torch()
    dout = rng.standard_normal(x.shape)
    for mode in (True, False):  # identical in training and evaluation
        ours.train(mode), theirs.train(mode)
        out, dx = ours.forward(x), ours.backward(dout)
        theirs.zero_grad()
        t_out, t_dx, (t_dg, t_db) = torch_grads(theirs, x, dout, theirs.weight, theirs.bias)
        assert relative_error(out, t_out) <= TORCH_RTOL
        assert relative_error(dx, t_dx, floor=np.linalg.norm(dout)) <= TORCH_RTOL  # D = 1: 0
        assert relative_error(ours.dgamma, t_dg, floor=np.linalg.norm(dout)) <= TORCH_RTOL
        assert relative_error(ours.dbeta, t_db) <= TORCH_RTOL
    back = nn.LayerNorm.from_torch(theirs)
    assert np.array_equal(back.gamma, ours.gamma) and np.array_equal(back.beta, ours.beta)


# ---------------------------------------------------------------- ERRATA demonstrations

def test_errata_10_batchnorm_backward_three_terms_and_compact_form():
    """B = 8, eps = 1e-5: the three-term chain rule matches central differences (h = 1e-6,
    tol 1e-6) and the compact form (1e-12); sum_i dL/dz_i = 0, and with eps = 0 also
    sum_i (dL/dz_i) xhat_i = 0 (1e-10)."""
    rng = np.random.default_rng(8)
    B, D = 8, 4
    z = rng.standard_normal((B, D)) * 2 + 1
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    dout = rng.standard_normal((B, D))
    out, cache = nn.batchnorm_forward(z, gamma, beta, eps=1e-5)
    three = nn.batchnorm_backward_three_terms(dout, cache)
    compact = nn.batchnorm_backward(dout, cache)
    fd = numerical_gradient_array(lambda v: nn.batchnorm_forward(v, gamma, beta)[0], z.copy(),
                                  dout, h=1e-6)
    assert relative_error(three[0], fd) <= 1e-6
    for a, b in zip(three, compact):
        assert relative_error(a, b) <= 1e-12
    # dgamma and dbeta are sums over the batch (the per-example formula of ERRATA 10 is not)
    np.testing.assert_allclose(compact[1], np.sum(dout * cache.xhat, axis=0), rtol=1e-15)
    np.testing.assert_allclose(compact[2], np.sum(dout, axis=0), rtol=1e-15)
    np.testing.assert_allclose(compact[0].sum(axis=0), 0, atol=1e-10)
    _, cache0 = nn.batchnorm_forward(z, gamma, beta, eps=0.0)
    dz0 = nn.batchnorm_backward(dout, cache0)[0]
    np.testing.assert_allclose(np.sum(dz0 * cache0.xhat, axis=0), 0, atol=1e-10)


def test_batchnorm_inference_variance_needs_b_over_b_minus_1():
    """B = 4, sigma^2 = 4, 2e5 batches: the mean biased batch variance is 3 = (B-1)/B sigma^2
    and times B/(B-1) it is 4 (1 %); BatchNorm1d's running variance (cumulative average,
    4000 batches, relative standard error 1.3 %) estimates 4, not 3 (5 %)."""
    rng = np.random.default_rng(9)
    B, var = 4, 4.0
    batches = rng.normal(0.0, np.sqrt(var), (200_000, B))
    biased = batches.var(axis=1).mean()
    assert biased == pytest.approx(3.0, rel=0.01)
    assert biased * B / (B - 1) == pytest.approx(4.0, rel=0.01)
    bn = nn.BatchNorm1d(1, momentum=None)
    for xb in rng.normal(0.0, 2.0, (4000, B, 1)):
        bn(xb)
    assert bn.running_var[0] == pytest.approx(4.0, rel=0.05)


def test_errata_9_bn_standardizes_two_moments_not_gaussian():
    """BN of Exp(1) samples: mean 0, variance 1, but the skewness (about 2) is unchanged."""
    x = np.random.default_rng(0).exponential(1.0, (1000, 1))
    out, _ = nn.batchnorm_forward(x, np.ones(1), np.zeros(1), eps=0.0)
    assert abs(out.mean()) < 1e-12 and out.var() == pytest.approx(1.0, rel=1e-12)
    assert skew(out[:, 0]) == pytest.approx(skew(x[:, 0]), rel=1e-10)
    assert skew(out[:, 0]) > 1.5  # a normal has skewness 0


def test_errata_31_batch_mean_is_beta():
    rng = np.random.default_rng(31)
    X, W = rng.standard_normal((16, 10)), rng.standard_normal((10, 6)) * 5
    gamma, beta = rng.standard_normal(6), rng.standard_normal(6)
    out, _ = nn.batchnorm_forward(X @ W + 100.0, gamma, beta)
    np.testing.assert_allclose(out.mean(axis=0), beta, rtol=0, atol=1e-12)


def test_errata_11_layernorm_rows_have_mean_0_variance_1():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((6, 20)) * rng.uniform(0.5, 5, (6, 1)) + rng.normal(0, 3, (6, 1))
    out, _ = nn.layernorm_forward(x, np.ones(20), np.zeros(20), eps=0.0)
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=1), 1, rtol=1e-12)
    assert np.max(np.abs(out.mean(axis=0))) > 0.1  # columns are not standardized (that is BN)


def test_errata_18_dropout_weight_scaling_exact_for_linear_only():
    """Keep probability alpha = 0.8 (p = 0.2), one linear unit with 50 inputs, 2e5 masks.
    Linear: the Monte Carlo mean of the classic (unscaled) outputs equals the alpha-scaled
    output, and the inverted outputs average to the unmasked output (tol 0.05; the Monte Carlo
    standard error is 0.007). Through a sigmoid the gap is about 0.12, > 100 standard errors:
    here alpha w.x = -3.8 lies where the sigmoid is convex, and the masks spread z by +-2.8."""
    rng = np.random.default_rng(0)
    n, M, alpha = 50, 200_000, 0.8
    x, w = rng.standard_normal(n), rng.standard_normal(n)
    classic = nn.Dropout(1 - alpha, mode="classic", rng=1)
    z = classic(np.broadcast_to(x, (M, n))) @ w
    z_test = classic.eval()(x[None])[0] @ w
    assert z_test == pytest.approx(alpha * (w @ x), rel=1e-14)  # W_test = alpha W_train
    assert z_test < -2
    se = z.std() / np.sqrt(M)
    assert abs(z.mean() - z_test) <= 0.05 and se < 0.01
    inverted = nn.Dropout(1 - alpha, rng=2)
    assert abs((inverted(np.broadcast_to(x, (M, n))) @ w).mean() - w @ x) <= 0.05
    s = expit(z)
    gap = abs(s.mean() - expit(z_test))
    assert gap > 0.05 and gap > 100 * s.std() / np.sqrt(M)


def test_dropout_weight_scaling_is_exact_for_softmax_under_the_geometric_mean():
    """GBC 7.12: for softmax regression, the renormalized geometric mean over all 2^n masks
    (weighted by their probabilities) equals softmax of the alpha-scaled input, exactly."""
    rng = np.random.default_rng(12)
    n, C, alpha = 10, 4, 0.7
    x, W = rng.standard_normal(n), rng.standard_normal((n, C))
    masks = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    prob = alpha ** masks.sum(1) * (1 - alpha) ** (n - masks.sum(1))
    assert prob.sum() == pytest.approx(1.0, rel=1e-14)
    log_p = log_softmax((masks * x) @ W, axis=1)
    geo = np.exp(prob @ log_p)
    np.testing.assert_allclose(geo / geo.sum(), softmax((alpha * x) @ W), rtol=1e-12)
    arith = (prob[:, None] * softmax((masks * x) @ W, axis=1)).sum(0)
    assert np.max(np.abs(arith - softmax((alpha * x) @ W))) > 1e-3  # the arithmetic mean is not


# ---------------------------------------------------------------- dropout, losses: behaviour

def test_dropout_statistics_and_modes():
    x = np.ones((400, 500))
    d = nn.Dropout(0.3, rng=0)
    out = d(x)
    dropped = np.mean(out == 0)
    assert dropped == pytest.approx(0.3, abs=0.005)  # 2e5 Bernoullis: standard error 0.001
    assert np.all((out == 0) | np.isclose(out, 1 / 0.7, rtol=1e-15, atol=0))
    assert np.array_equal(d.backward(x), out)  # same mask, same scale
    assert np.array_equal(d.eval()(x), x)
    c = nn.Dropout(0.3, mode="classic", rng=0)
    assert set(np.unique(c(x))) == {0.0, 1.0}
    np.testing.assert_allclose(c.eval()(x), 0.7 * x, rtol=1e-15)
    assert np.array_equal(nn.Dropout(0.0, rng=0)(x), x)
    assert not np.any(nn.Dropout(1.0, rng=0)(x))
    with pytest.raises(ValueError, match="classic mode has no torch equivalent"):
        c.to_torch()


def test_cross_entropy_is_finite_and_correct_at_logits_1e4():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4 + 5.0, 1e4], [1e4, 1e4, -1e4]])
    y = np.array([1, 1, 0])
    loss, d = nn.softmax_cross_entropy(z, y)
    zt = torch.tensor(z, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(zt, torch.tensor(y))
    lt.backward()
    assert np.isfinite(loss) and np.all(np.isfinite(d))
    # exact values: row 0 loses 2e4, row 1 loses 2e4 - 5, row 2 loses log 2
    assert loss == pytest.approx((2e4 + (2e4 - 5) + np.log(2)) / 3, rel=1e-15)
    assert loss == pytest.approx(lt.item(), rel=1e-15)
    # numerics.log_softmax forms z - (max z + log sum): at |z| = 1e4 that keeps ~1e-12 absolute
    np.testing.assert_allclose(d, zt.grad.numpy(), rtol=0, atol=1e-12)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(z)
        naive = -np.mean(np.log(e[np.arange(3), y] / e.sum(1)))
    assert not np.isfinite(naive)


def test_one_hot_with_mse():
    y = np.array([2, 0, 1])
    Y = one_hot(y, 3)
    assert Y.shape == (3, 3) and np.array_equal(Y.argmax(1), y) and Y.sum() == 3
    assert nn.mse_loss(Y, Y)[0] == 0.0
    with pytest.raises(ValueError, match=r"Class values must be in \[0, 3\)"):
        one_hot(np.array([0, 3]), 3)


# ---------------------------------------------------------------- training with the rules

def test_step_with_course_sgd_trains_like_torch_optim_sgd():
    """Same network, same minibatches: nn.step(model, course_lib.optim.sgd, ...) and
    torch.optim.SGD give the same weights after 60 steps (float64, rel 1e-10)."""
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((96, 8)), rng.integers(0, 3, 96)
    model = nn.Sequential(nn.Linear(8, 16, rng, bias=False), nn.BatchNorm1d(16), nn.ReLU(),
                          nn.Linear(16, 3, rng))
    tmodel = model.to_torch()
    hyper = dict(lr=0.1, momentum=0.9, weight_decay=1e-3, nesterov=True)
    opt = nn.NumpyOptimizer(model, sgd, **hyper)
    topt = torch.optim.SGD(tmodel.parameters(), **hyper)
    loss_fn, batch_rng = nn.CrossEntropyLoss(), np.random.default_rng(0)
    for _ in range(5):
        for idx in minibatches(len(X), 8, batch_rng):
            loss_fn(model(X[idx]), y[idx])
            model.backward(loss_fn.backward())
            opt.step()
            topt.zero_grad()
            torch.nn.functional.cross_entropy(tmodel(torch.tensor(X[idx])),
                                              torch.tensor(y[idx])).backward()
            topt.step()
    for p, tp in zip(model.parameters(), tmodel.parameters()):
        assert relative_error(p.T if p.ndim == 2 else p, tp.detach().numpy()) <= 1e-10
    assert relative_error(model[1].running_var, tmodel[1].running_var.numpy()) <= 1e-10
    assert len(opt.states) == 5 and all("momentum_buffer" in s for s in opt.states)


def test_numpy_optimizer_and_step_are_wired_to_the_same_rule_and_validate():
    """Wiring (the torch reference is the test above): the stateful NumpyOptimizer and the
    function nn.step drive the same rule; bad hyperparameters raise torch's message."""
    rng = np.random.default_rng(6)
    a = nn.Sequential(nn.Linear(3, 2, rng))
    b = nn.Sequential(nn.Linear.from_torch(a[0].to_torch()))
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    states, opt = [], nn.NumpyOptimizer(b, sgd, lr=0.1, momentum=0.5)
    for _ in range(3):
        a(x), b(x)
        a.backward(dout), b.backward(dout)
        nn.step(a, sgd, states, lr=0.1, momentum=0.5)
        opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        assert np.array_equal(p, q)
    with pytest.raises(ValueError, match=r"Invalid learning rate: -0\.1"):
        nn.step(a, sgd, [], lr=-0.1)
    with pytest.raises(ValueError, match=r"states holds 1 entries but the model has 2"):
        nn.step(a, sgd, [{}], lr=0.1)


def test_gradient_clipping_matches_torch():
    rng = np.random.default_rng(7)
    grads = [rng.standard_normal((3, 4)) * 5, rng.standard_normal(4)]
    for norm_type in (2.0, 1.0, np.inf):
        ours = [g.copy() for g in grads]
        theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
        for t, g in zip(theirs, grads):
            t.grad = torch.tensor(g)
        total = nn.clip_grad_norm_(ours, 2.0, norm_type)
        t_total = torch.nn.utils.clip_grad_norm_(theirs, 2.0, norm_type)
        assert total == pytest.approx(float(t_total), rel=1e-14)
        for g, t in zip(ours, theirs):
            np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-14)
    ours = [g.copy() for g in grads]
    nn.clip_grad_value_(ours, 1.5)
    for g, g0 in zip(ours, grads):
        t = torch.zeros(g0.shape, requires_grad=True)
        t.grad = torch.tensor(g0)
        torch.nn.utils.clip_grad_value_([t], 1.5)
        assert np.array_equal(g, t.grad.numpy())


def test_modes_parameters_and_torch_roundtrip():
    rng = np.random.default_rng(8)
    model = nn.Sequential(nn.Linear(4, 5, rng), nn.BatchNorm1d(5), nn.Dropout(0.5, rng=rng),
                          nn.Linear(5, 2, rng, bias=False))
    assert [n for n, _ in model.named_parameters()] == ["0.W", "0.b", "1.gamma", "1.beta", "3.W"]
    assert [g.shape for g in model.grads()] == [p.shape for p in model.parameters()]
    model.eval()
    assert not any(layer.training for layer in model) and not model.training
    tmodel = model.to_torch()
    assert not tmodel.training and tmodel[0].weight.shape == (5, 4)
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(model(x), tmodel(torch.tensor(x)).detach().numpy(), rtol=1e-13)
    back = nn.Linear.from_torch(tmodel[0])
    assert np.array_equal(back.W, model[0].W) and np.array_equal(back.b, model[0].b)
    grads = model.grads()
    model.train()
    model(x)
    model.backward(np.ones((3, 2)))
    assert all(g is h for g, h in zip(grads, model.grads()))  # written in place
    model.zero_grad()
    assert not any(np.any(g) for g in model.grads())


# ---------------------------------------------------------------- bad arguments

@pytest.mark.parametrize("make, message", [
    (lambda: nn.BatchNorm1d(3)(np.ones((1, 3))),
     r"Expected more than 1 value per channel when training, got input size \(1, 3\)"),
    (lambda: nn.batchnorm_forward(np.ones((1, 3)), np.ones(3), np.zeros(3)),
     r"Expected more than 1 value per channel when training"),
    (lambda: nn.BatchNorm1d(3)(np.ones((4, 2))),
     r"BatchNorm1d expects input of shape \(N, 3\), got shape \(4, 2\)"),
    (lambda: nn.BatchNorm1d(0), r"num_features must be a positive integer, got 0"),
    (lambda: nn.BatchNorm1d(3, momentum=1.5), r"momentum must be in \[0, 1\] or None, got 1\.5"),
    (lambda: nn.batchnorm_forward(np.ones((4, 3)), np.ones(2), np.zeros(3)),
     r"gamma must have shape \(3,\), got \(2,\)"),
    (lambda: nn.layernorm_forward(np.ones(3), np.ones(3), np.zeros(3)),
     r"layernorm_forward expects x of shape \(N, D\), got shape \(3,\)"),
    (lambda: nn.LayerNorm(4)(np.ones((2, 5))),
     r"LayerNorm expects input of shape \(N, 4\), got shape \(2, 5\)"),
    (lambda: nn.Linear(3, 2, 0)(np.ones((4, 5))),
     r"Linear expects input of shape \(N, 3\), got shape \(4, 5\)"),
    (lambda: nn.Linear(3, 2, 0, init=lambda m, n, r: np.zeros((n, m))),
     r"init returned shape \(2, 3\), expected \(3, 2\)"),
    (lambda: nn.Dropout(1.5), r"dropout probability has to be between 0 and 1, but got 1\.5"),
    (lambda: nn.Dropout(0.5, mode="gaussian"), r"Dropout mode must be 'inverted' or 'classic'"),
    (lambda: nn.softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0])),
     r"cross-entropy expects integer class labels, got dtype float64"),
    (lambda: nn.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3])),
     r"Target 3 is out of bounds for 3 classes"),
    (lambda: nn.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2])),
     r"cross-entropy expects labels of shape \(2,\), got shape \(3,\)"),
    (lambda: nn.softmax_cross_entropy(np.zeros(3), np.array([0])),
     r"cross-entropy expects logits of shape \(N, C\), got shape \(3,\)"),
    (lambda: nn.mse_loss(np.zeros((2, 3)), np.zeros(3)),
     r"MSE expects pred and target of the same shape, got \(2, 3\) and \(3,\)"),
    (lambda: nn.clip_grad_norm_([np.ones(2)], -1.0), r"max_norm must be non-negative, got -1\.0"),
    (lambda: nn.Linear(2, 2, 0).backward(np.ones((1, 2))),
     r"Linear\.backward called before forward"),
])
def test_bad_arguments_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match=r"Sequential expects Module instances; layer 1 is ndarray"):
        nn.Sequential(nn.ReLU(), np.ones(3))
