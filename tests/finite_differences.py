"""Central finite differences for the tests: the derivatives of the objectives, layers and
guarantees are checked against them.

One definition: these are :func:`course_lib.nn.gradcheck.numerical_jacobian` and
:func:`~course_lib.nn.gradcheck.relative_error`. They are independent of the code they check
(no objective or layer uses them), and are themselves checked against closed-form gradients
and torch autograd in ``tests/test_gradcheck.py``.
"""

from course_lib.nn.gradcheck import numerical_jacobian, relative_error

H = 1e-6  # central-difference step
TOL = 1e-6  # relative error of central differences at this step


def central_difference(f, x, h=H):
    """Jacobian of ``f`` at ``x`` by central differences; column ``i`` is d f / d x_i."""
    return numerical_jacobian(f, x, h)


def rel_err(a, b):
    """Relative error of two arrays, with a floor that keeps zero gradients comparable."""
    return relative_error(a, b, floor=1e-8)
