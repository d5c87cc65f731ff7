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

State (torch's keys): ``"step"`` :math:`t` (a 0-d float32 tensor in the class, an ``int``
on the NumPy path), ``"square_avg"`` :math:`v_t = E[g^2]_t`, ``"acc_delta"``
:math:`u_t = E[\Delta x^2]_t`. Complex parameters: the averages are taken on
``torch.view_as_real``, as torch does.
"""

from __future__ import annotations

from ..arrays import add_, complex_view, div_sqrt_, real_view, sqrt_, step_counter, zeros_like
from .base import RuleOptimizer
from .common import coupled_gradient, moving_average_of_squares_
from .rule import update_rule
from .validation import check_eps, check_flags, check_lr, check_nonnegative

__all__ = ["adadelta", "check_adadelta", "Adadelta"]


def init_adadelta_state(param, state: dict, **_) -> None:
    """The state before the first step, created as ``torch.optim.Adadelta`` creates it."""
    state["step"] = step_counter(param)
    state["square_avg"] = zeros_like(param)
    state["acc_delta"] = zeros_like(param)


def check_adadelta(lr, rho, eps, weight_decay, **_) -> None:
    """Raise ``ValueError`` (torch's wording) for invalid Adadelta hyperparameters."""
    check_lr(lr, reject_nan=True)
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"Invalid rho value: {rho}")
    check_eps(eps)
    check_nonnegative(weight_decay, "weight_decay", reject_nan=True)


@update_rule(check=check_adadelta, init_state=init_adadelta_state)
def adadelta(param, grad, state: dict, *, lr: float, rho: float = 0.9, eps: float = 1e-6,
             weight_decay: float = 0.0, maximize: bool = False) -> None:
    r"""One AdaDelta step on ``param``, in place (NumPy array, torch tensor or TensorList).

    Parameters
    ----------
    param : array of any shape, updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict for this parameter; holds ``"step"``, ``"square_avg"`` and ``"acc_delta"``
        (created at the first step).
    lr, rho, eps, weight_decay, maximize : as in ``torch.optim.Adadelta``.
    """
    if not state:
        init_adadelta_state(param, state)
    state["step"] += 1
    g = coupled_gradient(grad, param, weight_decay, maximize)
    square_avg, acc_delta = real_view(state["square_avg"]), real_view(state["acc_delta"])
    g = real_view(g)
    moving_average_of_squares_(square_avg, g, rho)   # v <- rho v + (1 - rho) g^2
    delta = sqrt_(acc_delta + eps)                    # sqrt(u + eps): eps inside the root
    div_sqrt_(delta, square_avg, eps)                 # ... / sqrt(v + eps)
    delta *= g                                        # Delta = sqrt(u + eps)/sqrt(v + eps) g
    moving_average_of_squares_(acc_delta, delta, rho)  # u <- rho u + (1 - rho) Delta^2
    add_(param, complex_view(delta, param), alpha=-lr)


class Adadelta(RuleOptimizer):
    """``torch.optim.Adadelta`` re-implemented on the rule :func:`adadelta`.

    Same constructor, defaults (``lr=1.0``, ``rho=0.9``, ``eps=1e-6``), validation messages,
    param groups, closure, hooks and state dict (torch's keys) as torch 2.13's class,
    bit-identical steps.
    """

    rule = adadelta
    foreach_reads = ()

    def __init__(self, params, lr=1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False):
        defaults = adadelta.validate(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                     maximize=maximize)
        check_flags(foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, dict(defaults, capturable=capturable, foreach=foreach,
                                      differentiable=differentiable))
