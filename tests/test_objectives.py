"""Objectives: gradients and Hessians against central finite differences; known minimizers.

The Moré, Garbow & Hillstrom (1981) problems: wood, Powell singular and helical valley (Moré, Garbow & Hillstrom 1981): values at the
standard starts against the published ones, gradients and Hessians against central finite
differences, the minimizers stationary, vectorized evaluation, and the helical valley's angle
against MGH's arctan definition.
"""

import numpy as np
import pytest
from finite_differences import TOL, central_difference, rel_err
from scipy.optimize import root

from course_lib.objectives import (
    Beale,
    Cliff,
    HelicalValley,
    MultiMinimum,
    Plateau,
    PowellSingular,
    Quadratic,
    Rosenbrock,
    Saddle,
    Wood,
)

OBJECTIVES = [
    Quadratic.with_condition(4, 100.0, rng=np.random.default_rng(3)),
    Quadratic(np.array([[2.0, 0.5], [0.5, -1.0]]), b=np.array([1.0, 0.0])),
    Rosenbrock(2),
    Rosenbrock(7),
    Beale(),
    Saddle(),
    Saddle(a=1.0, b=0.5, c=2.0),
    Plateau(),
    Cliff(),
    MultiMinimum(),
]


def sample_points(obj, rng, k=5):
    scale = 1.0 if obj.bounds is None else 0.5 * (obj.bounds[0][1] - obj.bounds[0][0])
    return [obj.x0] + [rng.uniform(-1, 1, obj.dim) * scale * 0.8 for _ in range(k)]



@pytest.mark.parametrize("obj", OBJECTIVES, ids=repr)
def test_gradient_matches_finite_differences(obj, rng):
    for x in sample_points(obj, rng):
        assert rel_err(obj.grad(x), central_difference(obj.value, x)) < TOL


@pytest.mark.parametrize("obj", OBJECTIVES, ids=repr)
def test_hessian_matches_finite_differences_of_gradient(obj, rng):
    for x in sample_points(obj, rng):
        H_fd = central_difference(obj.grad, x)
        assert rel_err(obj.hess(x), H_fd) < TOL
        assert np.allclose(obj.hess(x), obj.hess(x).T, rtol=0, atol=1e-12)


@pytest.mark.parametrize("obj", OBJECTIVES, ids=repr)
def test_minimizers_are_stationary_with_psd_hessian(obj):
    for xstar in obj.minimizers:
        g = obj.grad(xstar)
        assert np.linalg.norm(g) <= 1e-10 * max(1.0, abs(obj.value(xstar)))
        assert np.linalg.eigvalsh(obj.hess(xstar)).min() > 0
    if len(obj.minimizers):
        assert obj.value(obj.minimizers[0]) == pytest.approx(obj.minimum, abs=1e-12)


@pytest.mark.parametrize("obj", [o for o in OBJECTIVES if o.dim == 2], ids=repr)
def test_vectorized_evaluation_on_a_grid(obj):
    (x0, x1), (y0, y1) = obj.bounds
    X, Y = np.meshgrid(np.linspace(x0, x1, 7), np.linspace(y0, y1, 5))
    P = np.stack([X, Y], axis=-1)
    Z = obj.value(P)
    assert Z.shape == X.shape
    assert Z[2, 3] == pytest.approx(obj.value(P[2, 3]), rel=1e-14)
    assert np.allclose(obj.grad(P)[4, 1], obj.grad(P[4, 1]), rtol=1e-14, atol=0)


def test_minimum_is_global_on_a_dense_grid():
    """No grid point is lower than the reported global minimum (for the bounded 2-D ones)."""
    for obj in [Rosenbrock(2), Beale(), Plateau(), Saddle(1, 1, 1), MultiMinimum(), Cliff()]:
        (x0, x1), (y0, y1) = obj.bounds
        X, Y = np.meshgrid(np.linspace(x0, x1, 301), np.linspace(y0, y1, 301))
        assert obj.value(np.stack([X, Y], -1)).min() >= obj.minimum - 1e-12


def test_quadratic_spectrum_and_condition():
    q = Quadratic.with_condition(6, 1e3, rng=np.random.default_rng(0))
    assert q.condition_number == pytest.approx(1e3, rel=1e-10)
    assert np.allclose(q.eigenvalues, np.geomspace(1, 1e3, 6), rtol=1e-10)
    np.testing.assert_allclose(q.A @ q.minimizers[0], q.b, atol=1e-12)


def test_indefinite_quadratic_has_no_minimizer():
    q = Quadratic(np.diag([1.0, -1.0]))
    assert q.minimizers.shape == (0, 2) and q.minimum == -np.inf


def test_multiminimum_has_four_minima_one_global():
    m = MultiMinimum(p=0.3, r=0.2)
    assert m.minimizers.shape == (4, 2)
    assert np.all(np.diff(m.local_minima_values) > 0)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Quadratic(np.ones((2, 3))), r"A must be a square matrix, got shape \(2, 3\)"),
        (lambda: Quadratic(np.array([[1.0, 2.0], [0.0, 1.0]])), r"A must be symmetric"),
        (lambda: Quadratic.with_condition(3, 0.5), r"Invalid condition number: 0\.5"),
        (lambda: Rosenbrock(1), r"Rosenbrock needs n >= 2, got 1"),
        (lambda: Saddle(a=-1), r"Saddle needs a > 0"),
        (lambda: MultiMinimum(p=2.0), r"MultiMinimum needs \|p\|, \|r\| < 1\.5396"),
        (lambda: Rosenbrock(3).grad(np.zeros(2)), r"Invalid x: .* \(expected last dimension 3\)"),
    ],
)
def test_bad_arguments_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# Moré, Garbow & Hillstrom (1981)
EXTRA = [Wood(), PowellSingular(), HelicalValley()]


def mgh_sample_points(obj, rng, k=8):
    """x0, x*, and random points in [-2, 2]^n kept off the helical valley's branch cut and
    axis (|x1| >= 0.1 or x2 > 0.1, and r >= 0.1), where f is smooth."""
    pts = [obj.x0, obj.minimizers[0]]
    while len(pts) < k + 2:
        x = rng.uniform(-2, 2, obj.dim)
        if isinstance(obj, HelicalValley) and (
                (abs(x[0]) < 0.1 and x[1] < 0.1) or np.hypot(x[0], x[1]) < 0.1):
            continue
        pts.append(x)
    return pts


@pytest.mark.parametrize("obj, f0", [(Wood(), 19192.0), (PowellSingular(), 215.0),
                                     (HelicalValley(), 2500.0)], ids=repr)
def test_value_at_standard_start_is_the_published_one(obj, f0):
    # MGH (1981) list f(x0) = 1.9192e4, 2.15e2 and 2.5e3.
    assert obj.value(obj.x0) == pytest.approx(f0, rel=1e-14)
    assert obj.dim == obj.x0.size == obj.minimizers.shape[1]


@pytest.mark.parametrize("obj", EXTRA, ids=repr)
def test_mgh_gradient_matches_finite_differences(obj, rng):
    for x in mgh_sample_points(obj, rng):
        fd = central_difference(obj.value, x)
        if np.linalg.norm(fd) < 1e-8:  # at x*: both ~0, compare absolutely
            assert np.linalg.norm(obj.grad(x)) < 1e-12
            continue
        assert rel_err(obj.grad(x), fd) < TOL


@pytest.mark.parametrize("obj", EXTRA, ids=repr)
def test_mgh_hessian_matches_finite_differences_of_gradient(obj, rng):
    for x in mgh_sample_points(obj, rng):
        H = obj.hess(x)
        assert H.shape == (obj.dim, obj.dim)
        assert rel_err(H, central_difference(obj.grad, x)) < TOL
        assert np.allclose(H, H.T, rtol=0, atol=1e-12)


@pytest.mark.parametrize("obj", EXTRA, ids=repr)
def test_minimizer_is_stationary_with_minimum_value(obj):
    xstar = obj.minimizers[0]
    assert np.max(np.abs(obj.grad(xstar))) <= 1e-12
    assert obj.value(xstar) == pytest.approx(obj.minimum, abs=1e-14)
    # Sums of squares: f >= 0 = f* everywhere, so x* is a global minimizer.
    pts = np.random.default_rng(1).uniform(-3, 3, (2000, obj.dim))
    assert obj.value(pts).min() >= obj.minimum


@pytest.mark.parametrize("obj", [Wood(), HelicalValley()], ids=repr)
def test_hessian_positive_definite_at_minimizer(obj):
    assert np.linalg.eigvalsh(obj.hess(obj.minimizers[0])).min() > 0.5


def test_powell_singular_hessian_is_singular_at_minimizer():
    """Rank 2 at x* = 0: the quartic terms vanish there, only (x1+10x2)^2 and 5(x3-x4)^2
    contribute, with eigenvalues 202 and 20 and a 2-D null space."""
    lam = np.linalg.eigvalsh(PowellSingular().hess(np.zeros(4)))
    np.testing.assert_allclose(lam, [0.0, 0.0, 20.0, 202.0], rtol=0, atol=1e-12)


def test_wood_has_the_documented_saddle():
    w = Wood()
    sol = root(w.grad, [-0.97, 0.95, -0.97, 0.95], jac=w.hess, tol=1e-12)
    assert np.max(np.abs(w.grad(sol.x))) < 1e-10
    np.testing.assert_allclose(sol.x, [-0.968, 0.947, -0.970, 0.951], atol=5e-4)
    assert w.value(sol.x) == pytest.approx(7.877, abs=5e-4)
    lam = np.linalg.eigvalsh(w.hess(sol.x))
    assert lam[0] == pytest.approx(-0.12, abs=5e-3) and lam[1] > 0


def test_helical_theta_matches_mgh_arctan_definition(rng):
    x = rng.uniform(-2, 2, (500, 3))
    x = x[np.abs(x[:, 0]) > 1e-3]
    # MGH: 2 pi theta = arctan(x2/x1) for x1 > 0, arctan(x2/x1) + pi for x1 < 0
    ref = (np.arctan(x[:, 1] / x[:, 0]) + np.where(x[:, 0] < 0, np.pi, 0.0)) / (2 * np.pi)
    np.testing.assert_allclose(HelicalValley.theta(x), ref, rtol=0, atol=1e-15)
    # continuous across the negative x1-axis, a jump of 1 across the cut x1 = 0, x2 < 0
    e = 1e-9
    t = HelicalValley.theta(np.array([[-1.0, e, 0], [-1.0, -e, 0], [e, -1.0, 0], [-e, -1.0, 0]]))
    assert abs(t[0] - t[1]) < 1e-9 and t[3] - t[2] == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("obj", EXTRA, ids=repr)
def test_vectorized_evaluation(obj, rng):
    P = rng.uniform(0.2, 2, (5, 7, obj.dim))
    assert obj.value(P).shape == (5, 7) and obj.grad(P).shape == (5, 7, obj.dim)
    assert obj.value(P)[2, 3] == pytest.approx(obj.value(P[2, 3]), rel=1e-14)
    np.testing.assert_allclose(obj.grad(P)[4, 1], obj.grad(P[4, 1]), rtol=1e-14, atol=0)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: Wood().grad(np.zeros(3)),
         r"Invalid x: array of shape \(3,\) \(expected last dimension 4\)"),
        (lambda: PowellSingular().value(np.zeros(2)), r"Invalid x: .* \(expected last dimension 4\)"),
        (lambda: HelicalValley().hess(np.zeros((2, 3))),
         r"hess expects a single point of shape \(3,\), got \(2, 3\)"),
    ],
)
def test_bad_points_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()
