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

State (torch's keys): ``"step"`` :math:`t` (a 0-d float32 tensor in the class, an ``int``
on the NumPy path), ``"exp_avg"`` :math:`m_t`, ``"exp_inf"`` :math:`u_t`. Complex parameters:
:math:`|g|` and the maximum are taken on ``torch.view_as_real`` (per real and imaginary
part), as torch does.
"""

from __future__ import annotations

from ..arrays import abs_, addcdiv_, item, maximum_, real_view, step_counter, zeros_like
from .base import RuleOptimizer
from .common import bias_correction, coupled_gradient, moving_average_
from .rule import update_rule
from .validation import check_adam_like, check_flags

__all__ = ["adamax", "check_adamax", "Adamax"]


def init_adamax_state(param, state: dict, **_) -> None:
    """The state before the first step, created as ``torch.optim.Adamax`` creates it."""
    state["step"] = step_counter(param)
    state["exp_avg"] = zeros_like(param)
    state["exp_inf"] = zeros_like(param)


#: ``ValueError`` (torch's wording) for invalid Adamax hyperparameters: the Adam family's checks.
check_adamax = check_adam_like


@update_rule(check=check_adamax, init_state=init_adamax_state)
def adamax(param, grad, state: dict, *, lr: float, betas=(0.9, 0.999), eps: float = 1e-8,
           weight_decay: float = 0.0, maximize: bool = False) -> None:
    r"""One AdaMax step on ``param``, in place (NumPy array, torch tensor or TensorList).

    Parameters
    ----------
    param : array of any shape, updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict for this parameter; holds ``"step"``, ``"exp_avg"`` and ``"exp_inf"``
        (created at the first step).
    lr, betas, eps, weight_decay, maximize : as in ``torch.optim.Adamax``.
    """
    beta1, beta2 = betas
    if not state:
        init_adamax_state(param, state)
    g = coupled_gradient(grad, param, weight_decay, maximize)
    owned = g is not grad               # a copy this step may overwrite
    state["step"] += 1
    param, g = real_view(param), real_view(g)
    exp_avg, exp_inf = real_view(state["exp_avg"]), real_view(state["exp_inf"])
    moving_average_(exp_avg, g, beta1)  # m <- b1 m + (1 - b1) g
    exp_inf *= beta2
    norm = abs_(g) if owned else abs(g)
    norm += eps                         # eps inside the maximum
    maximum_(exp_inf, norm)             # u <- max(b2 u, |g| + eps)
    clr = lr / bias_correction(beta1, item(state["step"]))  # only m is bias-corrected
    addcdiv_(param, exp_avg, exp_inf, value=-clr)


class Adamax(RuleOptimizer):
    """``torch.optim.Adamax`` re-implemented on the rule :func:`adamax`.

    Same constructor, defaults (``lr=2e-3``, ``betas=(0.9, 0.999)``, ``eps=1e-8``),
    validation messages, param groups, closure, hooks and state dict (torch's keys) as torch
    2.13's class, bit-identical steps.
    """

    rule = adamax

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False):
        defaults = adamax.validate(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                   maximize=maximize)
        check_flags(foreach=foreach, differentiable=differentiable, capturable=capturable)
        super().__init__(params, dict(defaults, foreach=foreach, differentiable=differentiable,
                                      capturable=capturable))

    def _foreach_hyperparameters(self, hyper: dict) -> dict:
        """torch's multi-tensor Adamax reads a tensor ``lr`` as a Python float."""
        lr = hyper["lr"]
        return dict(hyper, lr=lr.item()) if hasattr(lr, "item") else hyper
