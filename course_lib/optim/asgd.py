r"""ASGD: SGD with Polyak–Ruppert averaging kept inside the optimizer (Polyak & Juditsky,
1992), with the step-size schedule of Bottou (2012) -- PyTorch's convention.

For gradient :math:`g_t = \pm\nabla f(\theta_{t-1}) + \lambda\theta_{t-1}` (weight decay
:math:`\lambda`), decay :math:`\lambda_d` (``lambd``), power :math:`a` (``alpha``) and
averaging start :math:`t_0`, from :math:`\eta_0 = \eta` (the learning rate), :math:`\mu_0 = 1`,
:math:`\bar\theta_0 = 0`:

.. math::

    \theta_t &\leftarrow (1 - \lambda_d\,\eta_{t-1})\,\theta_{t-1} - \eta_{t-1}\, g_t\\
    \bar\theta_t &\leftarrow \bar\theta_{t-1} + \mu_{t-1}\,(\theta_t - \bar\theta_{t-1})
        \qquad(\bar\theta_t = \theta_t \text{ while } \mu_{t-1} = 1)\\
    \eta_t &= \frac{\eta}{(1 + \lambda_d\,\eta\, t)^{a}}, \qquad
    \mu_t = \frac{1}{\max(1,\; t - t_0)}

Conventions:

* :math:`\bar\theta_t` (state ``"ax"``) is the running mean of the iterates after step
  :math:`t_0`: while :math:`\mu_{t-1} = 1` (up to step :math:`t_0 + 2`) the "average" is the
  last iterate; after that :math:`\mu_{t-1} = 1/(t - 1 - t_0)` makes it the arithmetic mean
  of :math:`\theta_{t_0+2}, \dots, \theta_t`. The optimizer does **not** use
  :math:`\bar\theta` itself: the parameters follow plain SGD, and the average is what one
  evaluates at the end (copy ``state["ax"]`` into the parameters). :mod:`course_lib.averaging`
  and ``torch.optim.swa_utils.AveragedModel`` keep the same average outside the optimizer.
* The default :math:`t_0 = 10^6` means "never average" in short runs; set it to the step
  after which the iterates fluctuate around a minimizer.
* The extra decay :math:`(1-\lambda_d\eta_{t-1})\theta` is a second, schedule-coupled weight
  decay (Bottou's SGD of an :math:`\tfrac{\lambda_d}{2}\|\theta\|^2`-regularized objective);
  :math:`\eta_t \propto t^{-a}` with :math:`a = 3/4` is the decay that averaging needs
  (between :math:`1/2` and :math:`1`, Polyak & Juditsky).
* :math:`\eta_t` and :math:`\mu_t` are kept as 0-d tensors of torch's scalar dtype (float32
  unless torch's default is float64), so they are rounded to float32 after every step, as
  in torch; on the NumPy path as NumPy float32 scalars, rounded the same way.
* ``foreach=True`` follows torch's multi-tensor ASGD, which computes the same update in
  another order (:math:`\theta \leftarrow \theta - \eta(g + \lambda_d\theta)`, the average
  always as :math:`\bar\theta + \mu(\theta - \bar\theta)`, :math:`\eta_t` in float32
  arithmetic), so the two paths differ by rounding -- in torch as here.

State (torch's keys): ``"step"`` :math:`t`, ``"eta"`` :math:`\eta_t`, ``"mu"`` :math:`\mu_t`,
``"ax"`` :math:`\bar\theta_t`. Complex parameters: every operation, weight decay included,
acts on ``torch.view_as_real``, as torch's does.
"""

from __future__ import annotations

import numpy as np
import torch

from ..arrays import (
    TensorList,
    add,
    add_,
    addcmul_,
    item,
    real_view,
    scalar_state,
    step_counter,
    zeros_like,
)
from .base import RuleOptimizer, scalar_dtype, to_scalar
from .common import coupled_gradient
from .rule import update_rule
from .validation import check_flags, check_lr, check_nonnegative

__all__ = ["asgd", "check_asgd", "init_asgd_state", "ASGD"]


def init_asgd_state(param, state: dict, *, lr, **_) -> None:
    """The state before the first step, created as ``torch.optim.ASGD`` creates it."""
    state["step"] = step_counter(param)
    if isinstance(param, np.ndarray):
        state["eta"] = scalar_state(float(lr), param)
    else:
        state["eta"] = torch.as_tensor(to_scalar(lr), dtype=scalar_dtype()).clone()
    state["mu"] = scalar_state(1.0, param)
    state["ax"] = zeros_like(param)


def _assign_scalar(state: dict, key: str, value, param) -> None:
    """``state[key] <- value``, rounded to the state's dtype (torch's ``copy_``)."""
    if isinstance(state[key], torch.Tensor):
        state[key].copy_(torch.as_tensor(value))
    else:
        state[key] = scalar_state(value, param)


def check_asgd(lr, weight_decay, **_) -> None:
    """Raise ``ValueError`` (torch's wording) for invalid ASGD hyperparameters (torch checks
    only these two)."""
    check_lr(lr, reject_nan=True)
    check_nonnegative(weight_decay, "weight_decay", reject_nan=True)


@update_rule(check=check_asgd, init_state=init_asgd_state)
def asgd(param, grad, state: dict, *, lr: float, lambd: float = 1e-4, alpha: float = 0.75,
         t0: float = 1e6, weight_decay: float = 0.0, maximize: bool = False) -> None:
    r"""One ASGD step on ``param``, in place (NumPy array, torch tensor or TensorList).

    Parameters
    ----------
    param : array of any shape, updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict for this parameter; holds ``"step"``, ``"eta"``, ``"mu"`` and ``"ax"`` (the
        average :math:`\bar\theta_t`), created at the first step.
    lr : :math:`\eta`, the initial step size and the numerator of the schedule.
    lambd, alpha, t0, weight_decay, maximize : as in ``torch.optim.ASGD``.
    """
    if not state:
        init_asgd_state(param, state, lr=lr)
    if isinstance(param, TensorList):
        _asgd_foreach(param, grad, state, lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                      weight_decay=weight_decay, maximize=maximize)
        return
    param, grad, ax = real_view(param), real_view(grad), real_view(state["ax"])
    g = -grad if maximize else grad
    state["step"] += 1
    g = coupled_gradient(g, param, weight_decay)
    eta = item(state["eta"])
    param *= 1 - lambd * eta            # the schedule-coupled decay
    add_(param, g, alpha=-eta)          # the SGD step
    mu = state["mu"]
    if item(mu) != 1:
        diff = param - ax
        diff *= mu
        ax += diff                      # ax <- ax + mu (theta - ax)
    else:
        ax[...] = param                 # before t0 the "average" is the last iterate
    step = item(state["step"])
    _assign_scalar(state, "eta", lr / ((1 + lambd * lr * step) ** alpha), param)
    _assign_scalar(state, "mu", 1 / max(1, step - t0), param)


def _asgd_foreach(param, grad, state, *, lr, lambd, alpha, t0, weight_decay, maximize):
    """torch's multi-tensor ASGD on TensorLists (its order of operations)."""
    g = -grad if maximize else grad
    state["step"] += 1
    if weight_decay != 0:
        if maximize:
            add_(g, param, alpha=weight_decay)
            intermediate = g
        else:
            intermediate = add(g, param, alpha=weight_decay)
        add_(intermediate, param, alpha=lambd)
    else:
        intermediate = add(g, param, alpha=lambd)
    addcmul_(param, intermediate, state["eta"], value=-1)   # theta - eta (g + lambd theta)
    addcmul_(state["ax"], param - state["ax"], state["mu"])
    steps = state["step"].tensors
    torch._foreach_copy_(state["eta"].tensors,
                         [torch.as_tensor(lr / ((1 + lambd * lr * s) ** alpha)) for s in steps])
    torch._foreach_copy_(state["mu"].tensors,
                         [torch.as_tensor(1 / max(1, s.item() - t0)) for s in steps])


class ASGD(RuleOptimizer):
    """``torch.optim.ASGD`` re-implemented on the rule :func:`asgd`.

    Same constructor (the implementation flags are positional, as in torch), defaults
    (``lr=1e-2``, ``lambd=1e-4``, ``alpha=0.75``, ``t0=1e6``), validation messages, param
    groups, closure, hooks and state dict (torch's keys; ``eta``, ``mu`` 0-d tensors) as torch
    2.13's class, bit-identical steps (``foreach=True`` too). The averaged parameters are
    ``opt.state[p]["ax"]``; :meth:`averaged` returns them.
    """

    rule = asgd
    sparse_message = "ASGD does not support sparse gradients"
    scalar_state = ("step", "eta", "mu")

    def __init__(self, params, lr=1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False):
        asgd.validate(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                      maximize=maximize)
        check_flags(foreach=foreach, capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def averaged(self) -> list:
        """The Polyak average :math:`\\bar\\theta_t` of every parameter (``state["ax"]``;
        the parameter itself for one that has not been stepped)."""
        return [self.state[p]["ax"] if "ax" in self.state[p] else p.detach()
                for group in self.param_groups for p in group["params"]]
