"""First-order optimizers: update rules (functions of arrays) and the torch classes built on them.

Each method is one function ``rule(param, grad, state, **hyperparameters)`` that updates
``param`` in place; the ``torch.optim.Optimizer`` subclass of the same name calls that
function, and :func:`course_lib.descent.run` calls it on NumPy arrays.
"""

from .base import RuleOptimizer
from .sgd import SGD, check_sgd, sgd

__all__ = ["RuleOptimizer", "SGD", "sgd", "check_sgd"]
