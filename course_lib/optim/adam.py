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

State (torch's keys, so checkpoints interchange with ``torch.optim.Adam``): ``"step"``
:math:`t` (a 0-d float32 tensor in the classes -- float64 if that is torch's default dtype --
and an ``int`` on the NumPy path), ``"exp_avg"`` :math:`m_t`, ``"exp_avg_sq"`` :math:`v_t`,
and ``"max_exp_avg_sq"`` :math:`v^{\max}_t` when ``amsgrad``.

Complex parameters are updated as torch does: every element-wise operation after the weight
decay acts on ``torch.view_as_real`` (real and imaginary parts as two real numbers), so
:math:`g^2` is :math:`(\mathrm{Re}\,g)^2, (\mathrm{Im}\,g)^2`, not :math:`g\cdot g`.
"""

from __future__ import annotations

import torch

from ..arrays import (
    addcdiv_,
    item,
    maximum_,
    real_view,
    scalar_like,
    sqrt,
    step_counter,
    zeros_like,
)
from .base import RuleOptimizer, to_scalar
from .common import bias_correction, coupled_gradient, moving_average_, moving_average_of_squares_
from .rule import update_rule
from .validation import check_adam_like, check_flags

__all__ = ["adam", "check_adam", "Adam", "AdamW"]


def init_adam_state(param, state: dict, *, amsgrad: bool = False, **_) -> None:
    """The state before the first step, created as ``torch.optim.Adam`` creates it."""
    state["step"] = step_counter(param)
    state["exp_avg"] = zeros_like(param)
    state["exp_avg_sq"] = zeros_like(param)
    if amsgrad:
        state["max_exp_avg_sq"] = zeros_like(param)


def check_adam(lr, betas, eps, weight_decay, **_) -> None:
    """Raise ``ValueError`` (torch's wording) for invalid Adam/AdamW hyperparameters: the
    family's checks, then Adam's own rules for tensor betas."""
    check_adam_like(lr, betas, eps, weight_decay)
    beta1, beta2 = betas
    if not ((isinstance(beta1, float) and isinstance(beta2, float))
            or (isinstance(beta1, torch.Tensor) and isinstance(beta2, torch.Tensor))):
        raise ValueError("betas must be either both floats or both Tensors")
    for index, beta in enumerate(betas):
        if isinstance(beta, torch.Tensor) and beta.numel() != 1:
            raise ValueError(f"Tensor betas[{index}] must be 1-element")


_TENSOR_LR_FOREACH = "lr as a Tensor is not supported for capturable=False and foreach=True"


@update_rule(check=check_adam, init_state=init_adam_state)
def adam(param, grad, state: dict, *, lr: float, betas=(0.9, 0.999), eps: float = 1e-8,
         weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False,
         decoupled_weight_decay: bool = False) -> None:
    r"""One Adam (or AMSGrad, or AdamW) step on ``param``, in place (NumPy array, torch
    tensor or TensorList).

    Parameters
    ----------
    param : array of any shape, updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict for this parameter; holds ``"step"``, ``"exp_avg"``, ``"exp_avg_sq"`` and,
        with ``amsgrad``, ``"max_exp_avg_sq"`` (created at the first step).
    lr, betas, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay : as in
        ``torch.optim.Adam``; AdamW is ``decoupled_weight_decay=True``.
    """
    beta1, beta2 = betas
    if not state:
        init_adam_state(param, state, amsgrad=amsgrad)
    g = coupled_gradient(grad, param, weight_decay, maximize,
                         decoupled=decoupled_weight_decay, lr=lr)
    state["step"] += 1
    param, g = real_view(param), real_view(g)
    exp_avg, exp_avg_sq = real_view(state["exp_avg"]), real_view(state["exp_avg_sq"])
    moving_average_(exp_avg, g, scalar_like(beta1, param))   # m <- b1 m + (1 - b1) g
    moving_average_of_squares_(exp_avg_sq, g, beta2)         # v <- b2 v + (1 - b2) g^2
    step = item(state["step"])
    step_size = lr / bias_correction(beta1, step)
    bias_correction2_sqrt = bias_correction(beta2, step) ** 0.5
    if amsgrad:
        denom = sqrt(maximum_(real_view(state["max_exp_avg_sq"]), exp_avg_sq))
    else:
        denom = sqrt(exp_avg_sq)
    denom /= bias_correction2_sqrt
    denom += eps                        # sqrt(v_hat) + eps: eps outside the root
    addcdiv_(param, exp_avg, denom, value=-step_size)


class Adam(RuleOptimizer):
    """``torch.optim.Adam`` re-implemented on the rule :func:`adam`.

    Same constructor, defaults (``lr=1e-3``, ``betas=(0.9, 0.999)``, ``eps=1e-8``), validation
    messages, param groups, closure, hooks and state dict (torch's keys) as torch 2.13's
    class, bit-identical steps (``foreach=True`` too). Implementation switches: see
    :func:`course_lib.optim.validation.check_flags`.
    """

    rule = adam
    foreach_tensor_lr_message = _TENSOR_LR_FOREACH
    sparse_message = "Adam does not support sparse gradients, please consider SparseAdam instead"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False):
        check_flags(foreach=foreach, capturable=capturable, differentiable=differentiable,
                    fused=fused)
        if isinstance(lr, torch.Tensor) and foreach:
            raise ValueError(_TENSOR_LR_FOREACH)
        defaults = adam.validate(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                 amsgrad=amsgrad, maximize=maximize,
                                 decoupled_weight_decay=decoupled_weight_decay)
        for index, beta in enumerate(betas):
            if isinstance(beta, torch.Tensor) and foreach:
                raise ValueError(f"betas[{index}] as a Tensor is not supported for "
                                 "capturable=False and foreach=True")
        defaults["betas"] = tuple(map(to_scalar, betas))
        super().__init__(params, dict(defaults, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused))

    def hyperparameters(self, group: dict) -> dict:
        """As the base class, with tensor betas made 0-d (torch's ``_to_scalar``)."""
        hyper = super().hyperparameters(group)
        hyper["betas"] = tuple(map(to_scalar, hyper["betas"]))
        return hyper


class AdamW(Adam):
    """``torch.optim.AdamW``: :class:`Adam` with decoupled weight decay (default ``1e-2``).

    The rule is :func:`adam` with ``decoupled_weight_decay=True``; there is no second
    definition of the method. As in torch, loading any state dict (an Adam one included)
    keeps the decay decoupled.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
