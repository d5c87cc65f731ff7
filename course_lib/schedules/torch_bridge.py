"""The bridge from schedule functions to ``torch.optim.lr_scheduler``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..validation import (
    invalid,
)

__all__ = ["ScheduledLR"]


class ScheduledLR(torch.optim.lr_scheduler.LRScheduler):
    r"""Drive a ``torch.optim.Optimizer``'s learning rate from schedule functions.

    ``ScheduledLR(optimizer, schedule)`` sets every param group's ``lr`` to ``schedule(t)``;
    with a list of schedules (one per param group) each group follows its own. Use it like any
    torch scheduler: at construction the rates are set to ``schedule(0)``, and each
    ``step()`` (called *after* ``optimizer.step()``) moves to the next step, so the ``t``-th
    optimizer step (from 0) uses ``schedule(t)``. ``get_last_lr()``, ``last_epoch``,
    ``state_dict()`` and ``load_state_dict()`` are torch's.

    Unlike ``LambdaLR``, whose function returns a *factor* of the initial rate, a schedule here
    returns the rate itself; the ``lr`` given to the optimizer's constructor is overwritten.
    The rates are set from the closed form at every step, so they do not accumulate rounding
    and cannot drift.
    """

    def __init__(self, optimizer: torch.optim.Optimizer,
                 schedule: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1):
        n = len(optimizer.param_groups)
        if isinstance(schedule, (list, tuple)):
            if len(schedule) != n:
                raise ValueError(f"Invalid schedule: list of {len(schedule)} schedules "
                                 f"(expected one schedule or a list of {n}, one per param group)")
            schedules = list(schedule)
        else:
            schedules = [schedule] * n
        for s in schedules:
            if not callable(s):
                raise invalid("schedule", s, "a callable step -> lr")
        self.schedules = schedules
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float | torch.Tensor]:   # floats; torch's type
        return [float(s(self.last_epoch)) for s in self.schedules]

    def _get_closed_form_lr(self) -> list[float | torch.Tensor]:
        return self.get_lr()
