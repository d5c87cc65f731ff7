"""Problems to optimize: test surfaces, finite sums and the small datasets of the book.

* :mod:`~course_lib.objectives.surfaces` -- test functions with value, gradient, Hessian and
  known minimizers (quadratics, Rosenbrock, Beale, ...);
* :mod:`~course_lib.objectives.finite_sum` -- :math:`f(x)=\\frac1n\\sum_i f_i(x)` with
  minibatch gradients (least squares, logistic regression);
* :mod:`~course_lib.objectives.data` -- small real datasets that ship with scikit-learn, split
  and standardized.
"""

from .surfaces import *  # noqa: F403
from .surfaces import __all__ as _surfaces

__all__ = list(_surfaces)
