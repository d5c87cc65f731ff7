r"""Schedule-free SGD and AdamW (Defazio et al., 2024), the authors' memory-efficient form.

Three sequences: :math:`z_t`, the plain SGD (or Adam-normalized) iterate with a *constant*
learning rate; :math:`x_t`, a running average of the :math:`z` s, the point to evaluate; and
:math:`y_t`, an interpolation between them, where the gradient is taken. For momentum (or
:math:`\beta_1`) :math:`\beta`, learning rate :math:`\gamma_t` and averaging weights
:math:`c_{t+1}`:

.. math::

    y_t &= (1-\beta)\, z_t + \beta\, x_t\\
    z_{t+1} &= z_t - \gamma_t\, d_t,
          \qquad d_t = \nabla f(y_t) \;\;(\text{SGD}) \;\text{ or }\;
          \frac{\nabla f(y_t)}{\sqrt{v_t/(1-\beta_2^{t+1})} + \epsilon} \;\;(\text{AdamW})\\
    x_{t+1} &= (1 - c_{t+1})\, x_t + c_{t+1}\, z_{t+1},
          \qquad c_{t+1} = \frac{w_{t+1}}{\sum_{i\le t+1} w_i},\quad
          w_{t+1} = (t+1)^r\,\bigl(\max_{i\le t}\gamma_i\bigr)^{p}

with :math:`x_0 = z_0 = y_0 = \theta_0` and :math:`v_t = \beta_2 v_{t-1} + (1-\beta_2)
g_t^2`. With :math:`r = p = 0` the weights are uniform, :math:`c_{t+1} = 1/(t+1)`, and
:math:`x` is the Polyak--Ruppert average of the :math:`z` s; :math:`\beta = 0` gives back
primal averaging, :math:`\beta = 1` SGD at the average. No decay schedule is needed: the
average plays its role.

**The parameters hold** :math:`y` **while training** (so the forward/backward pass computes
:math:`\nabla f(y_t)`), and only :math:`z` is stored; one step updates :math:`y` in place
without forming :math:`x`, as the authors' code does:
:math:`y \leftarrow (1-c)\,y + c\,z - \gamma\,(1 - \beta(1-c))\, d`, then
:math:`z \leftarrow z - \gamma d`. ``optimizer.eval()`` moves the parameters to
:math:`x = (y - (1-\beta) z)/\beta`, ``optimizer.train()`` back to :math:`y`.

Conventions (the paper, and the ``schedulefree`` 1.4.1 package: ``SGDScheduleFree``,
``AdamWScheduleFree``, which these rules follow operation by operation):

* **Warm-up is built in**: :math:`\gamma_t = \gamma\,\min(1, (t+1)/T_{\rm warm})`, and the
  averaging weights are :math:`\gamma^p` of the *running maximum* of :math:`\gamma_t`
  (``weight_lr_power`` :math:`p = 2`), so the iterates of the warm-up, taken with small
  steps, count little in :math:`x` -- the paper's :math:`c_{t+1} = \gamma_t^2 /
  \sum_i\gamma_i^2`. ``r`` adds the polynomial weighting :math:`(t+1)^r` (default 0).
* **AdamW without a first moment**: :math:`\beta_1` is the interpolation :math:`\beta`, not
  a moving average of gradients (the interpolation *is* the momentum); only
  :math:`v_t` is kept and bias-corrected (:math:`1-\beta_2^{t+1}`, counting the step being
  taken). :math:`\epsilon` is outside the root.
* **Weight decay at** :math:`y`: SGD adds :math:`\lambda y` to the gradient (an L2 term,
  coupled); AdamW adds :math:`\lambda y` *after* the normalization (decoupled, as AdamW).
  The paper decays at :math:`y` too; the package's ``AdamWScheduleFreeReference`` can decay
  at :math:`z` instead (``decay_at_z``), not offered here.
* **Train/eval mode**: the package's optimizers start in *eval* mode and ``step()`` raises
  until ``train()`` is called; these classes start in train mode (``train()`` before the
  first step is harmless). The package's ``train()`` re-forms :math:`y` from :math:`x` and
  :math:`z` by a ``lerp``, which restores it only to rounding; here ``eval()`` keeps a copy
  of :math:`y` (state key ``"y"``, one extra copy of the parameters while in eval mode)
  and ``train()`` restores it **exactly**.
* The package keeps the step count, the weight sum and :math:`\max\gamma` per param group;
  here they are per parameter (``"step"``, ``"weight_sum"``, ``"lr_max"``), the same
  numbers as long as every parameter has a gradient at every step. The package also writes
  the weight decay (and, in AdamW, the normalization) into ``p.grad``; these rules leave
  the gradient alone.
* **BatchNorm statistics**: the running means and variances are accumulated during
  training, i.e. at :math:`y`, but the model is evaluated at :math:`x`. Recompute them
  after ``optimizer.eval()`` with a few training batches:
  ``course_lib.averaging.update_bn(loader, model)`` (the package's advice; as for SWA).

State: ``"z"``, ``"step"`` :math:`t`, ``"weight_sum"`` :math:`\sum w_i`, ``"lr_max"``
(Python floats), and for AdamW ``"exp_avg_sq"`` :math:`v_t`; ``"y"`` while in eval mode.
"""

from __future__ import annotations

import math
import numbers

import torch

from ..arrays import add, add_, clone, item, lerp_, sqrt_, step_counter, zeros_like
from ..validation import invalid, is_real
from .common import moving_average_of_squares_
from .lion import CheckedRuleOptimizer, check_lr_weight_decay
from .rule import update_rule

__all__ = ["schedule_free_sgd", "schedule_free_adamw", "schedule_free_eval_point",
           "check_schedule_free_sgd", "check_schedule_free_adamw", "SGDScheduleFree",
           "AdamWScheduleFree"]


def _init_state(param, state: dict, *, adam: bool) -> None:
    state["z"] = clone(param)
    state["step"] = step_counter(param)
    state["weight_sum"] = 0.0
    state["lr_max"] = -1.0
    if adam:
        state["exp_avg_sq"] = zeros_like(param)


def init_schedule_free_sgd_state(param, state: dict, **_) -> None:
    """The state before the first step: :math:`z_0 = \\theta_0`, no weights yet."""
    _init_state(param, state, adam=False)


def init_schedule_free_adamw_state(param, state: dict, **_) -> None:
    """The state before the first step: :math:`z_0 = \\theta_0`, :math:`v_0 = 0`."""
    _init_state(param, state, adam=True)


def _averaging_weight(state: dict, lr, warmup_steps: int, r: float,
                      weight_lr_power: float) -> tuple[float, float, int]:
    """Advance the step count; return this step's learning rate :math:`\\gamma_t`, the
    averaging weight :math:`c_{t+1}` and :math:`t` (steps taken before this one)."""
    k = int(item(state["step"]))
    lr = lr * ((k + 1) / warmup_steps if k < warmup_steps else 1.0)
    lr_max = state["lr_max"] = max(lr, state["lr_max"])
    weight = (k + 1) ** r * lr_max ** weight_lr_power
    weight_sum = state["weight_sum"] = state["weight_sum"] + weight
    state["step"] += 1
    return lr, (weight / weight_sum if weight_sum != 0 else 0.0), k


def _interpolate_step(param, z, d, lr, beta, ckp1) -> None:
    """:math:`y \\leftarrow (1-c) y + c z + \\gamma(\\beta(1-c) - 1) d`, then
    :math:`z \\leftarrow z - \\gamma d` (in place)."""
    lerp_(param, z, ckp1)
    add_(param, d, alpha=lr * (beta * (1 - ckp1) - 1))
    add_(z, d, alpha=-lr)


def _check_common(lr, weight_decay, warmup_steps, r, weight_lr_power) -> None:
    check_lr_weight_decay(lr, weight_decay)
    if (not isinstance(warmup_steps, numbers.Integral) or isinstance(warmup_steps, bool)
            or warmup_steps < 0):
        raise invalid("warmup_steps", warmup_steps, "an integer >= 0")
    for name, value in (("r", r), ("weight_lr_power", weight_lr_power)):
        if not is_real(value) or not math.isfinite(value) or value < 0:
            raise invalid(name, value, "a finite number >= 0")


def check_schedule_free_sgd(lr, momentum, weight_decay, warmup_steps, r, weight_lr_power,
                            **_) -> None:
    """Raise ``ValueError`` for invalid schedule-free SGD hyperparameters."""
    _check_common(lr, weight_decay, warmup_steps, r, weight_lr_power)
    if not is_real(momentum) or not 0.0 < momentum < 1.0:
        raise invalid("momentum", momentum, "a number in (0, 1)")


def check_schedule_free_adamw(lr, betas, eps, weight_decay, warmup_steps, r,
                              weight_lr_power, **_) -> None:
    """Raise ``ValueError`` for invalid schedule-free AdamW hyperparameters."""
    _check_common(lr, weight_decay, warmup_steps, r, weight_lr_power)
    if (not isinstance(betas, (tuple, list)) or len(betas) != 2
            or not all(is_real(b) for b in betas)
            or not 0.0 < betas[0] < 1.0 or not 0.0 <= betas[1] < 1.0):
        raise invalid("betas", betas, "a pair (beta1, beta2) with 0 < beta1 < 1 and "
                      "0 <= beta2 < 1")
    if not is_real(eps) or not math.isfinite(eps) or eps < 0:
        raise invalid("eps", eps, "a finite number >= 0")


@update_rule(check=check_schedule_free_sgd, init_state=init_schedule_free_sgd_state)
def schedule_free_sgd(param, grad, state: dict, *, lr: float, momentum: float = 0.9,
                      weight_decay: float = 0.0, warmup_steps: int = 0, r: float = 0.0,
                      weight_lr_power: float = 2.0) -> None:
    r"""One schedule-free SGD step: ``param`` holds :math:`y_t` and becomes :math:`y_{t+1}`.

    Parameters
    ----------
    param : array, :math:`y_t` (the point where ``grad`` was taken), updated in place.
    grad : array, :math:`\nabla f(y_t)`; not modified.
    state : dict; ``"z"``, ``"step"``, ``"weight_sum"``, ``"lr_max"``.
    lr : :math:`\gamma` (the package's default is 1.0).
    momentum : the interpolation :math:`\beta` in :math:`(0, 1)`.
    weight_decay : :math:`\lambda`, an L2 term :math:`\lambda y` added to the gradient.
    warmup_steps, r, weight_lr_power : linear warm-up length, polynomial weight power and
        the power of :math:`\max\gamma` in the averaging weights.
    """
    if not state:
        init_schedule_free_sgd_state(param, state)
    lr, ckp1, _ = _averaging_weight(state, lr, warmup_steps, r, weight_lr_power)
    d = add(grad, param, alpha=weight_decay) if weight_decay != 0 else grad
    _interpolate_step(param, state["z"], d, lr, momentum, ckp1)


@update_rule(check=check_schedule_free_adamw, init_state=init_schedule_free_adamw_state)
def schedule_free_adamw(param, grad, state: dict, *, lr: float, betas=(0.9, 0.999),
                        eps: float = 1e-8, weight_decay: float = 0.0, warmup_steps: int = 0,
                        r: float = 0.0, weight_lr_power: float = 2.0) -> None:
    r"""One schedule-free AdamW step: ``param`` holds :math:`y_t` and becomes :math:`y_{t+1}`.

    Parameters
    ----------
    param : array, :math:`y_t`, updated in place.
    grad : array, :math:`\nabla f(y_t)`; not modified.
    state : dict; ``"z"``, ``"exp_avg_sq"``, ``"step"``, ``"weight_sum"``, ``"lr_max"``.
    lr : :math:`\gamma` (the package's default is 0.0025).
    betas : :math:`(\beta_1, \beta_2)`: the interpolation and the decay of :math:`v`.
    eps : added to :math:`\sqrt{\hat v}`.
    weight_decay : :math:`\lambda`, :math:`\lambda y` added after the normalization.
    warmup_steps, r, weight_lr_power : as in :func:`schedule_free_sgd`.
    """
    beta1, beta2 = betas
    if not state:
        init_schedule_free_adamw_state(param, state)
    lr, ckp1, k = _averaging_weight(state, lr, warmup_steps, r, weight_lr_power)
    exp_avg_sq = state["exp_avg_sq"]
    moving_average_of_squares_(exp_avg_sq, grad, beta2)
    denom = sqrt_(exp_avg_sq / (1 - beta2 ** (k + 1)))
    denom += eps
    d = grad / denom
    if weight_decay != 0:
        add_(d, param, alpha=weight_decay)
    _interpolate_step(param, state["z"], d, lr, beta1, ckp1)


def schedule_free_eval_point(param, state: dict, beta: float):
    r"""The averaged point :math:`x = y + (1 - 1/\beta)(z - y)` for ``param`` holding
    :math:`y` (a new array; ``param`` is unchanged). Before the first step, a copy of
    ``param``."""
    if "z" not in state:
        return clone(param)
    return lerp_(clone(param), state["z"], 1 - 1 / beta)


class _ScheduleFree(CheckedRuleOptimizer):
    """Train/eval switching shared by the two schedule-free classes."""

    scalar_state = ("step",)
    foreach_reads = ()

    @staticmethod
    def _beta(group: dict) -> float:
        raise NotImplementedError

    @torch.no_grad()
    def eval(self) -> None:
        """Move the parameters to the average :math:`x` (for evaluation and checkpoints);
        keep :math:`y` to restore it exactly. A no-op in eval mode."""
        for group in self.param_groups:
            if group["train_mode"]:
                for p in group["params"]:
                    state = self.state[p]
                    if "z" in state:
                        state["y"] = p.detach().clone()
                        p.copy_(schedule_free_eval_point(p, state, self._beta(group)))
                group["train_mode"] = False

    @torch.no_grad()
    def train(self) -> None:
        """Move the parameters back to :math:`y` (bit for bit); a no-op in train mode."""
        for group in self.param_groups:
            if not group["train_mode"]:
                for p in group["params"]:
                    state = self.state[p]
                    if "y" in state:
                        p.copy_(state.pop("y"))
                    elif "z" in state:      # e.g. a checkpoint saved by the package
                        p.lerp_(state["z"], 1 - self._beta(group))
                group["train_mode"] = True

    def step(self, closure=None):
        """One step (``closure`` re-evaluates the loss); only in train mode."""
        if not all(group["train_mode"] for group in self.param_groups):
            raise RuntimeError(f"{type(self).__name__}.step() called in eval mode: call "
                               "optimizer.train() before training (and optimizer.eval() "
                               "before evaluating)")
        return super().step(closure)


class SGDScheduleFree(_ScheduleFree):
    """Schedule-free SGD on the rule :func:`schedule_free_sgd`.

    ``SGDScheduleFree(params, lr=1.0, momentum=0.9, weight_decay=0.0, warmup_steps=0,
    r=0.0, weight_lr_power=2.0)`` -- the ``schedulefree`` package's signature and defaults.
    ``eval()`` / ``train()`` switch the parameters between :math:`x` and :math:`y`.
    """

    rule = schedule_free_sgd

    def __init__(self, params, lr: float = 1.0, momentum: float = 0.9,
                 weight_decay: float = 0.0, warmup_steps: int = 0, r: float = 0.0,
                 weight_lr_power: float = 2.0):
        hyper = schedule_free_sgd.validate(lr=lr, momentum=momentum, weight_decay=weight_decay,
                                           warmup_steps=warmup_steps, r=r,
                                           weight_lr_power=weight_lr_power)
        super().__init__(params, dict(hyper, train_mode=True))

    @staticmethod
    def _beta(group: dict) -> float:
        return group["momentum"]


class AdamWScheduleFree(_ScheduleFree):
    """Schedule-free AdamW on the rule :func:`schedule_free_adamw`.

    ``AdamWScheduleFree(params, lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
    warmup_steps=0, r=0.0, weight_lr_power=2.0)`` -- the package's signature and defaults.
    """

    rule = schedule_free_adamw

    def __init__(self, params, lr: float = 0.0025, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, warmup_steps: int = 0, r: float = 0.0,
                 weight_lr_power: float = 2.0):
        hyper = schedule_free_adamw.validate(lr=lr, betas=tuple(betas), eps=eps,
                                             weight_decay=weight_decay,
                                             warmup_steps=warmup_steps, r=r,
                                             weight_lr_power=weight_lr_power)
        super().__init__(params, dict(hyper, train_mode=True))

    @staticmethod
    def _beta(group: dict) -> float:
        return group["betas"][0]
