r"""AdaGrad (Duchi, Hazan & Singer, 2011), PyTorch's convention.

The update, for gradient :math:`g_t` at :math:`\theta_{t-1}`, learning rate :math:`\eta`,
learning-rate decay :math:`\delta`, :math:`\epsilon`, weight decay :math:`\lambda` and initial
accumulator value :math:`r_0` (default 0):

.. math::

    g_t &\leftarrow \pm\nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1}
          \qquad(\text{minus sign when maximizing})\\
    \eta_t &\leftarrow \frac{\eta}{1 + (t-1)\,\delta}\\
    r_t &\leftarrow r_{t-1} + g_t^2\\
    \theta_t &\leftarrow \theta_{t-1} - \eta_t\, \frac{g_t}{\sqrt{r_t} + \epsilon}

Conventions:

* The accumulator **includes the current gradient**: :math:`r_t = r_0 + \sum_{\tau\le t}
  g_\tau^2` (Duchi et al.; Goodfellow, Bengio & Courville, Algorithm 8.4; PyTorch). So the
  first step is :math:`-\eta\, g_1/(|g_1|+\epsilon) \approx -\eta\,\mathrm{sign}(g_1)`; an
  accumulator that stopped at :math:`t-1` would divide the first gradient by :math:`\epsilon`
  alone.
* :math:`\epsilon` sits **outside** the square root (default ``1e-10``); GBC's Algorithm 8.4
  writes :math:`\delta + \sqrt{r}` too.
* There is no bias correction and no averaging: :math:`r` only grows, so the effective step
  :math:`\eta_t/\sqrt{r_t}` of every coordinate only shrinks.
* Weight decay is coupled (an L2 term added to :math:`g_t`).

State (torch's keys): ``"step"`` :math:`t` (a 0-d float32 tensor in the class, an ``int``
on the NumPy path), ``"sum"`` the accumulator of squared gradients :math:`r_t` (GBC's
:math:`r`). Like ``torch.optim.Adagrad``, the class :class:`Adagrad` creates this state for
every parameter in its constructor. Complex parameters: :math:`g^2` is taken on
``torch.view_as_real`` (real and imaginary parts squared separately), as torch does.

Sparse gradients (``torch.nn.Embedding(sparse=True)``) are supported as in torch: only the
rows present in the gradient are accumulated and updated (no weight decay with them).
"""

from __future__ import annotations

import torch

from ..arrays import addcdiv_, addcmul_, full_like, is_sparse, item, real_view, sqrt, step_counter
from .base import RuleOptimizer
from .common import coupled_gradient
from .rule import update_rule
from .validation import check_eps, check_flags, check_lr, check_nonnegative

__all__ = ["adagrad", "check_adagrad", "Adagrad"]


def init_adagrad_state(param, state: dict, *, initial_accumulator_value: float = 0.0,
                       **_) -> None:
    """The state before the first step: ``step = 0`` and ``sum`` filled with the initial
    value (``value + value*1j`` for a complex parameter, as torch fills it)."""
    state["step"] = step_counter(param)
    state["sum"] = full_like(param, initial_accumulator_value)


def initial_state(param, initial_accumulator_value: float = 0.0) -> dict:
    """The state before the first step, as a new dict (see :func:`init_adagrad_state`)."""
    state: dict = {}
    init_adagrad_state(param, state, initial_accumulator_value=initial_accumulator_value)
    return state


def check_adagrad(lr, lr_decay, weight_decay, initial_accumulator_value, eps, **_) -> None:
    """Raise ``ValueError`` (torch's wording) for invalid Adagrad hyperparameters."""
    check_lr(lr, reject_nan=True)
    check_nonnegative(lr_decay, "lr_decay", reject_nan=True)
    check_nonnegative(weight_decay, "weight_decay", reject_nan=True)
    check_nonnegative(initial_accumulator_value, "initial_accumulator_value", reject_nan=True)
    check_eps(eps)


@update_rule(check=check_adagrad, init_state=init_adagrad_state)
def adagrad(param, grad, state: dict, *, lr: float, lr_decay: float = 0.0,
            weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
            eps: float = 1e-10, maximize: bool = False) -> None:
    r"""One AdaGrad step on ``param``, in place (NumPy array, torch tensor or TensorList).

    Parameters
    ----------
    param : array of any shape, updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})` (or a sparse tensor);
        not modified.
    state : dict for this parameter; holds ``"step"`` and ``"sum"`` (created at the first
        step if empty, see :func:`init_adagrad_state`).
    lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize : as in
        ``torch.optim.Adagrad``.
    """
    if not state:
        init_adagrad_state(param, state, initial_accumulator_value=initial_accumulator_value)
    state["step"] += 1
    step = item(state["step"])
    if is_sparse(grad) and weight_decay != 0:
        raise RuntimeError("weight_decay option is not compatible with sparse gradients")
    g = coupled_gradient(grad, param, weight_decay, maximize)
    clr = lr / (1 + (step - 1) * lr_decay)    # the decayed learning rate eta_t
    if is_sparse(g):
        _sparse_adagrad_(param, g, state["sum"], clr=clr, eps=eps)
        return
    param, g, state_sum = real_view(param), real_view(g), real_view(state["sum"])
    addcmul_(state_sum, g, g, value=1)         # r <- r + g^2
    std = sqrt(state_sum)
    std += eps                                 # eps outside the root
    addcdiv_(param, g, std, value=-clr)


def _sparse_adagrad_(param, grad, state_sum, *, clr, eps) -> None:
    """Adagrad on the rows of a sparse gradient (torch only), torch's operations."""
    grad = grad.coalesce()                     # the update is non-linear: unique indices
    indices, values = grad._indices(), grad._values()

    def sparse(v):
        return torch.sparse_coo_tensor(indices, v, grad.size(), check_invariants=False)

    state_sum.add_(sparse(values.pow(2)))
    std = state_sum.sparse_mask(grad)
    std_values = std._values().sqrt_().add_(eps)
    param.add_(sparse(values / std_values), alpha=-clr)


class Adagrad(RuleOptimizer):
    """``torch.optim.Adagrad`` re-implemented on the rule :func:`adagrad`.

    Same constructor, defaults (``lr=1e-2``, ``eps=1e-10``), validation messages, param
    groups, closure, hooks and state dict (torch's keys) as torch 2.13's class, bit-identical
    steps, sparse gradients as torch. As in torch, the state (``"step"``, ``"sum"``) of every
    parameter given to the constructor is created there, and every accumulator starts at the
    constructor's ``initial_accumulator_value``: a param group's own value is ignored (torch
    2.13 does the same).
    """

    rule = adagrad
    supports_sparse = True

    def __init__(self, params, lr=1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None):
        defaults = adagrad.validate(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                    initial_accumulator_value=initial_accumulator_value,
                                    eps=eps, maximize=maximize)
        check_flags(foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, dict(defaults, foreach=foreach, differentiable=differentiable,
                                      fused=fused))
        for group in self.param_groups:
            for p in group["params"]:
                init_adagrad_state(p.detach(), self.state[p],
                                   initial_accumulator_value=initial_accumulator_value)

    def hyperparameters(self, group: dict) -> dict:
        """As the base class, except that ``initial_accumulator_value`` is the constructor's.

        ``torch.optim.Adagrad`` fills every accumulator with the constructor's value -- in the
        constructor, and at the first step of a group added later -- and ignores a value set
        in a param group; this class does the same.
        """
        return dict(super().hyperparameters(group),
                    initial_accumulator_value=self.defaults["initial_accumulator_value"])
