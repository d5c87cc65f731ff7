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

State (torch's names in brackets): ``"t"`` the step count, a Python ``int`` [``step``],
``"mu_product"`` :math:`\Pi_t`, a Python ``float`` [``mu_product``, a 0-d tensor that is
float32 unless torch's default dtype is float64], ``"m"`` [``exp_avg``], ``"v"``
[``exp_avg_sq``].
"""

from __future__ import annotations

from ..arrays import add_, addcdiv_, zeros_like
from .base import RuleOptimizer
from .validation import check_betas, check_eps, check_lr, check_nonnegative

__all__ = ["nadam", "check_nadam", "NAdam"]


def nadam(param, grad, state: dict, *, lr: float, betas=(0.9, 0.999), eps: float = 1e-8,
          weight_decay: float = 0.0, momentum_decay: float = 4e-3,
          decoupled_weight_decay: bool = False, maximize: bool = False) -> None:
    r"""One NAdam step on ``param``, in place (NumPy array or torch tensor).

    Parameters
    ----------
    param : array of any shape, updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict for this parameter; holds ``"t"``, ``"mu_product"``, ``"m"`` and ``"v"``
        (created at the first step).
    lr, betas, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize : as in
        ``torch.optim.NAdam``.
    """
    beta1, beta2 = betas
    g = -grad if maximize else grad
    if not state:
        state["t"] = 0
        state["mu_product"] = 1.0
        state["m"] = zeros_like(param)
        state["v"] = zeros_like(param)
    t = state["t"] = state["t"] + 1
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * param
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    mu_product = state["mu_product"] = state["mu_product"] * mu
    mu_product_next = mu_product * mu_next
    m, v = state["m"], state["v"]
    m *= beta1
    add_(m, g, alpha=1 - beta1)
    v *= beta2
    v += (1 - beta2) * g * g
    denom = v / (1 - beta2**t)
    denom **= 0.5                       # in place square root
    denom += eps                        # eps outside the root
    addcdiv_(param, g, denom, value=-lr * (1 - mu) / (1 - mu_product))
    addcdiv_(param, m, denom, value=-lr * mu_next / (1 - mu_product_next))


def check_nadam(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                decoupled_weight_decay=False, maximize=False) -> None:
    """Raise ``ValueError`` (torch's wording) for invalid NAdam hyperparameters."""
    check_lr(lr, reject_nan=True)
    check_eps(eps)
    check_betas(betas)
    check_nonnegative(weight_decay, "weight_decay", reject_nan=True)
    check_nonnegative(momentum_decay, "momentum_decay", reject_nan=True)


nadam.check = check_nadam


class NAdam(RuleOptimizer):
    """``torch.optim.NAdam`` re-implemented on the rule :func:`nadam`.

    Same constructor, defaults (``lr=2e-3``, ``betas=(0.9, 0.999)``, ``eps=1e-8``,
    ``momentum_decay=4e-3``), validation messages, param groups, closure and state-dict
    behaviour as torch 2.13's class for the options ``lr``, ``betas``, ``eps``,
    ``weight_decay``, ``momentum_decay``, ``decoupled_weight_decay`` and ``maximize``. The
    per-parameter state holds ``"t"``, ``"mu_product"``, ``"m"`` and ``"v"``.
    """

    rule = staticmethod(nadam)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False):
        check_nadam(lr, betas, eps, weight_decay, momentum_decay, decoupled_weight_decay,
                    maximize)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)
