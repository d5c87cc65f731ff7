r"""Run a benchmark: tune every optimizer on every workload with the same budget, then repeat
the chosen configuration over seeds; every trial is appended to a JSON-lines file as soon as
it finishes, so an interrupted run continues where it stopped.

The file holds one JSON object per line:

* ``{"kind": "meta", ...}`` at the start of every (resumed) run: the machine (platform, CPU,
  threads, torch), the code version (git commit, a hash of this package's sources), the
  budget and the protocol;
* ``{"kind": "tune", "workload", "optimizer", "index", "seed", "config", ...}`` for tuning
  trial ``index`` (one seed each);
* ``{"kind": "final", ..., "index": k}`` for seed ``k`` of the chosen configuration;

each trial line also has the :class:`~course_lib.benchmark.workloads.TrialResult` fields.
A trial whose line is already in the file is not run again; a truncated last line (a run
killed while writing) is ignored.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .. import optim
from ..validation import check_choice, check_int, invalid
from .tuning import (
    Budget,
    Fixed,
    LogUniform,
    SearchSpace,
    config_seed,
    grid_configs,
    random_configs,
)
from .workloads import WORKLOADS, Workload, get_workload, run_trial

__all__ = ["OptimizerSpec", "OPTIMIZERS", "get_optimizer", "machine_info", "code_version",
           "read_records", "append_record", "run_benchmark", "tuning_seed", "final_seed",
           "select_best"]


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer and its search space: ``build(params, **config)`` makes the torch
    optimizer from a configuration drawn from ``space``."""

    name: str
    label: str
    build: Callable
    space: SearchSpace

    def make(self, config: dict) -> Callable:
        return lambda params: self.build(params, **config)


def _sgd(params, lr, momentum):
    return optim.SGD(params, lr=lr, momentum=momentum)


def _adam(params, lr, eps=1e-8, one_minus_beta1=0.1):
    return optim.Adam(params, lr=lr, eps=eps, betas=(1 - one_minus_beta1, 0.999))


def _adamw(params, lr, weight_decay):
    return optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def _specs() -> dict:
    specs = {
        "sgd": OptimizerSpec("sgd", "SGD + momentum", _sgd, SearchSpace(
            lr=LogUniform(1e-3, 3.0), momentum=Fixed(0.9))),
        "adam": OptimizerSpec("adam", "Adam", _adam, SearchSpace(
            lr=LogUniform(1e-4, 0.3))),
        "adamw": OptimizerSpec("adamw", "AdamW", _adamw, SearchSpace(
            lr=LogUniform(1e-4, 0.3), weight_decay=LogUniform(1e-4, 1.0))),
        # Choi et al. (2019): tune epsilon and beta1 too, over ranges wide enough that
        # Adam can behave like momentum SGD (large eps) or like a sign method (small eps).
        "adam_eps": OptimizerSpec("adam_eps", "Adam, ε and β1 tuned", _adam, SearchSpace(
            lr=LogUniform(1e-4, 10.0), eps=LogUniform(1e-8, 10.0),
            one_minus_beta1=LogUniform(1e-2, 1.0))),
    }
    try:                    # chapter 10's sign method, when course_lib has it
        from ..optim.lion import Lion
    except ImportError:     # pragma: no cover - an older course_lib
        return specs
    specs["lion"] = OptimizerSpec("lion", "Lion", _lion(Lion), SearchSpace(
        lr=LogUniform(1e-4, 0.3)))
    return specs


def _lion(cls):
    def build(params, lr):
        return cls(params, lr=lr)
    return build


#: The optimizers the benchmark knows, by name.
OPTIMIZERS: dict[str, OptimizerSpec] = _specs()
#: The optimizers of the stored comparison (``python3 tasks.py benchmark``).
DEFAULT_OPTIMIZERS = tuple(n for n in ("sgd", "adam", "adamw", "adam_eps", "lion")
                           if n in OPTIMIZERS)


def get_optimizer(name: str) -> OptimizerSpec:
    if not isinstance(name, str):
        raise TypeError(f"optimizer name must be a string, got {type(name).__name__}")
    if name not in OPTIMIZERS:
        raise invalid("optimizer", name, "one of " + ", ".join(OPTIMIZERS))
    return OPTIMIZERS[name]


# ------------------------------------------------------------------- machine and code

def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict:
    """Where the timings come from: platform, CPU, cores, threads, library versions, load."""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        load = None
    return {"platform": platform.platform(), "cpu": _cpu_model(), "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "numpy": np.__version__, "python": platform.python_version(),
            "load_average": load,
            "env": {k: os.environ[k] for k in ("ATEN_CPU_CAPABILITY", "OMP_NUM_THREADS",
                                               "OPENBLAS_CORETYPE", "COURSE_SEED_OFFSET")
                    if k in os.environ}}


def code_version() -> dict:
    """The git commit of the checkout (and whether this package differs from it) and a
    SHA-256 of this package's sources."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(here.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    out: dict[str, str | bool | None] = {"sources_sha256": digest.hexdigest()[:16],
                                         "commit": None, "modified": None}
    try:
        root = here.parents[1]
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10)
        if commit.returncode == 0:
            out["commit"] = commit.stdout.strip()
            status = subprocess.run(["git", "status", "--porcelain", "--", str(here)],
                                    cwd=root, capture_output=True, text=True, timeout=10)
            out["modified"] = bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return out


# ---------------------------------------------------------------------- the results file

def read_records(path) -> list[dict]:
    """Every complete JSON line of ``path`` ([] if the file does not exist); a line that does
    not parse (the last one of a run killed while writing) is skipped."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "kind" in record:
            records.append(record)
    return records


def append_record(path, record: dict) -> None:
    """Append one JSON line and flush it to disk before returning."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() > 0:                  # a killed run may have left a partial last line
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
        fh.write((json.dumps(record, allow_nan=False) + "\n").encode())
        fh.flush()
        os.fsync(fh.fileno())


def tuning_seed(index: int, base: int = 0) -> int:
    """The seed of tuning trial ``index`` (the same for every optimizer: paired trials)."""
    return base + index


def final_seed(k: int, base: int = 0) -> int:
    """The seed of repetition ``k`` of the chosen configuration (never a tuning seed)."""
    return base + 1000 + k


def select_best(trials: list[dict]) -> dict:
    """The tuning trial with the lowest ``best_metric`` (ties: the earlier ``steps_to_target``,
    then the lower index)."""
    if not trials:
        raise invalid("trials", trials, "at least one tuning trial")

    def key(r):
        best, reach = r["best_metric"], r["steps_to_target"]
        return (math.inf if best is None else best, math.inf if reach is None else reach,
                r["index"])

    return min(trials, key=key)


def _key(record: dict) -> tuple:
    return (record["kind"], record["workload"], record["optimizer"], int(record["index"]),
            int(record["steps_budget"]))


def _same_config(a: dict, b: dict) -> bool:
    return set(a) == set(b) and all(math.isclose(float(a[k]), float(b[k]), rel_tol=1e-12)
                                    for k in a)


def run_benchmark(path, workloads=None, optimizers=None, budget: Budget | None = None, *,
                  method: str = "random", seed_base: int = 0, progress: bool = True,
                  max_trials: int | None = None,
                  on_record: Callable | None = None) -> list[dict]:
    """Run (or continue) the benchmark and return every record of ``path``.

    ``workloads`` / ``optimizers``: names (or :class:`Workload` / :class:`OptimizerSpec`
    objects); default: all standard workloads and :data:`DEFAULT_OPTIMIZERS`. ``budget``:
    trials per optimizer (the same for all), seeds of the chosen configuration, steps per
    trial (``None``: each workload's own budget). ``method``: ``"random"`` or ``"grid"``.
    ``max_trials`` stops after that many new trials (a deliberate interruption; the next call
    continues). ``on_record(record)`` is
    called after each trial is saved.
    """
    check_choice(method, "method", ("random", "grid"))
    check_int(seed_base, "seed_base", 0)
    budget = budget or Budget(trials=16, seeds=4)
    wls = [w if isinstance(w, Workload) else get_workload(w) for w in (workloads or WORKLOADS)]
    opts = [o if isinstance(o, OptimizerSpec) else get_optimizer(o)
            for o in (optimizers or DEFAULT_OPTIMIZERS)]
    existing = read_records(path)
    done = {_key(r): r for r in existing if r["kind"] in ("tune", "final")}
    append_record(path, {"kind": "meta", "time": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                         "machine": machine_info(), "code": code_version(),
                         "budget": {"trials": budget.trials, "seeds": budget.seeds,
                                    "steps": budget.steps},
                         "method": method, "seed_base": seed_base,
                         "workloads": {w.name: {"steps": budget.steps_for(w.steps),
                                                "target": w.target, "metric": w.metric_name,
                                                "batch_size": w.batch_size}
                                       for w in wls},
                         "spaces": {o.name: o.space.describe() for o in opts}})
    total = len(wls) * len(opts) * (budget.trials + budget.seeds)
    remaining = total - sum(1 for w in wls for o in opts for kind, n in
                            (("tune", budget.trials), ("final", budget.seeds))
                            for i in range(n)
                            if (kind, w.name, o.name, i, budget.steps_for(w.steps)) in done)
    bar = tqdm(total=remaining, desc="benchmark", file=sys.stdout, disable=not progress,
               mininterval=2.0, ncols=80)
    new = 0

    def run_one(kind, w, o, index, seed, config, n_steps):
        nonlocal new
        key = (kind, w.name, o.name, index, n_steps)
        if key in done:
            if not _same_config(done[key]["config"], config):
                raise ValueError(f"{path}: trial {key} was run with the configuration "
                                 f"{done[key]['config']}, this run would use {config}; "
                                 "use another results file for another protocol")
            return done[key]
        if max_trials is not None and new >= max_trials:
            raise _Stop
        bar.set_description(f"{w.name}/{o.name}"[:24])
        result = run_trial(w, o.make(config), seed, steps=n_steps)
        record = {"kind": kind, "workload": w.name, "optimizer": o.name, "index": index,
                  "seed": seed, "config": config, "steps_budget": n_steps,
                  "target": w.target, **result.as_dict()}
        append_record(path, record)
        done[key] = record
        new += 1
        bar.update(1)
        if on_record is not None:
            on_record(record)
        return record

    try:
        for w in wls:
            n_steps = budget.steps_for(w.steps)
            for o in opts:
                if method == "random":
                    gen = np.random.default_rng(config_seed(w.name, o.name, base=seed_base))
                    configs = random_configs(o.space, budget.trials, gen)
                else:
                    configs = grid_configs(o.space, budget.trials)
                trials = [run_one("tune", w, o, i, tuning_seed(i, seed_base), c, n_steps)
                          for i, c in enumerate(configs)]
                best = select_best(trials)["config"]
                for k in range(budget.seeds):
                    run_one("final", w, o, k, final_seed(k, seed_base), best, n_steps)
    except _Stop:
        pass
    finally:
        bar.close()
    return read_records(path)


class _Stop(Exception):
    pass
