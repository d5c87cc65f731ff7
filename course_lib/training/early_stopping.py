"""Early stopping (Goodfellow, Bengio & Courville, §7.8): stop when a validation metric
stops improving, and hand back the best parameters seen, not the last ones."""

from __future__ import annotations

import copy
import math

import numpy as np
import torch

from ..validation import (
    check_choice,
    check_int,
    check_nonnegative,
)

__all__ = ["EarlyStopping"]


class EarlyStopping:
    r"""Stop training when a *validation* metric has stopped improving; keep the best parameters.

    Early stopping (GBC §7.8, Algorithm 7.1) monitors the error on held-out data -- not the
    training loss, which usually keeps decreasing -- and returns the parameters of the best
    evaluation, not the last ones (ERRATA 22). Call :meth:`step` after each evaluation:

    .. code-block:: python

        stopper = EarlyStopping(patience=5)
        for epoch in range(max_epochs):
            train_one_epoch(model)
            if stopper.step(validation_loss(model), model):
                break
        stopper.restore(model)      # the parameters of stopper.best_step

    A value :math:`v` improves on the best :math:`b` when :math:`v < b - \delta` (``mode="min"``)
    or :math:`v > b + \delta` (``mode="max"``), :math:`\delta` = ``min_delta``; the first value
    always improves, NaN never does. ``should_stop`` becomes true once ``patience`` consecutive
    evaluations (at least one) have not improved, i.e. at evaluation ``best_step + patience``
    (Keras' convention; ``patience=0`` stops at the first non-improvement). Note the
    off-by-one with :class:`ReduceLROnPlateau`, which acts after ``patience + 1`` bad steps.

    Parameters passed to :meth:`step` may be a ``torch.nn.Module`` (its ``state_dict()``,
    buffers such as BatchNorm statistics included, is copied), a dict of arrays/tensors (e.g. a
    state dict), a list/tuple of arrays/tensors (e.g. ``list(model.parameters())``), or a single
    NumPy array/tensor. The copy is detached and owns its memory; :meth:`restore` writes it back
    in place.

    Attributes
    ----------
    best_value : the best metric so far (``inf``/``-inf`` before the first step).
    best_step : index (from 0) of the :meth:`step` call that gave it (``None`` before).
    best_params : the copy of the parameters at ``best_step`` (``None`` if none were given).
    num_bad_steps : evaluations since the last improvement.
    should_stop : whether ``num_bad_steps >= max(patience, 1)``.
    history : the values seen.
    """

    def __init__(self, patience: int = 10, mode: str = "min", min_delta: float = 0.0):
        check_int(patience, "patience", 0)
        check_choice(mode, "mode", ("min", "max"))
        check_nonnegative(min_delta, "min_delta")
        self.patience, self.mode, self.min_delta = patience, mode, min_delta
        self.best_value = math.inf if mode == "min" else -math.inf
        self.best_step: int | None = None
        self.best_params = None
        self.num_bad_steps = 0
        self.history: list[float] = []

    @property
    def should_stop(self) -> bool:
        return self.num_bad_steps > 0 and self.num_bad_steps >= self.patience

    def is_better(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best_value - self.min_delta
        return value > self.best_value + self.min_delta

    def step(self, value, params=None) -> bool:
        """Record one validation value (and the parameters it was measured at); return
        :attr:`should_stop`."""
        value = float(value)
        if self.is_better(value):
            self.best_value = value
            self.best_step = len(self.history)
            self.num_bad_steps = 0
            if params is not None:
                self.best_params = _snapshot(params)
        else:
            self.num_bad_steps += 1
        self.history.append(value)
        return self.should_stop

    def restore(self, target):
        """Copy the best parameters into ``target`` (same kind as given to :meth:`step`), in
        place; return ``target``."""
        if self.best_params is None:
            raise RuntimeError("EarlyStopping.restore: no parameters were recorded by step()")
        _copy_into(target, self.best_params)
        return target


def _snapshot(params):
    """A detached, independent copy of a module's state dict / dict / list / array."""
    if isinstance(params, torch.nn.Module):
        return {k: v.detach().clone() for k, v in params.state_dict().items()}
    if isinstance(params, torch.Tensor):
        return params.detach().clone()
    if isinstance(params, np.ndarray):
        return params.copy()
    if isinstance(params, dict):
        return {k: _snapshot(v) for k, v in params.items()}
    if isinstance(params, (list, tuple)):
        return [_snapshot(v) for v in params]
    return copy.deepcopy(params)


@torch.no_grad()
def _copy_into(target, saved):
    if isinstance(target, torch.nn.Module):
        target.load_state_dict(saved)
    elif isinstance(target, torch.Tensor):
        target.copy_(saved)
    elif isinstance(target, np.ndarray):
        np.copyto(target, saved)
    elif isinstance(target, dict):
        if set(target) != set(saved):
            raise ValueError("EarlyStopping.restore: target's keys differ from the saved ones")
        for k in target:
            _copy_into(target[k], saved[k])
    elif isinstance(target, (list, tuple)):
        if len(target) != len(saved):
            raise ValueError("EarlyStopping.restore: target's length differs from the saved one")
        for t, s in zip(target, saved):
            _copy_into(t, s)
    else:
        raise TypeError(f"EarlyStopping.restore cannot write into {type(target).__name__}; "
                        "use best_params")
