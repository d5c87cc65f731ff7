"""Guarantees beyond quadratics (course_lib.optim.convergence: descent lemma, PL rate, Nesterov's
method for convex functions), the smoothness constants of the finite sums, and Nesterov's
worst-case quadratic (course_lib.objectives.NesterovWorstCase)."""

import numpy as np
import pytest
import torch

from course_lib.objectives import NesterovWorstCase, Quadratic
from course_lib.objectives.finite_sum import LeastSquares, LogisticRegression
from course_lib.optim import convergence as cv
from course_lib.optim import sgd
from course_lib.optim.descent import run


def logistic_problem(rng, N=60, n=3, l2=0.05):
    X = rng.standard_normal((N, n))
    y = (rng.random(N) < LogisticRegression.sigmoid(X @ rng.standard_normal(n))).astype(float)
    return LogisticRegression(X, y, l2=l2, x0=3 * rng.standard_normal(n))


# ---------------------------------------------------------------- smoothness constants
def test_least_squares_constants_are_the_hessian_extremes(rng):
    f = LeastSquares(rng.standard_normal((40, 4)), rng.standard_normal(40))
    lam = np.linalg.eigvalsh(f.X.T @ f.X / 40)
    assert f.smoothness == pytest.approx(lam[-1], rel=1e-12)
    assert f.strong_convexity == pytest.approx(lam[0], rel=1e-12)


def test_logistic_constants_bound_every_hessian_and_L_is_attained_at_zero(rng):
    f = logistic_problem(rng)
    L, alpha = f.smoothness, f.strong_convexity
    assert alpha == 0.05
    for _ in range(200):
        lam = np.linalg.eigvalsh(f.hess(5 * rng.standard_normal(3)))
        assert alpha - 1e-12 <= lam[0] and lam[-1] <= L + 1e-12
    # sigma'(0) = 1/4 exactly: the bound is attained, so it is the smallest valid L
    assert np.linalg.eigvalsh(f.hess(np.zeros(3)))[-1] == pytest.approx(L, rel=1e-12)
    # far away along a direction, the curvature of the data term vanishes
    far = 1e3 * f.X[0] / np.linalg.norm(f.X[0])
    assert np.linalg.eigvalsh(f.hess(far))[0] == pytest.approx(alpha, abs=1e-3)


def test_gradient_is_L_lipschitz_by_finite_differences(rng):
    f = logistic_problem(rng)
    for _ in range(100):
        a, b = 4 * rng.standard_normal((2, 3))
        ratio = np.linalg.norm(f.grad(a) - f.grad(b)) / np.linalg.norm(a - b)
        assert ratio <= f.smoothness * (1 + 1e-12)


# ---------------------------------------------------------------- descent lemma and PL rate
def test_descent_coefficient_and_pl_rate_closed_forms():
    L = 4.0
    assert cv.descent_coefficient(1 / L, L) == pytest.approx(1 / (2 * L), rel=1e-15)
    assert cv.descent_coefficient(2 / L, L) == pytest.approx(0.0, abs=1e-15)
    etas = np.linspace(0.01, 1.99, 199) / L
    c = cv.descent_coefficient(etas, L)
    assert np.all(c > 0) and etas[np.argmax(c)] == pytest.approx(1 / L, rel=0.02)
    assert cv.pl_rate(1 / L, L, 0.5) == pytest.approx(1 - 0.5 / L, rel=1e-15)


@pytest.mark.parametrize("factor", [0.5, 1.0, 1.9])
def test_gd_on_logistic_regression_obeys_descent_lemma_and_pl_rate(rng, factor):
    f = logistic_problem(rng)
    L, alpha = f.smoothness, f.strong_convexity
    eta = factor / L
    path = run(sgd, f, steps=300, lr=eta)
    g2 = path.grad_norms**2
    # every step decreases f by at least eta (1 - L eta / 2) ||g||^2
    decrease = path.values[:-1] - path.values[1:]
    assert np.all(decrease >= cv.descent_coefficient(eta, L) * g2 - 1e-13)
    # and the gap contracts at least as fast as the PL rate
    gap = path.values - f.minimum
    bound = cv.pl_rate(eta, L, alpha) ** np.arange(301) * gap[0]
    assert np.all(gap <= bound + 1e-12)


def test_pl_rate_is_attained_by_gd_on_a_quadratic_at_eta_one_over_L():
    # on f = (alpha x1^2 + L x2^2)/2 with eta = 1/L, a start on the flat axis contracts the
    # gap by (1 - alpha/L)^2 per step, inside the bound 1 - alpha/L
    f = Quadratic.from_spectrum([0.5, 5.0], x0=np.array([1.0, 0.0]))
    path = run(sgd, f, steps=20, lr=1 / 5.0)
    ratios = path.values[1:] / path.values[:-1]
    np.testing.assert_allclose(ratios, (1 - 0.1) ** 2, rtol=1e-12)
    assert ratios.max() <= cv.pl_rate(1 / 5.0, 5.0, 0.5)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="Invalid eta"):
        cv.pl_rate(1.0, 2.0, 1.0)  # eta = 2/L is outside (0, 2/L)
    with pytest.raises(ValueError, match="Invalid alpha"):
        cv.pl_rate(0.1, 2.0, 3.0)
    with pytest.raises(ValueError, match="Invalid L"):
        cv.descent_coefficient(0.1, 0.0)
    with pytest.raises(TypeError):
        cv.descent_coefficient(0.1, "1")
    with pytest.raises(ValueError, match="Invalid momentum"):
        cv.nesterov_accelerated(lambda x: x, np.zeros(2), 3, lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="Invalid steps"):
        cv.nesterov_momentum_schedule(-1)
    with pytest.raises(ValueError, match="Invalid t"):
        cv.nesterov_convex_bound(0, 1.0, 1.0)


# ---------------------------------------------------------------- Nesterov's method
def test_constant_momentum_matches_torch_sgd_nesterov(rng):
    f = Quadratic.with_condition(5, 50.0, rng=rng, x0=rng.standard_normal(5))
    lr, mu = 0.015, 0.8
    acc = cv.nesterov_accelerated(f.grad, f.x0, 150, lr=lr, momentum=mu)
    p = torch.tensor(f.x0, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr, momentum=mu, nesterov=True)
    A = torch.tensor(f.A)
    for t in range(150):
        opt.zero_grad()
        (0.5 * p @ A @ p).backward()
        opt.step()
        np.testing.assert_allclose(p.detach().numpy(), acc.ys[t + 1], rtol=1e-10, atol=1e-13)
    # and the course_lib rule gives the same points
    ours = run(sgd, f, steps=150, lr=lr, momentum=mu, nesterov=True).xs
    np.testing.assert_allclose(ours, acc.ys, rtol=1e-10, atol=1e-13)


def test_momentum_schedule_identity():
    mu = cv.nesterov_momentum_schedule(400)
    a = np.empty(401)
    a[0] = 1.0
    for t in range(400):
        a[t + 1] = (1 + np.sqrt(1 + 4 * a[t] ** 2)) / 2
    # a_{t+1}^2 - a_{t+1} = a_t^2, and a_t >= (t + 1)/2
    np.testing.assert_allclose(a[1:] ** 2 - a[1:], a[:-1] ** 2, rtol=1e-12)
    assert np.all(a >= (np.arange(1, 402) + 1) / 2 - 1e-12)
    assert mu[0] == 0.0 and np.all(np.diff(mu) > 0) and mu[-1] < 1
    t = np.arange(1, 401)
    assert np.abs(mu - (t - 1) / (t + 2)).max() < 0.05


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_convex_bound_holds_on_convex_problems(seed):
    rng = np.random.default_rng(seed)
    # a convex, non-strongly convex least-squares problem (rank-deficient) ...
    X = rng.standard_normal((30, 3)) @ rng.standard_normal((3, 8))
    ls = LeastSquares(X, rng.standard_normal(30), x0=rng.standard_normal(8))
    # ... and an unregularized logistic regression with a minimizer
    lr_problem = logistic_problem(rng, N=80, n=4, l2=0.0)
    assert len(lr_problem.minimizers) == 1
    for f in (ls, lr_problem):
        L = f.smoothness
        x_star = f.minimizers[0]
        if f is ls:  # the minimizer nearest to x0 (the solution set is affine)
            P = np.linalg.pinv(X) @ X
            x_star = x_star + (np.eye(8) - P) @ f.x0
        dist = np.linalg.norm(f.x0 - x_star)
        acc = cv.nesterov_accelerated(f.grad, f.x0, 300, lr=1 / L)
        gap = f.value(acc.xs[1:]) - f.minimum if f is ls else np.array(
            [f.value(x) for x in acc.xs[1:]]) - f.minimum
        assert np.all(gap <= cv.nesterov_convex_bound(np.arange(1, 301), L, dist) + 1e-12)


# ---------------------------------------------------------------- the worst case
def test_worst_case_closed_forms():
    for n, L in ((1, 1.0), (7, 2.0), (50, 0.3)):
        f = NesterovWorstCase(n, L)
        np.testing.assert_allclose(np.linalg.solve(f.A, f.b), f.minimizers[0], rtol=1e-10,
                                   atol=1e-12)
        assert f.value(f.minimizers[0]) == pytest.approx(f.minimum, rel=1e-12)
        lam = np.linalg.eigvalsh(f.A)
        i = np.arange(1, n + 1)
        np.testing.assert_allclose(lam, np.sort(L / 2 * (1 - np.cos(i * np.pi / (n + 1)))),
                                   rtol=1e-10, atol=1e-14)
        assert lam[-1] < L and lam[0] > 0
        np.testing.assert_array_equal(f.x0, np.zeros(n))


def test_worst_case_gradient_by_finite_differences(rng):
    f = NesterovWorstCase(6, 3.0)
    x, h = rng.standard_normal(6), 1e-6
    fd = [(f.value(x + h * e) - f.value(x - h * e)) / (2 * h) for e in np.eye(6)]
    np.testing.assert_allclose(f.grad(x), fd, rtol=1e-7, atol=1e-9)
    # the definition as a sum of squared differences
    xx = np.concatenate([[0.0], x, [0.0]])
    direct = 3.0 / 4 * (0.5 * np.sum(np.diff(xx) ** 2) - x[0])
    assert f.value(x) == pytest.approx(direct, rel=1e-12)


def test_span_minimum_is_the_restricted_minimum():
    f = NesterovWorstCase(12, 2.0)
    for t in range(1, 13):
        sub = np.linalg.solve(f.A[:t, :t], f.b[:t])
        x = np.concatenate([sub, np.zeros(12 - t)])
        assert f.value(x) == pytest.approx(f.span_minimum(t), rel=1e-12)
    assert f.span_minimum(0) == 0.0 and f.span_minimum(12) == pytest.approx(f.minimum)


def test_first_order_methods_stay_in_the_krylov_span_and_obey_the_lower_bound():
    L = 1.0
    for t in (1, 3, 10, 40):
        f = NesterovWorstCase(2 * t + 1, L)
        dist = np.linalg.norm(f.minimizers[0])
        lower = NesterovWorstCase.lower_bound(t, L, dist)
        # the lower bound is implied by the span minimum
        assert f.span_minimum(t) - f.minimum >= lower
        runs = [run(sgd, f, steps=t, lr=1 / L).x,
                run(sgd, f, steps=t, lr=1 / L, momentum=0.9).x,
                run(sgd, f, steps=t, lr=1 / L, momentum=0.9, nesterov=True).x,
                cv.nesterov_accelerated(f.grad, f.x0, t, lr=1 / L).xs[-1]]
        for x in runs:
            assert np.all(x[t:] == 0.0)  # exactly zero beyond coordinate t
            assert f.value(x) - f.minimum >= lower
        # Nesterov's method is within its upper bound, a constant factor above the lower one
        acc = cv.nesterov_accelerated(f.grad, f.x0, t, lr=1 / L).xs[-1]
        assert f.value(acc) - f.minimum <= cv.nesterov_convex_bound(t, L, dist)


def test_worst_case_rejects_bad_input():
    with pytest.raises(ValueError, match="Invalid n"):
        NesterovWorstCase(0)
    with pytest.raises(TypeError):
        NesterovWorstCase(2.5)
    with pytest.raises(ValueError, match="Invalid L"):
        NesterovWorstCase(3, L=-1.0)
    with pytest.raises(ValueError, match="Invalid t"):
        NesterovWorstCase(3).span_minimum(4)


def test_logistic_newton_converges_when_rounding_defeats_the_line_search():
    # overlapping clouds without intercept (seed 7): the minimizer exists, and a plain
    # Armijo test without slack for rounding used to reject every step near it
    gen = np.random.default_rng(7)
    labels = (np.arange(100) < 50).astype(float)
    centres = np.where(labels[:, None] == 1, [1.0, 0.5], [-1.0, -0.5])
    f = LogisticRegression(centres + gen.standard_normal((100, 2)), labels)
    assert len(f.minimizers) == 1
    assert np.linalg.norm(f.grad(f.minimizers[0])) < 1e-12
    # separable data still has no minimizer
    X = np.array([[1.0, 0.2], [2.0, -0.1], [-1.0, 0.3], [-2.0, 0.1]])
    assert len(LogisticRegression(X, np.array([1.0, 1.0, 0.0, 0.0])).minimizers) == 0
