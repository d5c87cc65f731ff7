"""ReduceLROnPlateau: torch's rule for dividing the learning rate when a metric stalls,
as a plain object that drives the NumPy path as well as torch optimizers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..validation import (
    check_choice,
    check_int,
    check_nonnegative,
    invalid,
    is_real,
)

__all__ = ["ReduceLROnPlateau"]


class ReduceLROnPlateau:
    r"""Multiply the learning rate by ``factor`` when a metric has stopped improving.

    The rule of ``torch.optim.lr_scheduler.ReduceLROnPlateau``, as a plain object holding the
    learning rate(s) instead of an optimizer, so it drives the numpy path too. Call
    :meth:`step` once per evaluation with the monitored value (usually the validation loss);
    it returns the learning rate to use from now on.

    A value :math:`v` *improves* on the best so far, :math:`b`, when

    ========  ====================================  ============================
    mode      ``threshold_mode="rel"``              ``threshold_mode="abs"``
    ========  ====================================  ============================
    ``min``   :math:`v < b\,(1-\text{threshold})`   :math:`v < b-\text{threshold}`
    ``max``   :math:`v > b\,(1+\text{threshold})`   :math:`v > b+\text{threshold}`
    ========  ====================================  ============================

    (the first value always improves). The relative threshold assumes a positive metric: for a
    negative one (a log-likelihood, say) :math:`b(1-\text{threshold}) > b` in ``min`` mode, so
    slightly *worse* values count as improvements -- torch behaves the same; use
    ``threshold_mode="abs"`` there. Each step that does not improve increments
    ``num_bad_epochs``; once it *exceeds* ``patience`` (so after ``patience + 1`` bad steps in
    a row) each rate becomes :math:`\max(\eta\cdot\text{factor}, \eta_{\min})` -- unless that
    changes it by no more than ``eps`` -- the counter restarts at 0, and for the next
    ``cooldown`` steps bad steps are not counted. An improvement resets the counter.

    Parameters
    ----------
    lr : the initial learning rate, or a list of them (one per param group).
    mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps : as in torch
        (defaults 'min', 0.1, 10, 1e-4, 'rel', 0, 0, 1e-8); ``min_lr`` may be a list.

    The object is also a schedule: ``plateau(t)`` returns the current rate (whatever ``t``),
    so ``ScheduledLR(optimizer, plateau)`` applies it to a torch optimizer when
    ``plateau.step(metric)`` is followed by ``scheduler.step()`` (for several param groups pass
    ``[lambda t, i=i: plateau.lrs[i] for i in range(n_groups)]``).
    """

    def __init__(self, lr: float | Sequence[float] = 0.1, mode: str = "min",
                 factor: float = 0.1, patience: int = 10, threshold: float = 1e-4,
                 threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | Sequence[float] = 0.0, eps: float = 1e-8):
        lrs: list[Any] = list(lr) if isinstance(lr, (list, tuple)) else [lr]
        for value in lrs:
            check_nonnegative(value, "lr")
        check_choice(mode, "mode", ("min", "max"))
        if not is_real(factor) or not 0.0 <= factor < 1.0:
            raise invalid("factor", factor, "a number in [0, 1)")
        check_int(patience, "patience", 0)
        check_nonnegative(threshold, "threshold")
        check_choice(threshold_mode, "threshold_mode", ("rel", "abs"))
        check_int(cooldown, "cooldown", 0)
        min_lrs: list[Any] = (list(min_lr) if isinstance(min_lr, (list, tuple))
                              else [min_lr] * len(lrs))
        if len(min_lrs) != len(lrs):
            raise invalid("min_lr", min_lr, f"a number or a list of {len(lrs)} numbers")
        for value in min_lrs:
            check_nonnegative(value, "min_lr")
        check_nonnegative(eps, "eps")
        self._scalar = not isinstance(lr, (list, tuple))
        self.lrs = [float(v) for v in lrs]
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.min_lrs, self.eps = cooldown, [float(v) for v in min_lrs], eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self.history: list[list[float]] = []  # the rates returned by each step

    @property
    def lr(self):
        """The current learning rate (a list when constructed with a list)."""
        return self.lrs[0] if self._scalar else list(self.lrs)

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, value: float, best: float) -> bool:
        """Whether ``value`` improves on ``best`` by more than the threshold."""
        rel = self.threshold_mode == "rel"
        if self.mode == "min":
            return value < (best * (1.0 - self.threshold) if rel else best - self.threshold)
        return value > (best * (1.0 + self.threshold) if rel else best + self.threshold)

    def step(self, metric) -> float | list[float]:
        """Record one value of the monitored metric; return the learning rate(s) to use next."""
        current = float(metric)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for i, old in enumerate(self.lrs):
                new = max(old * self.factor, self.min_lrs[i])
                if old - new > self.eps:
                    self.lrs[i] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self.history.append(list(self.lrs))
        return self.lr

    def __call__(self, step=None) -> float:
        """The current learning rate (of the first group); ``step`` is ignored."""
        return self.lrs[0]

    def __repr__(self) -> str:
        return (f"ReduceLROnPlateau(lr={self.lr!r}, mode={self.mode!r}, factor={self.factor}, "
                f"patience={self.patience}, best={self.best})")
