r"""NAdam: Adam with Nesterov momentum (Dozat, 2016), PyTorch's convention.

For gradient :math:`g_t` at :math:`\theta_{t-1}`, learning rate :math:`\eta`, coefficients
:math:`\beta_1, \beta_2`, :math:`\epsilon`, momentum decay :math:`\psi` and weight decay
:math:`\lambda`, from :math:`m_0 = v_0 = 0`, :math:`\Pi_0 = 1`:

.. math::

    g_t &\leftarrow \pm\nabla f(\theta_{t-1})\;\bigl[{}+ \lambda\,\theta_{t-1}\bigr]
          \qquad(\text{minus sign when maximizing; } \lambda\text{-term only when coupled})\\
    \theta_{t-1} &\leftarrow (1 - \eta\lambda)\,\theta_{t-1}
          \qquad(\text{only when decoupled})\\
    \mu_t &\leftarrow \beta_1\bigl(1 - \tfrac12\, 0.96^{\,t\psi}\bigr), \qquad
    \Pi_t \leftarrow \Pi_{t-1}\,\mu_t\\
    m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t\\
    v_t &\leftarrow \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2, \qquad
    \hat v_t \leftarrow v_t/(1-\beta_2^t)\\
    \theta_t &\leftarrow \theta_{t-1} - \eta\left(\frac{1-\mu_t}{1-\Pi_t}\, g_t
          + \frac{\mu_{t+1}}{1-\Pi_t\,\mu_{t+1}}\, m_t\right) \Big/ \bigl(\sqrt{\hat v_t}
          + \epsilon\bigr)

Conventions:

* The momentum coefficient follows Dozat's warming schedule :math:`\mu_t` (default
  :math:`\psi = 0.004`), and the first moment is corrected with the running product
  :math:`\Pi_t = \prod_{\tau\le t}\mu_\tau` instead of :math:`1-\beta_1^t`. The Nesterov
  look-ahead is the :math:`\mu_{t+1}\, m_t` term: the current gradient enters twice, once on
  its own and once through :math:`m_t`.
* :math:`v` is bias-corrected as in Adam, and :math:`\epsilon` sits **outside** the square
  root, added to :math:`\sqrt{\hat v_t}`.
* Weight decay is coupled by default; ``decoupled_weight_decay=True`` shrinks the parameters
  by :math:`1-\eta\lambda` first (NAdamW), as AdamW does.

State (torch's keys): ``"step"`` :math:`t`, ``"mu_product"`` :math:`\Pi_t` (both 0-d
tensors of torch's scalar dtype in the class: float32 unless torch's default dtype is
float64, so :math:`\Pi_t` is rounded to float32 after every step, as torch rounds it; on the
NumPy path ``step`` is an ``int`` and ``mu_product`` a NumPy scalar of the same dtype),
``"exp_avg"`` :math:`m_t`, ``"exp_avg_sq"`` :math:`v_t`. Complex parameters: every operation,
weight decay included, acts on ``torch.view_as_real``, as torch's does.
"""

from __future__ import annotations

from ..arrays import (
    TensorList,
    addcdiv_,
    item,
    scalar_state,
    sqrt,
    sqrt_,
    step_counter,
    zeros_like,
)
from .base import RuleOptimizer
from .common import adam_moments_, bias_correction
from .rule import update_rule
from .validation import check_adam_like, check_flags, check_nonnegative

__all__ = ["nadam", "check_nadam", "NAdam"]


def init_nadam_state(param, state: dict, **_) -> None:
    """The state before the first step, created as ``torch.optim.NAdam`` creates it."""
    state["step"] = step_counter(param)
    state["mu_product"] = scalar_state(1.0, param)
    state["exp_avg"] = zeros_like(param)
    state["exp_avg_sq"] = zeros_like(param)


def check_nadam(lr, betas, eps, weight_decay, momentum_decay, **_) -> None:
    """Raise ``ValueError`` (torch's wording) for invalid NAdam hyperparameters: Adam's
    checks, then ``momentum_decay``."""
    check_adam_like(lr, betas, eps, weight_decay)
    check_nonnegative(momentum_decay, "momentum_decay", reject_nan=True)


@update_rule(check=check_nadam, init_state=init_nadam_state)
def nadam(param, grad, state: dict, *, lr: float, betas=(0.9, 0.999), eps: float = 1e-8,
          weight_decay: float = 0.0, momentum_decay: float = 4e-3,
          decoupled_weight_decay: bool = False, maximize: bool = False) -> None:
    r"""One NAdam step on ``param``, in place (NumPy array, torch tensor or TensorList).

    Parameters
    ----------
    param : array of any shape, updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict for this parameter; holds ``"step"``, ``"mu_product"``, ``"exp_avg"`` and
        ``"exp_avg_sq"`` (created at the first step).
    lr, betas, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize : as in
        ``torch.optim.NAdam``.
    """
    beta1, beta2 = betas
    if not state:
        init_nadam_state(param, state)
    param, g, exp_avg, exp_avg_sq, step = adam_moments_(
        param, grad, state, betas, lr=lr, weight_decay=weight_decay, maximize=maximize,
        decoupled=decoupled_weight_decay)
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
    state["mu_product"] *= mu           # Pi_t = Pi_{t-1} mu_t
    if isinstance(exp_avg_sq, TensorList):
        # torch's multi-tensor NAdam (foreach=True) rounds sqrt(v) / sqrt(1 - b2^t), and
        # reads a tensor lr as a Python float in the step sizes below
        denom = sqrt(exp_avg_sq)
        denom /= bias_correction(beta2, step) ** 0.5
        lr = item(lr)
    else:
        denom = sqrt_(exp_avg_sq / bias_correction(beta2, step))  # sqrt(v_hat)
    mu_product = item(state["mu_product"])
    mu_product_next = mu_product * mu_next
    denom += eps                        # eps outside the root
    addcdiv_(param, g, denom, value=(-lr * (1.0 - mu) / (1.0 - mu_product)))
    addcdiv_(param, exp_avg, denom, value=(-lr * mu_next) / (1.0 - mu_product_next))


class NAdam(RuleOptimizer):
    """``torch.optim.NAdam`` re-implemented on the rule :func:`nadam`.

    Same constructor, defaults (``lr=2e-3``, ``betas=(0.9, 0.999)``, ``eps=1e-8``,
    ``momentum_decay=4e-3``), validation messages, param groups, closure, hooks and state dict
    (torch's keys, ``mu_product`` a 0-d tensor) as torch 2.13's class, bit-identical steps.
    """

    rule = nadam
    foreach_reads = ("step", "mu_product")
    scalar_state = ("step", "mu_product")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        defaults = nadam.validate(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                  momentum_decay=momentum_decay,
                                  decoupled_weight_decay=decoupled_weight_decay,
                                  maximize=maximize)
        check_flags(foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, dict(defaults, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable))
