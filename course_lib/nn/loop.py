r"""The training loop for the NumPy layers: :func:`fit` and :func:`evaluate`.

:func:`fit` is the loop every chapter on networks used to write by hand -- minibatch epochs,
the update rule applied to every parameter (:func:`course_lib.nn.step`), per-step and
per-epoch records -- once, with callbacks (:mod:`course_lib.nn.history`). It returns the same
:class:`~course_lib.nn.history.History` as the torch loop :func:`course_lib.training.train`.

Reproducibility: the minibatches of each epoch are
``course_lib.objectives.data.minibatches(len(X), batch_size, rng)``, so with the same
generator (or seed) and the same initial weights two runs are identical, and a hand-written
loop drawing its batches the same way gives the same losses (``tests/test_training.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from contextlib import nullcontext

import numpy as np

from ..objectives.data import minibatches
from ..validation import check_int
from .history import Callback, History, LoopState, check_callbacks, run_hook
from .losses import CrossEntropyLoss
from .module import Module, step

__all__ = ["evaluate", "fit"]


def evaluate(model: Module, X, y, loss_fn: Module | None = None) -> tuple[float, float]:
    """``(mean loss, accuracy)`` of ``model`` on ``(X, y)`` in evaluation mode (the model's
    mode is restored afterwards).

    ``loss_fn`` : a loss module called as ``loss_fn(output, y) -> float`` (default
    :class:`~course_lib.nn.CrossEntropyLoss`). The loss is ``inf`` when the output is not
    finite (a diverged network). The accuracy compares ``output.argmax(axis=1)`` with ``y``
    for a 2-D output and integer labels, and is ``nan`` otherwise (regression).
    """
    if not isinstance(model, Module):
        raise TypeError(f"evaluate expects a course_lib.nn.Module, got {type(model).__name__}")
    loss_fn = CrossEntropyLoss() if loss_fn is None else loss_fn
    was_training = model.training
    model.eval()
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            out = model(X)
    finally:
        model.train(was_training)
    y = np.asarray(y)
    if not np.all(np.isfinite(out)):
        loss = float("inf")
    else:
        loss = float(loss_fn(out, y))
    classes = out.ndim == 2 and y.ndim == 1 and y.dtype.kind in "iu"
    acc = float(np.mean(out.argmax(axis=1) == y)) if classes else float("nan")
    return loss, acc


def fit(model: Module, rule: Callable, X, y, *, lr: float | Callable[[int], float],
        epochs: int, batch_size: int, rng: np.random.Generator | int | None = None,
        loss_fn: Module | None = None, eval_loss_fn: Module | None = None,
        X_val=None, y_val=None, callbacks: Iterable[Callback] = (), states: list | None = None,
        eval_train: bool = False, stop_on_nonfinite: bool = False, progress: bool = False,
        desc: str = "training", **hyper) -> History:
    r"""Train a NumPy ``model`` with minibatches of ``(X, y)`` and the update rule ``rule``.

    Each epoch draws the minibatches
    ``course_lib.objectives.data.minibatches(len(X), batch_size, rng)`` (a fresh permutation,
    the last batch smaller when ``batch_size`` does not divide N); each step computes
    ``loss_fn(model(xb), yb)``, back-propagates, and calls
    ``course_lib.nn.step(model, rule, states, lr=..., **hyper)``.

    Parameters
    ----------
    model : a :class:`~course_lib.nn.Module` (put in training mode at the start).
    rule : an update rule of :mod:`course_lib.optim` (``sgd``, ``adam``, ...).
    X, y : training inputs (N, D) and targets.
    lr : the learning rate, or a schedule ``lr(t)`` giving the rate of update ``t + 1``
        (``t = 0, 1, ...``; any :mod:`course_lib.schedules` closed form). With a schedule
        the loop sets the rate before every update, after the callbacks.
    epochs, batch_size : positive integers.
    rng : the ``numpy.random.Generator`` that shuffles, or a seed for one. Passing the
        generator that drew the weights continues its stream.
    loss_fn : training loss module (default :class:`~course_lib.nn.CrossEntropyLoss`).
    eval_loss_fn : loss of the evaluations (default ``loss_fn``), e.g. plain cross-entropy
        when training with label smoothing.
    X_val, y_val : validation data, evaluated after every epoch with :func:`evaluate`.
    callbacks : :class:`~course_lib.nn.history.Callback` objects
        (:mod:`course_lib.training.callbacks` has early stopping, schedules,
        ReduceLROnPlateau and averaging).
    states : a list to hold the rule's per-parameter state dicts, filled in place (``[]``
        or ``None``: fresh states; a list filled by an earlier call continues that run).
    eval_train : record as ``train_loss`` the loss on all of ``X`` in evaluation mode at
        the end of each epoch instead of the mean minibatch loss of the epoch.
    stop_on_nonfinite : end training at the first non-finite minibatch loss, before its
        update (``history.diverged``); otherwise the loop goes on.
    progress : show a text progress bar (tqdm).
    **hyper : the rule's other hyperparameters (``momentum=0.9``, ``weight_decay=...``).

    Returns the :class:`~course_lib.nn.history.History`. The model is trained in place.
    """
    if not isinstance(model, Module):
        raise TypeError(f"fit expects a course_lib.nn.Module, got {type(model).__name__}")
    if not callable(rule):
        raise TypeError(f"rule must be an update rule (a callable), got {type(rule).__name__}")
    check_int(epochs, "epochs", 1)
    check_int(batch_size, "batch_size", 1)
    X, y = np.asarray(X), np.asarray(y)
    if len(X) < 1:
        raise ValueError("Invalid X: no examples (expected at least one)")
    if len(X) != len(y):
        raise ValueError(f"Invalid y: {len(y)} targets (expected one per example of X, "
                         f"{len(X)})")
    if (X_val is None) != (y_val is None):
        raise ValueError("Invalid X_val, y_val: give both or neither")
    callbacks = check_callbacks(callbacks)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    loss_fn = CrossEntropyLoss() if loss_fn is None else loss_fn
    eval_loss_fn = loss_fn if eval_loss_fn is None else eval_loss_fn
    schedule = lr if callable(lr) else None
    hyper = {"lr": schedule(0) if schedule is not None else lr, **hyper}
    states = [] if states is None else states
    history = History()
    loop = LoopState(model, history, X=X, y=y, rng=gen, hyper=hyper, states=states)
    guard = np.errstate(over="ignore", invalid="ignore") if stop_on_nonfinite else nullcontext()

    from tqdm import tqdm

    bar = tqdm(total=epochs, desc=desc, file=sys.stdout, disable=not progress,
               mininterval=1.0, ncols=80)
    model.train()
    try:
        with guard:
            _epochs(model, rule, loop, callbacks, epochs, batch_size, gen, loss_fn,
                    eval_loss_fn, schedule, X_val, y_val, eval_train, stop_on_nonfinite, bar)
            history.stopped = loop.stop and not history.diverged
            run_hook(callbacks, "on_train_end", loop, history)
    finally:
        bar.close()
    return history


def _epochs(model, rule, loop, callbacks, epochs, batch_size, gen, loss_fn, eval_loss_fn,
            schedule, X_val, y_val, eval_train, stop_on_nonfinite, bar) -> None:
    """The body of :func:`fit`: run the epochs until done, stopped or diverged."""
    history, hyper, states = loop.history, loop.hyper, loop.states
    X, y = loop.X, loop.y
    run_hook(callbacks, "on_train_begin", loop)
    for epoch in range(epochs):
        if loop.stop:
            return
        loop.epoch = epoch
        run_hook(callbacks, "on_epoch_begin", loop, epoch)
        total, seen = 0.0, 0
        for idx in minibatches(len(loop.X), batch_size, gen):
            xb, yb = loop.X[idx], loop.y[idx]
            loop.batch = (xb, yb)
            loss = float(loss_fn(model(xb), yb))
            if stop_on_nonfinite and not np.isfinite(loss):
                history.diverged = loop.stop = True
                return
            model.backward(loss_fn.backward())
            t = loop.step + 1
            run_hook(callbacks, "on_before_step", loop, t, loss)
            step(model, rule, states, **hyper)
            loop.step = t
            history.step_loss.append(loss)
            total += loss * len(idx)
            seen += len(idx)
            stop = run_hook(callbacks, "on_step_end", loop, t, loss)
            if schedule is not None:
                hyper["lr"] = schedule(t)
            history.lr.append(hyper["lr"])
            if stop:
                break
        if eval_train:
            history.train_loss.append(evaluate(model, X, y, eval_loss_fn)[0])
        else:
            history.train_loss.append(total / seen)
        if X_val is not None:
            val_loss, val_acc = evaluate(model, X_val, y_val, eval_loss_fn)
            history.val_loss.append(val_loss)
            history.val_acc.append(val_acc)
            bar.set_postfix(val_loss=f"{val_loss:.3f}", val_acc=f"{val_acc:.3f}")
        bar.update(1)
        run_hook(callbacks, "on_epoch_end", loop, epoch, history)
