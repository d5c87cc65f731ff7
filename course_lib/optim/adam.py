r"""Adam, AMSGrad and AdamW (Kingma & Ba, 2015; Reddi et al., 2018; Loshchilov & Hutter, 2019),
PyTorch's convention.

The update, for gradient :math:`g_t` at :math:`\theta_{t-1}`, learning rate :math:`\eta`,
averaging coefficients :math:`\beta_1, \beta_2`, :math:`\epsilon` and weight decay
:math:`\lambda`, from :math:`m_0 = v_0 = v^{\max}_0 = 0`:

.. math::

    g_t &\leftarrow \pm\nabla f(\theta_{t-1})\;\bigl[{}+ \lambda\,\theta_{t-1}\bigr]
          \qquad(\text{minus sign when maximizing; } \lambda\text{-term only when coupled})\\
    \theta_{t-1} &\leftarrow (1 - \eta\lambda)\,\theta_{t-1}
          \qquad(\text{only when decoupled: AdamW})\\
    m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t\\
    v_t &\leftarrow \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2\\
    v^{\max}_t &\leftarrow \max(v^{\max}_{t-1}, v_t)
          \qquad(\text{AMSGrad; then } v^{\max}_t \text{ replaces } v_t \text{ below})\\
    \theta_t &\leftarrow \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\,
          \frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}

Conventions:

* **Both moments are bias-corrected**: :math:`\hat m_t = m_t/(1-\beta_1^t)` and
  :math:`\hat v_t = v_t/(1-\beta_2^t)` undo the shrinkage towards the zero initialization, so
  the first step is :math:`-\eta\, g_1/(|g_1| + \epsilon) \approx -\eta\,\mathrm{sign}(g_1)`
  whatever the scale of :math:`g_1`. Without the correction it would be
  :math:`(1-\beta_1)/\sqrt{1-\beta_2}\approx 3.16` times larger for the defaults.
* :math:`\epsilon` sits **outside** the square root and is added to :math:`\sqrt{\hat v_t}`,
  i.e. after the bias correction (Kingma & Ba's Algorithm 1), not to :math:`\sqrt{v_t}`.
* AMSGrad keeps the running maximum of the *uncorrected* :math:`v_t` and divides it by the
  current :math:`1-\beta_2^t`, as PyTorch does; Reddi et al.'s AMSGrad has no bias correction.
* Weight decay is **coupled** by default (an L2 term added to :math:`g_t`, so it is averaged
  into :math:`m` and normalized by :math:`\sqrt{v}`). With ``decoupled_weight_decay=True``
  (the class :class:`AdamW`) the parameters shrink by the factor :math:`1-\eta\lambda` before
  the Adam step instead, as in ``torch.optim.AdamW``; note that PyTorch multiplies
  :math:`\lambda` by the learning rate, while Loshchilov & Hutter multiply it by the schedule
  factor only.

State (torch's names in brackets): ``"t"`` the step count, a Python ``int`` [``step``, a
0-d tensor], ``"m"`` [``exp_avg``], ``"v"`` [``exp_avg_sq``], ``"v_max"``
[``max_exp_avg_sq``] when ``amsgrad``.
"""

from __future__ import annotations

import torch

from ..arrays import add_, addcdiv_, maximum_, sqrt, zeros_like
from .base import RuleOptimizer
from .validation import check_betas, check_eps, check_lr, check_nonnegative

__all__ = ["adam", "check_adam", "Adam", "AdamW"]


def adam(param, grad, state: dict, *, lr: float, betas=(0.9, 0.999), eps: float = 1e-8,
         weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False,
         decoupled_weight_decay: bool = False) -> None:
    r"""One Adam (or AMSGrad, or AdamW) step on ``param``, in place (NumPy array or tensor).

    Parameters
    ----------
    param : array of any shape, updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict for this parameter; holds ``"t"``, ``"m"``, ``"v"`` and, with ``amsgrad``,
        ``"v_max"`` (created at the first step).
    lr, betas, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay : as in
        ``torch.optim.Adam``; AdamW is ``decoupled_weight_decay=True``.
    """
    beta1, beta2 = betas
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * param
    if not state:
        state["t"] = 0
        state["m"] = zeros_like(param)
        state["v"] = zeros_like(param)
    if amsgrad and "v_max" not in state:
        state["v_max"] = zeros_like(param)
    t = state["t"] = state["t"] + 1
    m, v = state["m"], state["v"]
    m *= beta1
    add_(m, g, alpha=1 - beta1)
    v *= beta2
    v += (1 - beta2) * g * g
    if amsgrad:
        v = maximum_(state["v_max"], v)
    bias_correction1 = 1 - beta1**t
    bias_correction2 = 1 - beta2**t
    denom = sqrt(v)
    denom /= bias_correction2**0.5
    denom += eps                        # sqrt(v_hat) + eps: eps outside the root
    addcdiv_(param, m, denom, value=-lr / bias_correction1)


def check_adam(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
               maximize=False, decoupled_weight_decay=False) -> None:
    """Raise ``ValueError`` (torch's wording) for invalid Adam/AdamW hyperparameters."""
    check_lr(lr, reject_nan=True)
    check_eps(eps)
    check_betas(betas)
    check_nonnegative(weight_decay, "weight_decay", reject_nan=True)
    beta1, beta2 = betas
    if not ((isinstance(beta1, float) and isinstance(beta2, float))
            or (isinstance(beta1, torch.Tensor) and isinstance(beta2, torch.Tensor))):
        raise ValueError("betas must be either both floats or both Tensors")
    for index, beta in enumerate(betas):
        if isinstance(beta, torch.Tensor) and beta.numel() != 1:
            raise ValueError(f"Tensor betas[{index}] must be 1-element")


adam.check = check_adam


def _scalar(beta):
    """torch's ``_to_scalar``: a 1-element tensor becomes 0-d; a float stays a float."""
    return beta.squeeze() if isinstance(beta, torch.Tensor) and beta.dim() != 0 else beta


class Adam(RuleOptimizer):
    """``torch.optim.Adam`` re-implemented on the rule :func:`adam`.

    Same constructor, defaults (``lr=1e-3``, ``betas=(0.9, 0.999)``, ``eps=1e-8``), validation
    messages, param groups, closure and state-dict behaviour as torch 2.13's class for the
    options ``lr``, ``betas``, ``eps``, ``weight_decay``, ``amsgrad``, ``maximize`` and
    ``decoupled_weight_decay``. The per-parameter state holds ``"t"``, ``"m"``, ``"v"`` (and
    ``"v_max"``).
    """

    rule = staticmethod(adam)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False):
        check_adam(lr, betas, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay)
        defaults = dict(lr=lr, betas=tuple(map(_scalar, betas)), eps=eps,
                        weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)


class AdamW(Adam):
    """``torch.optim.AdamW``: :class:`Adam` with decoupled weight decay (default ``1e-2``).

    The rule is :func:`adam` with ``decoupled_weight_decay=True``; there is no second
    definition of the method.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
