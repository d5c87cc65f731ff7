r"""RMSProp (Tieleman & Hinton, 2012), with Graves's (2013) centered variant and momentum,
PyTorch's convention.

The update, for gradient :math:`g_t` at :math:`\theta_{t-1}`, learning rate :math:`\eta`,
smoothing constant :math:`\alpha` (often called :math:`\rho`), :math:`\epsilon`, momentum
:math:`\mu` and weight decay :math:`\lambda`, from :math:`v_0 = m_0 = b_0 = 0`:

.. math::

    g_t &\leftarrow \pm\nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1}
          \qquad(\text{minus sign when maximizing})\\
    v_t &\leftarrow \alpha\, v_{t-1} + (1-\alpha)\, g_t^2\\
    m_t &\leftarrow \alpha\, m_{t-1} + (1-\alpha)\, g_t
          \qquad(\text{centered only})\\
    s_t &\leftarrow \begin{cases} \sqrt{v_t - m_t^2} + \epsilon & \text{centered}\\
                                  \sqrt{v_t} + \epsilon & \text{otherwise}\end{cases}\\
    b_t &\leftarrow \mu\, b_{t-1} + g_t / s_t, \qquad
    \theta_t \leftarrow \theta_{t-1} - \eta\, b_t \qquad(\mu > 0)\\
    \theta_t &\leftarrow \theta_{t-1} - \eta\, g_t / s_t \qquad(\mu = 0)

Conventions:

* :math:`v_t` is an **exponential moving average** (Tieleman & Hinton's
  ``MeanSquare = 0.9 MeanSquare + 0.1 g^2``), not a windowed mean; PyTorch's default is
  :math:`\alpha = 0.99`. Its weights :math:`(1-\alpha)\alpha^k` sum to :math:`1-\alpha^t`.
* **No bias correction**: the first step is :math:`-\eta\, g_1/(\sqrt{1-\alpha}\,|g_1|+\epsilon)
  \approx -\eta\,\mathrm{sign}(g_1)/\sqrt{1-\alpha}` (10 :math:`\eta` for
  :math:`\alpha = 0.99`). For a constant gradient :math:`g` with :math:`g^2 \gg \epsilon`, the
  step tends to :math:`-\eta\,\mathrm{sign}(g)` once :math:`\alpha^t` has faded.
* :math:`\epsilon` sits **outside** the square root (as in PyTorch; TensorFlow puts it
  inside).
* The centered variant divides by an estimate of the standard deviation of :math:`g` instead
  of its root mean square. Momentum is applied to the normalized step, and :math:`\eta`
  multiplies the buffer.
* Weight decay is coupled (an L2 term added to :math:`g_t`).

State (torch's keys): ``"step"`` :math:`t` (a 0-d float32 tensor in the class, an ``int``
on the NumPy path), ``"square_avg"`` :math:`v_t`, ``"momentum_buffer"`` :math:`b_t` when
``momentum > 0`` and ``"grad_avg"`` :math:`m_t` when centered. Complex parameters: the
operations act on ``torch.view_as_real``, as torch's do.
"""

from __future__ import annotations

from ..arrays import add_, addcdiv_, addcmul, real_view, sqrt, sqrt_, step_counter, zeros_like
from .base import RuleOptimizer
from .common import coupled_gradient, moving_average_, moving_average_of_squares_
from .rule import update_rule
from .validation import check_eps, check_flags, check_lr, check_nonnegative

__all__ = ["rmsprop", "check_rmsprop", "RMSprop"]


def init_rmsprop_state(param, state: dict, *, momentum: float = 0.0, centered: bool = False,
                       **_) -> None:
    """The state before the first step, created as ``torch.optim.RMSprop`` creates it."""
    state["step"] = step_counter(param)
    state["square_avg"] = zeros_like(param)
    if momentum > 0:
        state["momentum_buffer"] = zeros_like(param)
    if centered:
        state["grad_avg"] = zeros_like(param)


def check_rmsprop(lr, alpha, eps, weight_decay, momentum, **_) -> None:
    """Raise ``ValueError`` (torch's wording) for invalid RMSprop hyperparameters."""
    check_lr(lr, reject_nan=True)
    check_eps(eps)
    check_nonnegative(momentum, "momentum", reject_nan=True)
    check_nonnegative(weight_decay, "weight_decay", reject_nan=True)
    check_nonnegative(alpha, "alpha", reject_nan=True)


@update_rule(check=check_rmsprop, init_state=init_rmsprop_state)
def rmsprop(param, grad, state: dict, *, lr: float, alpha: float = 0.99, eps: float = 1e-8,
            weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
            maximize: bool = False) -> None:
    r"""One RMSProp step on ``param``, in place (NumPy array, torch tensor or TensorList).

    Parameters
    ----------
    param : array of any shape, updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict for this parameter; holds ``"step"``, ``"square_avg"``, and
        ``"momentum_buffer"`` (momentum) and ``"grad_avg"`` (centered).
    lr, alpha, eps, weight_decay, momentum, centered, maximize : as in ``torch.optim.RMSprop``.
    """
    if not state:
        init_rmsprop_state(param, state, momentum=momentum, centered=centered)
    g = coupled_gradient(grad, param, weight_decay, maximize)
    state["step"] += 1
    param, g = real_view(param), real_view(g)
    square_avg = real_view(state["square_avg"])
    moving_average_of_squares_(square_avg, g, alpha)     # v <- a v + (1 - a) g^2
    if centered:
        if "grad_avg" not in state:
            state["grad_avg"] = zeros_like(state["square_avg"])
        grad_avg = moving_average_(real_view(state["grad_avg"]), g, alpha)
        avg = sqrt_(addcmul(square_avg, grad_avg, grad_avg, value=-1))  # sqrt(v - m^2)
    else:
        avg = sqrt(square_avg)
    avg += eps                          # eps outside the root
    if momentum > 0:
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = zeros_like(state["square_avg"])
        buf = real_view(state["momentum_buffer"])
        buf *= momentum
        addcdiv_(buf, g, avg)           # b <- mu b + g / s
        add_(param, buf, alpha=-lr)
    else:
        addcdiv_(param, g, avg, value=-lr)


class RMSprop(RuleOptimizer):
    """``torch.optim.RMSprop`` re-implemented on the rule :func:`rmsprop`.

    Same constructor (parameters in torch's order, none keyword-only), defaults
    (``lr=1e-2``, ``alpha=0.99``, ``eps=1e-8``), validation messages, param groups, closure,
    hooks and state dict (torch's keys) as torch 2.13's class, bit-identical steps.
    """

    rule = rmsprop
    foreach_reads = ()

    def __init__(self, params, lr=1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False):
        defaults = rmsprop.validate(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                    momentum=momentum, centered=centered, maximize=maximize)
        check_flags(foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, dict(defaults, capturable=capturable, foreach=foreach,
                                      differentiable=differentiable))
