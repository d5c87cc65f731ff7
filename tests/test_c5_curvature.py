"""Trust-region methods, Gauss-Newton, Hessian-free steps and K-FAC against scipy, torch and
closed forms."""

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse.linalg
import torch

from course_lib.objectives import Beale, PowellSingular, Rosenbrock, Wood
from course_lib.second_order import (
    boundary_intersections,
    dogleg_step,
    gauss_newton,
    gauss_newton_step,
    hessian_free_step,
    kfac_direction,
    kfac_factors,
    softmax_layer_fisher,
    steihaug_cg,
    trust_region,
)

PROBLEMS = [Rosenbrock(2), Rosenbrock(10), Beale(), Wood(), PowellSingular()]


@pytest.mark.parametrize("prob", PROBLEMS, ids=lambda p: f"{type(p).__name__}{p.dim}")
def test_steihaug_matches_scipy_trust_ncg(prob):
    ours = trust_region(prob.value, prob.x0, prob.grad, prob.hess, method="steihaug")
    ref = scipy.optimize.minimize(prob.value, prob.x0, jac=prob.grad, hess=prob.hess,
                                  method="trust-ncg")
    assert ours.success and ref.success
    assert ours.nit == ref.nit
    np.testing.assert_allclose(ours.x, ref.x, rtol=0, atol=1e-8)


def test_steihaug_hessp_equals_hess():
    prob = Rosenbrock(10)
    a = trust_region(prob.value, prob.x0, prob.grad, prob.hess, method="steihaug")
    b = trust_region(prob.value, prob.x0, prob.grad, hessp=lambda x, v: prob.hess(x) @ v,
                     method="steihaug")
    np.testing.assert_allclose(a.path, b.path, rtol=0, atol=1e-12)


def _convex_quartic():
    """f = sum(exp(x_i)) + (x^T A x) / 2 - b^T x: strictly convex, not quadratic."""
    rng = np.random.default_rng(7)
    M = rng.standard_normal((6, 6))
    A, b = M @ M.T / 6 + 0.1 * np.eye(6), 3 * rng.standard_normal(6)
    return (lambda x: np.exp(x).sum() + 0.5 * x @ A @ x - b @ x,
            lambda x: np.exp(x) + A @ x - b,
            lambda x: np.diag(np.exp(x)) + A, np.full(6, 2.0))


@pytest.mark.parametrize("case", ["rosenbrock", "convex"])
def test_dogleg_matches_scipy(case):
    if case == "rosenbrock":
        prob = Rosenbrock(2)
        fun, jac, hess, x0 = prob.value, prob.grad, prob.hess, prob.x0
    else:
        fun, jac, hess, x0 = _convex_quartic()
    ours = trust_region(fun, x0, jac, hess, method="dogleg")
    ref = scipy.optimize.minimize(fun, x0, jac=jac, hess=hess, method="dogleg")
    assert ours.success and ref.success and ours.nit == ref.nit
    np.testing.assert_allclose(ours.x, ref.x, rtol=0, atol=1e-8)


def test_dogleg_step_cases():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((5, 5))
    B = M @ M.T + np.eye(5)
    g = rng.standard_normal(5)
    newton = -np.linalg.solve(B, g)
    p, hit = dogleg_step(g, B, 2 * np.linalg.norm(newton))
    assert not hit and np.allclose(p, newton, rtol=1e-12)
    cauchy = -(g @ g) / (g @ B @ g) * g
    tiny = 0.5 * np.linalg.norm(cauchy)
    p, hit = dogleg_step(g, B, tiny)
    assert hit and np.isclose(np.linalg.norm(p), tiny, rtol=1e-12)
    assert np.allclose(p / np.linalg.norm(p), -g / np.linalg.norm(g), rtol=1e-12)
    mid = 0.5 * (np.linalg.norm(cauchy) + np.linalg.norm(newton))
    p, hit = dogleg_step(g, B, mid)
    assert hit and np.isclose(np.linalg.norm(p), mid, rtol=1e-12)
    with pytest.raises(ValueError, match="positive definite"):
        dogleg_step(g, -B, 1.0)


def test_steihaug_negative_curvature_goes_to_boundary():
    B = np.diag([1.0, -2.0])
    g = np.array([1.0, 0.5])
    p, hit = steihaug_cg(g, lambda v: B @ v, 3.0)
    assert hit and np.isclose(np.linalg.norm(p), 3.0, rtol=1e-12)
    # model value below that of the Cauchy-like boundary point along -g
    m = lambda q: g @ q + 0.5 * q @ B @ q  # noqa: E731
    assert m(p) < m(-3.0 * g / np.linalg.norm(g)) + 1e-12


def test_steihaug_interior_equals_newton_on_spd():
    rng = np.random.default_rng(1)
    M = rng.standard_normal((6, 6))
    B = M @ M.T + np.eye(6)
    g = 1e-3 * rng.standard_normal(6)   # ||g|| small: the tolerance sqrt(||g||)||g|| is tight
    p, hit = steihaug_cg(g, lambda v: B @ v, 1e3)
    newton = -np.linalg.solve(B, g)
    assert not hit
    assert np.linalg.norm(B @ p + g) < np.sqrt(np.linalg.norm(g)) * np.linalg.norm(g)
    assert np.linalg.norm(p - newton) / np.linalg.norm(newton) < 0.05


def test_boundary_intersections():
    z, d = np.array([0.3, 0.1]), np.array([1.0, -2.0])
    ta, tb = boundary_intersections(z, d, 2.0)
    assert ta < 0 < tb
    for t in (ta, tb):
        assert np.isclose(np.linalg.norm(z + t * d), 2.0, rtol=1e-14)


def test_trust_region_validation():
    prob = Rosenbrock(2)
    with pytest.raises(ValueError, match="Invalid method"):
        trust_region(prob.value, prob.x0, prob.grad, prob.hess, method="exact")
    with pytest.raises(ValueError, match="Invalid eta"):
        trust_region(prob.value, prob.x0, prob.grad, prob.hess, eta=0.5)
    with pytest.raises(ValueError, match="Invalid hess"):
        trust_region(prob.value, prob.x0, prob.grad, method="dogleg")


def _exp_fit():
    t = np.linspace(0, 3, 20)
    y = 2.0 * np.exp(-1.3 * t) + 0.5                 # zero-residual problem

    def residual(x):
        return x[0] * np.exp(-x[1] * t) + x[2] - y

    def jacobian(x):
        e = np.exp(-x[1] * t)
        return np.column_stack([e, -x[0] * t * e, np.ones_like(t)])

    return residual, jacobian


def test_gauss_newton_matches_scipy_least_squares():
    residual, jacobian = _exp_fit()
    x0 = np.array([1.0, 1.0, 0.0])
    ours = gauss_newton(residual, jacobian, x0)
    ref = scipy.optimize.least_squares(residual, x0, jac=jacobian, method="lm", xtol=1e-15,
                                       ftol=1e-15, gtol=1e-15)
    assert ours.success
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-9)
    np.testing.assert_allclose(ours.x, [2.0, 1.3, 0.5], rtol=1e-9)
    # zero residual: quadratic convergence, errors roughly squared
    err = np.linalg.norm(ours.path - ours.x, axis=1)[:-1]
    tail = err[(err < 1e-2) & (err > 1e-13)]
    assert len(tail) >= 2 and np.all(tail[1:] <= 10 * tail[:-1] ** 2)


def test_gauss_newton_step_closed_form_and_damping():
    rng = np.random.default_rng(2)
    J, r = rng.standard_normal((8, 3)), rng.standard_normal(8)
    np.testing.assert_allclose(gauss_newton_step(J, r), -np.linalg.solve(J.T @ J, J.T @ r),
                               rtol=1e-10)
    for delta in (0.1, 10.0):
        np.testing.assert_allclose(gauss_newton_step(J, r, delta),
                                   -np.linalg.solve(J.T @ J + delta * np.eye(3), J.T @ r),
                                   rtol=1e-10)
    with pytest.raises(ValueError, match="Invalid damping"):
        gauss_newton_step(J, r, -1.0)
    with pytest.raises(TypeError):
        gauss_newton_step(J, r, "1")


def test_hessian_free_step_solves_damped_system():
    rng = np.random.default_rng(3)
    M = rng.standard_normal((30, 30))
    C = M @ M.T / 30
    g = rng.standard_normal(30)
    res = hessian_free_step(g, lambda v: C @ v, damping=0.1, maxiter=100)
    assert res.success
    np.testing.assert_allclose(res.x, -np.linalg.solve(C + 0.1 * np.eye(30), g), rtol=1e-8)
    ref, info = scipy.sparse.linalg.cg(C + 0.1 * np.eye(30), -g, rtol=1e-12, maxiter=200)
    assert info == 0
    np.testing.assert_allclose(res.x, ref, rtol=1e-7)


def _softmax_setup(zero=False):
    rng = np.random.default_rng(4)
    a = rng.standard_normal((40, 5))
    W = np.zeros((3, 5)) if zero else rng.standard_normal((3, 5))
    y = rng.integers(0, 3, 40)
    return a, W, y


def test_softmax_fisher_is_the_cross_entropy_hessian():
    a, W, y = _softmax_setup()
    probs = torch.softmax(torch.tensor(a @ W.T), dim=1).numpy()
    F = softmax_layer_fisher(a, probs)

    def loss(w):
        return torch.nn.functional.cross_entropy(torch.tensor(a) @ w.reshape(3, 5).T,
                                                 torch.tensor(y))

    H = torch.autograd.functional.hessian(loss, torch.tensor(W.reshape(-1))).numpy()
    np.testing.assert_allclose(F, H, rtol=1e-10, atol=1e-13)


def test_kfac_exact_when_outputs_do_not_depend_on_input():
    a, W, _ = _softmax_setup(zero=True)          # W = 0: the same p for every example
    probs = np.full((40, 3), 1 / 3)
    cov = probs[:, :, None] * np.eye(3) - probs[:, :, None] * probs[:, None, :]
    A, G = kfac_factors(a, cov)
    np.testing.assert_allclose(np.kron(G, A), softmax_layer_fisher(a, probs), rtol=1e-12,
                               atol=1e-15)


def test_kfac_direction_is_the_kronecker_inverse():
    rng = np.random.default_rng(5)
    a, d = rng.standard_normal((50, 4)), rng.standard_normal((50, 3))
    A, G = kfac_factors(a, d)
    np.testing.assert_allclose(A, a.T @ a / 50, rtol=1e-12)
    np.testing.assert_allclose(G, d.T @ d / 50, rtol=1e-12)
    V = rng.standard_normal((3, 4))
    for delta in (0.0, 0.3):
        s = np.sqrt(delta)
        K = np.kron(G + s * np.eye(3), A + s * np.eye(4))
        np.testing.assert_allclose(kfac_direction(V, A, G, delta).reshape(-1),
                                   np.linalg.solve(K, V.reshape(-1)), rtol=1e-10)
    with pytest.raises(ValueError, match="Invalid delta_cov shape"):
        kfac_factors(a, np.zeros(50))
