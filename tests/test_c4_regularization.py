"""Label-smoothing cross-entropy, the L1 proximal step, max-norm, noise injection, ensembles
(course_lib.nn.losses, course_lib.nn.regularization), against torch, scikit-learn and brute
force."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso

from course_lib import nn
from course_lib.nn.regularization import GaussianNoise, ensemble_probabilities, l1_prox_, max_norm_
from course_lib.second_order.coordinate import soft_threshold


@pytest.mark.parametrize("eps", [0.0, 0.05, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_label_smoothing_matches_torch(eps, seed):
    rng = np.random.default_rng(seed)
    z = 4 * rng.standard_normal((9, 6))
    y = rng.integers(0, 6, size=9)
    loss, d = nn.softmax_cross_entropy(z, y, label_smoothing=eps)
    zt = torch.tensor(z, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(zt, torch.tensor(y), label_smoothing=eps)
    ref.backward()
    assert abs(loss - ref.item()) <= 1e-13 * max(1.0, abs(ref.item()))
    np.testing.assert_allclose(d, zt.grad.numpy(), rtol=0, atol=1e-15)
    module = nn.CrossEntropyLoss(label_smoothing=eps)
    assert module(z, y) == loss
    np.testing.assert_array_equal(module.backward(2.0), 2.0 * d)


def test_label_smoothing_optimum_is_the_smoothed_target():
    # the minimizer over the logits is softmax(z) = q: the logit gap log(1 + C (1 - eps) / eps)
    eps, C = 0.1, 10
    gap = np.log(1 + C * (1 - eps) / eps)
    z = np.zeros((1, C))
    z[0, 3] = gap
    loss, d = nn.softmax_cross_entropy(z, np.array([3]), label_smoothing=eps)
    np.testing.assert_allclose(d, 0.0, rtol=0, atol=1e-15)
    for delta in (-0.1, 0.1):                           # a larger or smaller gap is worse
        z2 = z.copy()
        z2[0, 3] += delta
        assert nn.softmax_cross_entropy(z2, np.array([3]), label_smoothing=eps)[0] > loss


def test_label_smoothing_bad_values():
    bad = r"label_smoothing must be between 0\.0 and 1\.0\. Got: "
    with pytest.raises(ValueError, match=bad + r"1\.5"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match=bad + r"-0\.1"):
        nn.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1]), label_smoothing=-0.1)
    with pytest.raises(TypeError, match="label_smoothing must be a float"):
        nn.CrossEntropyLoss(label_smoothing="0.1")


def test_l1_prox_is_soft_thresholding_and_the_argmin():
    rng = np.random.default_rng(3)
    u = 2 * rng.standard_normal(50)
    tau = 0.7
    p = u.copy()
    l1_prox_([p], tau)
    np.testing.assert_array_equal(p, soft_threshold(u, tau))
    assert np.sum(p == 0) == np.sum(np.abs(u) <= tau) > 0
    assert not np.any(np.signbit(p) & (p == 0))          # no negative zeros
    grid = np.linspace(-8, 8, 160_001)                   # brute-force argmin, entry by entry
    for ui, pi in zip(u[:10], p[:10]):
        brute = grid[np.argmin(0.5 * (grid - ui) ** 2 + tau * np.abs(grid))]
        assert abs(brute - pi) <= 1e-4


def test_ista_with_l1_prox_converges_to_the_lasso_solution():
    rng = np.random.default_rng(0)
    N, n = 80, 15
    X = rng.standard_normal((N, n))
    w_true = np.zeros(n)
    w_true[[0, 3, 7]] = [1.5, -2.0, 0.8]
    y = X @ w_true + 0.2 * rng.standard_normal(N)
    alpha = 0.1  # sklearn: 1/(2N)||y - Xw||^2 + alpha |w|_1
    L = np.linalg.eigvalsh(X.T @ X / N).max()
    eta = 1.0 / L
    w = np.zeros(n)
    for _ in range(5000):
        w -= eta * (X.T @ (X @ w - y) / N)
        l1_prox_([w], eta * alpha)
    ref = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(X, y).coef_
    np.testing.assert_allclose(w, ref, rtol=0, atol=1e-8)
    assert np.array_equal(w == 0, ref == 0) and np.sum(w == 0) >= 5


def test_max_norm_matches_torch_renorm_and_is_the_projection():
    rng = np.random.default_rng(5)
    W = rng.standard_normal((20, 7)) * rng.uniform(0.1, 3, size=7)   # columns of varied norms
    W0 = W.copy()
    c = 6.0
    norms = max_norm_(W, c)
    np.testing.assert_allclose(norms, np.linalg.norm(W0, axis=0), rtol=1e-14)
    assert 0 < np.sum(norms > c) < 7                                 # some columns bind
    ref = torch.renorm(torch.tensor(W0.T), 2, 0, c).numpy().T        # torch weight is (out, in)
    np.testing.assert_allclose(W, ref, rtol=1e-6, atol=0)
    new = np.linalg.norm(W, axis=0)
    assert np.all(new <= c * (1 + 1e-12))
    np.testing.assert_array_equal(W[:, norms <= c], W0[:, norms <= c])  # inside: untouched
    # projection: no other point of the ball is closer (random feasible points)
    for _ in range(200):
        V = rng.standard_normal(W.shape)
        V *= np.minimum(1, c / np.linalg.norm(V, axis=0)) * rng.uniform(0, 1, size=7)
        assert np.all(np.linalg.norm(V - W0, axis=0) >= np.linalg.norm(W - W0, axis=0) - 1e-12)
    # axis=1: rows
    R = W0.copy()
    max_norm_(R, 1.0, axis=1)
    assert np.all(np.linalg.norm(R, axis=1) <= 1 + 1e-12)


def test_gaussian_noise_layer():
    x = np.ones((20_000, 3))
    layer = GaussianNoise(0.5, rng=0)
    out = layer(x)
    assert abs(out.mean() - 1) < 0.01 and abs(out.std() - 0.5) < 0.01
    d = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(layer.backward(d), d)
    np.testing.assert_array_equal(layer.eval()(x), x)
    assert layer.parameters() == []
    # as an L2 penalty in expectation for a linear model with squared error (Monte Carlo)
    rng = np.random.default_rng(1)
    X, w, y = rng.standard_normal((5, 4)), rng.standard_normal(4), rng.standard_normal(5)
    noisy = GaussianNoise(0.3, rng=2)
    mc = np.mean([np.mean((y - noisy(X) @ w) ** 2) for _ in range(40_000)])
    exact = np.mean((y - X @ w) ** 2) + 0.3**2 * w @ w
    assert abs(mc - exact) < 0.01 * exact


def test_ensemble_probabilities_and_jensen():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 4, size=30)
    logits = [3 * rng.standard_normal((30, 4)) for _ in range(5)]
    p = ensemble_probabilities(logits)
    manual = np.mean([np.exp(z) / np.exp(z).sum(axis=1, keepdims=True) for z in logits], axis=0)
    np.testing.assert_allclose(p, manual, rtol=1e-14)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-14)
    ens_loss = -np.mean(np.log(p[np.arange(30), y]))
    member_losses = [nn.softmax_cross_entropy(z, y)[0] for z in logits]
    assert ens_loss <= np.mean(member_losses)


@pytest.mark.parametrize("call, error, message", [
    (lambda: l1_prox_([np.ones(3)], -1.0), ValueError, r"Invalid threshold: -1\.0"),
    (lambda: l1_prox_([[1.0, 2.0]], 0.1), TypeError, "expects NumPy arrays"),
    (lambda: max_norm_(np.ones((2, 2)), -0.5), ValueError, r"Invalid max_norm: -0\.5"),
    (lambda: max_norm_([1.0], 1.0), TypeError, "expects a NumPy array"),
    (lambda: GaussianNoise(float("nan")), ValueError, "Invalid sigma: nan"),
    (lambda: GaussianNoise("big"), TypeError, "sigma must be a real number"),
    (lambda: ensemble_probabilities([]), ValueError, "at least one member"),
    (lambda: ensemble_probabilities([np.ones((2, 3)), np.ones((3, 3))]), ValueError, "one shape"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
