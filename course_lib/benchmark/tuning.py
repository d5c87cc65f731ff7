r"""The tuning protocol: search spaces, the same trial budget for every optimizer, edge checks.

A comparison of optimizers is a comparison of *optimizers plus their tuning*. The protocol of
the benchmark (after Choi et al. 2019 and Schmidt, Schneider & Hennig 2021):

* every optimizer has a :class:`SearchSpace`: the learning rate log-uniform, and any other
  hyperparameter it tunes (weight decay, :math:`1-\beta_1`, :math:`\varepsilon`, momentum) from
  its own range; the others are fixed;
* every optimizer gets the **same number of trials** of the **same number of steps**, so the
  same budget ``trials x steps`` (:class:`Budget`), by random search (:func:`random_configs`)
  or a grid (:func:`grid_configs`) with exactly that many points;
* the chosen value of every tuned hyperparameter must be **interior** to its range
  (:func:`interior_check`): an optimum on the edge means the range was too small, and the
  ranking it produced may be an artifact of the range.
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..validation import check_int, invalid, is_real

__all__ = ["LogUniform", "Uniform", "Fixed", "SearchSpace", "Budget", "random_configs",
           "grid_configs", "EdgeCheck", "interior_check", "config_seed", "TuningOutcome",
           "tune"]


@dataclass(frozen=True)
class _Range:
    """A range ``[low, high]`` with a map to and from ``[0, 1]``: linear, or on the log scale
    when the class sets ``log = True``."""

    low: float
    high: float
    log = False

    def _scaled(self, x: float) -> float:
        return math.log(x) if self.log else x

    def from_unit(self, u: float) -> float:
        """The value at position ``u`` in [0, 1] of the range (on the log scale if ``log``)."""
        low, high = self._scaled(self.low), self._scaled(self.high)
        value = low + u * (high - low)
        return float(math.exp(value) if self.log else value)

    def to_unit(self, x: float) -> float:
        """The position in [0, 1] of ``x`` (on the log scale if ``log``)."""
        low, high = self._scaled(self.low), self._scaled(self.high)
        return (self._scaled(x) - low) / (high - low)


@dataclass(frozen=True)
class LogUniform(_Range):
    """A hyperparameter drawn log-uniformly from ``[low, high]`` (both > 0)."""

    log = True

    def __post_init__(self):
        if not (is_real(self.low) and is_real(self.high) and 0 < self.low < self.high
                and math.isfinite(self.high)):
            raise invalid("range", (self.low, self.high), "0 < low < high < inf")


@dataclass(frozen=True)
class Uniform(_Range):
    """A hyperparameter drawn uniformly from ``[low, high]``."""

    def __post_init__(self):
        if not (is_real(self.low) and is_real(self.high) and self.low < self.high
                and math.isfinite(self.low) and math.isfinite(self.high)):
            raise invalid("range", (self.low, self.high), "finite low < high")


@dataclass(frozen=True)
class Fixed:
    """A hyperparameter that is not tuned."""

    value: float


class SearchSpace(dict):
    """``{name: LogUniform | Uniform | Fixed}``; :attr:`tuned` lists the searched names."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, dim in self.items():
            if not isinstance(dim, (LogUniform, Uniform, Fixed)):
                raise TypeError(f"search space entry {name!r} must be LogUniform, Uniform or "
                                f"Fixed, got {type(dim).__name__}")

    @property
    def tuned(self) -> tuple:
        return tuple(n for n, d in self.items() if not isinstance(d, Fixed))

    def fixed(self) -> dict:
        return {n: d.value for n, d in self.items() if isinstance(d, Fixed)}

    def describe(self) -> dict:
        """A JSON-friendly description (stored with the results)."""
        out: dict[str, dict] = {}
        for n, d in self.items():
            if isinstance(d, Fixed):
                out[n] = {"fixed": d.value}
            else:
                out[n] = {"log" if d.log else "uniform": [d.low, d.high]}
        return out


@dataclass(frozen=True)
class Budget:
    """``trials`` tuning runs of ``steps`` steps each, then ``seeds`` runs of the chosen
    configuration. ``steps=None`` means each workload's own step budget. Every optimizer gets
    the same budget: :meth:`tuning_steps` = trials x steps."""

    trials: int
    seeds: int = 3
    steps: int | None = None

    def __post_init__(self):
        check_int(self.trials, "trials", 1)
        check_int(self.seeds, "seeds", 1)
        if self.steps is not None:
            check_int(self.steps, "steps", 1)

    def steps_for(self, workload_steps: int | None) -> int:
        """The steps of one trial on a workload whose own budget is ``workload_steps``."""
        if self.steps is not None:
            return self.steps
        if workload_steps is None:
            raise ValueError("Invalid workload_steps: None (expected the workload's step "
                             "budget when the Budget fixes no steps)")
        return workload_steps

    def tuning_steps(self, workload_steps: int | None = None) -> int:
        """trials x steps: the tuning budget of one optimizer on one workload."""
        return self.trials * self.steps_for(workload_steps)

    def total_steps(self, workload_steps: int | None = None) -> int:
        """(trials + seeds) x steps: everything one optimizer spends on one workload."""
        return (self.trials + self.seeds) * self.steps_for(workload_steps)


def config_seed(*names: str, base: int = 0) -> int:
    """A seed for drawing configurations that depends only on the names (a CRC-32, the same
    in every Python process, unlike ``hash``) and ``base``."""
    return (zlib.crc32("/".join(names).encode()) + base) % 2**32


def random_configs(space: SearchSpace, trials: int, rng: np.random.Generator) -> list[dict]:
    """``trials`` configurations, each tuned entry drawn independently from its range."""
    check_int(trials, "trials", 1)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    configs = []
    for _ in range(trials):
        config = {}
        for name, dim in space.items():
            config[name] = dim.value if isinstance(dim, Fixed) else dim.from_unit(rng.random())
        configs.append(config)
    return configs


def grid_configs(space: SearchSpace, trials: int) -> list[dict]:
    """A grid of exactly ``trials`` points: ``trials ** (1/d)`` evenly spaced values (on the
    log scale for :class:`LogUniform`) per tuned entry, ends included; ``trials`` must be a
    ``d``-th power so that grid and random search get the same budget."""
    check_int(trials, "trials", 1)
    tuned = space.tuned
    if not tuned:
        return [space.fixed() for _ in range(trials)]
    per_dim = round(trials ** (1 / len(tuned)))
    if per_dim ** len(tuned) != trials or per_dim < 2:
        raise invalid("trials", trials, f"a {len(tuned)}-th power >= {2 ** len(tuned)} for a "
                      f"grid over {', '.join(tuned)}")
    axes = [[space[n].from_unit(i / (per_dim - 1)) for i in range(per_dim)] for n in tuned]
    configs = []
    for point in itertools.product(*axes):
        config = dict(space.fixed())
        config.update(zip(tuned, point))
        configs.append({n: config[n] for n in space})
    return configs


@dataclass(frozen=True)
class EdgeCheck:
    """Where the chosen value of one hyperparameter lies in its searched range.

    ``position`` is in [0, 1] (log scale for :class:`LogUniform`); ``at_edge`` is ``"low"``,
    ``"high"`` or ``None`` (interior)."""

    name: str
    value: float
    low: float
    high: float
    position: float
    at_edge: str | None

    @property
    def interior(self) -> bool:
        return self.at_edge is None

    def __str__(self) -> str:
        where = "interior" if self.at_edge is None else f"AT THE {self.at_edge.upper()} EDGE"
        return (f"{self.name} = {self.value:.3g} in [{self.low:.3g}, {self.high:.3g}]: {where} "
                f"(position {self.position:.2f})")


def interior_check(space: SearchSpace, chosen: dict, tried=None, *,
                   margin: float = 0.1) -> dict[str, EdgeCheck]:
    """For each tuned entry of ``space``: is the ``chosen`` value interior to what was searched?

    ``tried`` (the configurations that were run) decides the edges when given: the chosen
    value is at an edge when it is the smallest or the largest value tried (on a grid, the
    first or last grid point). Without ``tried`` the chosen value is at an edge when it lies
    within ``margin`` (a fraction of the range, log scale for LogUniform) of the range's ends.
    With ``tried`` the margin test applies too, so a random search whose best draw lies close
    to a bound is flagged even if an even closer draw was worse.
    """
    if not is_real(margin) or not 0 <= margin < 0.5:
        raise invalid("margin", margin, "a number in [0, 0.5)")
    out = {}
    for name in space.tuned:
        if name not in chosen:
            raise invalid("chosen", chosen, f"a value for {name!r}")
        dim, value = space[name], float(chosen[name])
        position = dim.to_unit(value)
        edge = None
        if position <= margin:
            edge = "low"
        elif position >= 1 - margin:
            edge = "high"
        if tried is not None:
            values = np.array([float(c[name]) for c in tried])
            if values.size < 3:
                raise invalid("tried", f"{values.size} configurations",
                              "at least 3 to decide whether an optimum is interior")
            if value <= values.min():
                edge = "low"
            elif value >= values.max():
                edge = "high"
        out[name] = EdgeCheck(name, value, dim.low, dim.high, float(position), edge)
    return out


@dataclass
class TuningOutcome:
    """The result of one tuning phase: every configuration tried, its score, the chosen one.

    ``scores[i]`` is the score of ``configs[i]`` (the mean over the tuning seeds when there
    were several; ``per_seed[i]`` keeps them), with any non-finite outcome (a diverged run)
    counted as ``+inf`` -- or ``-inf`` when higher is better -- so that it is never chosen.
    ``edges`` is :func:`interior_check` of the chosen configuration against those tried."""

    space: SearchSpace
    configs: list
    scores: list
    best_index: int
    edges: dict = field(default_factory=dict)
    per_seed: list | None = None
    maximize: bool = False

    @property
    def best(self) -> dict:
        """The chosen configuration."""
        return self.configs[self.best_index]

    @property
    def best_score(self) -> float:
        return self.scores[self.best_index]

    @property
    def interior(self) -> bool:
        """Whether every tuned hyperparameter's chosen value is interior to what was tried."""
        return all(edge.interior for edge in self.edges.values())

    def values(self, name: str) -> list:
        """The values of ``name`` in the order they were tried."""
        return [c[name] for c in self.configs]

    def assert_interior(self) -> None:
        """Raise ``AssertionError`` naming the edge when a chosen value is not interior: the
        searched range was too small and the comparison built on it is not yet fair."""
        at_edge = [str(e) for e in self.edges.values() if not e.interior]
        if at_edge:
            raise AssertionError("widen the search: " + "; ".join(at_edge))

    def table(self) -> str:
        """One line per configuration, the chosen one marked with ``*``."""
        names = list(self.space.tuned) or list(self.space)
        lines = []
        for i, (config, score) in enumerate(zip(self.configs, self.scores)):
            mark = "*" if i == self.best_index else " "
            setting = ", ".join(f"{n} = {config[n]:.3g}" for n in names)
            lines.append(f"{mark} {setting}: {score:.4g}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table() + "".join(f"\n{e}" for e in self.edges.values())


def tune(space: SearchSpace, objective: Callable, trials: int | Budget, *,
         method: str = "grid", rng: np.random.Generator | None = None, seeds=None,
         maximize: bool = False, margin: float = 0.1) -> TuningOutcome:
    """Tune by the protocol of this module: ``trials`` configurations of ``space`` (a grid by
    :func:`grid_configs`, or ``method="random"`` by :func:`random_configs` with ``rng``), each
    scored, the best chosen, and the choice checked by :func:`interior_check`.

    ``objective(config)`` returns the score of a configuration (lower is better unless
    ``maximize``); with ``seeds`` it is called as ``objective(config, seed)`` for every seed
    and the score is the mean. ``trials`` may be a :class:`Budget` (its ``trials`` are used),
    so that every optimizer of a comparison is tuned with the same one. Ties go to the
    configuration tried first. The check is not asserted here: call
    :meth:`TuningOutcome.assert_interior` (a notebook does) or read :attr:`~TuningOutcome.edges`.
    """
    if isinstance(trials, Budget):
        trials = trials.trials
    if not isinstance(space, SearchSpace):
        raise TypeError(f"space must be a SearchSpace, got {type(space).__name__}")
    if not callable(objective):
        raise TypeError(f"objective must be callable, got {type(objective).__name__}")
    if method == "grid":
        configs = grid_configs(space, trials)
    elif method == "random":
        if rng is None:
            raise invalid("rng", rng, "a numpy.random.Generator for random search")
        configs = random_configs(space, trials, rng)
    else:
        raise invalid("method", method, "'grid' or 'random'")
    worst = -math.inf if maximize else math.inf
    seed_list = None if seeds is None else list(seeds)
    if seed_list is not None and not seed_list:
        raise invalid("seeds", seeds, "at least one seed")
    scores, per_seed = [], []
    for config in configs:
        if seed_list is None:
            outcomes = [float(objective(dict(config)))]
        else:
            outcomes = [float(objective(dict(config), s)) for s in seed_list]
        outcomes = [v if math.isfinite(v) else worst for v in outcomes]
        per_seed.append(outcomes)
        scores.append(float(np.mean(outcomes)) if all(map(math.isfinite, outcomes))
                      else worst)
    order = [-v for v in scores] if maximize else scores
    best_index = int(np.argmin(order))
    edges = interior_check(space, configs[best_index], configs if len(configs) >= 3 else None,
                           margin=margin)
    return TuningOutcome(space, configs, scores, best_index, edges,
                         per_seed if seed_list is not None else None, maximize)
