"""BatchNorm2d, WeightNormLinear and Residual: against torch (float64) and finite differences."""

import numpy as np
import pytest
import torch
from torch.nn.utils.parametrizations import weight_norm

from course_lib.nn import init
from course_lib.nn.gradcheck import check_layer, relative_error
from course_lib.nn.layers import Linear, ReLU, Residual, Tanh, WeightNormLinear
from course_lib.nn.module import Sequential
from course_lib.nn.normalization import BatchNorm1d, BatchNorm2d

TIGHT = 1e-12      # float64, same formulas: agreement to rounding
FD = 1e-7          # centred differences with h = 1e-6 (error ~1e-9 for these sizes)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm2d_matches_torch_training_running_stats_eval_and_backward(momentum):
    rng = np.random.default_rng(0)
    C = 3
    ours, theirs = BatchNorm2d(C, momentum=momentum), torch.nn.BatchNorm2d(
        C, momentum=momentum, dtype=torch.float64)
    g0, b0 = rng.uniform(0.5, 2, C), rng.standard_normal(C)
    ours.gamma[...], ours.beta[...] = g0, b0
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(g0))
        theirs.bias.copy_(torch.tensor(b0))
    for _ in range(5):
        x = rng.normal(loc=[[[2.0]], [[-1.0]], [[0.0]]], scale=[[[3.0]], [[0.1]], [[1.0]]],
                       size=(4, C, 5, 6))
        delta = rng.standard_normal(x.shape)
        x_t = torch.tensor(x, requires_grad=True)
        y_t = theirs(x_t)
        y_t.backward(torch.tensor(delta))
        assert relative_error(ours(x), y_t.detach().numpy()) < TIGHT
        assert relative_error(ours.backward(delta), x_t.grad.numpy()) < TIGHT
        assert relative_error(ours.dgamma, theirs.weight.grad.numpy()) < TIGHT
        assert relative_error(ours.dbeta, theirs.bias.grad.numpy()) < TIGHT
        theirs.weight.grad = theirs.bias.grad = None
    # running variance uses the unbiased factor NHW / (NHW - 1), as torch
    assert relative_error(ours.running_mean, theirs.running_mean.numpy()) < TIGHT
    assert relative_error(ours.running_var, theirs.running_var.numpy()) < TIGHT
    x = rng.standard_normal((2, C, 3, 3))
    ours.eval()
    theirs.eval()
    assert relative_error(ours(x), theirs(torch.tensor(x)).detach().numpy()) < TIGHT


def test_batchnorm2d_statistics_are_per_channel_over_batch_and_positions():
    rng = np.random.default_rng(1)
    x = rng.normal(loc=5.0, scale=2.0, size=(3, 4, 5, 5))
    out = BatchNorm2d(4)(x)
    assert np.allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    assert np.allclose(out.var(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
                       / (x.var(axis=(0, 2, 3)) + 1e-5), rtol=1e-12)
    # per-position statistics (BatchNorm1d on N x (C*H*W) features) would be different
    per_position = BatchNorm1d(4 * 25)(x.reshape(3, -1)).reshape(x.shape)
    assert not np.allclose(per_position, out, atol=0.1)
    # a batch of one image is fine (25 values per channel), a 1x1 map of one is not
    BatchNorm2d(4)(x[:1])
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        BatchNorm2d(4)(x[:1, :, :1, :1])
    with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input\)"):
        BatchNorm2d(4)(x[:, :, 0, 0])
    with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input\)"):
        torch.nn.BatchNorm2d(4)(torch.zeros(3, 4))


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm2d_backward_matches_finite_differences(training):
    rng = np.random.default_rng(2)
    layer = BatchNorm2d(2)
    layer.gamma[...], layer.beta[...] = [1.5, 0.7], [0.3, -1.0]
    layer.running_mean[...], layer.running_var[...] = [0.5, -0.2], [2.0, 0.5]
    x = rng.normal(size=(3, 2, 2, 3))
    assert check_layer(layer.train(training), x) < FD


def test_batchnorm2d_roundtrip_with_torch():
    t = torch.nn.BatchNorm2d(3, momentum=0.2, dtype=torch.float64)
    t(torch.randn(4, 3, 2, 2, dtype=torch.float64))
    ours = BatchNorm2d.from_torch(t)
    assert isinstance(ours, BatchNorm2d) and ours.momentum == 0.2
    back = ours.to_torch()
    assert isinstance(back, torch.nn.BatchNorm2d)
    assert torch.equal(back.running_var, t.running_var)


def test_weight_norm_matches_torch_parametrization():
    rng = np.random.default_rng(3)
    ours = WeightNormLinear(5, 4, rng, init=init.he_normal)
    assert np.allclose(np.linalg.norm(ours.W, axis=0), ours.g, rtol=1e-14)
    ours.g[...] = rng.uniform(0.5, 2.0, 4)               # move g away from ||v||
    ours.v[...] *= rng.uniform(0.5, 3.0, 4)
    theirs = ours.to_torch()
    x, delta = rng.standard_normal((7, 5)), rng.standard_normal((7, 4))
    x_t = torch.tensor(x, requires_grad=True)
    y_t = theirs(x_t)
    y_t.backward(torch.tensor(delta))
    assert relative_error(ours(x), y_t.detach().numpy()) < TIGHT
    assert relative_error(ours.W.T, theirs.weight.detach().numpy()) < TIGHT
    assert relative_error(ours.backward(delta), x_t.grad.numpy()) < TIGHT
    p = theirs.parametrizations.weight
    assert relative_error(ours.dg, p.original0.grad.numpy().ravel()) < TIGHT
    assert relative_error(ours.dv, p.original1.grad.numpy().T) < TIGHT
    assert relative_error(ours.db, theirs.bias.grad.numpy()) < TIGHT
    # torch's weight_norm starts with g = ||v||, so W = v: ours too
    fresh = weight_norm(torch.nn.Linear(5, 4, dtype=torch.float64))
    w = fresh.weight.detach().numpy()
    assert np.allclose(fresh.parametrizations.weight.original0.detach().numpy().ravel(),
                       np.linalg.norm(w, axis=1), rtol=1e-14)


def test_weight_norm_backward_finite_differences_and_invariance():
    rng = np.random.default_rng(4)
    layer = WeightNormLinear(4, 3, rng)
    assert check_layer(layer, rng.standard_normal((6, 4))) < FD
    # the gradient in v is orthogonal to v (scale invariance in v): v_j . dv_j = 0
    layer(rng.standard_normal((6, 4)))
    layer.backward(rng.standard_normal((6, 3)))
    assert np.max(np.abs(np.sum(layer.v * layer.dv, axis=0))) < 1e-12 * np.abs(layer.dv).max()
    before = layer(np.eye(4))
    layer.v *= 7.0                                        # rescaling v changes nothing
    assert np.allclose(layer(np.eye(4)), before, rtol=1e-13, atol=1e-15)


def test_residual_block_backward_against_finite_differences_and_torch():
    rng = np.random.default_rng(5)
    block = Residual(Linear(6, 6, rng, init=init.he_normal), Tanh(),
                     Linear(6, 6, rng, init=init.he_normal))
    x = rng.standard_normal((5, 6))
    assert check_layer(block, x) < FD
    torch_branch = torch.nn.Sequential(block.branch[0].to_torch(), torch.nn.Tanh(),
                                       block.branch[2].to_torch())
    x_t = torch.tensor(x, requires_grad=True)
    delta = rng.standard_normal(x.shape)
    (x_t + torch_branch(x_t)).backward(torch.tensor(delta))
    block(x)
    assert relative_error(block.backward(delta), x_t.grad.numpy()) < TIGHT
    assert relative_error(block.branch[0].dW, torch_branch[0].weight.grad.numpy().T) < TIGHT
    net = Sequential(block, ReLU())
    assert [name for name, _ in net.named_parameters()] == ["0.0.W", "0.0.b", "0.2.W", "0.2.b"]
    assert len(net.grads()) == 4
    net.eval()
    assert not block.branch[0].training


def test_zero_init_residual_is_the_identity_and_passes_gradients_through():
    rng = np.random.default_rng(6)
    def zeros(m, n, r):
        return np.zeros((m, n))

    blocks = [Residual(Linear(8, 8, rng, init=init.he_normal), ReLU(),
                       Linear(8, 8, rng, init=zeros)) for _ in range(10)]
    net = Sequential(*blocks)
    x = rng.standard_normal((4, 8))
    assert np.array_equal(net(x), x)
    delta = rng.standard_normal(x.shape)
    assert np.array_equal(net.backward(delta), delta)
    # only the last layer of each branch receives a gradient at the start
    assert all(np.abs(b.branch[2].dW).max() > 0 for b in blocks)
    assert all(np.abs(b.branch[0].dW).max() == 0 for b in blocks)


def test_residual_and_weight_norm_bad_arguments():
    with pytest.raises(ValueError, match="at least one layer"):
        Residual()
    block = Residual(Linear(3, 2, 0))
    with pytest.raises(ValueError, match="must be equal"):
        block(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="all-zero weights"):
        WeightNormLinear(3, 2, 0, init=lambda m, n, r: np.zeros((m, n)))
    with pytest.raises(ValueError, match=r"expects input of shape \(N, 3\)"):
        WeightNormLinear(3, 2, 0)(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="called before forward"):
        WeightNormLinear(3, 2, 0).backward(np.zeros((2, 2)))
