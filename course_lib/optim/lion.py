r"""Lion, the sign-momentum optimizer found by program search (Chen et al., 2023).

The update, for gradient :math:`g_t` at :math:`\theta_{t-1}`, learning rate :math:`\eta`,
coefficients :math:`\beta_1, \beta_2` and weight decay :math:`\lambda`, from :math:`m_0 = 0`:

.. math::

    c_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t
          \qquad(\text{the interpolation whose sign is the step})\\
    \theta_t &\leftarrow \theta_{t-1} - \eta\,\bigl(\mathrm{sign}(c_t)
          + \lambda\,\theta_{t-1}\bigr)\\
    m_t &\leftarrow \beta_2 m_{t-1} + (1-\beta_2)\, g_t

Every coordinate moves by exactly :math:`\pm\eta` (plus the decay), so the update has the
norm :math:`\eta\sqrt{n}` of a sign vector: larger than Adam's for the same :math:`\eta`,
which is why Lion's learning rate is 3--10 times smaller and its :math:`\lambda` as many
times larger than AdamW's (the product :math:`\eta\lambda`, the decay per step, is kept).

Conventions (paper, ``optax.lion`` 0.2.8 and ``pytorch_optimizer.Lion`` 4.1.0 agree on all):

* **Two betas with different jobs**: :math:`\beta_1` (0.9) mixes the *current* gradient into
  the direction of this step, :math:`\beta_2` (0.99) is the decay of the momentum that is
  kept. The momentum is updated *after* the step, with the plain gradient (no weight decay).
* **Weight decay is decoupled and multiplied by the learning rate**, as in AdamW:
  :math:`\theta \leftarrow \theta - \eta\lambda\theta`. This rule, the paper's
  Algorithm 2 and optax write it as one step :math:`-\eta(\mathrm{sign}(c_t) +
  \lambda\theta)`; ``pytorch_optimizer`` (like ``torch.optim.AdamW``) first shrinks
  :math:`\theta` by :math:`1-\eta\lambda`, then adds :math:`-\eta\,\mathrm{sign}(c_t)`:
  the same number up to one rounding per step -- but the rounding of a sign step is
  systematic, so over 100 float32 steps the two forms can drift apart by more than 1e-6
  relative, many times more than two implementations of the same form.
* :math:`\mathrm{sign}(0) = 0` (NumPy's, torch's and jax's sign), so a coordinate whose
  :math:`c_t` is exactly zero does not move. The paper's pseudo-code does not say.
* No bias correction and no :math:`\epsilon`: the sign is scale-free.

State: ``"exp_avg"`` :math:`m_t` (the name ``pytorch_optimizer`` uses; optax calls it
``mu``). Real parameters only.
"""

from __future__ import annotations

import numpy as np
import torch

from ..arrays import TensorList, add_, clone, lerp_, zeros_like
from ..validation import invalid, is_real
from .base import RuleOptimizer
from .common import moving_average_
from .rule import Rule, update_rule

__all__ = ["lion", "check_lion", "init_lion_state", "Lion", "sign_", "CheckedRuleOptimizer"]


def sign_(x):
    """In place element-wise sign (0 at 0); returns ``x`` (NumPy, torch or TensorList)."""
    if isinstance(x, TensorList):
        torch._foreach_sign_(x.tensors)
        return x
    if isinstance(x, torch.Tensor):
        return x.sign_()
    return np.sign(x, out=x)


def init_lion_state(param, state: dict, **_) -> None:
    """The state before the first step: :math:`m_0 = 0`."""
    state["exp_avg"] = zeros_like(param)


def check_betas_open(betas, name: str = "betas") -> None:
    """Reject anything but two numbers in ``[0, 1)``."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise invalid(name, betas, "a pair of numbers in [0, 1)")
    for beta in betas:
        if not is_real(beta) or not 0.0 <= beta < 1.0:
            raise invalid(name, tuple(betas), "a pair of numbers in [0, 1)")


def check_lr_weight_decay(lr, weight_decay) -> None:
    """Reject a learning rate or weight decay that is not a finite number >= 0."""
    for name, value in (("lr", lr), ("weight_decay", weight_decay)):
        if not is_real(value) or not np.isfinite(value) or value < 0:
            raise invalid(name, value, "a finite number >= 0")


def check_lion(lr, betas, weight_decay, **_) -> None:
    """Raise ``ValueError`` for invalid Lion hyperparameters."""
    check_lr_weight_decay(lr, weight_decay)
    check_betas_open(betas)


@update_rule(check=check_lion, init_state=init_lion_state)
def lion(param, grad, state: dict, *, lr: float, betas=(0.9, 0.99), weight_decay: float = 0.0,
         maximize: bool = False) -> None:
    r"""One Lion step on ``param``, in place (NumPy array, torch tensor or TensorList).

    Parameters
    ----------
    param : array of any shape, updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict for this parameter; holds ``"exp_avg"`` (:math:`m_t`).
    lr : :math:`\eta` (typically 3--10 times smaller than AdamW's).
    betas : :math:`(\beta_1, \beta_2)`, the interpolation weight of the step and the decay
        of the momentum.
    weight_decay : :math:`\lambda`, decoupled and multiplied by ``lr``.
    maximize : ascend instead of descend.
    """
    beta1, beta2 = betas
    if not state:
        init_lion_state(param, state)
    g = -grad if maximize else grad
    exp_avg = state["exp_avg"]
    direction = lerp_(clone(exp_avg), g, 1 - beta1)      # c = b1 m + (1 - b1) g
    sign_(direction)
    if weight_decay != 0:
        add_(direction, param, alpha=weight_decay)      # sign(c) + lambda theta
    add_(param, direction, alpha=-lr)
    moving_average_(exp_avg, g, beta2)                  # m <- b2 m + (1 - b2) g


class CheckedRuleOptimizer(RuleOptimizer):
    """A :class:`~course_lib.optim.base.RuleOptimizer` that validates every param group (the
    constructor validates only the defaults): a group added with ``add_param_group``, or
    given in the constructor with its own values, goes through ``rule.validate`` too."""

    def add_param_group(self, param_group: dict) -> None:
        rule = type(self).rule
        assert isinstance(rule, Rule)               # the subclasses set an update rule
        rule.validate(**{k: param_group.get(k, self.defaults.get(k)) for k in rule.names
                         if k in param_group or k in self.defaults})
        super().add_param_group(param_group)


class Lion(CheckedRuleOptimizer):
    """Lion (Chen et al., 2023) as a ``torch.optim.Optimizer`` on the rule :func:`lion`.

    ``Lion(params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *, maximize=False)``;
    the defaults are ``optax.lion``'s. Agrees with ``optax.lion`` step by step (see
    ``tests/test_optim_frontier.py``); state key ``"exp_avg"``.
    """

    rule = lion
    scalar_state = ()
    foreach_reads = ()

    def __init__(self, params, lr: float = 1e-4, betas=(0.9, 0.99), weight_decay: float = 0.0,
                 *, maximize: bool = False):
        super().__init__(params, lion.validate(lr=lr, betas=tuple(betas),
                                               weight_decay=weight_decay, maximize=maximize))
