"""First-order optimizers: update rules (functions of arrays) and the torch classes built on them.

Each method is one function ``rule(param, grad, state, **hyperparameters)`` that updates
``param`` in place; the ``torch.optim.Optimizer`` subclass of the same name calls that
function, and :func:`course_lib.descent.run` calls it on NumPy arrays.
"""

from .base import RuleOptimizer
from .sgd import SGD, check_sgd, sgd
from .adagrad import Adagrad, adagrad, check_adagrad
from .rmsprop import RMSprop, check_rmsprop, rmsprop
from .adadelta import Adadelta, adadelta, check_adadelta
from .adam import Adam, AdamW, adam, check_adam
from .adamax import Adamax, adamax, check_adamax
from .nadam import NAdam, check_nadam, nadam

__all__ = ["RuleOptimizer", "SGD", "sgd", "check_sgd"]
__all__ += ["Adagrad", "adagrad", "check_adagrad", "RMSprop", "rmsprop", "check_rmsprop",
            "Adadelta", "adadelta", "check_adadelta", "Adam", "AdamW", "adam", "check_adam",
            "Adamax", "adamax", "check_adamax", "NAdam", "nadam", "check_nadam"]
