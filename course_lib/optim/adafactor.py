r"""Adafactor (Shazeer & Stern, 2018) as ``torch.optim.Adafactor`` implements it.

Adafactor keeps, for an :math:`n\times m` weight matrix, only the row and column means of the
squared gradients (:math:`n + m` numbers instead of Adam's :math:`nm`) and rebuilds the
second moment as their rank-1 product. With :math:`G_t = \pm\nabla f(\theta_{t-1})`, decay
exponent :math:`\tau` (``beta2_decay``, default :math:`-0.8`), :math:`\epsilon_1,
\epsilon_2` (``eps``), clipping threshold :math:`d` and learning rate :math:`\eta`, from
:math:`R_0 = C_0 = \hat V_0 = 0`:

.. math::

    1-\hat\beta_{2,t} &= t^{\tau}, \qquad \rho_t = \min\bigl(\eta, 1/\sqrt t\bigr), \qquad
    \alpha_t = \max\bigl(\epsilon_2, \mathrm{RMS}(\theta_{t-1})\bigr)\,\rho_t\\
    \theta_{t-1} &\leftarrow (1-\eta\lambda)\,\theta_{t-1}
        \qquad(\text{decoupled weight decay } \lambda)\\
    R_t &\leftarrow \hat\beta_{2,t} R_{t-1} + (1-\hat\beta_{2,t})\,
        \tfrac1m (G_t\odot G_t)\,\mathbf 1_m, \qquad
    C_t \leftarrow \hat\beta_{2,t} C_{t-1} + (1-\hat\beta_{2,t})\,
        \tfrac1n \mathbf 1_n^\top (G_t\odot G_t)\\
    \hat V_t &= \frac{R_t\, C_t}{\max\bigl(\tfrac1n\mathbf 1_n^\top R_t,\ \epsilon_1\bigr)}
        \qquad(\text{a vector or scalar parameter keeps } \hat V_t \text{ itself:
        } \hat V_t \leftarrow \hat\beta_{2,t}\hat V_{t-1} + (1-\hat\beta_{2,t})\,G_t^2)\\
    U_t &= \frac{G_t}{\sqrt{\max(\hat V_t, \epsilon_1^2)}}, \qquad
    \theta_t \leftarrow \theta_{t-1} - \frac{\alpha_t}{\max\bigl(1, \mathrm{RMS}(U_t)/d\bigr)}\,
        U_t

with :math:`\mathrm{RMS}(x) = \|x\|_2/\sqrt{\mathrm{numel}(x)}`. A tensor of more than two
dimensions is factored over its last two (its leading dimensions are a batch of matrices).
:math:`R_t C_t / (\mathbf 1^\top R_t)` is the rank-1 matrix that minimizes the generalized
Kullback–Leibler divergence to the (averaged) :math:`G\odot G`, whose row and column sums it
reproduces (Shazeer & Stern, §3).

Torch's Adafactor compared with Shazeer & Stern's Algorithms 4--5 and their
defaults:

* **Relative step size** :math:`\rho_t = \min(\eta, 1/\sqrt t)`: the paper caps it at the
  constant :math:`10^{-2}` and has no learning rate; torch uses ``lr`` (default
  :math:`10^{-2}`, so the same by default) as the cap, and for the weight decay.
* **Increasing** :math:`\hat\beta_{2,t} = 1 - t^{\tau}`, as the paper proposes (§7.2,
  :math:`1 - t^{-0.8}`), and like the paper no bias correction: :math:`\hat\beta_{2,1} = 0`,
  so the first step's second moment is :math:`G_1\odot G_1` itself.
* **No first moment** (:math:`\beta_1 = 0`, the paper's recommended setting); torch offers no
  momentum option.
* **Update clipping** :math:`U_t/\max(1, \mathrm{RMS}(U_t)/d)` with :math:`d = 1`, as the paper.
* **Where** :math:`\epsilon_1` **enters**: the paper adds :math:`\epsilon_1 = 10^{-30}` to
  :math:`G\odot G` before the row/column averages; torch leaves the factors alone and clamps
  the row-mean normalizer and :math:`\hat V_t` from below (by :math:`\epsilon_1` and
  :math:`\epsilon_1^2`); :math:`\epsilon_1` defaults to the machine epsilon of the parameter's
  dtype (``eps=(None, 1e-3)``). Torch also uses means where the paper writes sums (the same
  :math:`\hat V_t`, better scaled).
* **Weight decay** (not in the paper) is decoupled and multiplied by ``lr``, as AdamW.

State (torch's keys): ``"step"`` :math:`t` (a 0-d tensor in the class, an ``int`` on the
NumPy path), ``"row_var"`` :math:`R_t` (shape ``(..., n, 1)``) and ``"col_var"``
:math:`C_t` (shape ``(..., 1, m)``) for a tensor of two or more dimensions, ``"variance"``
:math:`\hat V_t` for a vector or a scalar. Complex parameters and sparse gradients raise, as
in torch.
"""

from __future__ import annotations

import numpy as np
import torch

from ..arrays import TensorList, add_, item, lerp_, step_counter, zeros_like
from .base import RuleOptimizer
from .rule import update_rule
from .validation import check_flags

__all__ = ["adafactor", "check_adafactor", "init_adafactor_state", "Adafactor"]


def init_adafactor_state(param, state: dict, **_) -> None:
    """The state before the first step, created as ``torch.optim.Adafactor`` creates it:
    row and column factors for a tensor of two or more dimensions, a full second moment
    for a vector or a scalar."""
    state["step"] = step_counter(param)
    if param.ndim > 1:
        row_shape, col_shape = list(param.shape), list(param.shape)
        row_shape[-1] = 1
        col_shape[-2] = 1
        if isinstance(param, torch.Tensor):
            state["row_var"] = param.new_zeros(row_shape)
            state["col_var"] = param.new_zeros(col_shape)
        else:
            state["row_var"] = np.zeros(row_shape, dtype=param.dtype)
            state["col_var"] = np.zeros(col_shape, dtype=param.dtype)
    else:
        state["variance"] = zeros_like(param)


# --- reductions and clamps (NumPy and torch spell them differently) -----------------------

def _norm(x) -> float:
    """:math:`\\|x\\|_2` as a Python number (torch: ``x.norm(2).item()``)."""
    if isinstance(x, torch.Tensor):
        return x.norm(2).item()
    return float(np.linalg.norm(np.ravel(x)))


def _numel(x) -> int:
    return x.numel() if isinstance(x, torch.Tensor) else np.size(x)


def _mean_square(g, dim: int):
    """Mean of ``g * g`` over ``dim`` (kept), as torch forms it without a ``g``-sized
    temporary: ``norm(g, dim).square_().div_(size)``."""
    if isinstance(g, torch.Tensor):
        return torch.norm(g, dim=dim, keepdim=True).square_().div_(g.size(dim))
    out = np.linalg.norm(g, axis=dim, keepdims=True)
    out *= out
    out /= g.shape[dim]
    return out


def _row_mean(x):
    if isinstance(x, torch.Tensor):
        return x.mean(dim=-2, keepdim=True)
    return x.mean(axis=-2, keepdims=True)


def _clamp_min_(x, low):
    if isinstance(x, torch.Tensor):
        return x.clamp_(min=low)
    return np.maximum(x, low, out=x)


def _rsqrt_(x):
    if isinstance(x, torch.Tensor):
        return x.rsqrt_()
    np.sqrt(x, out=x)
    return np.divide(1.0, x, out=x)


def _clone(x):
    return x.clone() if isinstance(x, torch.Tensor) else np.array(x, copy=True)


def _machine_eps(x) -> float:
    return torch.finfo(x.dtype).eps if isinstance(x, torch.Tensor) else \
        float(np.finfo(x.dtype).eps)


def check_adafactor(lr, beta2_decay, eps, d, weight_decay, **_) -> None:
    """Raise ``ValueError`` (torch's wording) for invalid Adafactor hyperparameters."""
    if isinstance(lr, torch.Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
    if not 0.0 >= beta2_decay:
        raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
    if eps[0] is not None and not 0.0 <= eps[0]:
        raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
    if not 0.0 <= eps[1]:
        raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
    if not 1.0 <= d:
        raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")


@update_rule(check=check_adafactor, init_state=init_adafactor_state)
def adafactor(param, grad, state: dict, *, lr: float = 1e-2, beta2_decay: float = -0.8,
              eps=(None, 1e-3), d: float = 1.0, weight_decay: float = 0.0,
              maximize: bool = False) -> None:
    r"""One Adafactor step on ``param``, in place (NumPy array, torch tensor or TensorList;
    real dtypes only).

    Parameters
    ----------
    param : array of any shape, updated in place; two or more dimensions are factored over
        the last two.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict for this parameter; holds ``"step"`` and ``"row_var"``, ``"col_var"`` (two
        or more dimensions) or ``"variance"`` (created at the first step).
    lr : :math:`\eta`, the cap of the relative step size :math:`\rho_t` and the weight-decay
        scale (torch's use; the paper has no learning rate).
    beta2_decay : :math:`\tau`, with :math:`1-\hat\beta_{2,t} = t^\tau`.
    eps : :math:`(\epsilon_1, \epsilon_2)`; ``None`` for :math:`\epsilon_1` is the machine
        epsilon of ``param``'s dtype.
    d : the update-clipping threshold.
    weight_decay, maximize : as in ``torch.optim.Adafactor``.
    """
    if not state:
        init_adafactor_state(param, state)
    eps1, eps2 = eps
    if isinstance(param, TensorList):
        # torch's multi-tensor Adafactor: the same per-tensor operations, with the last
        # scaling done as update *= -alpha / denom; param += update
        g = -grad if maximize else grad
        state["step"] += 1
        layout = [state[k].tensors if k in state else [None] * len(param)
                  for k in ("row_var", "col_var", "variance")]
        for i, (p, gi, s) in enumerate(zip(param, g, state["step"].tensors)):
            _adafactor_tensor(p, gi, layout[0][i], layout[1][i], layout[2][i], s.item(),
                              lr=lr, beta2_decay=beta2_decay, eps1=eps1, eps2=eps2, d=d,
                              weight_decay=weight_decay, foreach=True)
        return
    g = -grad if maximize else grad
    state["step"] += 1
    _adafactor_tensor(param, g, state.get("row_var"), state.get("col_var"),
                      state.get("variance"), item(state["step"]), lr=lr,
                      beta2_decay=beta2_decay, eps1=eps1, eps2=eps2, d=d,
                      weight_decay=weight_decay, foreach=False)


def _adafactor_tensor(param, g, row_var, col_var, variance, step, *, lr, beta2_decay, eps1,
                      eps2, d, weight_decay, foreach):
    """The step of one array after its step count was advanced (torch's operations)."""
    if eps1 is None:
        eps1 = _machine_eps(param)
    one_minus_beta2_t = step**beta2_decay           # 1 - beta2_hat_t = t^tau
    rho_t = min(lr, 1 / (step**0.5))                 # relative step size
    alpha = max(eps2, _norm(param) / (_numel(param) ** 0.5)) * rho_t   # times RMS(theta)
    if weight_decay != 0:
        param *= 1 - lr * weight_decay
    if g.ndim > 1:
        lerp_(row_var, _mean_square(g, -1), one_minus_beta2_t)   # R_t (row means)
        lerp_(col_var, _mean_square(g, -2), one_minus_beta2_t)   # C_t (column means)
        var_estimate = row_var @ col_var
        var_estimate /= _clamp_min_(_row_mean(row_var), eps1)    # R C / mean(R)
    else:
        lerp_(variance, g * g, one_minus_beta2_t)
        var_estimate = _clone(variance)
    update = _rsqrt_(_clamp_min_(var_estimate, eps1 * eps1))
    update *= g                                     # U_t = G / sqrt(V_hat)
    denom = max(1.0, _norm(update) / ((_numel(update) ** 0.5) * d))   # update clipping
    if foreach:
        update *= -alpha / denom
        param += update
    else:
        add_(param, update, alpha=-alpha / denom)


class Adafactor(RuleOptimizer):
    """``torch.optim.Adafactor`` re-implemented on the rule :func:`adafactor`.

    Same constructor, defaults (``lr=1e-2``, ``beta2_decay=-0.8``, ``eps=(None, 1e-3)``,
    ``d=1.0``), validation messages, param groups, closure, hooks and state dict (torch's
    keys) as torch 2.13's class, bit-identical steps (``foreach=True`` too). As in torch,
    ``eps=(None, ...)`` takes :math:`\\epsilon_1` from the dtype of the group's first
    parameter with a gradient, for the whole group.
    """

    rule = adafactor

    def __init__(self, params, lr=1e-2, beta2_decay: float = -0.8, eps=(None, 1e-3),
                 d: float = 1.0, weight_decay: float = 0.0, *, foreach: bool | None = None,
                 maximize: bool = False):
        adafactor.validate(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d,
                           weight_decay=weight_decay, maximize=maximize)
        check_flags(foreach=foreach)
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d,
                        weight_decay=weight_decay, foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def hyperparameters(self, group: dict) -> dict:
        """As the base class; raises torch's errors for complex parameters and sparse
        gradients, and fills :math:`\\epsilon_1` as torch does."""
        hyper = super().hyperparameters(group)
        first = None
        for p in group["params"]:
            if p.grad is None:
                continue
            if torch.is_complex(p):
                raise RuntimeError("Adafactor does not support complex parameters")
            if p.grad.is_sparse:
                raise RuntimeError("Adafactor does not support sparse gradients")
            first = p if first is None else first
        eps1, eps2 = hyper["eps"]
        if eps1 is None and first is not None:
            hyper["eps"] = (torch.finfo(first.dtype).eps, eps2)
        return hyper
