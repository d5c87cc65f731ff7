r"""What a training loop records (:class:`History`) and the hooks it calls (:class:`Callback`).

Both loops of the course -- :func:`course_lib.nn.fit` (NumPy layers) and
:func:`course_lib.training.train` (torch models) -- return the same :class:`History` and call
the same callbacks, so early stopping, learning-rate schedules, ReduceLROnPlateau and iterate
averaging (the adapters of :mod:`course_lib.training.callbacks`) plug into either. This module
sits in ``nn`` so that the NumPy loop needs nothing from the layer above it.

The loop, with the hooks in the order they run::

    on_train_begin(loop)
    for epoch in range(epochs):
        on_epoch_begin(epoch, loop)               # may replace loop.X (data augmentation)
        for each minibatch:
            loss = loss_fn(model(xb), yb); backward
            on_before_step(t, loss, loop)         # gradients ready, parameters not yet moved
            update (the rule, or optimizer.step(); then the torch scheduler, if any)
            on_step_end(t, loss, loop)            # t = 1, 2, ...: updates done so far
        record train_loss, val_loss, val_acc of the epoch
        on_epoch_end(epoch, history, loop)
    on_train_end(history, loop)

A hook stops training by returning ``True`` or by setting ``loop.stop = True``: after
``on_step_end`` the epoch ends at once (its metrics are recorded over the examples seen),
after ``on_epoch_end`` no further epoch starts; ``history.stopped`` becomes true.
``on_train_end`` always runs. The learning rate seen and set by callbacks is ``loop.lr``;
setting it after update :math:`t` sets the rate of update :math:`t+1`, as a torch scheduler's
``step()`` does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Callback", "History", "LoopState", "run_hook"]


@dataclass
class History:
    """What a training loop recorded.

    step_loss : the minibatch loss of every update (training mode).
    train_loss : per epoch, the mean of the epoch's minibatch losses weighted by batch size
        (``nn.fit(..., eval_train=True)``: the loss on the whole training set in evaluation
        mode at the end of the epoch).
    val_loss, val_acc : per epoch, on the validation data in evaluation mode (empty without
        validation data).
    lr : the learning rate in effect after every update, i.e. the rate of the next one (after
        the scheduler and the callbacks have run).
    stopped : a callback ended training (returned ``True`` or set ``loop.stop``).
    diverged : a minibatch loss was not finite (``stop_on_nonfinite=True``): training ended
        there, before that update, and that epoch has no entries.
    metrics : lists that callbacks record under names of their own.
    """

    step_loss: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    stopped: bool = False
    diverged: bool = False
    metrics: dict = field(default_factory=dict)

    def record(self, name: str, value) -> None:
        """Append ``value`` to ``metrics[name]`` (created empty the first time)."""
        self.metrics.setdefault(name, []).append(value)


@dataclass(eq=False)
class LoopState:
    """The running loop as callbacks see it.

    model : the model being trained (a :class:`course_lib.nn.Module` or ``torch.nn.Module``).
    history : the :class:`History` being filled.
    epoch : the current epoch (from 0); step : the number of updates done so far.
    X, y : the training data the current epoch draws minibatches from (``on_epoch_begin``
        may replace them, e.g. by augmented copies); batch : ``(xb, yb)`` of the current step.
    rng : the generator that shuffles (``numpy.random.Generator`` or ``torch.Generator``).
    hyper : the update rule's hyperparameters (NumPy loop; ``None`` for torch).
    optimizer : the torch optimizer (``None`` for the NumPy loop).
    states : the rule's per-parameter state dicts (NumPy loop).
    stop : set it to end training (see the module docstring).
    """

    model: Any
    history: History
    epoch: int = 0
    step: int = 0
    X: Any = None
    y: Any = None
    batch: tuple | None = None
    rng: Any = None
    hyper: dict | None = None
    optimizer: Any = None
    states: list | None = None
    stop: bool = False

    @property
    def lr(self) -> float:
        """The learning rate of the next update (torch: of the first param group)."""
        if self.optimizer is not None:
            return self.optimizer.param_groups[0]["lr"]
        if self.hyper is None:
            raise RuntimeError("LoopState.lr: the loop has neither an optimizer nor hyper")
        return self.hyper["lr"]

    @lr.setter
    def lr(self, value) -> None:
        """Set the learning rate: a number (every param group) or, for torch, one per group."""
        if self.optimizer is None:
            if self.hyper is None:
                raise RuntimeError("LoopState.lr: the loop has neither an optimizer nor hyper")
            self.hyper["lr"] = value
            return
        groups = self.optimizer.param_groups
        values = list(value) if isinstance(value, (list, tuple)) else [value] * len(groups)
        if len(values) != len(groups):
            raise ValueError(f"Invalid lr: {value!r} (expected a number or "
                             f"{len(groups)} numbers, one per param group)")
        for group, v in zip(groups, values):
            group["lr"] = v

    @property
    def params(self):
        """What to snapshot or average: the torch module itself, or the list of the NumPy
        model's parameter arrays (live references, updated in place by the loop)."""
        if self.optimizer is not None:
            return self.model
        return self.model.parameters()


class Callback:
    """Base class of the loops' callbacks: override the hooks you need (all do nothing).

    Each hook may return ``True`` to stop training (``None``/``False`` continue); see the
    module docstring for when each runs.
    """

    def on_train_begin(self, loop: LoopState) -> bool | None:
        return None

    def on_epoch_begin(self, epoch: int, loop: LoopState) -> bool | None:
        return None

    def on_before_step(self, step: int, loss: float, loop: LoopState) -> bool | None:
        return None

    def on_step_end(self, step: int, loss: float, loop: LoopState) -> bool | None:
        return None

    def on_epoch_end(self, epoch: int, history: History, loop: LoopState) -> bool | None:
        return None

    def on_train_end(self, history: History, loop: LoopState) -> bool | None:
        return None


def check_callbacks(callbacks: Iterable) -> list[Callback]:
    """The callbacks as a list; ``TypeError`` for anything that is not a :class:`Callback`."""
    if isinstance(callbacks, Callback):
        return [callbacks]
    out = list(callbacks)
    for i, cb in enumerate(out):
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks[{i}] is {type(cb).__name__}, not a Callback "
                            "(subclass course_lib.nn.Callback or use LambdaCallback)")
    return out


def run_hook(callbacks: list[Callback], hook: str, loop: LoopState, *args) -> bool:
    """Call ``hook(*args, loop)`` on every callback in order; return whether training should
    stop (a callback returned ``True`` or set ``loop.stop``). Every callback runs."""
    stop = False
    for cb in callbacks:
        if getattr(cb, hook)(*args, loop):
            stop = True
    loop.stop = loop.stop or stop
    return loop.stop
