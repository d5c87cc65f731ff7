r"""AdaMax (Kingma & Ba, 2015, Section 7.1), PyTorch's convention.

Adam with the :math:`L^2` norm of past gradients replaced by an exponentially weighted
:math:`L^\infty` norm. For gradient :math:`g_t` at :math:`\theta_{t-1}`, learning rate
:math:`\eta`, coefficients :math:`\beta_1, \beta_2`, :math:`\epsilon` and weight decay
:math:`\lambda`, from :math:`m_0 = u_0 = 0`:

.. math::

    g_t &\leftarrow \pm\nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1}
          \qquad(\text{minus sign when maximizing})\\
    m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t\\
    u_t &\leftarrow \max\bigl(\beta_2\, u_{t-1},\; |g_t| + \epsilon\bigr)\\
    \theta_t &\leftarrow \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\, \frac{m_t}{u_t}

Conventions:

* Only :math:`m` is bias-corrected; :math:`u` is a maximum and needs no correction (Kingma &
  Ba).
* :math:`\epsilon` is added to :math:`|g_t|` **inside the maximum** (PyTorch), so it only
  guards against :math:`u = 0`; Kingma & Ba's AdaMax has no :math:`\epsilon`.
* The first step is :math:`-\eta\, g_1/(|g_1|+\epsilon) \approx -\eta\,\mathrm{sign}(g_1)`.
* Weight decay is coupled (an L2 term added to :math:`g_t`).

State (torch's names in brackets): ``"t"`` the step count, a Python ``int`` [``step``],
``"m"`` [``exp_avg``], ``"u"`` [``exp_inf``].
"""

from __future__ import annotations

from ..arrays import add_, addcdiv_, maximum_, zeros_like
from .base import RuleOptimizer, coupled_gradient
from .validation import check_betas, check_eps, check_lr, check_nonnegative

__all__ = ["adamax", "check_adamax", "Adamax"]


def adamax(param, grad, state: dict, *, lr: float, betas=(0.9, 0.999), eps: float = 1e-8,
           weight_decay: float = 0.0, maximize: bool = False) -> None:
    r"""One AdaMax step on ``param``, in place (NumPy array or torch tensor).

    Parameters
    ----------
    param : array of any shape, updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict for this parameter; holds ``"t"``, ``"m"`` and ``"u"`` (created at the
        first step).
    lr, betas, eps, weight_decay, maximize : as in ``torch.optim.Adamax``.
    """
    beta1, beta2 = betas
    g = coupled_gradient(grad, param, weight_decay, maximize)
    if not state:
        state["t"] = 0
        state["m"] = zeros_like(param)
        state["u"] = zeros_like(param)
    t = state["t"] = state["t"] + 1
    m, u = state["m"], state["u"]
    m *= beta1
    add_(m, g, alpha=1 - beta1)
    u *= beta2
    maximum_(u, abs(g) + eps)           # eps inside the maximum
    addcdiv_(param, m, u, value=-lr / (1 - beta1**t))  # only m is bias-corrected


def check_adamax(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False) -> None:
    """Raise ``ValueError`` (torch's wording) for invalid Adamax hyperparameters."""
    check_lr(lr, reject_nan=True)
    check_eps(eps)
    check_betas(betas)
    check_nonnegative(weight_decay, "weight_decay", reject_nan=True)


adamax.check = check_adamax


class Adamax(RuleOptimizer):
    """``torch.optim.Adamax`` re-implemented on the rule :func:`adamax`.

    Same constructor, defaults (``lr=2e-3``, ``betas=(0.9, 0.999)``, ``eps=1e-8``),
    validation messages, param groups, closure and state-dict behaviour as torch 2.13's class
    for the options ``lr``, ``betas``, ``eps``, ``weight_decay`` and ``maximize``. The
    per-parameter state holds ``"t"``, ``"m"`` and ``"u"``.
    """

    rule = staticmethod(adamax)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, *, maximize: bool = False):
        check_adamax(lr, betas, eps, weight_decay, maximize)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)
