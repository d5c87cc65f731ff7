r"""First-order optimizers: update rules (functions of arrays) and the torch classes built on them.

Each method is one function ``rule(param, grad, state, *, lr, ...)`` that updates ``param`` in
place, written in ``torch.optim``'s order of operations with the helpers of
:mod:`course_lib.arrays`, and decorated with :func:`~course_lib.optim.rule.update_rule`, which
makes it a :class:`~course_lib.optim.rule.Rule` that knows its hyperparameters and validates
them. The ``torch.optim.Optimizer`` subclass of the same name calls that function (one tensor
at a time, or on lists of tensors with ``foreach=True``) and equals torch 2.13's class bit for
bit; :func:`course_lib.optim.descent.run` and :func:`course_lib.nn.step` call it on NumPy
arrays, where it agrees with the torch path to rounding. All three go through one loop,
:func:`~course_lib.optim.rule.apply`.

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
* ``mu_product`` -- :math:`\Pi_t` (NAdam);
* ``exp_avg``/``exp_avg_sq`` also RAdam; ``prev`` -- :math:`g_{t-1}` after zeroing,
  ``step_size`` -- :math:`\Delta_t` (Rprop);
* ``eta`` -- :math:`\eta_t`, ``mu`` -- :math:`\mu_t`, ``ax`` -- :math:`\bar\theta_t` (ASGD);
* ``row_var`` -- :math:`R_t`, ``col_var`` -- :math:`C_t`, ``variance`` -- :math:`\hat V_t`
  (Adafactor);
* ``momentum_buffer`` -- :math:`M_t` (Muon, an EMA);
* ``old_dirs``/``old_stps``/``ro``/``H_diag``/``al`` -- :math:`y_i`/:math:`s_i`/:math:`\rho_i`/
  :math:`\gamma`/:math:`\alpha_i` (LBFGS);
* ``exp_avg`` also Lion (:math:`m_t`) and LAMB; ``exp_avg_sq`` also LAMB and schedule-free
  AdamW;
* ``momentum_buffer`` also LARS (:math:`b_t`, lr inside) and Shampoo (:math:`d_t`, the
  previous preconditioned step);
* ``z`` -- :math:`z_t`, ``weight_sum`` -- :math:`\sum w_i`, ``lr_max`` -- :math:`\max\gamma`,
  ``y`` -- :math:`y_t` in eval mode (schedule-free);
* ``pre_cond_<i>`` -- :math:`H^{(i)}_t`, ``inv_pre_cond_<i>`` --
  :math:`(H^{(i)}_t)^{-1/(2k)}` (Shampoo);
* ``GG_<i>`` -- the statistic of dimension i, ``Q_<i>`` -- its eigenbasis (SOAP;
  ``exp_avg_sq`` there is in the rotated basis).
"""

from .adadelta import Adadelta, adadelta, check_adadelta
from .adafactor import Adafactor, adafactor, check_adafactor
from .adagrad import Adagrad, adagrad, check_adagrad
from .adam import Adam, AdamW, adam, check_adam
from .adamax import Adamax, adamax, check_adamax
from .asgd import ASGD, asgd, check_asgd
from .base import RuleOptimizer
from .common import bias_correction, coupled_gradient, moving_average_, moving_average_of_squares_
from .lamb import LAMB, check_lamb, lamb
from .lars import LARS, check_lars, exclude_from_adaptation, lars
from .lbfgs import LBFGS, lbfgs
from .lion import Lion, check_lion, lion
from .muon import Muon, check_muon, muon, newton_schulz
from .nadam import NAdam, check_nadam, nadam
from .radam import RAdam, check_radam, radam
from .rmsprop import RMSprop, check_rmsprop, rmsprop
from .rprop import Rprop, check_rprop, rprop
from .rule import Rule, apply, as_rule, update_rule
from .sam import SAM, sam_perturbation, sam_step
from .schedule_free import (
                            AdamWScheduleFree,
                            SGDScheduleFree,
                            schedule_free_adamw,
                            schedule_free_eval_point,
                            schedule_free_sgd,
)
from .sgd import SGD, check_sgd, sgd
from .shampoo import Shampoo, matrix_inverse_root, shampoo
from .soap import SOAP, soap

__all__ = ["Rule", "update_rule", "as_rule", "apply", "RuleOptimizer", "SGD", "sgd", "check_sgd"]
__all__ += ["Adagrad", "adagrad", "check_adagrad", "RMSprop", "rmsprop", "check_rmsprop",
            "Adadelta", "adadelta", "check_adadelta", "Adam", "AdamW", "adam", "check_adam",
            "Adamax", "adamax", "check_adamax", "NAdam", "nadam", "check_nadam"]
__all__ += ["coupled_gradient", "moving_average_", "moving_average_of_squares_",
            "bias_correction"]
__all__ += ["RAdam", "radam", "check_radam", "Rprop", "rprop", "check_rprop", "ASGD", "asgd",
            "check_asgd", "Adafactor", "adafactor", "check_adafactor", "Muon", "muon",
            "check_muon", "newton_schulz", "LBFGS", "lbfgs"]
__all__ += ["Lion", "lion", "check_lion", "LARS", "lars", "check_lars",
            "exclude_from_adaptation", "LAMB", "lamb", "check_lamb", "SGDScheduleFree",
            "AdamWScheduleFree", "schedule_free_sgd", "schedule_free_adamw",
            "schedule_free_eval_point", "SAM", "sam_perturbation", "sam_step", "Shampoo",
            "shampoo", "matrix_inverse_root", "SOAP", "soap"]
