r"""Shampoo, the Kronecker-factored preconditioner (Gupta, Koren & Singer, 2018).

Full-matrix AdaGrad preconditions the flattened gradient of an :math:`m\times n` weight with
the :math:`mn\times mn` matrix :math:`(\sum_s \mathrm{vec}(G_s)\mathrm{vec}(G_s)^\top)^{-1/2}`
-- out of reach for a layer. Shampoo keeps one statistic per tensor dimension instead,

.. math::

    L_t = \epsilon I_m + \sum_{s\le t} G_s G_s^\top, \qquad
    R_t = \epsilon I_n + \sum_{s\le t} G_s^\top G_s,
    \qquad
    W_t = W_{t-1} - \eta\, L_t^{-1/4}\, G_t\, R_t^{-1/4},

i.e. it preconditions :math:`\mathrm{vec}(G)` with the Kronecker product
:math:`L_t^{-1/4}\otimes R_t^{-1/4}` (memory :math:`m^2 + n^2` instead of :math:`m^2n^2`),
which the paper shows upper-bounds the full-matrix AdaGrad matrix (up to the power, hence
:math:`1/4 = 1/(2\cdot 2)`). For a tensor of order :math:`k` every dimension :math:`i` gets
its statistic :math:`H^{(i)}_t = \epsilon I + \sum_s G_{s,(i)} G_{s,(i)}^\top` (the mode-
:math:`i` unfolding) and the exponent :math:`-1/(2k)`; a vector (:math:`k = 1`) gets
full-matrix AdaGrad, :math:`H_t^{-1/2} g_t`.

Conventions (the paper's Algorithms 1--2 and ``pytorch_optimizer.Shampoo`` 4.1.0, which this
rule follows operation by operation where they agree):

* **Sums, not moving averages**, of the statistics (AdaGrad-style), started at
  :math:`\epsilon I` (``matrix_eps``, 1e-6): both. (Later "practical" Shampoo and SOAP use
  exponential moving averages, grafting and blocking; see ``pytorch_optimizer.ScalableShampoo``.)
* **The inverse roots** are computed from an SVD of the symmetric positive semi-definite
  statistic (``pytorch_optimizer``; mathematically its eigendecomposition, but the singular
  values are never negative, so rounding cannot produce a NaN), in the parameter's dtype.
* **Recomputing the roots only every** ``update_freq`` **steps** (the paper's practical
  note; ``preconditioning_compute_steps`` in ``pytorch_optimizer``): the reference starts the
  inverse roots at *zero*, so with ``update_freq > 1`` its first ``update_freq - 1`` steps
  do not move the parameters; here the roots are also computed at the first step. The two
  agree for ``update_freq = 1``.
* **Momentum** is not part of the paper's algorithm (its experiments add it). The reference
  mixes the gradient with the *previous preconditioned step*,
  :math:`g \leftarrow (1-\mu) g + \mu\, d_{t-1}` (``lerp``), accumulates the statistics from
  this mixed gradient and stores the new preconditioned step :math:`d_t` as the buffer
  (:math:`d_0 = g_1`). This rule does the same, so that it can be compared; note that it
  is neither heavy-ball momentum on :math:`d` nor momentum on :math:`g`.
* Weight decay is coupled (:math:`\lambda\theta` added to the mixed gradient), as in the
  reference's default.

State (the reference's keys): ``"step"``, ``"pre_cond_<i>"`` :math:`H^{(i)}_t`,
``"inv_pre_cond_<i>"`` :math:`(H^{(i)}_t)^{-1/(2k)}` for each dimension ``i``, and
``"momentum_buffer"`` :math:`d_t` when ``momentum > 0``. NumPy arrays and real torch
tensors.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..arrays import add_, clone, item, lerp_, step_counter
from ..validation import invalid, is_real
from .lion import CheckedRuleOptimizer, check_lr_weight_decay
from .rule import update_rule

__all__ = ["shampoo", "check_shampoo", "init_shampoo_state", "matrix_inverse_root",
           "Shampoo"]


def matrix_inverse_root(matrix, power: float):
    r""":math:`A^{-1/p}` of a symmetric positive semi-definite ``matrix`` (NumPy or torch),
    as :math:`U\,\mathrm{diag}(s^{-1/p})\,V^\top` from its SVD."""
    if isinstance(matrix, torch.Tensor):
        u, s, vh = torch.linalg.svd(matrix, full_matrices=False)
    else:
        u, s, vh = np.linalg.svd(matrix, full_matrices=False)
    return (u * (s ** (-1.0 / power))[None, :]) @ vh


def _unfold(x, axis: int):
    """The mode-``axis`` unfolding: ``axis`` first, the rest flattened (a matrix)."""
    if isinstance(x, torch.Tensor):
        return x.movedim(axis, 0).reshape(x.shape[axis], -1)
    return np.moveaxis(x, axis, 0).reshape(x.shape[axis], -1)


def _multiply_along(matrix, x, axis: int):
    """``matrix`` (symmetric) applied to dimension ``axis`` of ``x``, a new array of ``x``'s
    shape. As the reference does: ``matrix @ x`` along the leading dimensions, ``x @ matrix``
    along the last one (the same for an exactly symmetric matrix; a computed root is
    symmetric only to rounding)."""
    torch_in = isinstance(x, torch.Tensor)
    tensordot: Callable[..., Any] = torch.tensordot if torch_in else np.tensordot
    moveaxis: Callable[..., Any] = torch.movedim if torch_in else np.moveaxis
    if axis == len(x.shape) - 1:
        return tensordot(x, matrix, ([axis], [0]))
    return moveaxis(tensordot(matrix, x, ([1], [axis])), 0, axis)


def _add_gram_(out, a) -> None:
    """In place ``out += a @ a.T`` (torch: one ``addmm_``)."""
    if isinstance(out, torch.Tensor):
        out.addmm_(a, a.T)
    else:
        out += a @ a.T


def init_shampoo_state(param, state: dict, *, momentum: float = 0.0,
                       matrix_eps: float = 1e-6, grad=None, **_) -> None:
    """The state before the first step: :math:`H^{(i)}_0 = \\epsilon I` for every
    dimension, inverse roots zero (computed at the first step), the momentum buffer a copy
    of the first gradient."""
    state["step"] = step_counter(param)
    for i, n in enumerate(param.shape):
        eye: torch.Tensor | np.ndarray
        if isinstance(param, torch.Tensor):
            eye = torch.eye(n, dtype=param.dtype, device=param.device)
        else:
            eye = np.eye(n, dtype=param.dtype)
        state[f"pre_cond_{i}"] = eye * matrix_eps
        state[f"inv_pre_cond_{i}"] = eye * 0
    if momentum > 0:
        state["momentum_buffer"] = clone(grad if grad is not None else param * 0)


def check_shampoo(lr, momentum, weight_decay, matrix_eps, update_freq, **_) -> None:
    """Raise ``ValueError`` for invalid Shampoo hyperparameters."""
    check_lr_weight_decay(lr, weight_decay)
    if not is_real(momentum) or not 0.0 <= momentum < 1.0:
        raise invalid("momentum", momentum, "a number in [0, 1)")
    if not is_real(matrix_eps) or not math.isfinite(matrix_eps) or matrix_eps <= 0:
        raise invalid("matrix_eps", matrix_eps, "a finite number > 0")
    if (not isinstance(update_freq, numbers.Integral) or isinstance(update_freq, bool)
            or update_freq < 1):
        raise invalid("update_freq", update_freq, "a positive integer")


@update_rule(check=check_shampoo, init_state=init_shampoo_state)
def shampoo(param, grad, state: dict, *, lr: float, momentum: float = 0.0,
            weight_decay: float = 0.0, matrix_eps: float = 1e-6, update_freq: int = 1) -> None:
    r"""One Shampoo step on ``param``, in place (NumPy array or real torch tensor).

    Parameters
    ----------
    param : array of any shape (order :math:`k`), updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict; ``"step"``, ``"pre_cond_<i>"``, ``"inv_pre_cond_<i>"``,
        ``"momentum_buffer"``.
    lr : :math:`\eta`.
    momentum : :math:`\mu`, mixing the previous preconditioned step into the gradient.
    weight_decay : :math:`\lambda`, coupled.
    matrix_eps : :math:`\epsilon`, the statistics start at :math:`\epsilon I`.
    update_freq : recompute the inverse roots every this many steps (and at the first).
    """
    if not state:
        init_shampoo_state(param, state, momentum=momentum, matrix_eps=matrix_eps, grad=grad)
    g = clone(grad)
    if momentum > 0:
        lerp_(g, state["momentum_buffer"], momentum)
    if weight_decay != 0:
        add_(g, param, alpha=weight_decay)
    state["step"] += 1
    step = int(item(state["step"]))
    order = len(param.shape)
    for i in range(order):
        _add_gram_(state[f"pre_cond_{i}"], _unfold(g, i))
        if step % update_freq == 0 or step == 1:
            state[f"inv_pre_cond_{i}"][...] = matrix_inverse_root(state[f"pre_cond_{i}"],
                                                                  2 * order)
    direction = g
    for i in range(order):
        direction = _multiply_along(state[f"inv_pre_cond_{i}"], direction, i)
    if momentum > 0:
        state["momentum_buffer"] = clone(direction)
    add_(param, direction, alpha=-lr)


class Shampoo(CheckedRuleOptimizer):
    """Shampoo (Gupta et al., 2018) as a ``torch.optim.Optimizer`` on the rule
    :func:`shampoo`.

    ``Shampoo(params, lr=1e-3, momentum=0.0, weight_decay=0.0, matrix_eps=1e-6,
    update_freq=1)`` (``pytorch_optimizer.Shampoo``'s defaults; its
    ``preconditioning_compute_steps`` is ``update_freq``). Memory: :math:`\\sum_i n_i^2`
    per tensor of shape :math:`(n_1, \\dots, n_k)`, twice (statistics and roots) -- use it
    on small layers.
    """

    rule = shampoo
    foreach_reads = ()

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0,
                 weight_decay: float = 0.0, matrix_eps: float = 1e-6, update_freq: int = 1):
        super().__init__(params, shampoo.validate(lr=lr, momentum=momentum,
                                                  weight_decay=weight_decay,
                                                  matrix_eps=matrix_eps,
                                                  update_freq=update_freq))
