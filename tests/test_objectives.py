"""Objectives: gradients and Hessians against central finite differences; known minimizers."""

import numpy as np
import pytest

from course_lib.objectives import (Beale, Cliff, MultiMinimum, Plateau, Quadratic, Rosenbrock,
                                   Saddle)
from finite_differences import TOL, central_difference, rel_err

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
        (lambda: Rosenbrock(3).grad(np.zeros(2)), r"Expected points with last dimension 3"),
    ],
)
def test_bad_arguments_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()
