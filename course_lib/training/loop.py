"""A small, readable training loop for torch models, used by every chapter that trains a net.

``train`` runs minibatch epochs over a :class:`course_lib.data.Split` (as tensors), records
the training loss of every step and the validation loss/accuracy of every epoch, and shows a
text progress bar (tqdm). It works with any ``torch.optim.Optimizer`` -- in the book, the
course_lib optimizers -- and optionally a learning-rate scheduler stepped once per step.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

__all__ = ["set_seed", "make_mlp", "evaluate", "History", "train"]


def set_seed(seed: int) -> None:
    """Seed Python's, NumPy's legacy and torch's generators (notebooks also pass explicit
    ``numpy.random.Generator`` objects wherever they draw numbers)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_mlp(sizes, activation=nn.ReLU, seed: int | None = None, dtype=torch.float32) -> nn.Sequential:
    """A multilayer perceptron ``Linear(sizes[0], sizes[1]) -> act -> ... -> Linear(.., sizes[-1])``
    with torch's default initialization; ``seed`` makes the weights reproducible."""
    if len(sizes) < 2:
        raise ValueError(f"make_mlp needs at least an input and an output size, got {sizes}")
    if seed is not None:
        torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
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


@dataclass
class History:
    """What ``train`` recorded: per-step training loss, per-epoch train/validation metrics."""

    step_loss: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    lr: list = field(default_factory=list)


def train(model: nn.Module, optimizer: torch.optim.Optimizer, data, *, epochs: int,
          batch_size: int, seed: int = 0, loss_fn=nn.functional.cross_entropy, scheduler=None,
          progress: bool = True, desc: str = "training") -> History:
    """Train ``model`` with minibatches of ``data.X_train``/``data.y_train`` (tensors).

    Each epoch reshuffles with a generator seeded by ``seed`` (so two optimizers compared on
    the same seed see the same batches). ``scheduler`` (if given) is stepped after every
    optimizer step. Validation metrics use ``data.X_val``/``data.y_val`` in eval mode.
    """
    if epochs < 1:
        raise ValueError(f"Invalid epochs: {epochs}")
    if batch_size < 1:
        raise ValueError(f"Invalid batch_size: {batch_size}")
    gen = torch.Generator().manual_seed(seed)
    X, y = data.X_train, data.y_train
    history = History()
    bar = tqdm(range(epochs), desc=desc, file=sys.stdout, disable=not progress,
               mininterval=1.0, ncols=80)
    for _ in bar:
        model.train()
        order = torch.randperm(len(X), generator=gen)
        total = 0.0
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            history.step_loss.append(loss.item())
            history.lr.append(optimizer.param_groups[0]["lr"])
            total += loss.item() * len(idx)
        history.train_loss.append(total / len(X))
        val_loss, val_acc = evaluate(model, data.X_val, data.y_val, loss_fn)
        history.val_loss.append(val_loss)
        history.val_acc.append(val_acc)
        bar.set_postfix(val_loss=f"{val_loss:.3f}", val_acc=f"{val_acc:.3f}")
    return history
