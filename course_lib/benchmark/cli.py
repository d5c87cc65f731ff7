"""``python -m course_lib.benchmark.cli``: run (or continue) the benchmark into a results file
and print its tables.

    python -m course_lib.benchmark.cli          # benchmarks/results/comparing_optimizers.jsonl
    python -m course_lib.benchmark.cli --workloads mlp,logistic --trials 8 --seeds 3 --out x.jsonl
    python -m course_lib.benchmark.cli --report-only
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from ..seeding import seed
from .results import load_results
from .runner import DEFAULT_OPTIMIZERS, run_benchmark
from .tuning import Budget
from .workloads import WORKLOADS

#: The stored comparison's protocol (``python3 tasks.py benchmark``).
TRIALS, SEEDS = 16, 4


def report(path) -> str:
    """The tables of a results file: budgets, best metric with CIs, time-to-target, profiles."""
    res = load_results(path)
    lines = [f"results: {path}"]
    meta = res.meta[-1]
    lines.append(f"machine: {meta['machine']['cpu']}, {meta['machine']['cores']} cores, "
                 f"torch {meta['machine']['torch']} with {meta['machine']['torch_threads']} "
                 f"thread(s); code: commit {meta['code']['commit']} "
                 f"(modified: {meta['code']['modified']}), sources "
                 f"{meta['code']['sources_sha256']}")
    lines.append("steps spent (tuning, repetitions) per optimizer: " + ", ".join(
        f"{o}: {b['tune']}, {b['final']}" for o, b in res.budget_used().items()))
    lines += ["", "best validation metric within the budget (mean ± 95% CI half-width over "
              "seeds; chosen η; edge flags)", res.table("best_metric")]
    lines += ["", "steps to target (median over seeds)"]
    for w in res.workloads():
        lines.append(f"  {w:12s} " + "  ".join(
            f"{o}={res.cost(w, o):g}" for o in res.optimizers()))
    for field in ("steps_to_target", "seconds_to_target"):
        prof = res.profile(field)
        lines += ["", f"performance profile on {field} (fraction of workloads)",
                  prof.table((1.0, 2.0, 4.0, math.inf))]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="benchmarks/results/comparing_optimizers.jsonl")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--optimizers", default=",".join(DEFAULT_OPTIMIZERS))
    parser.add_argument("--trials", type=int, default=TRIALS)
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per trial (default: each workload's budget)")
    parser.add_argument("--method", choices=("random", "grid"), default="random")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if not args.report_only:
        started = time.perf_counter()
        run_benchmark(args.out, args.workloads.split(","), args.optimizers.split(","),
                      Budget(trials=args.trials, seeds=args.seeds, steps=args.steps),
                      method=args.method, seed_base=seed(0),
                      progress=not args.no_progress)
        print(f"benchmark time: {time.perf_counter() - started:.0f} s")
    print(report(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
