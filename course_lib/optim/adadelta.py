r"""AdaDelta (Zeiler, 2012), PyTorch's convention.

The update, for gradient :math:`g_t` at :math:`\theta_{t-1}`, learning rate :math:`\eta`
(default 1, which is Zeiler's method), decay :math:`\rho`, :math:`\epsilon` and weight decay
:math:`\lambda`, from :math:`v_0 = u_0 = 0`:

.. math::

    g_t &\leftarrow \pm\nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1}
          \qquad(\text{minus sign when maximizing})\\
    v_t &\leftarrow \rho\, v_{t-1} + (1-\rho)\, g_t^2
          \qquad(E[g^2]_t)\\
    \Delta_t &\leftarrow \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t\\
    u_t &\leftarrow \rho\, u_{t-1} + (1-\rho)\, \Delta_t^2
          \qquad(E[\Delta x^2]_t)\\
    \theta_t &\leftarrow \theta_{t-1} - \eta\, \Delta_t

Conventions:

* One decay :math:`\rho` for both averages, and both are **exponential moving averages**
  (Zeiler's Algorithm 1), not windowed means. Zeiler uses :math:`\rho = 0.95`,
  :math:`\epsilon = 10^{-6}`; PyTorch's defaults are :math:`\rho = 0.9`,
  :math:`\epsilon = 10^{-6}`, :math:`\eta = 1`.
* :math:`\epsilon` sits **inside both square roots** (Zeiler's RMS[x] = sqrt(E[x^2] + eps)),
  unlike the other adaptive methods of this package. The :math:`\epsilon` of the numerator is
  what starts the method: with :math:`u_0 = 0` and no :math:`\epsilon` there, every step
  would be zero. The first step is :math:`-\eta\sqrt{\epsilon/((1-\rho) g_1^2 + \epsilon)}\,g_1`.
* :math:`u` accumulates the step *before* the learning rate multiplies it, as in PyTorch.
* No bias correction. Weight decay is coupled (an L2 term added to :math:`g_t`).

State (torch's names in brackets): ``"t"`` the step count, a Python ``int`` [``step``],
``"v"`` :math:`E[g^2]` [``square_avg``], ``"u"`` :math:`E[\Delta x^2]` [``acc_delta``].
"""

from __future__ import annotations

from ..arrays import add_, zeros_like
from .base import RuleOptimizer, coupled_gradient
from .validation import check_eps, check_lr, check_nonnegative

__all__ = ["adadelta", "check_adadelta", "Adadelta"]


def adadelta(param, grad, state: dict, *, lr: float, rho: float = 0.9, eps: float = 1e-6,
             weight_decay: float = 0.0, maximize: bool = False) -> None:
    r"""One AdaDelta step on ``param``, in place (NumPy array or torch tensor).

    Parameters
    ----------
    param : array of any shape, updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict for this parameter; holds ``"t"``, ``"v"`` and ``"u"`` (created at the
        first step).
    lr, rho, eps, weight_decay, maximize : as in ``torch.optim.Adadelta``.
    """
    g = coupled_gradient(grad, param, weight_decay, maximize)
    if not state:
        state["t"] = 0
        state["v"] = zeros_like(param)
        state["u"] = zeros_like(param)
    state["t"] += 1
    v, u = state["v"], state["u"]
    v *= rho
    v += (1 - rho) * g * g
    # Delta = sqrt(u + eps) / sqrt(v + eps) * g: eps inside both roots.
    delta = u + eps
    delta /= v + eps
    delta **= 0.5                       # in place square root
    delta *= g
    u *= rho
    u += (1 - rho) * delta * delta
    add_(param, delta, alpha=-lr)


def check_adadelta(lr, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False) -> None:
    """Raise ``ValueError`` (torch's wording) for invalid Adadelta hyperparameters."""
    check_lr(lr, reject_nan=True)
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"Invalid rho value: {rho}")
    check_eps(eps)
    check_nonnegative(weight_decay, "weight_decay", reject_nan=True)


adadelta.check = check_adadelta


class Adadelta(RuleOptimizer):
    """``torch.optim.Adadelta`` re-implemented on the rule :func:`adadelta`.

    Same constructor, defaults (``lr=1.0``, ``rho=0.9``, ``eps=1e-6``), validation messages,
    param groups, closure and state-dict behaviour as torch 2.13's class for the options
    ``lr``, ``rho``, ``eps``, ``weight_decay`` and ``maximize``. The per-parameter state
    holds ``"t"``, ``"v"`` and ``"u"``.
    """

    rule = staticmethod(adadelta)

    def __init__(self, params, lr=1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, *, maximize: bool = False):
        check_adadelta(lr, rho, eps, weight_decay, maximize)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)
