"""course_lib.optim.convergence against numpy's eigenvalues and against actual course_lib runs."""

import numpy as np
import pytest

from course_lib.objectives import Quadratic
from course_lib.optim import convergence as cv
from course_lib.optim import sgd
from course_lib.optim.descent import run


def spectral_radius(T):
    return float(np.max(np.abs(np.linalg.eigvals(T))))


def test_momentum_rate_equals_spectral_radius_of_the_matrix(rng):
    for _ in range(500):
        eta, mu, lam = rng.uniform(0, 2), rng.uniform(0, 0.999), rng.uniform(0.01, 10)
        T = cv.momentum_matrix(eta, mu, lam)
        assert cv.momentum_rate(eta, mu, [lam]) == pytest.approx(spectral_radius(T),
                                                                 rel=1e-7, abs=1e-7)


def test_nesterov_rate_equals_spectral_radius_of_the_matrix(rng):
    for _ in range(500):
        eta, mu, lam = rng.uniform(0, 2), rng.uniform(0, 0.999), rng.uniform(0.01, 10)
        T = cv.nesterov_matrix(eta, mu, lam)
        assert cv.nesterov_rate(eta, mu, [lam]) == pytest.approx(spectral_radius(T),
                                                                 rel=1e-7, abs=1e-7)


def test_nesterov_is_heavy_ball_with_curvature_dependent_momentum(rng):
    for _ in range(50):
        eta, mu, lam = rng.uniform(0, 1), rng.uniform(0, 0.99), rng.uniform(0.01, 5)
        np.testing.assert_allclose(cv.nesterov_matrix(eta, mu, lam),
                                   cv.momentum_matrix(eta, mu * (1 - eta * lam), lam),
                                   rtol=1e-14, atol=1e-14)


def test_gd_rate_is_spectral_radius_of_iteration_matrix(rng):
    A = Quadratic.with_condition(5, 30.0, rng=rng).A
    for eta in (0.01, 0.05, 2 / 31, 0.1):
        assert cv.gd_rate(eta, np.linalg.eigvalsh(A)) == pytest.approx(
            spectral_radius(np.eye(5) - eta * A), rel=1e-12)


def test_rates_broadcast_over_parameter_grids():
    eta, mu = np.meshgrid(np.linspace(0.01, 0.2, 7), np.linspace(0, 0.9, 5))
    lam = [1.0, 3.0, 10.0]
    grid = cv.momentum_rate(eta, mu, lam)
    assert grid.shape == eta.shape
    assert grid[2, 3] == cv.momentum_rate(eta[2, 3], mu[2, 3], lam)
    assert cv.nesterov_rate(eta, mu, lam).shape == eta.shape
    assert cv.gd_rate(np.array([0.1, 0.2]), lam).shape == (2,)


@pytest.mark.parametrize("kappa", [2.0, 10.0, 100.0, 1e4])
def test_optimal_parameters_and_rates(kappa):
    L, m = kappa, 1.0
    eta, mu, rate = cv.optimal_heavy_ball(L, m)
    q = np.sqrt(kappa)
    assert rate == pytest.approx((q - 1) / (q + 1), rel=1e-14)
    assert mu == pytest.approx(rate**2, rel=1e-14)
    # both ends of the spectrum sit on the edges of the band where rho = sqrt(mu)
    assert eta * m == pytest.approx((1 - np.sqrt(mu)) ** 2, rel=1e-12)
    assert eta * L == pytest.approx((1 + np.sqrt(mu)) ** 2, rel=1e-12)
    # the repeated eigenvalue makes numpy's eigvals accurate only to ~sqrt(machine eps)
    for lam in (m, L):
        assert spectral_radius(cv.momentum_matrix(eta, mu, lam)) == pytest.approx(rate, rel=1e-6)
    # the closed form shares that sensitivity: a perturbation of size eps in the discriminant
    # moves a double root by sqrt(eps)
    assert cv.momentum_rate(eta, mu, [m, L]) == pytest.approx(rate, rel=1e-7)
    eta_gd, rate_gd = cv.optimal_gd(L, m)
    assert cv.gd_rate(eta_gd, [m, L]) == pytest.approx(rate_gd, rel=1e-12)
    assert rate_gd == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-14)
    eta_n, mu_n, rate_n = cv.nesterov_parameters(L, m)
    # a repeated root at lambda = m again (see above)
    assert cv.nesterov_rate(eta_n, mu_n, np.linspace(m, L, 101)) == pytest.approx(rate_n,
                                                                                 rel=1e-7)
    assert rate_n == pytest.approx(1 - 1 / q, rel=1e-14)


@pytest.mark.parametrize("kappa", [10.0, 100.0])
def test_no_grid_point_beats_the_optimal_heavy_ball(kappa):
    L, m = kappa, 1.0
    _, _, best = cv.optimal_heavy_ball(L, m)
    eta, mu = np.meshgrid(np.linspace(1e-4, 4 / L, 801), np.linspace(0, 0.999, 801))
    rates = cv.momentum_rate(eta, mu, [m, L])
    assert rates.min() >= best - 1e-12
    assert rates.min() <= best + 5e-3  # and the grid gets close to it
    # the rate over the whole spectrum is set by its two ends
    inner = np.linspace(m, L, 50)
    np.testing.assert_allclose(cv.momentum_rate(eta, mu, inner), rates, rtol=1e-12)
    _, gd_best = cv.optimal_gd(L, m)
    assert cv.gd_rate(np.linspace(1e-4, 2 / L, 2001), [m, L]).min() >= gd_best - 1e-12


@pytest.mark.parametrize("kappa", [10.0, 100.0])
def test_observed_rates_of_course_lib_runs_match_the_predictions(kappa):
    rng = np.random.default_rng(1)
    f = Quadratic.with_condition(6, kappa, rng=rng, x0=rng.standard_normal(6))
    lam = f.eigenvalues
    L, m = lam.max(), lam.min()
    # gradient descent at its optimal step: the error norm contracts by exactly the rate
    eta, rate = cv.optimal_gd(L, m)
    e = np.linalg.norm(run(sgd, f, steps=300, lr=eta).xs, axis=1)
    assert cv.observed_rate(e, 100, 300) == pytest.approx(rate, rel=1e-3)
    # heavy ball: the optimal parameters give repeated roots, so the error behaves like
    # C k rho^k; dividing by k leaves the geometric factor
    eta, mu, rate = cv.optimal_heavy_ball(L, m)
    steps = int(np.ceil(120 / -np.log10(rate)))  # error ~1e-120 at the end, no underflow
    k = np.maximum(np.arange(steps + 1), 1)
    e = np.linalg.norm(run(sgd, f, steps=steps, lr=eta, momentum=mu).xs, axis=1)
    assert cv.observed_rate(e / k, steps // 2) == pytest.approx(rate, rel=1e-3)
    assert cv.observed_rate(e, steps // 2) == pytest.approx(rate, rel=1e-2)
    # generic, non-optimal parameters with distinct real roots at the slow end
    eta, mu = 0.5 / L, 0.3
    predicted = cv.momentum_rate(eta, mu, lam)
    e = np.linalg.norm(run(sgd, f, steps=2000, lr=eta, momentum=mu).xs, axis=1)
    assert cv.observed_rate(e, 1000, 2000) == pytest.approx(predicted, rel=1e-3)
    # Nesterov with its textbook parameters
    eta, mu, rate = cv.nesterov_parameters(L, m)
    steps = int(np.ceil(120 / -np.log10(rate)))
    k = np.maximum(np.arange(steps + 1), 1)
    e = np.linalg.norm(run(sgd, f, steps=steps, lr=eta, momentum=mu, nesterov=True).xs,
                       axis=1)
    assert cv.observed_rate(e / k, steps // 2) == pytest.approx(rate, rel=1e-3)


def test_course_lib_heavy_ball_follows_the_two_by_two_recursion():
    lam = np.array([1.0, 20.0])
    f = Quadratic.from_spectrum(lam, x0=np.array([1.0, -0.5]))
    eta, mu = 0.05, 0.8
    for nesterov, matrix in ((False, cv.momentum_matrix), (True, cv.nesterov_matrix)):
        xs = run(sgd, f, steps=60, lr=eta, momentum=mu, nesterov=nesterov).xs
        for i in range(2):
            T = matrix(eta, mu, lam[i])
            state = np.array([xs[1, i], xs[0, i]])
            for k in range(1, 60):
                state = T @ state
                assert state[0] == pytest.approx(xs[k + 1, i], rel=1e-9, abs=1e-13)


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="Invalid spectrum bounds"):
        cv.optimal_heavy_ball(1.0, 2.0)
    with pytest.raises(ValueError, match="Invalid spectrum bounds"):
        cv.optimal_gd(1.0, 0.0)
    with pytest.raises(ValueError, match="Invalid window"):
        cv.observed_rate([1.0, 0.5], 1, 1)


def test_nesterov_accelerated_returns_an_optimize_result():
    """The accelerated run speaks scipy's vocabulary too; ``xs`` is a read-only alias."""
    from course_lib.result import OptimizeResult

    acc = cv.nesterov_accelerated(lambda x: x, np.array([1.0, 2.0]), 4, lr=0.5, momentum=0.0)
    assert isinstance(acc, OptimizeResult) and acc.xs is acc.path
    assert acc.nit == acc.njev == 4 and acc.status == 1 and acc.success
    assert acc.path.shape == acc.ys.shape == (5, 2) and acc.momenta.shape == (4,)
    # momentum 0, lr 0.5 on ||x||^2/2: x_t = x_0 / 2^t exactly
    np.testing.assert_array_equal(acc.x, np.array([1.0, 2.0]) / 16)
    with pytest.raises(AttributeError, match="read-only alias of path"):
        acc.xs = None
