r"""First-order optimizers: update rules (functions of arrays) and the torch classes built on them.

Each method is one function ``rule(param, grad, state, **hyperparameters)`` that updates
``param`` in place, written in ``torch.optim``'s order of operations with the helpers of
:mod:`course_lib.arrays`. The ``torch.optim.Optimizer`` subclass of the same name calls that
function (one tensor at a time, or on lists of tensors with ``foreach=True``) and equals
torch 2.13's class bit for bit; :func:`course_lib.descent.run` calls it on NumPy arrays,
where it agrees with the torch path to rounding.

State keys are torch's, so checkpoints interchange with ``torch.optim``. The book's symbols
(one line per key):

* ``step`` -- :math:`t`, every rule but SGD's (a 0-d tensor in the classes, an int on NumPy);
* ``momentum_buffer`` -- :math:`b_t` (SGD; RMSprop with momentum);
* ``exp_avg`` -- :math:`m_t` (Adam, AdamW, Adamax, NAdam);
* ``exp_avg_sq`` -- :math:`v_t` (Adam, AdamW, NAdam);
* ``max_exp_avg_sq`` -- :math:`v^{\max}_t` (Adam, AdamW with ``amsgrad``);
* ``square_avg`` -- :math:`v_t = E[g^2]_t` (RMSprop, Adadelta);
* ``grad_avg`` -- :math:`m_t` (RMSprop, centered);
* ``acc_delta`` -- :math:`u_t = E[\Delta x^2]_t` (Adadelta);
* ``sum`` -- :math:`r_t` (Adagrad);
* ``exp_inf`` -- :math:`u_t` (Adamax);
* ``mu_product`` -- :math:`\Pi_t` (NAdam).
"""

from .base import RuleOptimizer
from .common import bias_correction, coupled_gradient, moving_average_, \
    moving_average_of_squares_
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
__all__ += ["coupled_gradient", "moving_average_", "moving_average_of_squares_",
            "bias_correction"]
