r"""Stochastic gradient descent with (heavy-ball or Nesterov) momentum, PyTorch's convention.

The update, for gradient :math:`g_t` at :math:`\theta_{t-1}`, learning rate :math:`\eta`,
momentum :math:`\mu`, dampening :math:`\tau` and weight decay :math:`\lambda`:

.. math::

    g_t &\leftarrow \pm\nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1}
          \qquad(\text{minus sign when maximizing})\\
    b_t &\leftarrow \begin{cases} g_t & t = 1\\ \mu\, b_{t-1} + (1-\tau)\, g_t & t>1\end{cases}\\
    d_t &\leftarrow \begin{cases} g_t + \mu\, b_t & \text{Nesterov}\\
                                  b_t & \text{otherwise}\end{cases}\\
    \theta_t &\leftarrow \theta_{t-1} - \eta\, d_t

Conventions (they differ between sources; the book's appendix compares them):

* **Undamped** by default (:math:`\tau=0`): :math:`b_t = \mu b_{t-1} + g_t`, so a constant
  gradient :math:`g` gives steps approaching :math:`\eta g/(1-\mu)`. The *damped* (EMA) form
  :math:`\mu b + (1-\mu) g` is ``dampening=momentum``.
* The learning rate multiplies the buffer (:math:`\theta \leftarrow \theta - \eta b`), unlike
  Sutskever et al. (2013), who fold it into the velocity (:math:`v \leftarrow \mu v - \eta g`,
  :math:`\theta \leftarrow \theta + v`). The two agree for a constant learning rate.
* The buffer starts at the first gradient (:math:`b_1 = g_1`), not at zero, so dampening is
  not applied at the first step.
* Nesterov momentum uses the "buffer form" :math:`\theta \leftarrow \theta - \eta(g + \mu b)`,
  which is Sutskever et al.'s look-ahead method written in the shifted variable
  :math:`p = \theta + \mu v` (Sutskever et al., 2013; see the momentum chapter).
* Weight decay is coupled (an L2 term added to the gradient), as in ``torch.optim.SGD``.

State (torch's key): ``"momentum_buffer"`` :math:`b_t`, created at the first step with
``momentum != 0``.
"""

from __future__ import annotations

from ..arrays import add, add_, clone
from .base import RuleOptimizer
from .common import coupled_gradient
from .rule import update_rule
from .validation import check_flags, check_lr, check_nonnegative

__all__ = ["sgd", "check_sgd", "SGD"]


def check_sgd(lr, momentum, dampening, weight_decay, nesterov, **_) -> None:
    """Raise ``ValueError`` (torch's wording) for invalid SGD hyperparameters (called by
    ``sgd.validate`` with all of them, defaults filled in)."""
    check_lr(lr)
    check_nonnegative(momentum, "momentum")
    check_nonnegative(weight_decay, "weight_decay")
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError("Nesterov momentum requires a momentum and zero dampening")


@update_rule(check=check_sgd)
def sgd(param, grad, state: dict, *, lr: float, momentum: float = 0.0, dampening: float = 0.0,
        weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False) -> None:
    r"""One SGD step on ``param``, in place (NumPy array, torch tensor or TensorList).

    Parameters
    ----------
    param : array of any shape, updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})` (a sparse tensor is
        fine without weight decay, as in torch); not modified.
    state : dict for this parameter; holds ``"momentum_buffer"`` (:math:`b_t`, torch's key)
        once a step with ``momentum != 0`` has run.
    lr, momentum, dampening, weight_decay, nesterov, maximize : as in ``torch.optim.SGD``.

    The operations are torch's: ``buf.mul_(momentum).add_(g, alpha=1 - dampening)``,
    ``g.add(buf, alpha=momentum)`` and ``param.add_(g, alpha=-lr)``.
    """
    g = coupled_gradient(grad, param, weight_decay, maximize)
    owned = g is not grad               # a copy this step may overwrite
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = clone(g)
        else:
            buf *= momentum
            add_(buf, g, alpha=1 - dampening)
        if nesterov:                    # g + mu b
            g = add_(g, buf, alpha=momentum) if owned else add(g, buf, alpha=momentum)
        else:
            g = buf
    add_(param, g, alpha=-lr)


class SGD(RuleOptimizer):
    """``torch.optim.SGD`` re-implemented on the rule :func:`sgd`.

    Same constructor, defaults (``lr=1e-3``), validation messages, param groups, closure,
    hooks and state dict (key ``"momentum_buffer"``) as torch 2.13's class, bit-identical
    steps; sparse gradients as torch supports them. ``foreach=True`` runs the rule on
    :class:`~course_lib.arrays.TensorList` s (torch's ``_foreach_*`` kernels).
    """

    rule = sgd
    foreach_reads = ()
    supports_sparse = True
    views_complex_as_real = False

    def __init__(self, params, lr=1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None):
        defaults = sgd.validate(lr=lr, momentum=momentum, dampening=dampening,
                                weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        check_flags(foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, dict(defaults, foreach=foreach, differentiable=differentiable,
                                      fused=fused))
