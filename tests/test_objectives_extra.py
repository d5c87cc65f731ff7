"""Wood, Powell singular and helical valley (Moré, Garbow & Hillstrom 1981): values at the
standard starts against the published ones, gradients and Hessians against central finite
differences, the minimizers stationary, vectorized evaluation, and the helical valley's angle
against MGH's arctan definition."""

import numpy as np
import pytest
from scipy.optimize import root

from course_lib.objectives import HelicalValley, PowellSingular, Wood
from finite_differences import TOL, central_difference, rel_err

EXTRA = [Wood(), PowellSingular(), HelicalValley()]


def sample_points(obj, rng, k=8):
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
def test_gradient_matches_finite_differences(obj, rng):
    for x in sample_points(obj, rng):
        fd = central_difference(obj.value, x)
        if np.linalg.norm(fd) < 1e-8:  # at x*: both ~0, compare absolutely
            assert np.linalg.norm(obj.grad(x)) < 1e-12
            continue
        assert rel_err(obj.grad(x), fd) < TOL


@pytest.mark.parametrize("obj", EXTRA, ids=repr)
def test_hessian_matches_finite_differences_of_gradient(obj, rng):
    for x in sample_points(obj, rng):
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
         r"Expected points with last dimension 4, got shape \(3,\)"),
        (lambda: PowellSingular().value(np.zeros(2)), r"Expected points with last dimension 4"),
        (lambda: HelicalValley().hess(np.zeros((2, 3))),
         r"hess expects a single point of shape \(3,\), got \(2, 3\)"),
    ],
)
def test_bad_points_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()
