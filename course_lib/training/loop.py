"""A small, readable training loop for torch models, used by every chapter that trains a net.

``train`` runs minibatch epochs over a :class:`course_lib.objectives.data.Split` (as tensors),
records the training loss of every step and the validation loss/accuracy of every epoch, and shows a
text progress bar (tqdm). It works with any ``torch.optim.Optimizer`` -- in the book, the
course_lib optimizers -- optionally a learning-rate scheduler stepped once per step, and
callbacks (:mod:`course_lib.training.callbacks`: early stopping, schedules, ReduceLROnPlateau,
averaging). It returns the :class:`History` of the NumPy loop :func:`course_lib.nn.fit`
(defined in :mod:`course_lib.nn.history`, re-exported here).
"""

from __future__ import annotations

import itertools
import math
import random
import sys
from collections.abc import Iterable

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..nn.history import Callback, History, LoopState, check_callbacks, run_hook
from ..validation import check_int

__all__ = ["History", "evaluate", "make_mlp", "set_seed", "train"]


def set_seed(seed: int) -> None:
    """Seed Python's, NumPy's legacy and torch's generators (notebooks also pass explicit
    ``numpy.random.Generator`` objects wherever they draw numbers)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_mlp(sizes, activation=nn.ReLU, seed: int | None = None,
             dtype=torch.float32) -> nn.Sequential:
    """A multilayer perceptron ``Linear(sizes[0], sizes[1]) -> act -> ... -> Linear(.., sizes[-1])``
    with torch's default initialization; ``seed`` makes the weights reproducible."""
    if len(sizes) < 2:
        raise ValueError(f"make_mlp needs at least an input and an output size, got {sizes}")
    if seed is not None:
        torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (m, n) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(m, n, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
             loss_fn=nn.functional.cross_entropy) -> tuple[float, float]:
    """(mean loss, accuracy) of ``model`` on ``(X, y)``, in eval mode (restored afterwards)."""
    was_training = model.training
    model.eval()
    out = model(X)
    loss = float(loss_fn(out, y))
    acc = float((out.argmax(dim=1) == y).double().mean()) if out.ndim == 2 else float("nan")
    model.train(was_training)
    return loss, acc


def train(model: nn.Module, optimizer: torch.optim.Optimizer, data, *, epochs: int,
          batch_size: int, seed: int = 0, loss_fn=nn.functional.cross_entropy, scheduler=None,
          callbacks: Iterable[Callback] = (), stop_on_nonfinite: bool = False,
          progress: bool = True, desc: str = "training") -> History:
    """Train ``model`` with minibatches of ``data.X_train``/``data.y_train`` (tensors).

    Each epoch reshuffles with a generator seeded by ``seed`` (so two optimizers compared on
    the same seed see the same batches). ``scheduler`` (if given) is stepped after every
    optimizer step. Validation metrics use ``data.X_val``/``data.y_val`` in eval mode.

    ``callbacks`` run at the hooks of :mod:`course_lib.nn.history` (``on_step_end`` after
    the optimizer and the scheduler have stepped, ``on_epoch_end`` after the epoch's metrics
    are recorded; a callback may stop training). ``loop.lr`` reads and sets the rate of every
    param group. ``stop_on_nonfinite`` ends training at the first non-finite minibatch loss,
    before its update (``history.diverged``).
    """
    check_int(epochs, "epochs", 1)
    check_int(batch_size, "batch_size", 1)
    callbacks = check_callbacks(callbacks)
    gen = torch.Generator().manual_seed(seed)
    history = History()
    loop = LoopState(model, history, X=data.X_train, y=data.y_train, rng=gen,
                     optimizer=optimizer)
    bar = tqdm(total=epochs, desc=desc, file=sys.stdout, disable=not progress,
               mininterval=1.0, ncols=80)
    try:
        run_hook(callbacks, "on_train_begin", loop)
        for epoch in range(epochs):
            if loop.stop:
                break
            loop.epoch = epoch
            model.train()
            run_hook(callbacks, "on_epoch_begin", loop, epoch)
            X, y = loop.X, loop.y
            order = torch.randperm(len(X), generator=gen)
            total, seen = 0.0, 0
            for start in range(0, len(X), batch_size):
                idx = order[start:start + batch_size]
                loop.batch = (X[idx], y[idx])
                optimizer.zero_grad()
                loss = loss_fn(model(X[idx]), y[idx])
                value = loss.item()
                if stop_on_nonfinite and not math.isfinite(value):
                    history.diverged = loop.stop = True
                    break
                loss.backward()
                t = loop.step + 1
                run_hook(callbacks, "on_before_step", loop, t, value)
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                loop.step = t
                history.step_loss.append(value)
                total += value * len(idx)
                seen += len(idx)
                stop = run_hook(callbacks, "on_step_end", loop, t, value)
                history.lr.append(optimizer.param_groups[0]["lr"])
                if stop:
                    break
            if history.diverged:
                break
            history.train_loss.append(total / seen)
            val_loss, val_acc = evaluate(model, data.X_val, data.y_val, loss_fn)
            history.val_loss.append(val_loss)
            history.val_acc.append(val_acc)
            bar.set_postfix(val_loss=f"{val_loss:.3f}", val_acc=f"{val_acc:.3f}")
            bar.update(1)
            run_hook(callbacks, "on_epoch_end", loop, epoch, history)
        history.stopped = loop.stop and not history.diverged
        run_hook(callbacks, "on_train_end", loop, history)
    finally:
        bar.close()
    return history
