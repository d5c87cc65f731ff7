r"""LAMB, layer-wise adaptive moments for large batches (You et al., 2020).

Adam's step, with the decoupled weight decay added, rescaled per tensor ("layer") so that
its norm is the learning rate times the norm of the tensor -- LARS's trust ratio applied to
Adam's direction. For gradient :math:`g_t` at :math:`\theta_{t-1}`, learning rate
:math:`\eta`, :math:`\beta_1, \beta_2, \epsilon` and weight decay :math:`\lambda`, from
:math:`m_0 = v_0 = 0`:

.. math::

    m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad
    v_t \leftarrow \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2\\
    u_t &\leftarrow \frac{m_t/(1-\beta_1^t)}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon}
          + \lambda\,\theta_{t-1}\\
    \theta_t &\leftarrow \theta_{t-1} - \eta\,
          \frac{\lVert\theta_{t-1}\rVert}{\lVert u_t\rVert}\, u_t
          \qquad(\text{ratio } 1 \text{ if a norm is } 0)

Conventions (the paper, ``optax.lamb`` 0.2.8 and ``pytorch_optimizer.Lamb`` 4.1.0):

* **Bias correction** of both moments, as in the paper's Algorithm 2 and in optax;
  ``pytorch_optimizer`` corrects the first moment through its step size only.
* **Weight decay inside the trust ratio**: :math:`\lambda\theta` is added to Adam's
  direction *before* the norm is taken (paper, optax), so it is rescaled with it.
  ``pytorch_optimizer.Lamb`` by default decouples it instead (AdamW's shrink
  :math:`\theta \leftarrow (1-\eta\lambda)\theta`, outside the ratio).
* **The scaling function** :math:`\phi(\lVert\theta\rVert)`: the paper allows any
  :math:`\phi` with bounds :math:`\gamma_l \le \phi(z) \le \gamma_u`; optax and this rule use
  :math:`\phi(z) = z` unclipped; ``pytorch_optimizer`` clips :math:`\lVert\theta\rVert` at 10
  and adds ``eps`` to :math:`\lVert u\rVert` (and with ``pre_norm=True`` first rescales
  the gradients to global norm at most ``max_grad_norm``).
* :math:`\epsilon` = 1e-6 by default (optax's and ``pytorch_optimizer``'s, not Adam's 1e-8),
  outside the root, after the bias correction.
* Every tensor is adapted; to exclude biases and normalization parameters give them a
  param group with ``trust_ratio=False`` (plain Adam plus coupled decay) -- see
  :func:`course_lib.optim.lars.exclude_from_adaptation`.

State: ``"step"``, ``"exp_avg"`` :math:`m_t`, ``"exp_avg_sq"`` :math:`v_t` (Adam's keys).
Real parameters; NumPy arrays and torch tensors.
"""

from __future__ import annotations

import math

from ..arrays import add_, item, sqrt, step_counter, zeros_like
from ..validation import invalid, is_real
from .common import bias_correction, moving_average_, moving_average_of_squares_
from .lars import l2_norm, layer_trust_ratio
from .lion import CheckedRuleOptimizer, check_betas_open, check_lr_weight_decay
from .rule import update_rule

__all__ = ["lamb", "check_lamb", "init_lamb_state", "LAMB"]


def init_lamb_state(param, state: dict, **_) -> None:
    """The state before the first step: :math:`t = 0`, :math:`m_0 = v_0 = 0`."""
    state["step"] = step_counter(param)
    state["exp_avg"] = zeros_like(param)
    state["exp_avg_sq"] = zeros_like(param)


def check_lamb(lr, betas, eps, weight_decay, **_) -> None:
    """Raise ``ValueError`` for invalid LAMB hyperparameters."""
    check_lr_weight_decay(lr, weight_decay)
    check_betas_open(betas)
    if not is_real(eps) or not math.isfinite(eps) or eps < 0:
        raise invalid("eps", eps, "a finite number >= 0")


@update_rule(check=check_lamb, init_state=init_lamb_state)
def lamb(param, grad, state: dict, *, lr: float, betas=(0.9, 0.999), eps: float = 1e-6,
         weight_decay: float = 0.0, trust_ratio: bool = True, maximize: bool = False) -> None:
    r"""One LAMB step on ``param``, in place (NumPy array or torch tensor).

    Parameters
    ----------
    param : array of any shape, updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict for this parameter; ``"step"``, ``"exp_avg"``, ``"exp_avg_sq"``.
    lr, betas, eps : :math:`\eta`, :math:`(\beta_1, \beta_2)`, :math:`\epsilon`.
    weight_decay : :math:`\lambda`, added to Adam's direction inside the trust ratio.
    trust_ratio : False skips the layer-wise rescaling (Adam plus decay).
    maximize : ascend instead of descend.
    """
    beta1, beta2 = betas
    if not state:
        init_lamb_state(param, state)
    g = -grad if maximize else grad
    state["step"] += 1
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    moving_average_(exp_avg, g, beta1)
    moving_average_of_squares_(exp_avg_sq, g, beta2)
    step = item(state["step"])
    denom = sqrt(exp_avg_sq)
    denom /= math.sqrt(bias_correction(beta2, step))
    denom += eps                                         # sqrt(v_hat) + eps
    update = exp_avg / denom
    update /= bias_correction(beta1, step)               # m_hat / (sqrt(v_hat) + eps)
    if weight_decay != 0:
        add_(update, param, alpha=weight_decay)
    ratio = layer_trust_ratio(l2_norm(param), l2_norm(update)) if trust_ratio else 1.0
    add_(param, update, alpha=-lr * ratio)




class LAMB(CheckedRuleOptimizer):
    """LAMB (You et al., 2020) as a ``torch.optim.Optimizer`` on the rule :func:`lamb`.

    ``LAMB(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0, *,
    trust_ratio=True, maximize=False)``. Agrees with ``optax.lamb`` step by step. State
    keys ``"step"`` (0-d tensor), ``"exp_avg"``, ``"exp_avg_sq"``.
    """

    rule = lamb
    foreach_reads = ()

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-6,
                 weight_decay: float = 0.0, *, trust_ratio: bool = True,
                 maximize: bool = False):
        hyper = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                     trust_ratio=trust_ratio, maximize=maximize)
        super().__init__(params, lamb.validate(**hyper))
