r"""LARS, layer-wise adaptive rate scaling (You, Gitman & Ginsburg, 2017).

Each parameter tensor (a "layer") gets its own step size, proportional to the ratio of its
norm to the norm of its gradient, so that every layer moves by about the same *relative*
amount :math:`\eta\,\gamma` per step, whatever the scale of its gradient. The update, for
gradient :math:`g_t` at :math:`\theta_{t-1}`, global learning rate :math:`\eta`, trust
coefficient :math:`\gamma`, weight decay :math:`\lambda`, momentum :math:`\mu`:

.. math::

    r_t &\leftarrow \frac{\gamma\,\lVert\theta_{t-1}\rVert}
          {\lVert g_t\rVert + \lambda\lVert\theta_{t-1}\rVert + \epsilon}
          \qquad(r_t = 1 \text{ if a norm is } 0)\\
    b_t &\leftarrow \mu\, b_{t-1} + \eta\, r_t\,(g_t + \lambda\theta_{t-1})
          \qquad(b_0 = 0)\\
    \theta_t &\leftarrow \theta_{t-1} - b_t
          \qquad(\text{Nesterov: } \theta_{t-1} - \eta r_t (g_t + \lambda\theta_{t-1})
          - \mu b_t)

Conventions (the paper's Algorithm 1, ``optax.lars`` 0.2.8 and ``pytorch_optimizer.LARS``
4.1.0 differ; this rule is the paper's):

* **Denominator of the trust ratio**: the paper and ``pytorch_optimizer`` use
  :math:`\lVert g\rVert + \lambda\lVert\theta\rVert`; optax uses the norm of the sum,
  :math:`\lVert g + \lambda\theta\rVert` (smaller, by the triangle inequality). They agree
  for :math:`\lambda = 0`. ``eps`` (default 0) is optax's additive constant.
* **Learning rate inside the momentum** (:math:`b \leftarrow \mu b + \eta r (g+\lambda\theta)`,
  the paper and optax) or outside (:math:`\theta \leftarrow \theta - \eta b`,
  ``pytorch_optimizer``, ``torch.optim.SGD``): the same for a constant :math:`\eta`,
  different as soon as :math:`\eta` follows a schedule (inside, a change of :math:`\eta`
  acts gradually).
* **Which tensors are adapted**: the paper adapts every layer; ``pytorch_optimizer`` skips
  every tensor with ``ndim <= 1`` (biases, normalization scales) -- both the trust ratio
  *and* the weight decay; optax adapts everything unless given ``trust_ratio_mask``
  (and decays everything unless given ``weight_decay_mask``). Here the switch is per param
  group: ``trust_ratio=False`` (and ``weight_decay=0``) for the tensors to exclude, as the
  large-batch recipes do (:func:`exclude_from_adaptation` builds the two groups).
* :math:`r_t = 1` when :math:`\lVert\theta\rVert = 0` or the denominator is 0 (all three
  implementations), so a zero-initialized tensor still moves.
* No dampening; Nesterov as in optax's ``trace(nesterov=True)``.

State: ``"momentum_buffer"`` :math:`b_t` (when :math:`\mu \neq 0`). Real parameters; NumPy
arrays and torch tensors (not ``TensorList``: the norms are per tensor).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..arrays import add, add_, clone
from ..validation import invalid, is_real
from .lion import CheckedRuleOptimizer, check_lr_weight_decay
from .rule import update_rule

__all__ = ["lars", "check_lars", "layer_trust_ratio", "l2_norm", "LARS", "exclude_from_adaptation"]


def l2_norm(x) -> float:
    """The Euclidean norm of all entries of ``x`` (NumPy array or torch tensor), a float."""
    if isinstance(x, torch.Tensor):
        return torch.linalg.vector_norm(x).item()
    return float(np.linalg.norm(np.ravel(x)))


def layer_trust_ratio(param_norm: float, update_norm: float, *, trust_coefficient: float = 1.0,
                weight_decay: float = 0.0, eps: float = 0.0) -> float:
    r"""The layer-wise trust ratio :math:`\gamma\lVert\theta\rVert /
    (\lVert u\rVert + \lambda\lVert\theta\rVert + \epsilon)`, or 1 when a norm is 0.

    LARS passes the gradient's norm as ``update_norm`` (and its ``weight_decay``); LAMB
    passes the norm of the full Adam-plus-decay update and ``weight_decay=0``.
    """
    denominator = update_norm + weight_decay * param_norm + eps
    if param_norm == 0 or denominator == 0:
        return 1.0
    return trust_coefficient * param_norm / denominator


def check_lars(lr, momentum, weight_decay, trust_coefficient, eps, nesterov, **_) -> None:
    """Raise ``ValueError`` for invalid LARS hyperparameters."""
    check_lr_weight_decay(lr, weight_decay)
    if not is_real(momentum) or not 0.0 <= momentum < 1.0:
        raise invalid("momentum", momentum, "a number in [0, 1)")
    for name, value in (("trust_coefficient", trust_coefficient), ("eps", eps)):
        if not is_real(value) or not math.isfinite(value) or value < 0:
            raise invalid(name, value, "a finite number >= 0")
    if trust_coefficient == 0:
        raise invalid("trust_coefficient", trust_coefficient, "a finite number > 0")
    if nesterov and momentum == 0:
        raise invalid("nesterov", nesterov, "False when momentum is 0")


@update_rule(check=check_lars)
def lars(param, grad, state: dict, *, lr: float, momentum: float = 0.9,
         weight_decay: float = 0.0, trust_coefficient: float = 1e-3, eps: float = 0.0,
         nesterov: bool = False, trust_ratio: bool = True, maximize: bool = False) -> None:
    r"""One LARS step on ``param``, in place (NumPy array or torch tensor).

    Parameters
    ----------
    param : array of any shape, updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict for this parameter; holds ``"momentum_buffer"`` :math:`b_t`.
    lr : the global learning rate :math:`\eta`.
    momentum : :math:`\mu`.
    weight_decay : :math:`\lambda`, coupled (added to the gradient) and in the trust ratio.
    trust_coefficient : :math:`\gamma` (0.001 in the paper and in optax).
    eps : added to the trust ratio's denominator.
    nesterov : Nesterov momentum.
    trust_ratio : False gives momentum SGD with the learning rate inside the buffer (for
        biases and normalization parameters).
    maximize : ascend instead of descend.
    """
    g = -grad if maximize else grad
    ratio = 1.0
    if trust_ratio:
        ratio = layer_trust_ratio(l2_norm(param), l2_norm(g),
                                  trust_coefficient=trust_coefficient,
                                  weight_decay=weight_decay, eps=eps)
    update = add(g, param, alpha=weight_decay) if weight_decay != 0 else clone(g)
    update *= lr * ratio                                # eta r (g + lambda theta)
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = clone(update)
        else:
            buf *= momentum
            buf += update
        update = add_(update, buf, alpha=momentum) if nesterov else buf
    param -= update




def exclude_from_adaptation(named_parameters, **hyper) -> list[dict]:
    """Two param groups for LARS/LAMB: tensors with ``ndim >= 2`` (weights) get the trust
    ratio and the weight decay; the others (biases, normalization scales and shifts) get
    ``trust_ratio=False`` and ``weight_decay=0`` -- the exclusion of the large-batch
    recipes (and of ``pytorch_optimizer.LARS``). ``hyper`` goes into both groups (without
    it they take the optimizer's defaults):
    ``LARS(exclude_from_adaptation(model.named_parameters()), lr=2.0, weight_decay=1e-4)``.

    ``named_parameters`` is ``model.named_parameters()`` or any iterable of tensors.
    """
    weights: list[torch.Tensor] = []
    others: list[torch.Tensor] = []
    for item in named_parameters:
        p = item[1] if isinstance(item, tuple) else item
        (weights if p.ndim >= 2 else others).append(p)
    groups = [dict(params=weights, **hyper)] if weights else []
    if others:
        groups.append(dict(params=others, **{**hyper, "trust_ratio": False,
                                             "weight_decay": 0.0}))
    return groups


class LARS(CheckedRuleOptimizer):
    """LARS (You et al., 2017) as a ``torch.optim.Optimizer`` on the rule :func:`lars`.

    ``LARS(params, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=1e-3, eps=0.0,
    nesterov=False, *, trust_ratio=True, maximize=False)`` (optax's defaults). Per param
    group, ``trust_ratio=False`` excludes tensors from the adaptation (see
    :func:`exclude_from_adaptation`). State key ``"momentum_buffer"``.
    """

    rule = lars
    scalar_state = ()
    foreach_reads = ()

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0,
                 trust_coefficient: float = 1e-3, eps: float = 0.0, nesterov: bool = False,
                 *, trust_ratio: bool = True, maximize: bool = False):
        hyper = dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                     trust_coefficient=trust_coefficient, eps=eps, nesterov=nesterov,
                     trust_ratio=trust_ratio, maximize=maximize)
        super().__init__(params, lars.validate(**hyper))
