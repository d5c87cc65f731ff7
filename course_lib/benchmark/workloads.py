r"""Workloads: a model, its data, a loss, a validation metric, a target and a step budget.

A :class:`Workload` is everything a comparison of optimizers holds fixed. :func:`run_trial`
trains one model with one optimizer configuration and one seed for ``steps`` minibatch steps,
evaluates the validation metric every ``eval_every`` steps and returns a :class:`TrialResult`:
the best validation metric within the budget, and the time to reach the target, in steps and
in wall-clock seconds of training (evaluation excluded).

The standard workloads (:data:`WORKLOADS`, built by :func:`get_workload`) are small enough
for two CPU cores: they use the 8x8 digits that scikit-learn ships
(:func:`course_lib.objectives.data.load_digits_split`) or data generated from a fixed seed.
Every metric is *lower is better* (validation error rate, validation mean squared error).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..objectives.data import Split, load_digits_split
from ..validation import check_int, invalid

__all__ = ["Workload", "TrialResult", "run_trial", "WORKLOADS", "get_workload",
           "error_rate", "mean_squared_error", "adding_problem"]

#: The seed of every workload's *data* (the split of the digits, the generated sequences):
#: part of the workload's definition, so it does not move with ``COURSE_SEED_OFFSET``.
DATA_SEED = 0


@torch.no_grad()
def error_rate(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of misclassified examples (lower is better)."""
    return float((model(X).argmax(dim=1) != y).double().mean())


@torch.no_grad()
def mean_squared_error(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    return float(((model(X) - y) ** 2).double().mean())


@dataclass
class Workload:
    """One problem of the benchmark.

    ``make_model(seed)`` returns a fresh model initialized from ``seed``; ``make_data()`` a
    :class:`~course_lib.objectives.data.Split` of tensors (loaded once, cached); ``loss`` the
    training loss ``loss(output, target)``; ``metric(model, X_val, y_val)`` the validation
    metric (lower is better), reached when ``<= target``; ``steps`` the step budget of one
    trial; ``batch_size`` and ``eval_every`` what their names say.
    """

    name: str
    make_model: Callable[[int], nn.Module]
    make_data: Callable[[], Split]
    loss: Callable = nn.functional.cross_entropy
    metric: Callable = error_rate
    metric_name: str = "validation error"
    target: float = 0.05
    steps: int = 300
    batch_size: int = 64
    eval_every: int = 20
    description: str = ""
    _data: Split | None = field(default=None, repr=False)

    def data(self) -> Split:
        if self._data is None:
            self._data = self.make_data()
        return self._data


@dataclass
class TrialResult:
    """What one training run gave (all metrics lower is better).

    ``curve`` holds ``(step, train_seconds, metric)`` at step 0 and every ``eval_every`` steps;
    ``best_metric`` is the lowest validation metric seen; ``steps_to_target`` and
    ``seconds_to_target`` are ``inf`` if the target was never reached; ``diverged`` is True
    when the loss became non-finite (the run stops there and its remaining evaluations count
    as failures)."""

    best_metric: float
    final_metric: float
    steps_to_target: float
    seconds_to_target: float
    seconds: float
    steps: int
    diverged: bool
    curve: list

    def as_dict(self) -> dict:
        return {"best_metric": _json_float(self.best_metric),
                "final_metric": _json_float(self.final_metric),
                "steps_to_target": _json_float(self.steps_to_target),
                "seconds_to_target": _json_float(self.seconds_to_target),
                "seconds": self.seconds, "steps": self.steps, "diverged": self.diverged,
                "curve": self.curve}


def _json_float(x: float):
    """JSON has no infinity: ``None`` stands for a target never reached (or a diverged run)."""
    return None if math.isinf(x) else x


def run_trial(workload: Workload, make_optimizer: Callable, seed: int, *,
              steps: int | None = None, target: float | None = None) -> TrialResult:
    """Train ``workload.make_model(seed)`` with ``make_optimizer(model.parameters())``.

    Minibatches are drawn by reshuffling every epoch with a generator seeded by ``seed``
    (two optimizers run with the same seed see the same initial weights and the same
    batches). ``steps`` and ``target`` default to the workload's.
    """
    steps = workload.steps if steps is None else steps
    check_int(steps, "steps", 1)
    target = workload.target if target is None else target
    data = workload.data()
    model = workload.make_model(seed)
    optimizer = make_optimizer(model.parameters())
    gen = torch.Generator().manual_seed(seed)
    X, y = data.X_train, data.y_train
    n = len(X)

    def evaluate() -> float:
        model.eval()
        value = workload.metric(model, data.X_val, data.y_val)
        model.train()
        return value if math.isfinite(value) else math.inf

    curve = [(0, 0.0, evaluate())]
    train_seconds, diverged = 0.0, False
    order, position = torch.randperm(n, generator=gen), 0
    model.train()
    for step in range(1, steps + 1):
        if position + workload.batch_size > n:
            order, position = torch.randperm(n, generator=gen), 0
        idx = order[position:position + workload.batch_size]
        position += workload.batch_size
        started = time.perf_counter()
        optimizer.zero_grad()
        loss = workload.loss(model(X[idx]), y[idx])
        loss.backward()
        optimizer.step()
        train_seconds += time.perf_counter() - started
        if not math.isfinite(loss.item()):
            diverged = True
            curve.append((step, train_seconds, math.inf))
            break
        if step % workload.eval_every == 0 or step == steps:
            curve.append((step, train_seconds, evaluate()))
    metrics = np.array([m for _, _, m in curve])
    reached = [i for i, (_, _, m) in enumerate(curve) if m <= target]
    first = reached[0] if reached else None
    finite = metrics[np.isfinite(metrics)]
    return TrialResult(
        best_metric=float(finite.min()) if finite.size else math.inf,
        final_metric=float(metrics[-1]),
        steps_to_target=float(curve[first][0]) if first is not None else math.inf,
        seconds_to_target=float(curve[first][1]) if first is not None else math.inf,
        seconds=train_seconds, steps=int(curve[-1][0]), diverged=diverged,
        curve=[[int(s), round(float(t), 6), (None if math.isinf(m) else float(m))]
               for s, t, m in curve])


# ---------------------------------------------------------------- the standard workloads

def _digits() -> Split:
    return load_digits_split(seed=DATA_SEED).as_tensors()


def _seeded(seed: int) -> None:
    check_int(seed, "seed", 0)
    torch.manual_seed(seed)


def _mlp(seed: int) -> nn.Module:
    _seeded(seed)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


def _logistic(seed: int) -> nn.Module:
    _seeded(seed)
    return nn.Linear(64, 10)


def _cnn(seed: int) -> nn.Module:
    _seeded(seed)
    return nn.Sequential(nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 10))


def _deep_narrow(seed: int, depth: int = 8, width: int = 16) -> nn.Module:
    _seeded(seed)
    layers: list[nn.Module] = [nn.Linear(64, width), nn.Tanh()]
    for _ in range(depth - 1):
        layers += [nn.Linear(width, width), nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(width, 10))


def _batchnorm_mlp(seed: int) -> nn.Module:
    _seeded(seed)
    return nn.Sequential(nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU(),
                         nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 10))


def adding_problem(n: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray,
                                                                            np.ndarray]:
    """The adding problem (Hochreiter & Schmidhuber 1997): ``n`` sequences of ``length``
    steps with two channels, a uniform value in [0, 1) and a marker that is 1 at two random
    positions; the target is the sum of the two marked values. Predicting the mean (1) has
    mean squared error 1/6."""
    check_int(n, "n", 1)
    check_int(length, "length", 2)
    values = rng.random((n, length))
    markers = np.zeros((n, length))
    for i in range(n):
        markers[i, rng.choice(length, size=2, replace=False)] = 1.0
    X = np.stack([values, markers], axis=-1)
    return X, (values * markers).sum(axis=1)


def _sequences() -> Split:
    rng = np.random.default_rng(DATA_SEED)
    X, y = adding_problem(2400, 20, rng)
    t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    return Split(t(X[:1600]), t(y[:1600]), t(X[1600:2000]), t(y[1600:2000]),
                 t(X[2000:]), t(y[2000:]), n_classes=0)


class _LastStepGRU(nn.Module):
    """A GRU read out linearly at the last step."""

    def __init__(self, hidden: int = 16):
        super().__init__()
        self.rnn = nn.GRU(2, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        h, _ = self.rnn(x)
        return self.out(h[:, -1]).squeeze(-1)


def _gru(seed: int) -> nn.Module:
    _seeded(seed)
    return _LastStepGRU()


def _specs() -> dict:
    return {
        "logistic": dict(make_model=_logistic, make_data=_digits, target=0.06, steps=300,
                         description="multinomial logistic regression on the digits "
                                     "(convex)"),
        "mlp": dict(make_model=_mlp, make_data=_digits, target=0.05, steps=300,
                    description="MLP 64-64-10, ReLU, on the digits"),
        "cnn": dict(make_model=_cnn, make_data=_digits, target=0.05, steps=300,
                    description="two 3x3 conv layers (8, 16 channels) with max-pooling on the "
                                "8x8 digits"),
        "deep_narrow": dict(make_model=_deep_narrow, make_data=_digits, target=0.2,
                            steps=300, description="8 tanh layers of width 16 on the digits "
                                                   "(badly conditioned)"),
        "batchnorm": dict(make_model=_batchnorm_mlp, make_data=_digits, target=0.04,
                          steps=300, description="MLP 64-64-64-10 with BatchNorm on the digits"),
        "adding": dict(make_model=_gru, make_data=_sequences, loss=nn.functional.mse_loss,
                       metric=mean_squared_error, metric_name="validation MSE", target=0.01,
                       steps=300, description="GRU (16 units) on the adding problem, "
                                              "sequences of 20 steps"),
    }


#: The names of the standard workloads, in the benchmark's order.
WORKLOADS = tuple(_specs())
_CACHE: dict = {}


def get_workload(name: str) -> Workload:
    """The standard workload ``name`` (one of :data:`WORKLOADS`); the same object (and so the
    same loaded data) on every call."""
    if not isinstance(name, str):
        raise TypeError(f"workload name must be a string, got {type(name).__name__}")
    if name not in WORKLOADS:
        raise invalid("workload", name, "one of " + ", ".join(WORKLOADS))
    if name not in _CACHE:
        _CACHE[name] = Workload(name=name, **_specs()[name])
    return _CACHE[name]
