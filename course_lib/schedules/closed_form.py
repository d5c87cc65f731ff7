r"""Learning-rate schedules as pure functions of the step, and the stateful rules around them.

A *schedule* here is a function ``f(step) -> lr``: the learning rate :math:`\eta_t` used by the
update at step :math:`t`. The factories below return such functions (small callable objects
that also print their parameters). They follow **torch's step counting**: step ``0`` is the
first update, and ``f(t)`` is the learning rate a ``torch.optim.lr_scheduler`` scheduler has set
after ``t`` calls of ``scheduler.step()`` -- the usual loop being

.. code-block:: python

    for t in range(steps):
        optimizer.step()        # uses eta_t
        scheduler.step()        # moves to eta_{t+1}

so ``f(t)`` equals ``optimizer.param_groups[0]["lr"]`` during the ``t``-th optimizer step. Whether
"a step" is one minibatch or one epoch is the caller's choice, exactly as in torch.

Torch's schedulers are mostly *recursive* (each ``step()`` multiplies the current ``lr`` of the
group), while these are *closed forms* of ``t``. The two agree to rounding (tests check rtol
``1e-12`` over 600 steps); the closed form is what the book derives and plots, and it cannot
drift when something else changes ``group["lr"]``. :class:`ScheduledLR` drives any
``torch.optim.Optimizer`` from these functions.

The factories cover every closed-form scheduler of ``torch.optim.lr_scheduler`` (``StepLR``,
``MultiStepLR``, ``ExponentialLR``, ``LinearLR``, ``CyclicLR``, ``CosineAnnealingLR``,
``CosineAnnealingWarmRestarts``, ``OneCycleLR``, ``PolynomialLR``, ``ConstantLR``,
``LambdaLR``, ``MultiplicativeLR``, ``SequentialLR``/``ChainedScheduler`` of these, and
``swa_utils.SWALR``), plus the Transformer's inverse-square-root warm-up.

Elsewhere:

* :class:`~course_lib.schedules.ReduceLROnPlateau` -- divide the learning rate when a monitored
  metric stops
  improving (torch's rule, without an optimizer);
* :class:`~course_lib.training.EarlyStopping` -- stop when a *validation* metric stops
  improving and return the
  best parameters seen (GBC §7.8), not the last ones.

Invalid arguments raise ``ValueError("Invalid <name>: <value> (expected ...)")``.
"""

from __future__ import annotations

import bisect
import math
import numbers
from collections.abc import Callable, Sequence

from ..validation import (
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
    invalid,
    is_real,
)

__all__ = [
    "Schedule",
    "constant",
    "step_decay",
    "multistep_decay",
    "exponential_decay",
    "linear_decay",
    "piecewise_linear",
    "cyclic",
    "cosine_annealing",
    "cosine_warm_restarts",
    "linear_warmup",
    "one_cycle",
    "one_cycle_momentum",
    "polynomial_decay",
    "constant_factor",
    "lambda_schedule",
    "multiplicative",
    "chained",
    "swa_schedule",
    "inverse_sqrt_warmup",
]


# --------------------------------------------------------------------------------------------
# The schedule object
# --------------------------------------------------------------------------------------------

class Schedule:
    """A learning rate as a function of the step: ``schedule(t) -> float``.

    Returned by the factories of this module; ``name`` and ``params`` record how it was made
    (they are what ``repr`` shows, e.g. in a plot legend). Calling it with a negative step
    raises ``ValueError``. Instances pickle (they hold a module-level function and numbers),
    so a :class:`ScheduledLR` carrying one can be saved in a checkpoint.
    """

    def __init__(self, name: str, fn: Callable, **params):
        self.name = name
        self.params = params
        self._fn = fn

    def __call__(self, step) -> float:
        if not is_real(step) or not step >= 0:
            raise invalid("step", step, "a number >= 0")
        return float(self._fn(step, **self.params))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"


# --------------------------------------------------------------------------------------------
# Factories
# --------------------------------------------------------------------------------------------

def _constant(t, lr):
    return lr


def constant(lr: float) -> Schedule:
    r"""The constant schedule :math:`\eta_t = \eta`.

    Torch equivalent: no scheduler (or ``LambdaLR(opt, lambda t: 1.0)``).
    """
    check_nonnegative(lr, "lr")
    return Schedule("constant", _constant, lr=lr)


def _step_decay(t, lr, step_size, gamma):
    return lr * gamma ** (t // step_size)


def step_decay(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    r"""Step decay: multiply by :math:`\gamma` every ``step_size`` steps.

    .. math:: \eta_t = \eta\,\gamma^{\lfloor t/s\rfloor}

    Torch equivalent: ``StepLR(optimizer, step_size=s, gamma=gamma)`` with the optimizer's
    ``lr`` :math:`=\eta`. Note the floor: the rate is constant on blocks of :math:`s` steps.
    :math:`\eta\gamma^t` (decay at *every* step) is :func:`exponential_decay`, a different
    schedule (ERRATA 7: with :math:`\gamma=0.1, s=10`, step decay gives :math:`10^{-3}\eta` at
    :math:`t=30`, per-step decay :math:`10^{-30}\eta`).
    """
    check_nonnegative(lr, "lr")
    check_int(step_size, "step_size", 1)
    check_positive(gamma, "gamma")
    return Schedule("step_decay", _step_decay, lr=lr, step_size=step_size, gamma=gamma)


def _multistep_decay(t, lr, milestones, gamma):
    return lr * gamma ** bisect.bisect_right(milestones, t)


def multistep_decay(lr: float, milestones: Sequence[int], gamma: float = 0.1) -> Schedule:
    r"""Multiply by :math:`\gamma` at each milestone :math:`m_1 < m_2 < \dots`.

    .. math:: \eta_t = \eta\,\gamma^{\,\#\{i:\ m_i \le t\}}

    so the decay at :math:`m_i` is in effect *from* step :math:`m_i` on. Torch equivalent:
    ``MultiStepLR(optimizer, milestones, gamma)``. Milestones must be strictly increasing
    non-negative integers (torch asks for increasing milestones but does not check; a repeated
    milestone there decays twice).
    """
    check_nonnegative(lr, "lr")
    ms = list(milestones)
    if (not all(isinstance(m, numbers.Integral) and not isinstance(m, bool) and m >= 0
                for m in ms) or any(b <= a for a, b in zip(ms, ms[1:]))):
        raise invalid("milestones", list(milestones),
                       "strictly increasing non-negative integers")
    check_positive(gamma, "gamma")
    return Schedule("multistep_decay", _multistep_decay, lr=lr, milestones=tuple(ms),
                    gamma=gamma)


def _exponential_decay(t, lr, gamma):
    return lr * gamma ** t


def exponential_decay(lr: float, gamma: float) -> Schedule:
    r"""Exponential decay at every step.

    .. math:: \eta_t = \eta\,\gamma^{t}

    Torch equivalent: ``ExponentialLR(optimizer, gamma)``. :math:`\gamma > 1` (growth) is
    allowed: it is the learning-rate range test.
    """
    check_nonnegative(lr, "lr")
    check_positive(gamma, "gamma")
    return Schedule("exponential_decay", _exponential_decay, lr=lr, gamma=gamma)


def _linear_decay(t, lr, lr_end, total_steps):
    if t >= total_steps:
        return lr_end
    return lr + (lr_end - lr) * t / total_steps


def linear_decay(lr: float, lr_end: float, total_steps: int) -> Schedule:
    r"""Linear interpolation from ``lr`` to ``lr_end`` over ``total_steps`` steps, then constant.

    .. math:: \eta_t = \eta + (\eta_{\text{end}} - \eta)\,\frac{\min(t, \tau)}{\tau}

    with :math:`\tau` = ``total_steps``. This is GBC's eq. (8.14),
    :math:`\epsilon_k=(1-\alpha)\epsilon_0+\alpha\epsilon_\tau` with :math:`\alpha=k/\tau`, with
    :math:`\epsilon_0` the rate at step 0. The constant tail means
    :math:`\sum_k \eta_k^2 = \infty`: this schedule does *not* satisfy the Robbins--Monro
    conditions (ERRATA 35; with 0.1 → 0.001, :math:`\tau=100`, :math:`\sum_{k=1}^K\eta_k^2` is
    0.3326, 0.3416, 0.4316 at :math:`K=10^3, 10^4, 10^5`).

    Torch equivalent (for ``lr > 0`` and ``lr_end <= lr``): ``LinearLR(optimizer,
    start_factor=1.0, end_factor=lr_end / lr, total_iters=total_steps)``.
    """
    check_nonnegative(lr, "lr")
    check_nonnegative(lr_end, "lr_end")
    check_int(total_steps, "total_steps", 1)
    return Schedule("linear_decay", _linear_decay, lr=lr, lr_end=lr_end,
                    total_steps=total_steps)


def _piecewise_linear(t, steps, lrs):
    if t <= steps[0]:
        return lrs[0]
    if t >= steps[-1]:
        return lrs[-1]
    i = bisect.bisect_right(steps, t)          # steps[i-1] <= t < steps[i]
    s0, s1, l0, l1 = steps[i - 1], steps[i], lrs[i - 1], lrs[i]
    return l0 + (l1 - l0) * (t - s0) / (s1 - s0)


def piecewise_linear(points: Sequence[tuple[float, float]]) -> Schedule:
    r"""Linear interpolation through the points :math:`(s_i, \eta_i)`, constant outside them.

    .. math::
        \eta_t = \begin{cases} \eta_1 & t \le s_1\\
        \eta_i + (\eta_{i+1}-\eta_i)\,\dfrac{t-s_i}{s_{i+1}-s_i} & s_i \le t < s_{i+1}\\
        \eta_n & t \ge s_n \end{cases}

    (``numpy.interp``'s convention). ``points`` is a list of ``(step, lr)`` with strictly
    increasing steps. Warm-up then decay, "constant, linear, constant" (the seed document's
    piecewise schedule is ``[(20, 1.0), (80, 0.01)]``) and one-cycle shapes are all of this form.
    Torch equivalent: ``LambdaLR`` with this function divided by the initial rate, or
    ``SequentialLR`` of ``LinearLR`` pieces.
    """
    pts = [tuple(p) for p in points]
    if not pts or not all(len(p) == 2 for p in pts):
        raise invalid("points", points, "a non-empty list of (step, lr) pairs")
    steps = tuple(p[0] for p in pts)
    lrs = tuple(p[1] for p in pts)
    if (not all(is_real(s) and math.isfinite(s) for s in steps)
            or any(b <= a for a, b in zip(steps, steps[1:]))):
        raise invalid("points", points, "strictly increasing finite steps")
    for lr in lrs:
        if not is_real(lr) or not math.isfinite(lr) or lr < 0:
            raise invalid("points", points, "learning rates that are finite numbers >= 0")
    return Schedule("piecewise_linear", _piecewise_linear, steps=steps, lrs=lrs)


def _cyclic(t, base_lr, max_lr, step_size_up, step_size_down, mode, gamma):
    # Written as torch.optim.lr_scheduler.CyclicLR.get_lr computes it.
    total = float(step_size_up + step_size_down)
    ratio = step_size_up / total
    cycle = math.floor(1 + t / total)
    x = 1.0 + t / total - cycle
    height = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
    if mode == "triangular":
        scale = 1.0
    elif mode == "triangular2":
        scale = 1 / (2.0 ** (cycle - 1))
    else:  # exp_range
        scale = gamma ** t
    return base_lr + (max_lr - base_lr) * height * scale


def cyclic(base_lr: float, max_lr: float, step_size_up: int, step_size_down: int | None = None,
           mode: str = "triangular", gamma: float = 1.0) -> Schedule:
    r"""Smith's cyclical learning rate (CLR): a triangle wave between ``base_lr`` and ``max_lr``.

    With :math:`u` = ``step_size_up``, :math:`d` = ``step_size_down`` (default :math:`u`),
    period :math:`L=u+d`, cycle number :math:`c=\lfloor 1+t/L\rfloor` (from 1) and position
    :math:`x = 1 + t/L - c\in[0,1)` in the cycle,

    .. math::
        h_t = \begin{cases} x\,L/u & x \le u/L \quad(\text{rising})\\
                             (1-x)\,L/d & \text{otherwise}\quad(\text{falling})\end{cases}
        \qquad
        \eta_t = \eta_{\text{base}} + (\eta_{\max}-\eta_{\text{base}})\,h_t\,\sigma_t

    with the amplitude scale :math:`\sigma_t = 1` (``"triangular"``),
    :math:`2^{-(c-1)}` (``"triangular2"``: halved every cycle) or :math:`\gamma^t`
    (``"exp_range"``). For :math:`u=d=s` this is Smith's
    :math:`\eta_b + (\eta_{\max}-\eta_b)\max(0, 1-|t/s-2c+1|)`. Step 0 is at ``base_lr``; the
    first peak is at :math:`t=u` (``max_lr`` itself, except in ``"exp_range"`` mode, where it is
    scaled by :math:`\gamma^u`).

    Torch equivalent: ``CyclicLR(optimizer, base_lr, max_lr, step_size_up, step_size_down,
    mode, gamma, cycle_momentum=False)``. Beware torch's default ``cycle_momentum=True``: it
    also cycles the optimizer's momentum between 0.9 and 0.8 -- even for an SGD built with
    ``momentum=0``, which silently becomes heavy-ball SGD.
    A sawtooth that jumps back to the top each cycle (the seed document's "cyclic" code) is a
    different schedule: a warm restart, see :func:`cosine_warm_restarts`.
    """
    check_nonnegative(base_lr, "base_lr")
    check_nonnegative(max_lr, "max_lr")
    check_positive(step_size_up, "step_size_up")
    if step_size_down is None:
        step_size_down = step_size_up
    check_positive(step_size_down, "step_size_down")
    check_choice(mode, "mode", ("triangular", "triangular2", "exp_range"))
    check_positive(gamma, "gamma")
    return Schedule("cyclic", _cyclic, base_lr=base_lr, max_lr=max_lr,
                    step_size_up=step_size_up, step_size_down=step_size_down, mode=mode,
                    gamma=gamma)


def _cosine_annealing(t, lr_max, T_max, lr_min):
    return lr_min + (lr_max - lr_min) * (1 + math.cos(math.pi * t / T_max)) / 2


def cosine_annealing(lr_max: float, T_max: int, lr_min: float = 0.0) -> Schedule:
    r"""Cosine annealing from ``lr_max`` (at :math:`t=0`) to ``lr_min`` (at :math:`t=T_{\max}`).

    .. math:: \eta_t = \eta_{\min} + \tfrac12(\eta_{\max}-\eta_{\min})
              \left(1+\cos\frac{\pi t}{T_{\max}}\right)

    Torch equivalent: ``CosineAnnealingLR(optimizer, T_max, eta_min=lr_min)``. Torch computes
    it *recursively*,
    :math:`\eta_{t}=\eta_{\min}+(\eta_{t-1}-\eta_{\min})\frac{1+\cos(\pi t/T)}{1+\cos(\pi(t-1)/T)}`,
    which telescopes to the closed form above; at :math:`t = T_{\max}+1 \pmod{2T_{\max}}`,
    where the ratio would divide by zero, it adds
    :math:`\tfrac12(\eta_{\max}-\eta_{\min})(1-\cos\frac{\pi}{T_{\max}})` instead, which is the
    closed form's value there too. So the two agree at *every* step (to rounding: relative
    difference below :math:`10^{-12}` over 600 steps, checked for :math:`T_{\max}` from 7 to
    600), and in particular **past** :math:`T_{\max}` the learning rate does not stay at
    :math:`\eta_{\min}`: it climbs back along the cosine, reaching :math:`\eta_{\max}` at
    :math:`2T_{\max}` (period :math:`2T_{\max}`). This function does the same. To anneal once
    and then hold :math:`\eta_{\min}`, set :math:`T_{\max}` to the length of the run, or use
    :func:`cosine_warm_restarts` for restarts that jump back up.

    The recursion and the closed form part ways only if something else (another scheduler, or
    the user) changes ``group["lr"]`` meanwhile: the recursion then carries the change along.
    """
    check_nonnegative(lr_max, "lr_max")
    check_int(T_max, "T_max", 1)
    check_nonnegative(lr_min, "lr_min")
    return Schedule("cosine_annealing", _cosine_annealing, lr_max=lr_max, T_max=T_max,
                    lr_min=lr_min)


def _cosine_warm_restarts(t, lr_max, T_0, T_mult, lr_min):
    if T_mult == 1:
        T_cur, T_i = t % T_0, T_0
    else:  # integer arithmetic: log() would misplace a restart by rounding
        T_cur, T_i = t, T_0
        while T_cur >= T_i:
            T_cur -= T_i
            T_i *= T_mult
    return lr_min + (lr_max - lr_min) * (1 + math.cos(math.pi * T_cur / T_i)) / 2


def cosine_warm_restarts(lr_max: float, T_0: int, T_mult: int = 1,
                         lr_min: float = 0.0) -> Schedule:
    r"""SGDR: cosine annealing restarted every :math:`T_i` steps,
    :math:`T_i = T_0\,T_{\text{mult}}^i`.

    .. math:: \eta_t = \eta_{\min} + \tfrac12(\eta_{\max}-\eta_{\min})
              \left(1+\cos\frac{\pi T_{\text{cur}}}{T_i}\right)

    where :math:`T_{\text{cur}}` counts the steps since the last restart: restarts happen at
    :math:`t = T_0, T_0 + T_0T_{\text{mult}}, \dots`, where :math:`\eta` jumps back to
    :math:`\eta_{\max}` (Loshchilov & Hutter, 2017). The last step of a cycle is
    :math:`\eta_{\min}+\frac12(\eta_{\max}-\eta_{\min})(1+\cos(\pi(T_i-1)/T_i))`, just above
    :math:`\eta_{\min}`, which is never reached exactly.

    Torch equivalent: ``CosineAnnealingWarmRestarts(optimizer, T_0, T_mult, eta_min=lr_min)``
    stepped without arguments (``T_0`` and ``T_mult`` are integers there too). The restart
    times are found here with integer arithmetic; torch's ``step(epoch)`` path finds them with
    a floating-point logarithm and can miss one (``T_0=1, T_mult=10``: ``step(111)`` gives
    :math:`\eta_{\min}` instead of the restart's :math:`\eta_{\max}`, as
    ``math.log(1000, 10) < 3``).
    """
    check_nonnegative(lr_max, "lr_max")
    check_int(T_0, "T_0", 1)
    check_int(T_mult, "T_mult", 1)
    check_nonnegative(lr_min, "lr_min")
    return Schedule("cosine_warm_restarts", _cosine_warm_restarts, lr_max=lr_max, T_0=T_0,
                    T_mult=T_mult, lr_min=lr_min)


def _linear_warmup(t, schedule, warmup_steps, start_factor, shift):
    if t < warmup_steps:
        factor = start_factor + (1.0 - start_factor) * t / warmup_steps
        return (schedule(0) if shift else schedule(t)) * factor
    return schedule(t - warmup_steps) if shift else schedule(t)


def linear_warmup(schedule: Callable[[int], float], warmup_steps: int,
                  start_factor: float = 0.0, *, shift: bool = True) -> Schedule:
    r"""Prepend a linear warm-up of ``warmup_steps`` steps to ``schedule``.

    With :math:`W` = ``warmup_steps``, :math:`\alpha_0` = ``start_factor`` and
    :math:`\alpha_t = \alpha_0 + (1-\alpha_0)\,t/W`:

    * ``shift=True`` (default) -- warm up to the schedule's first value, *then* run the
      schedule from its step 0:

      .. math:: \eta_t = \begin{cases} \alpha_t\,f(0) & t < W\\ f(t-W) & t\ge W\end{cases}

      Torch equivalent: ``SequentialLR(optimizer, [LinearLR(optimizer, start_factor,
      total_iters=W), scheduler], milestones=[W])``. This is the usual "warm-up then cosine"
      recipe; the schedule's own clock (e.g. ``T_max``) starts after the warm-up.

    * ``shift=False`` -- multiply the schedule by the ramp, on the schedule's own clock:

      .. math:: \eta_t = \min(\alpha_t, 1)\, f(t)

      Torch equivalent: ``ChainedScheduler([LinearLR(optimizer, start_factor, total_iters=W),
      scheduler])`` for multiplicative torch schedulers (``StepLR``, ``ExponentialLR``, ...).

    With a constant schedule both reduce to ``LinearLR(optimizer, start_factor,
    total_iters=W)``. ``start_factor=0`` (the default, :math:`\eta_0=0`: the first update does
    nothing) is allowed here; torch's ``LinearLR`` requires ``start_factor > 0``.
    ``warmup_steps=0`` returns the schedule unchanged.
    """
    if not callable(schedule):
        raise invalid("schedule", schedule, "a callable step -> lr")
    check_int(warmup_steps, "warmup_steps", 0)
    if not is_real(start_factor) or not 0.0 <= start_factor <= 1.0:
        raise invalid("start_factor", start_factor, "a number in [0, 1]")
    return Schedule("linear_warmup", _linear_warmup, schedule=schedule,
                    warmup_steps=warmup_steps, start_factor=start_factor, shift=bool(shift))


def _anneal(start, end, pct, strategy):
    # Written as torch's OneCycleLR._annealing_cos / _annealing_linear compute it.
    if strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


def _one_cycle_phases(total_steps, pct_start, three_phase):
    """(end_step, start_key, end_key) of each phase, as torch's OneCycleLR lays them out."""
    if three_phase:
        return ((float(pct_start * total_steps) - 1, 0, 1),
                (float(2 * pct_start * total_steps) - 2, 1, 0),
                (total_steps - 1, 0, 2))
    return ((float(pct_start * total_steps) - 1, 0, 1), (total_steps - 1, 1, 2))


def _one_cycle(t, values, total_steps, pct_start, anneal_strategy, three_phase):
    if t > total_steps:
        raise ValueError(f"Tried to step {t} times. The specified number of total steps is "
                         f"{total_steps}")
    phases = _one_cycle_phases(total_steps, pct_start, three_phase)
    start_step = 0.0
    for i, (end_step, a, b) in enumerate(phases):
        if t <= end_step or i == len(phases) - 1:
            pct = (t - start_step) / (end_step - start_step)
            return _anneal(values[a], values[b], pct, anneal_strategy)
        start_step = end_step
    raise AssertionError("unreachable")


def _check_one_cycle(total_steps, pct_start, anneal_strategy):
    check_int(total_steps, "total_steps", 1)
    if not isinstance(pct_start, float) or not 0.0 <= pct_start <= 1.0:
        raise invalid("pct_start", pct_start, "a float in [0, 1]")
    check_choice(anneal_strategy, "anneal_strategy", ("cos", "linear"))


def one_cycle(max_lr: float, total_steps: int, pct_start: float = 0.3,
              anneal_strategy: str = "cos", div_factor: float = 25.0,
              final_div_factor: float = 1e4, three_phase: bool = False) -> Schedule:
    r"""Smith's one-cycle policy: up from :math:`\eta_{\max}/d` to :math:`\eta_{\max}`, then down.

    With :math:`T` = ``total_steps``, :math:`p` = ``pct_start``, :math:`d` = ``div_factor``
    and :math:`d_f` = ``final_div_factor``, the three levels are
    :math:`\eta_0=\eta_{\max}/d` (start), :math:`\eta_{\max}` (peak) and
    :math:`\eta_{\text{end}}=\eta_0/d_f` (end). The rate moves between them along
    :math:`a(s, e, x) = e + \tfrac12(s-e)(1+\cos\pi x)` (``"cos"``) or
    :math:`s + (e-s)x` (``"linear"``), :math:`x\in[0,1]` the fraction of the phase done:

    * two phases (default, fastai's variant): :math:`\eta_0\to\eta_{\max}` over steps
      :math:`0..pT-1`, then :math:`\eta_{\max}\to\eta_{\text{end}}` until step :math:`T-1`;
    * ``three_phase=True`` (Smith & Topin's paper): :math:`\eta_0\to\eta_{\max}` until
      :math:`pT-1`, back to :math:`\eta_0` until :math:`2pT-2`, then
      :math:`\eta_0\to\eta_{\text{end}}` until :math:`T-1`.

    A phase ending at step :math:`e_i` (from the previous end :math:`e_{i-1}`, :math:`e_0=0`)
    uses :math:`x=(t-e_{i-1})/(e_i-e_{i-1})`, exactly torch's bookkeeping (its phase ends
    are the possibly fractional :math:`pT-1`, and a phase's end value is reached at its last
    step). Defined for :math:`0\le t\le T` (step :math:`T` overshoots the last phase slightly,
    as in torch); later steps raise ``ValueError`` with torch's message.

    Torch equivalent: ``OneCycleLR(optimizer, max_lr, total_steps, pct_start,
    anneal_strategy, cycle_momentum=False, div_factor=d, final_div_factor=d_f,
    three_phase)``. By default torch also cycles the momentum (or Adam's :math:`\beta_1`)
    inversely to the rate between 0.95 and 0.85: that schedule is
    :func:`one_cycle_momentum`. ``total_steps`` must be given (torch's alternative,
    ``epochs * steps_per_epoch``, is the same number).
    """
    check_positive(max_lr, "max_lr")
    _check_one_cycle(total_steps, pct_start, anneal_strategy)
    check_positive(div_factor, "div_factor")
    check_positive(final_div_factor, "final_div_factor")
    initial = max_lr / div_factor
    values = (initial, max_lr, initial / final_div_factor)
    return Schedule("one_cycle", _one_cycle, values=values, total_steps=total_steps,
                    pct_start=pct_start, anneal_strategy=anneal_strategy,
                    three_phase=bool(three_phase))


def one_cycle_momentum(total_steps: int, pct_start: float = 0.3,
                       anneal_strategy: str = "cos", base_momentum: float = 0.85,
                       max_momentum: float = 0.95, three_phase: bool = False) -> Schedule:
    r"""The momentum that torch's ``OneCycleLR`` cycles inversely to :func:`one_cycle`'s rate.

    Same phases and annealing as :func:`one_cycle`, with the levels
    (start, peak, end) = (``max_momentum``, ``base_momentum``, ``max_momentum``): momentum is
    lowest where the rate is highest. In ``three_phase`` mode the last phase holds
    ``max_momentum``. It is the value of ``group["momentum"]`` (SGD) or ``group["betas"][0]``
    (Adam) during step :math:`t` under ``OneCycleLR(..., cycle_momentum=True)``. The returned
    function gives a momentum, not a learning rate (it is not meant for :class:`ScheduledLR`).
    """
    _check_one_cycle(total_steps, pct_start, anneal_strategy)
    for value, name in ((base_momentum, "base_momentum"), (max_momentum, "max_momentum")):
        if not is_real(value) or not 0.0 <= value <= 1.0:
            raise invalid(name, value, "a number in [0, 1]")
    values = (max_momentum, base_momentum, max_momentum)
    return Schedule("one_cycle_momentum", _one_cycle, values=values, total_steps=total_steps,
                    pct_start=pct_start, anneal_strategy=anneal_strategy,
                    three_phase=bool(three_phase))


def _polynomial_decay(t, lr, total_iters, power):
    return lr * (1.0 - min(total_iters, t) / total_iters) ** power


def polynomial_decay(lr: float, total_iters: int = 5, power: float = 1.0) -> Schedule:
    r"""Polynomial decay to 0 over ``total_iters`` steps, then 0.

    .. math:: \eta_t = \eta\,\Bigl(1-\frac{\min(t, T)}{T}\Bigr)^{p}

    :math:`p=1` is linear decay to zero; :math:`p=2` is quadratic. Torch equivalent:
    ``PolynomialLR(optimizer, total_iters=T, power=p)`` (recursive there:
    :math:`\eta_t=\eta_{t-1}\bigl((1-t/T)/(1-(t-1)/T)\bigr)^p`, the same values to rounding).
    """
    check_nonnegative(lr, "lr")
    check_int(total_iters, "total_iters", 1)
    check_nonnegative(power, "power")
    return Schedule("polynomial_decay", _polynomial_decay, lr=lr, total_iters=total_iters,
                    power=power)


def _constant_factor(t, lr, factor, total_iters):
    return lr * factor if t < total_iters else lr


def constant_factor(lr: float, factor: float = 1.0 / 3, total_iters: int = 5) -> Schedule:
    r"""The rate :math:`\text{factor}\cdot\eta` for the first ``total_iters`` steps, then
    :math:`\eta`.

    .. math:: \eta_t = \begin{cases}\phi\,\eta & t < T\\ \eta & t \ge T\end{cases}

    A crude warm-up (a step instead of a ramp). Torch equivalent: ``ConstantLR(optimizer,
    factor=phi, total_iters=T)``, which divides by ``factor`` at step :math:`T` (so it needs
    :math:`\phi>0`; :math:`0<\phi\le1` here). ``total_iters`` must be at least 1: torch's
    ``ConstantLR`` with ``total_iters=0`` applies the factor at step 0 and never removes it.
    """
    check_nonnegative(lr, "lr")
    if not is_real(factor) or not 0.0 < factor <= 1.0:
        raise invalid("factor", factor, "a number in (0, 1]")
    check_int(total_iters, "total_iters", 1)
    return Schedule("constant_factor", _constant_factor, lr=lr, factor=factor,
                    total_iters=total_iters)


def _check_factor_schedule(lr, lr_lambda) -> None:
    """A nonnegative base rate and a callable factor (torch's ``TypeError`` wording)."""
    check_nonnegative(lr, "lr")
    if not callable(lr_lambda):
        raise TypeError(f"lr_lambda should be a function, but got {type(lr_lambda).__name__}")


def _lambda_schedule(t, lr, lr_lambda):
    return lr * lr_lambda(t)


def lambda_schedule(lr: float, lr_lambda: Callable[[int], float]) -> Schedule:
    r"""The rate :math:`\eta\,\lambda(t)` for a user function :math:`\lambda` (a *factor*).

    Torch equivalent: ``LambdaLR(optimizer, lr_lambda)`` with the optimizer's ``lr``
    :math:`=\eta`. (This module's :class:`ScheduledLR` takes the rate itself instead.)
    The schedule pickles only if ``lr_lambda`` does (a module-level function, not a lambda).
    """
    _check_factor_schedule(lr, lr_lambda)
    return Schedule("lambda_schedule", _lambda_schedule, lr=lr, lr_lambda=lr_lambda)


def _multiplicative(t, lr, lr_lambda):
    value = lr
    for s in range(1, int(t) + 1):   # torch's order: ((lr * f(1)) * f(2)) * ...
        value = value * lr_lambda(s)
    return value


def multiplicative(lr: float, lr_lambda: Callable[[int], float]) -> Schedule:
    r"""Multiply the rate by :math:`\lambda(s)` at each step :math:`s = 1, 2, \dots`

    .. math:: \eta_t = \eta\prod_{s=1}^{t}\lambda(s)

    Torch equivalent: ``MultiplicativeLR(optimizer, lr_lambda)``; the product is taken in
    torch's order, so the two agree to the last bit. :math:`\lambda(s)=\gamma` is
    :func:`exponential_decay`. Costs :math:`O(t)` per call.
    """
    _check_factor_schedule(lr, lr_lambda)
    return Schedule("multiplicative", _multiplicative, lr=lr, lr_lambda=lr_lambda)


def _chained(t, lr, factors):
    value = lr
    for f in factors:
        value = value * f(t)
    return value


def chained(lr: float, *factors: Callable[[int], float]) -> Schedule:
    r"""The product of several schedules, each given as a *factor* (built with rate 1).

    .. math:: \eta_t = \eta\prod_i f_i(t)

    e.g. ``chained(0.1, linear_warmup(constant(1.0), 40, 0.05, shift=False),
    exponential_decay(1.0, 0.995))``. Torch equivalent: ``ChainedScheduler([s_1, s_2, ...])``
    of schedulers that each *multiply* the current rate (``LinearLR``, ``ConstantLR``,
    ``StepLR``, ``MultiStepLR``, ``ExponentialLR``, ``PolynomialLR``, ``MultiplicativeLR``):
    their factors then compose by multiplication. (Chaining ``CosineAnnealingLR`` or
    ``CyclicLR``, which are not multiplicative, is not a product of closed forms.)
    """
    check_nonnegative(lr, "lr")
    if not factors:
        raise ValueError("chained expects at least one schedule to be chained, but got none")
    for f in factors:
        if not callable(f):
            raise invalid("factors", f, "callables step -> factor")
    return Schedule("chained", _chained, lr=lr, factors=tuple(factors))


def _swa_schedule(t, lr, swa_lr, anneal_epochs, anneal_strategy):
    if anneal_epochs == 0:
        t = max(1, t)
    x = max(0.0, min(1.0, t / max(1, anneal_epochs)))
    alpha = (1 - math.cos(math.pi * x)) / 2 if anneal_strategy == "cos" else x
    return swa_lr * alpha + lr * (1 - alpha)


def swa_schedule(lr: float, swa_lr: float, anneal_epochs: int = 10,
                 anneal_strategy: str = "cos") -> Schedule:
    r"""Anneal from the current rate :math:`\eta` to the constant SWA rate, then hold it.

    With :math:`A` = ``anneal_epochs`` and :math:`x=\min(1, t/A)`,

    .. math:: \eta_t = \alpha(x)\,\eta_{\text{SWA}} + (1-\alpha(x))\,\eta,\qquad
              \alpha(x)=\tfrac12(1-\cos\pi x)\ (\texttt{"cos"})
              \ \text{ or }\ x\ (\texttt{"linear"}),

    so :math:`\eta_0=\eta` and :math:`\eta_t=\eta_{\text{SWA}}` from :math:`t=A` on
    (:math:`A=0`: from :math:`t=0`). Torch equivalent: ``torch.optim.swa_utils.SWALR(
    optimizer, swa_lr, anneal_epochs=A, anneal_strategy)`` created when the optimizer's
    ``lr`` is :math:`\eta`; torch computes it recursively (recovering the previous base rate
    from the current one), with the same values to rounding.
    """
    check_nonnegative(lr, "lr")
    check_nonnegative(swa_lr, "swa_lr")
    check_int(anneal_epochs, "anneal_epochs", 0)
    check_choice(anneal_strategy, "anneal_strategy", ("cos", "linear"))
    return Schedule("swa_schedule", _swa_schedule, lr=lr, swa_lr=swa_lr,
                    anneal_epochs=anneal_epochs, anneal_strategy=anneal_strategy)


def _inverse_sqrt_warmup(t, lr, warmup_steps):
    n = t + 1
    return lr * min(math.sqrt(warmup_steps / n), n / warmup_steps)


def inverse_sqrt_warmup(lr: float, warmup_steps: int) -> Schedule:
    r"""Linear warm-up to ``lr`` over ``warmup_steps`` steps, then decay like :math:`1/\sqrt{t}`.

    With :math:`W` = ``warmup_steps`` and :math:`n=t+1` the 1-based step,

    .. math:: \eta_t = \eta\,\min\Bigl(\frac{n}{W},\ \sqrt{\frac{W}{n}}\Bigr),

    continuous with peak :math:`\eta` at :math:`n=W`. This is the Transformer schedule of
    Vaswani et al. (2017), :math:`d_{\text{model}}^{-1/2}\min(n^{-1/2}, n\,W^{-3/2})`, with
    :math:`\eta = (d_{\text{model}}W)^{-1/2}`. Torch equivalent: ``LambdaLR(optimizer,
    lambda t: min((t + 1) / W, (W / (t + 1)) ** 0.5))`` with the optimizer's ``lr`` :math:`=\eta`.
    """
    check_nonnegative(lr, "lr")
    check_int(warmup_steps, "warmup_steps", 1)
    return Schedule("inverse_sqrt_warmup", _inverse_sqrt_warmup, lr=lr,
                    warmup_steps=warmup_steps)
