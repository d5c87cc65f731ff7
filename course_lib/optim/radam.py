r"""RAdam: Adam with the variance of its adaptive step rectified (Liu et al., 2020), PyTorch's
convention.

For gradient :math:`g_t` at :math:`\theta_{t-1}`, learning rate :math:`\eta`, coefficients
:math:`\beta_1, \beta_2`, :math:`\epsilon` and weight decay :math:`\lambda`, from
:math:`m_0 = v_0 = 0`:

.. math::

    g_t &\leftarrow \pm\nabla f(\theta_{t-1})\;\bigl[{}+ \lambda\,\theta_{t-1}\bigr]
          \qquad(\text{minus sign when maximizing; } \lambda\text{-term only when coupled})\\
    \theta_{t-1} &\leftarrow (1 - \eta\lambda)\,\theta_{t-1}
          \qquad(\text{only when decoupled})\\
    m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad
    v_t \leftarrow \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2\\
    \rho_\infty &= \frac{2}{1-\beta_2} - 1, \qquad
    \rho_t = \rho_\infty - \frac{2t\,\beta_2^t}{1-\beta_2^t}\\
    \theta_t &\leftarrow \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\, m_t \cdot
    \begin{cases}
      r_t\,\dfrac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \epsilon}, &
          r_t = \sqrt{\dfrac{(\rho_t-4)(\rho_t-2)\,\rho_\infty}
                            {(\rho_\infty-4)(\rho_\infty-2)\,\rho_t}}
          \quad\text{if } \rho_t > 5,\\[1ex]
      1 & \text{otherwise (SGD with momentum, bias-corrected).}
    \end{cases}

Conventions:

* :math:`\rho_t` is the length of the simple moving average that the exponential average
  :math:`v_t` approximates; :math:`r_t` rescales the adaptive step so that its variance is
  that of the limit :math:`t\to\infty` (Liu et al.'s eq. 6). While :math:`\rho_t \le 5`
  (the first 5 steps for :math:`\beta_2 = 0.999`) the variance is undefined or too large and
  the step is the bias-corrected momentum step. Liu et al.'s Algorithm 2 switches at
  :math:`\rho_t > 4`, their code at :math:`\rho_t \ge 5`, PyTorch at :math:`\rho_t > 5`.
* :math:`\epsilon` is added to :math:`\sqrt{v_t}` (before the bias correction
  :math:`\sqrt{1-\beta_2^t}` multiplies the quotient): PyTorch's order; the paper has no
  :math:`\epsilon`.
* Weight decay is coupled by default (an L2 term in :math:`g_t`);
  ``decoupled_weight_decay=True`` shrinks the parameters by :math:`1-\eta\lambda` first,
  as AdamW.
* ``foreach=True`` computes the same quantities in another order, as torch's multi-tensor
  RAdam does (one buffer :math:`\sqrt{1-\beta_2^t}\,\eta r_t/((1-\beta_1^t)(\sqrt{v_t}+
  \epsilon))` or :math:`\eta/(1-\beta_1^t)`, multiplied into :math:`m_t`), so the two paths
  differ by rounding -- in torch as here.

State (torch's keys): ``"step"`` :math:`t` (a 0-d float32 tensor in the class, float64 if
that is torch's default dtype; an ``int`` on the NumPy path), ``"exp_avg"`` :math:`m_t`,
``"exp_avg_sq"`` :math:`v_t`. Complex parameters: every operation, weight decay included,
acts on ``torch.view_as_real``, as torch's does.
"""

from __future__ import annotations

import torch

from ..arrays import TensorList, add_, addcmul_, sqrt, step_counter, zeros_like
from .base import RuleOptimizer
from .common import adam_moments_, bias_correction
from .rule import update_rule
from .validation import check_adam_like, check_flags

__all__ = ["radam", "check_radam", "init_radam_state", "rectification", "RAdam"]


def init_radam_state(param, state: dict, **_) -> None:
    """The state before the first step, created as ``torch.optim.RAdam`` creates it."""
    state["step"] = step_counter(param)
    state["exp_avg"] = zeros_like(param)
    state["exp_avg_sq"] = zeros_like(param)


def rectification(beta2: float, step) -> tuple[float, float]:
    r"""``(rho_t, r_t)``: the length :math:`\rho_t` of the approximated simple moving average
    after ``step`` steps and the rectification factor :math:`r_t` (``0.0`` while
    :math:`\rho_t \le 5`, when RAdam takes the un-adapted step), as torch computes them."""
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2**step) / (1 - beta2**step)
    if not rho_t > 5.0:
        return rho_t, 0.0
    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
            / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
    return rho_t, rect


#: ``ValueError`` (torch's wording) for invalid RAdam hyperparameters: the Adam family's checks.
check_radam = check_adam_like


@update_rule(check=check_radam, init_state=init_radam_state)
def radam(param, grad, state: dict, *, lr: float, betas=(0.9, 0.999), eps: float = 1e-8,
          weight_decay: float = 0.0, decoupled_weight_decay: bool = False,
          maximize: bool = False) -> None:
    r"""One RAdam step on ``param``, in place (NumPy array, torch tensor or TensorList).

    Parameters
    ----------
    param : array of any shape, updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict for this parameter; holds ``"step"``, ``"exp_avg"`` and ``"exp_avg_sq"``
        (created at the first step).
    lr, betas, eps, weight_decay, decoupled_weight_decay, maximize : as in
        ``torch.optim.RAdam``.
    """
    beta1, beta2 = betas
    if not state:
        init_radam_state(param, state)
    param, _, exp_avg, exp_avg_sq, step = adam_moments_(
        param, grad, state, betas, lr=lr, weight_decay=weight_decay, maximize=maximize,
        decoupled=decoupled_weight_decay)
    bias_correction1 = bias_correction(beta1, step)
    bias_correction2 = bias_correction(beta2, step)
    _, rect = rectification(beta2, step)
    if isinstance(param, TensorList):
        # torch's multi-tensor RAdam: one buffer multiplied into m (another rounding order)
        unrectified = 0 if rect > 0 else 1.0
        unrect_step_size = (lr * unrectified / bias_correction1) * -1
        scale = (bias_correction2**0.5) * (lr * rect / bias_correction1) * -1
        buffer = sqrt(exp_avg_sq)
        buffer += eps
        buffer /= scale
        _reciprocal_(buffer)
        buffer += unrect_step_size
        addcmul_(param, exp_avg, buffer)
        return
    bias_corrected_exp_avg = exp_avg / bias_correction1
    if rect > 0:
        denom = sqrt(exp_avg_sq)
        denom += eps                                   # sqrt(v) + eps
        adaptive_lr = (bias_correction2**0.5) / denom  # torch: denom.reciprocal() * c
        add_(param, bias_corrected_exp_avg * lr * adaptive_lr * rect, alpha=-1.0)
    else:
        add_(param, bias_corrected_exp_avg * lr, alpha=-1.0)


def _reciprocal_(x):
    """In place ``x <- 1 / x`` (torch's ``_foreach_reciprocal_`` on a TensorList)."""
    torch._foreach_reciprocal_(x.tensors)
    return x


class RAdam(RuleOptimizer):
    """``torch.optim.RAdam`` re-implemented on the rule :func:`radam`.

    Same constructor, defaults (``lr=1e-3``, ``betas=(0.9, 0.999)``, ``eps=1e-8``),
    validation messages, param groups, closure, hooks and state dict (torch's keys) as torch
    2.13's class, bit-identical steps (``foreach=True`` too).
    """

    rule = radam
    sparse_message = "RAdam does not support sparse gradients"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False):
        radam.validate(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                       decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        check_flags(foreach=foreach, capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)
