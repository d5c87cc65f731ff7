"""course_lib.nn.gradcheck: finite differences against known gradients and torch autograd, error
orders, and a check_layer that really fails on a wrong backward."""

import copy

import numpy as np
import pytest

from course_lib import nn
from course_lib.nn.gradcheck import (
    check_layer,
    numerical_gradient,
    numerical_gradient_array,
    numerical_jacobian,
    relative_error,
)


def f_scalar(x):
    return np.sum(np.sin(x)) + 0.5 * np.sum(x**2) * np.sum(x)


def grad_scalar(x):
    return np.cos(x) + x * np.sum(x) + 0.5 * np.sum(x**2)


def test_numerical_gradient_matches_analytic_and_restores_x(rng):
    x = rng.standard_normal((3, 4))
    before = x.copy()
    g = numerical_gradient(f_scalar, x)
    assert relative_error(g, grad_scalar(x)) <= 1e-8  # measured ~1e-10
    assert np.array_equal(x, before)  # bitwise restored


def test_numerical_gradient_array_is_the_vector_jacobian_product(rng):
    A = rng.standard_normal((5, 4))
    x, v = rng.standard_normal(4), rng.standard_normal(5)
    f = lambda z: np.tanh(A @ z)  # noqa: E731
    jvp_t = A.T @ ((1 - np.tanh(A @ x) ** 2) * v)  # J^T v
    assert relative_error(numerical_gradient_array(f, x, v), jvp_t) <= 1e-8


def test_numerical_jacobian_matches_torch_autograd(rng):
    """The independent reference: torch.autograd.functional.jacobian (float64)."""
    import torch

    A = rng.standard_normal((3, 4))
    x = rng.standard_normal(4)
    before = x.copy()
    J = numerical_jacobian(lambda z: np.tanh(A @ z) * z[0], x)
    J_t = torch.autograd.functional.jacobian(
        lambda z: torch.tanh(torch.tensor(A) @ z) * z[0], torch.tensor(x)).numpy()
    assert J.shape == (3, 4) and relative_error(J, J_t) <= 1e-8  # measured ~1e-10
    g = numerical_jacobian(f_scalar, x)  # a scalar function: the gradient, shape (n,)
    assert g.shape == (4,) and relative_error(g, grad_scalar(x)) <= 1e-8
    assert np.array_equal(x, before)
    with pytest.raises(ValueError, match=r"Invalid x: shape \(2, 2\)"):
        numerical_jacobian(np.sum, np.ones((2, 2)))


def test_identity_layer_output_aliasing_x_is_handled(rng):
    # f returns x itself: the + and - evaluations must be copied before x is restored
    x, v = rng.standard_normal(6), rng.standard_normal(6)
    assert relative_error(numerical_gradient_array(lambda z: z, x, v), v) <= 1e-8


def test_central_differences_error_is_second_order(rng):
    """Halving the error order: centred differences lose a factor ~100 per 10x smaller h
    (O(h^2)); one-sided differences only ~10 (O(h)). Steps large enough that rounding
    (eps |f| / h ~ 1e-12) does not interfere."""
    x = rng.standard_normal(5)
    exact = grad_scalar(x)
    central = [relative_error(numerical_gradient(f_scalar, x.copy(), h), exact)
               for h in (1e-2, 1e-3)]
    assert 50 < central[0] / central[1] < 200

    def forward_diff(h):
        fx = f_scalar(x)
        return np.array([(f_scalar(x + h * e) - fx) / h for e in np.eye(5)])

    one_sided = [relative_error(forward_diff(h), exact) for h in (1e-2, 1e-3)]
    assert 5 < one_sided[0] / one_sided[1] < 20
    assert one_sided[1] > 100 * central[1]


def test_relative_error_properties():
    a = np.array([1.0, -2.0, 3.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    b = a + np.array([1e-6, 0.0, 0.0])
    assert relative_error(a, b) == relative_error(b, a)
    assert relative_error(1e5 * a, 1e5 * b) == pytest.approx(relative_error(a, b), rel=1e-9)
    assert relative_error(a, b) == pytest.approx(1e-6 / np.linalg.norm(b), rel=1e-9)
    tiny = np.array([1e-17, 0.0])
    assert relative_error(tiny, -tiny) == 2.0  # two noises: the ratio means nothing ...
    assert relative_error(tiny, -tiny, floor=1.0) == pytest.approx(2e-17)  # ... absolute does


class BrokenLinear(nn.Linear):
    """A Linear with a typical bug: dW is the mean over the batch instead of the sum."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.dW /= len(dout)
        return dx


def test_check_layer_detects_a_wrong_backward(rng):
    x = rng.standard_normal((4, 3))
    errors = check_layer(BrokenLinear(3, 2, rng), x, details=True)
    assert errors["x"] <= 1e-9 and errors["b"] <= 1e-9
    assert errors["W"] == pytest.approx(0.75, rel=1e-6)  # |g/4 - g| / |g| = 3/4


def test_check_layer_leaves_the_layer_unchanged(rng):
    bn = nn.BatchNorm1d(3)
    drop = nn.Dropout(0.5, rng=np.random.default_rng(1))
    model = nn.Sequential(nn.Linear(4, 3, rng, bias=False), bn, drop)
    state = copy.deepcopy(drop.rng.bit_generator.state)
    assert check_layer(model, rng.standard_normal((5, 4))) <= 1e-7
    assert np.array_equal(bn.running_mean, np.zeros(3)) and bn.num_batches_tracked == 0
    assert drop.rng.bit_generator.state == state


def test_dropout_masks_are_replayed(rng):
    # Without replaying the generator each forward would draw a new mask and the finite
    # differences would be meaningless; with it the check is as tight as for a fixed layer.
    assert check_layer(nn.Dropout(0.5, rng=3), rng.standard_normal((6, 5))) <= 1e-8


def test_bias_before_batchnorm_has_zero_gradient(rng):
    """BN subtracts the batch mean, so a bias in front of it cannot change the output: its
    gradient is 0 analytically. The finite difference returns rounding noise (~1e-10),
    so the relative error is meaningless (order 1) and an absolute floor is needed."""
    model = nn.Sequential(nn.Linear(4, 3, rng), nn.BatchNorm1d(3))
    model[0].b[:] = rng.standard_normal(3)
    errors = check_layer(model, rng.standard_normal((6, 4)), details=True)
    model(rng.standard_normal((6, 4)))
    model.backward(rng.standard_normal((6, 3)))
    assert np.max(np.abs(model[0].db)) < 1e-14
    assert errors["0.b"] > 1e-3
    floored = check_layer(model, rng.standard_normal((6, 4)), floor=1.0, details=True)
    assert max(floored.values()) <= 1e-8


@pytest.mark.parametrize("make, message", [
    (lambda: numerical_gradient(np.sum, np.arange(3)),
     r"x must be a floating-point numpy array \(perturbed in place\), got ndarray of dtype int"),
    (lambda: numerical_gradient(np.sum, [1.0, 2.0]), r"x must be a floating-point numpy array"),
    (lambda: numerical_gradient(np.sum, np.ones(2), h=0.0), r"h must be positive, got 0\.0"),
    (lambda: numerical_gradient_array(lambda z: z, np.ones(2), np.ones(3)),
     r"dout has shape \(3,\) but f\(x\) has shape \(2,\)"),
    (lambda: relative_error(np.ones(2), np.ones(3)),
     r"relative_error needs arrays of the same shape, got \(2,\) and \(3,\)"),
    (lambda: check_layer(nn.ReLU(), np.ones((2, 2)), dout=np.ones(3)),
     r"dout has shape \(3,\) but the output has shape \(2, 2\)"),
])
def test_bad_arguments_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_wrong_layer_type_raises_type_error():
    message = r"check_layer expects a course_lib\.nn\.Module, got function"
    with pytest.raises(TypeError, match=message):
        check_layer(lambda z: z, np.ones((2, 2)))
