r"""Callbacks for both training loops: early stopping, schedules, ReduceLROnPlateau, averaging.

:func:`course_lib.training.train` (torch) and :func:`course_lib.nn.fit` (NumPy) call the hooks
of :class:`~course_lib.nn.history.Callback` (see :mod:`course_lib.nn.history` for the order).
The adapters here connect the course's plain objects to those hooks, in either world:

=============================  =================================================================
:class:`EarlyStop`             :class:`~course_lib.training.EarlyStopping` on a recorded metric;
                               stops, and restores the best parameters at the end
:class:`LRSchedule`            a closed-form schedule ``f(t)`` sets the rate after every update
                               (or epoch), as ``torch.optim.lr_scheduler`` stepped there
:class:`Plateau`               :class:`~course_lib.schedules.ReduceLROnPlateau` stepped with a
                               metric after every epoch
:class:`Averaging`             :class:`~course_lib.averaging.UniformAverage`,
                               :class:`~course_lib.averaging.ExponentialMovingAverage` or
                               :class:`~course_lib.averaging.SWA` updated after every update
                               (or epoch)
:class:`LambdaCallback`        plain functions as hooks
=============================  =================================================================

Example (torch; the same list works in ``nn.fit``)::

    stopper, ema = EarlyStopping(patience=5), ExponentialMovingAverage(0.99)
    history = train(model, optimizer, data, epochs=100, batch_size=32,
                    callbacks=[Plateau(ReduceLROnPlateau(lr=0.1, patience=2)),
                               Averaging(ema), EarlyStop(stopper)])
"""

from __future__ import annotations

from collections.abc import Callable

from ..nn.history import Callback, History, LoopState
from ..schedules.plateau import ReduceLROnPlateau
from ..validation import check_choice
from .early_stopping import EarlyStopping

__all__ = ["Averaging", "Callback", "EarlyStop", "LRSchedule", "LambdaCallback", "Plateau"]

#: The per-epoch series of :class:`~course_lib.nn.history.History` a callback may monitor.
MONITORS = ("val_loss", "val_acc", "train_loss")


def _latest(history: History, monitor: str) -> float:
    series = getattr(history, monitor) if monitor in MONITORS else history.metrics.get(monitor)
    if not series:
        raise RuntimeError(f"no value of {monitor!r} was recorded this epoch (pass validation "
                           "data to the loop, or record the metric in a callback)")
    return series[-1]


class LambdaCallback(Callback):
    """A callback made of functions: ``LambdaCallback(on_step_end=lambda t, loss, loop: ...)``.

    Each keyword names a hook of :class:`~course_lib.nn.history.Callback` and takes that
    hook's arguments; a function returning ``True`` stops training.
    """

    _HOOKS = ("on_train_begin", "on_epoch_begin", "on_before_step", "on_step_end",
              "on_epoch_end", "on_train_end")

    def __init__(self, **hooks: Callable):
        for name, fn in hooks.items():
            if name not in self._HOOKS:
                raise TypeError(f"LambdaCallback got an unknown hook {name!r} (expected one "
                                f"of {', '.join(self._HOOKS)})")
            if not callable(fn):
                raise TypeError(f"LambdaCallback: {name} must be callable, got "
                                f"{type(fn).__name__}")
            setattr(self, name, fn)


class EarlyStop(Callback):
    """Early stopping as a callback: after every epoch ``stopper.step(metric, parameters)``;
    training stops when it says so, and at the end (stopped or not) the best parameters are
    written back into the model when ``restore_best`` (GBC Algorithm 7.1).

    ``monitor`` : ``"val_loss"`` (default), ``"val_acc"`` (give the stopper ``mode="max"``),
    ``"train_loss"``, or a name recorded in ``history.metrics``. The parameters are the torch
    module (its state dict) or the NumPy model's parameter arrays.
    """

    def __init__(self, stopper: EarlyStopping, monitor: str = "val_loss",
                 restore_best: bool = True):
        if not isinstance(stopper, EarlyStopping):
            raise TypeError(f"EarlyStop expects an EarlyStopping, got {type(stopper).__name__}")
        self.stopper, self.monitor, self.restore_best = stopper, monitor, restore_best

    def on_epoch_end(self, epoch: int, history: History, loop: LoopState) -> bool:
        return self.stopper.step(_latest(history, self.monitor), loop.params)

    def on_train_end(self, history: History, loop: LoopState) -> None:
        if self.restore_best and self.stopper.best_params is not None:
            self.stopper.restore(loop.params)


class LRSchedule(Callback):
    """A closed-form schedule ``schedule(t) -> lr`` driving the loop's learning rate.

    ``every="step"``: the rate is ``schedule(0)`` for the first update and ``schedule(t)``
    after update ``t`` -- what a torch ``LRScheduler`` does when ``scheduler.step()`` follows
    every ``optimizer.step()``. ``every="epoch"``: ``schedule(e)`` during epoch ``e`` (from 0),
    torch's scheduler stepped once per epoch. Any :mod:`course_lib.schedules` closed form
    works (and any callable of the step).
    """

    def __init__(self, schedule: Callable[[int], float], every: str = "step"):
        if not callable(schedule):
            raise TypeError(f"LRSchedule expects a schedule f(t) -> lr, got "
                            f"{type(schedule).__name__}")
        check_choice(every, "every", ("step", "epoch"))
        self.schedule, self.every = schedule, every

    def on_train_begin(self, loop: LoopState) -> None:
        loop.lr = self.schedule(0)

    def on_step_end(self, step: int, loss: float, loop: LoopState) -> None:
        if self.every == "step":
            loop.lr = self.schedule(step)

    def on_epoch_end(self, epoch: int, history: History, loop: LoopState) -> None:
        if self.every == "epoch":
            loop.lr = self.schedule(epoch + 1)


class Plateau(Callback):
    """:class:`~course_lib.schedules.ReduceLROnPlateau` as a callback: after every epoch
    ``plateau.step(metric)`` and the loop's rate becomes ``plateau.lr`` -- torch's
    ``scheduler.step(val_loss)`` once per epoch. The plateau object holds the rate: it is
    applied at the start of training too (construct it with the rate you train with).
    ``monitor`` as in :class:`EarlyStop` (for ``"val_acc"`` give it ``mode="max"``).
    """

    def __init__(self, plateau: ReduceLROnPlateau, monitor: str = "val_loss"):
        if not isinstance(plateau, ReduceLROnPlateau):
            raise TypeError(f"Plateau expects a ReduceLROnPlateau, got "
                            f"{type(plateau).__name__}")
        self.plateau, self.monitor = plateau, monitor

    def on_train_begin(self, loop: LoopState) -> None:
        loop.lr = self.plateau.lr

    def on_epoch_end(self, epoch: int, history: History, loop: LoopState) -> None:
        loop.lr = self.plateau.step(_latest(history, self.monitor))


class Averaging(Callback):
    """Update an average of the iterates after every update (``every="step"``: Polyak--Ruppert
    with :class:`~course_lib.averaging.UniformAverage`, or an EMA with
    :class:`~course_lib.averaging.ExponentialMovingAverage`) or after every epoch
    (``every="epoch"``: SWA's usual collection with :class:`~course_lib.averaging.SWA`).

    ``average.update`` receives the torch module, or the NumPy model's parameter arrays (a
    list; :class:`~course_lib.averaging.SWA` needs a torch module). ``start`` : the first
    update (or epoch, from 1) that is averaged, e.g. after a burn-in.
    """

    def __init__(self, average, every: str = "step", start: int = 1):
        if not callable(getattr(average, "update", None)):
            raise TypeError(f"Averaging expects an object with update(), got "
                            f"{type(average).__name__}")
        check_choice(every, "every", ("step", "epoch"))
        self.average, self.every, self.start = average, every, start

    def on_step_end(self, step: int, loss: float, loop: LoopState) -> None:
        if self.every == "step" and step >= self.start:
            self.average.update(loop.params)

    def on_epoch_end(self, epoch: int, history: History, loop: LoopState) -> None:
        if self.every == "epoch" and epoch + 1 >= self.start:
            self.average.update(loop.params)
