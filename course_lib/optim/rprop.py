r"""Rprop: resilient backpropagation (Riedmiller & Braun, 1993), PyTorch's convention.

Every coordinate :math:`i` keeps its own step size :math:`\Delta_{t,i}` and moves by it
against the *sign* of its gradient; the size grows by :math:`\eta^+` while the sign of the
gradient stays the same and shrinks by :math:`\eta^-` when it flips (the last step jumped over
a minimum along that coordinate). With :math:`g_t = \pm\nabla f(\theta_{t-1})`, from
:math:`\Delta_0 = \eta` (the learning rate) and :math:`g_0 = 0`:

.. math::

    s_{t,i} &= \operatorname{sign}(g_{t,i}\, g_{t-1,i}),\qquad
    \Delta_{t,i} = \operatorname{clip}\Bigl(\Delta_{t-1,i}\cdot
      \begin{cases}\eta^+ & s_{t,i} > 0\\ \eta^- & s_{t,i} < 0\\ 1 & s_{t,i} = 0\end{cases},\;
      \Delta_{\min}, \Delta_{\max}\Bigr)\\
    g_{t,i} &\leftarrow 0 \quad\text{if } s_{t,i} < 0\\
    \theta_{t,i} &\leftarrow \theta_{t-1,i} - \operatorname{sign}(g_{t,i})\,\Delta_{t,i}

Conventions:

* This is Igel & Hüsken's (2000) iRprop\ :sup:`-`: after a sign flip the step size shrinks
  and the gradient is set to 0, so the coordinate does not move at this step and, since the
  stored gradient is then 0, the next step keeps its size. Riedmiller & Braun's original
  Rprop zeroes the gradient too but also *undoes* the previous step of that coordinate
  (weight backtracking); PyTorch does not backtrack.
* The learning rate is only the initial step size :math:`\Delta_0`; changing ``lr`` in a
  param group after the first step has no effect (the step sizes live in the state).
* Rprop uses only signs, so it is meant for full-batch gradients; with mini-batches the
  sign flips are noise.

State (torch's keys): ``"step"`` :math:`t` (a 0-d tensor in the class, an ``int`` on the
NumPy path), ``"prev"`` :math:`g_{t}` after the zeroing (the gradient of the last step),
``"step_size"`` :math:`\Delta_t`. Complex parameters: real and imaginary parts are two
coordinates (``torch.view_as_real``); the step sizes start at :math:`\eta + \eta i`.
"""

from __future__ import annotations

import numpy as np
import torch

from ..arrays import TensorList, addcmul_, full_like, real_view, step_counter, zeros_like
from .base import RuleOptimizer, to_scalar
from .rule import update_rule
from .validation import check_flags, check_lr

__all__ = ["rprop", "check_rprop", "init_rprop_state", "Rprop"]


def init_rprop_state(param, state: dict, *, lr, **_) -> None:
    """The state before the first step, created as ``torch.optim.Rprop`` creates it:
    ``prev`` zeros, every step size equal to ``lr``."""
    state["step"] = step_counter(param)
    state["prev"] = zeros_like(param)
    state["step_size"] = full_like(param, to_scalar(lr))


# --- element-wise pieces torch writes with masks and clamps (NumPy / tensor / TensorList) ---

def _sign(x):
    if isinstance(x, TensorList):
        return TensorList(torch._foreach_sign(x.tensors))
    return x.sign() if isinstance(x, torch.Tensor) else np.sign(x)


def _sign_factors_(sign, etaminus: float, etaplus: float):
    """In place: ``etaplus`` where ``sign > 0``, ``etaminus`` where ``sign < 0``, 1 where 0
    (torch's three masked assignments, in torch's order)."""
    for s in (sign.tensors if isinstance(sign, TensorList) else [sign]):
        s[s > 0] = etaplus
        s[s < 0] = etaminus
        s[s == 0] = 1
    return sign


def _clamp_(x, low, high):
    for t in (x.tensors if isinstance(x, TensorList) else [x]):
        if isinstance(t, torch.Tensor):
            t.clamp_(low, high)
        else:
            np.clip(t, low, high, out=t)
    return x


def _zero_where_(x, sign, value):
    """In place ``x[sign == value] = 0``; returns ``x``."""
    pairs = zip(x.tensors, sign.tensors) if isinstance(x, TensorList) else [(x, sign)]
    for t, s in pairs:
        t[s == value] = 0
    return x


def _copy_(out, x):
    if isinstance(out, TensorList):
        torch._foreach_copy_(out.tensors, x.tensors)
    elif isinstance(out, torch.Tensor):
        out.copy_(x)
    else:
        np.copyto(out, x)
    return out


def check_rprop(lr, etas, **_) -> None:
    """Raise ``ValueError`` (torch's wording) for invalid Rprop hyperparameters."""
    check_lr(lr, reject_nan=True)
    if not 0.0 < etas[0] < 1.0 < etas[1]:
        raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")


@update_rule(check=check_rprop, init_state=init_rprop_state)
def rprop(param, grad, state: dict, *, lr: float, etas=(0.5, 1.2), step_sizes=(1e-6, 50),
          maximize: bool = False) -> None:
    r"""One Rprop step on ``param``, in place (NumPy array, torch tensor or TensorList).

    Parameters
    ----------
    param : array of any shape, updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict for this parameter; holds ``"step"``, ``"prev"`` and ``"step_size"``
        (created at the first step, the step sizes equal to ``lr``).
    lr : the initial step size :math:`\Delta_0` (read at the first step only).
    etas : :math:`(\eta^-, \eta^+)`, the factors for a sign flip and for a kept sign.
    step_sizes : :math:`(\Delta_{\min}, \Delta_{\max})`.
    maximize : ascend instead of descend.
    """
    etaminus, etaplus = etas
    step_size_min, step_size_max = step_sizes
    if not state:
        init_rprop_state(param, state, lr=lr)
    g = -grad if maximize else grad
    state["step"] += 1
    param, g = real_view(param), real_view(g)
    prev, step_size = real_view(state["prev"]), real_view(state["step_size"])
    sign = _sign(g * prev)
    _sign_factors_(sign, etaminus, etaplus)
    step_size *= sign
    _clamp_(step_size, step_size_min, step_size_max)
    g = g * 1 if isinstance(g, TensorList) else (g.clone() if isinstance(g, torch.Tensor)
                                                 else g.copy())
    _zero_where_(g, sign, etaminus)     # after a sign flip: no move, and no flip next time
    addcmul_(param, _sign(g), step_size, value=-1)
    _copy_(prev, g)


class Rprop(RuleOptimizer):
    """``torch.optim.Rprop`` re-implemented on the rule :func:`rprop`.

    Same constructor, defaults (``lr=1e-2``, ``etas=(0.5, 1.2)``, ``step_sizes=(1e-6, 50)``),
    validation messages, param groups, closure, hooks and state dict (torch's keys) as torch
    2.13's class, bit-identical steps (``foreach=True`` too).
    """

    rule = rprop
    sparse_message = "Rprop does not support sparse gradients"

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable: bool = False, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False):
        rprop.validate(lr=lr, etas=etas, step_sizes=step_sizes, maximize=maximize)
        check_flags(foreach=foreach, capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)
