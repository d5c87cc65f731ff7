"""Finite-sum objectives: per-example gradients against finite differences and torch autograd,
minibatch estimates against exact enumeration of every minibatch, minimizers against scipy."""

import itertools
from math import comb

import numpy as np
import pytest
import scipy.optimize
import torch
from finite_differences import TOL, central_difference, rel_err

from course_lib.objectives.finite_sum import LeastSquares, LogisticRegression
from course_lib.optim import sgd
from course_lib.optim.descent import run


def make_least_squares(rng, N=12, d=3):
    X = rng.standard_normal((N, d))
    y = X @ rng.standard_normal(d) + 0.3 * rng.standard_normal(N)
    return LeastSquares(X, y)


def make_logistic(rng, N=12, d=3, l2=0.0):
    X = rng.standard_normal((N, d))
    y = (rng.random(N) < 0.5).astype(float)  # random labels: not separable
    return LogisticRegression(X, y, l2=l2)


OBJECTIVES = {
    "least-squares": lambda rng: make_least_squares(rng),
    "logistic": lambda rng: make_logistic(rng),
    "logistic-l2": lambda rng: make_logistic(rng, l2=0.1),
}


@pytest.fixture(params=sorted(OBJECTIVES))
def objective(request, rng):
    return OBJECTIVES[request.param](rng)


def test_gradient_and_hessian_match_finite_differences(objective, rng):
    for _ in range(5):
        w = rng.standard_normal(objective.dim)
        assert rel_err(objective.grad(w), central_difference(objective.value, w)) < TOL
        assert rel_err(objective.hess(w), central_difference(objective.grad, w)) < TOL


def test_per_example_gradients_match_finite_differences(objective, rng):
    w = rng.standard_normal(objective.dim)
    G = objective.per_example_grads(w)
    assert G.shape == (objective.n_examples, objective.dim)
    G_fd = central_difference(objective.losses, w)  # (N, d): column j is d/dw_j of every loss
    assert rel_err(G, G_fd) < TOL
    assert np.allclose(G.mean(axis=0), objective.grad(w), rtol=1e-12, atol=1e-14)
    idx = np.array([3, 0, 3])
    assert np.allclose(objective.per_example_grads(w, idx), G[idx], rtol=0, atol=0)


def test_gradients_match_torch_autograd(rng):
    ls, lr = make_least_squares(rng), make_logistic(rng, l2=0.05)
    w = rng.standard_normal(3)
    wt = torch.tensor(w, requires_grad=True)
    X, y = torch.tensor(ls.X), torch.tensor(ls.y)
    (0.5 * ((X @ wt - y) ** 2).mean()).backward()
    assert np.allclose(wt.grad.numpy(), ls.grad(w), rtol=1e-12, atol=1e-14)
    wt = torch.tensor(w, requires_grad=True)
    X, y = torch.tensor(lr.X), torch.tensor(lr.y)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(X @ wt, y) + 0.025 * (wt @ wt)
    loss.backward()
    assert np.isclose(loss.item(), lr.value(w), rtol=1e-12)
    assert np.allclose(wt.grad.numpy(), lr.grad(w), rtol=1e-12, atol=1e-14)


def test_value_and_grad_accept_stacks(objective, rng):
    W = rng.standard_normal((4, 5, objective.dim))
    V, G = objective.value(W), objective.grad(W)
    assert V.shape == (4, 5) and G.shape == (4, 5, objective.dim)
    for i, j in [(0, 0), (3, 4), (2, 1)]:
        assert np.isclose(V[i, j], objective.value(W[i, j]), rtol=1e-12)
        assert np.allclose(G[i, j], objective.grad(W[i, j]), rtol=1e-12, atol=1e-14)


def test_least_squares_minimizer_matches_scipy(rng):
    obj = make_least_squares(rng)
    ref = scipy.optimize.lsq_linear(obj.X, obj.y, tol=1e-14).x
    assert np.allclose(obj.minimizers[0], ref, rtol=1e-8, atol=1e-10)
    assert np.linalg.norm(obj.grad(obj.minimizers[0])) < 1e-12
    assert obj.minimum == pytest.approx(obj.value(ref), rel=1e-10)


@pytest.mark.parametrize("l2", [0.0, 0.1])
def test_logistic_minimizer_matches_scipy(rng, l2):
    obj = make_logistic(rng, N=40, l2=l2)
    ref = scipy.optimize.minimize(obj.value, np.zeros(3), jac=obj.grad, method="BFGS",
                                  options=dict(gtol=1e-11)).x
    assert obj.minimizers.shape == (1, 3)
    assert np.allclose(obj.minimizers[0], ref, rtol=1e-6, atol=1e-7)
    assert np.linalg.norm(obj.grad(obj.minimizers[0])) < 1e-9


def test_logistic_separable_data_has_no_minimizer():
    X = np.array([[1.0, 2.0], [2.0, 1.0], [-1.0, -2.0], [-2.0, -1.0]])
    obj = LogisticRegression(X, np.array([1, 1, 0, 0]))
    assert obj.minimizers.shape == (0, 2) and obj.minimum == 0.0
    # the loss keeps decreasing along the separating direction
    assert obj.value([10.0, 10.0]) < obj.value([1.0, 1.0]) < obj.value([0.0, 0.0])


def test_logistic_loss_is_finite_for_huge_logits():
    obj = LogisticRegression(np.array([[1.0], [1.0]]), np.array([1.0, 0.0]))
    assert np.allclose(obj.losses([1000.0]), [0.0, 1000.0], rtol=1e-15, atol=0)
    assert np.all(np.isfinite(obj.per_example_grads([1000.0])))


@pytest.mark.parametrize("m", [1, 2, 3, 5, 7])
def test_minibatch_mean_is_unbiased_and_variance_formula_is_exact(rng, m):
    obj = make_least_squares(rng, N=7, d=2)
    w = rng.standard_normal(2)
    full = obj.grad(w)
    subsets = list(itertools.combinations(range(obj.n_examples), m))
    assert len(subsets) == comb(7, m)
    estimates = np.array([obj.minibatch_grad(w, np.array(s)) for s in subsets])
    assert np.allclose(estimates.mean(axis=0), full, rtol=1e-12, atol=1e-14)
    var = np.mean(np.sum((estimates - full) ** 2, axis=1))
    assert var == pytest.approx(obj.gradient_variance(w, m), rel=1e-10, abs=1e-14)
    # with replacement: all N^m ordered draws, equally likely
    draws = list(itertools.product(range(obj.n_examples), repeat=min(m, 3)))
    est = np.array([obj.minibatch_grad(w, np.array(s)) for s in draws])
    assert np.allclose(est.mean(axis=0), full, rtol=1e-12, atol=1e-14)
    var_r = np.mean(np.sum((est - full) ** 2, axis=1))
    assert var_r == pytest.approx(obj.gradient_variance(w, min(m, 3), replace=True), rel=1e-10)


def test_full_batch_has_zero_variance(rng):
    obj = make_least_squares(rng, N=6)
    assert obj.gradient_variance(rng.standard_normal(3), 6) == 0.0


@pytest.mark.parametrize("sampling", ["shuffle", "subset", "replacement"])
def test_oracle_draws_minibatches_of_the_right_size(rng, sampling):
    obj = make_least_squares(rng, N=10, d=2)
    oracle = obj.minibatch_oracle(4, np.random.default_rng(1), sampling=sampling)
    w = rng.standard_normal(2)
    G = obj.per_example_grads(w)
    seen = []
    for t in range(30):
        g = oracle(w, t)
        assert g.shape == (2,)
        # every estimate is the mean of some rows of G, so it lies in their bounding box
        assert np.all(g >= G.min(axis=0) - 1e-12) and np.all(g <= G.max(axis=0) + 1e-12)
        seen.append(g)
    if sampling == "shuffle":
        # an epoch is batches of 4, 4, 2 covering every example once: their weighted sum is N*grad
        epoch = np.array(seen[:3])
        total = 4 * epoch[0] + 4 * epoch[1] + 2 * epoch[2]
        assert np.allclose(total, G.sum(axis=0), rtol=1e-12, atol=1e-12)


def test_shuffled_epochs_of_sgd_with_step_one_over_k_give_the_mean():
    # f_i(w) = (w - a_i)^2 / 2: SGD with step 1/k is the running mean of the sampled a_i,
    # so after every complete epoch of random reshuffling it is exactly mean(a).
    a = np.array([0.0, 1.0, 5.0])
    obj = LeastSquares(np.ones((3, 1)), a)
    oracle = obj.minibatch_oracle(1, np.random.default_rng(0))
    traj = run(sgd, obj, np.array([7.0]), 300, lr=lambda t: 1.0 / (t + 1), grad=oracle)
    assert abs(traj.x[0] - 2.0) < 1e-12
    assert obj.minimizers[0, 0] == pytest.approx(2.0, abs=1e-12)


def test_oracle_reproducible_with_same_seed(rng):
    obj = make_logistic(rng)
    w = rng.standard_normal(3)
    a = obj.minibatch_oracle(5, np.random.default_rng(7), sampling="subset")
    b = obj.minibatch_oracle(5, np.random.default_rng(7), sampling="subset")
    assert all(np.array_equal(a(w, t), b(w, t)) for t in range(10))


def test_errors(rng):
    X = rng.standard_normal((5, 2))
    with pytest.raises(ValueError, match=r"X must have shape \(N, d\)"):
        LeastSquares(X[0], np.zeros(2))
    with pytest.raises(ValueError, match=r"y must have shape \(5,\)"):
        LeastSquares(X, np.zeros(4))
    with pytest.raises(ValueError, match=r"labels in \{0, 1\}"):
        LogisticRegression(X, np.array([0, 1, 2, 0, 1]))
    with pytest.raises(ValueError, match=r"Invalid l2 value: -1"):
        LogisticRegression(X, np.array([0, 1, 1, 0, 1]), l2=-1)
    obj = LeastSquares(X, np.zeros(5))
    with pytest.raises(ValueError, match=r"Invalid batch_size: 0"):
        obj.minibatch_oracle(0, rng)
    with pytest.raises(ValueError, match=r"Invalid batch_size: 6 > number of examples 5"):
        obj.minibatch_oracle(6, rng)
    obj.minibatch_oracle(6, rng, sampling="replacement")  # allowed with replacement
    with pytest.raises(ValueError, match=r"Invalid sampling: 'bootstrap'"):
        obj.minibatch_oracle(2, rng, sampling="bootstrap")
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        obj.minibatch_oracle(2, 0)
    with pytest.raises(ValueError, match=r"idx out of range"):
        obj.minibatch_grad(np.zeros(2), np.array([5]))
    with pytest.raises(ValueError, match=r"non-empty 1-D integer array"):
        obj.minibatch_grad(np.zeros(2), np.array([], dtype=int))
    with pytest.raises(ValueError, match=r"last dimension 2"):
        obj.grad(np.zeros(3))
    with pytest.raises(ValueError, match=r"Invalid batch_size: 9"):
        obj.gradient_variance(np.zeros(2), 9)
