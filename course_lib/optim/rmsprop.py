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

State (torch's names in brackets): ``"t"`` the step count, a Python ``int`` [``step``],
``"v"`` [``square_avg``], ``"m"`` when centered [``grad_avg``], ``"b"`` when
``momentum > 0`` [``momentum_buffer``].
"""

from __future__ import annotations

from ..arrays import add_, addcdiv_, sqrt, zeros_like
from .base import RuleOptimizer, coupled_gradient
from .validation import check_eps, check_lr, check_nonnegative

__all__ = ["rmsprop", "check_rmsprop", "RMSprop"]


def rmsprop(param, grad, state: dict, *, lr: float, alpha: float = 0.99, eps: float = 1e-8,
            weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
            maximize: bool = False) -> None:
    r"""One RMSProp step on ``param``, in place (NumPy array or torch tensor).

    Parameters
    ----------
    param : array of any shape, updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict for this parameter; holds ``"t"``, ``"v"``, and ``"m"`` (centered) and
        ``"b"`` (momentum) once a step that needs them has run.
    lr, alpha, eps, weight_decay, momentum, centered, maximize : as in ``torch.optim.RMSprop``.
    """
    g = coupled_gradient(grad, param, weight_decay, maximize)
    if not state:
        state["t"] = 0
        state["v"] = zeros_like(param)
    state["t"] += 1
    v = state["v"]
    v *= alpha
    v += (1 - alpha) * g * g
    if centered:
        m = state.get("m")
        if m is None:
            m = state["m"] = zeros_like(param)
        m *= alpha
        add_(m, g, alpha=1 - alpha)
        s = v - m * m                   # estimate of the variance of g
        s **= 0.5                       # in place square root
    else:
        s = sqrt(v)
    s += eps                            # eps outside the root
    if momentum > 0:
        b = state.get("b")
        if b is None:
            b = state["b"] = zeros_like(param)
        b *= momentum
        addcdiv_(b, g, s)
        add_(param, b, alpha=-lr)
    else:
        addcdiv_(param, g, s, value=-lr)


def check_rmsprop(lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                  maximize=False) -> None:
    """Raise ``ValueError`` (torch's wording) for invalid RMSprop hyperparameters."""
    check_lr(lr, reject_nan=True)
    check_eps(eps)
    check_nonnegative(momentum, "momentum", reject_nan=True)
    check_nonnegative(weight_decay, "weight_decay", reject_nan=True)
    check_nonnegative(alpha, "alpha", reject_nan=True)


rmsprop.check = check_rmsprop


class RMSprop(RuleOptimizer):
    """``torch.optim.RMSprop`` re-implemented on the rule :func:`rmsprop`.

    Same constructor, defaults (``lr=1e-2``, ``alpha=0.99``, ``eps=1e-8``), validation
    messages, param groups, closure and state-dict behaviour as torch 2.13's class for the
    options ``lr``, ``alpha``, ``eps``, ``weight_decay``, ``momentum``, ``centered`` and
    ``maximize`` (keyword-only here). The per-parameter state holds ``"t"``, ``"v"``, and
    ``"m"`` / ``"b"`` when centered / with momentum.
    """

    rule = staticmethod(rmsprop)

    def __init__(self, params, lr=1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False):
        check_rmsprop(lr, alpha, eps, weight_decay, momentum, centered, maximize)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)
