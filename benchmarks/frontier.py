"""Chapter 10's comparison of the optimizers since Adam, on a finer grid and more seeds.

The notebook ``book/optimizers_since_adam.ipynb`` compares six methods on two small digits
networks, each tuned by ``course_lib.benchmark.tune`` on the same grid of eight learning
rates half a decade apart (one tuning seed) and reported on five fresh seeds (its 60-second
budget). This script runs the wider version the chapter refers to:

* the same two problems (the 64-32-10 ReLU network and the deep narrow 64-16x4-10 tanh
  network, six epochs of batches of 64 on scikit-learn's digits, the same initialization and
  batch order for every method of a seed);
* eight methods: AdamW, RAdam, Adafactor, Lion, Muon (+ AdamW for the biases), schedule-free
  AdamW (evaluated at its average), LAMB, and SAM on top of AdamW (rho = 0.05; two gradients
  per step, so it is also shown at equal *steps*, not equal compute);
* five learning rates a factor of 3 apart per method, and for AdamW and Lion a weight-decay
  grid of four values a factor of 10 apart (Lion's ten times AdamW's, as its update norm
  suggests), five seeds;
* for each method and problem the configuration with the lowest mean validation loss, a flag
  when it is at an edge of its grid (a bracketing failure: widen the grid), the mean with a
  95% t-interval over the seeds (``course_lib.benchmark.summarize``), and whether it is
  distinguishable from AdamW's (``course_lib.benchmark.compare``: not when the intervals
  overlap).

    .venv/bin/python benchmarks/frontier.py [--seeds 5] [--epochs 6] [--quick]

It takes about 5 minutes on 2 lightly loaded cores (``--quick``: 2 seeds, the three middle
rates, one weight decay, about a minute). The training loop is written out (not
``course_lib.benchmark.run_trial``) because the problems are the chapter's, evaluated once at
the end of a fixed number of epochs.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from course_lib.benchmark import compare, summarize  # noqa: E402
from course_lib.objectives.data import load_digits_split  # noqa: E402
from course_lib.optim.adafactor import Adafactor  # noqa: E402
from course_lib.optim.lamb import LAMB  # noqa: E402
from course_lib.optim.lion import Lion  # noqa: E402
from course_lib.optim.muon import Muon  # noqa: E402
from course_lib.optim.radam import RAdam  # noqa: E402
from course_lib.optim.sam import SAM  # noqa: E402
from course_lib.optim.schedule_free import AdamWScheduleFree  # noqa: E402
from course_lib.seeding import seed  # noqa: E402
from course_lib.training import make_mlp  # noqa: E402

TASKS = {
    "64-32-10 ReLU": ([64, 32, 10], torch.nn.ReLU),
    "64-16x4-10 tanh": ([64, 16, 16, 16, 16, 10], torch.nn.Tanh),
}


def _muon(params, lr, weight_decay=0.0):
    params = list(params)
    return [Muon([p for p in params if p.ndim == 2], lr=lr, weight_decay=weight_decay),
            torch.optim.AdamW([p for p in params if p.ndim != 2], lr=1e-2, weight_decay=0.0)]


#: name -> (build(params, lr, weight_decay) -> list of optimizers, learning rates, decays)
METHODS = {
    "AdamW": (lambda ps, lr, wd: [torch.optim.AdamW(ps, lr=lr, weight_decay=wd)],
              [1e-3, 3e-3, 1e-2, 3e-2, 1e-1], [3e-3, 3e-2, 3e-1, 3.0]),
    "RAdam": (lambda ps, lr, wd: [RAdam(ps, lr=lr)], [1e-2, 3e-2, 1e-1, 3e-1, 1.0], [0.0]),
    "Adafactor": (lambda ps, lr, wd: [Adafactor(ps, lr=lr)], [1e-2, 3e-2, 1e-1, 3e-1, 1.0],
                  [0.0]),
    "Lion": (lambda ps, lr, wd: [Lion(ps, lr=lr, weight_decay=wd)],
             [1e-3, 3e-3, 1e-2, 3e-2, 1e-1], [3e-2, 3e-1, 3.0, 30.0]),
    "Muon + AdamW": (lambda ps, lr, wd: _muon(ps, lr), [3e-3, 1e-2, 3e-2, 1e-1, 3e-1], [0.0]),
    "schedule-free AdamW": (lambda ps, lr, wd: [AdamWScheduleFree(ps, lr=lr)],
                            [3e-3, 1e-2, 3e-2, 1e-1, 3e-1], [0.0]),
    "LAMB": (lambda ps, lr, wd: [LAMB(ps, lr=lr)], [3e-3, 1e-2, 3e-2, 1e-1, 3e-1], [0.0]),
    "SAM (AdamW)": (lambda ps, lr, wd: [SAM(ps, torch.optim.AdamW, rho=0.05, lr=lr,
                                            weight_decay=0.0)],
                    [1e-3, 3e-3, 1e-2, 3e-2, 1e-1], [0.0]),
}


def train_run(data, task: str, method: str, lr: float, wd: float, k: int, epochs: int,
              batch: int = 64) -> tuple[float, float]:
    """(final validation loss, training seconds) of one run; inf if it diverged."""
    sizes, activation = TASKS[task]
    model = make_mlp(sizes, activation=activation, seed=seed(k))
    optimizers = METHODS[method][0](model.parameters(), lr, wd)
    loss_fn = torch.nn.functional.cross_entropy
    X, y = data.X_train, data.y_train
    gen = torch.Generator().manual_seed(seed(k))
    started = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=gen)
        for first in range(0, len(X), batch):
            idx = order[first:first + batch]

            def closure(idx=idx):
                for opt in optimizers:
                    opt.zero_grad()
                loss = loss_fn(model(X[idx]), y[idx])
                loss.backward()
                return loss

            if isinstance(optimizers[0], SAM):
                optimizers[0].step(closure)
            else:
                closure()
                for opt in optimizers:
                    opt.step()
    seconds = time.perf_counter() - started
    for opt in optimizers:
        if isinstance(opt, AdamWScheduleFree):
            opt.eval()
    with torch.no_grad():
        val = float(loss_fn(model(data.X_val), data.y_val))
    return (val if np.isfinite(val) else float("inf")), seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--quick", action="store_true",
                        help="2 seeds, the three middle rates, no weight-decay grid")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    n_seeds = 2 if args.quick else args.seeds
    data = load_digits_split(seed=0).as_tensors()
    print(f"torch {torch.__version__}, {n_seeds} seeds, {args.epochs} epochs; load average "
          f"{os.getloadavg()[0]:.1f}")
    started = time.perf_counter()
    for task in TASKS:
        print(f"\n{task}")
        finals, chosen = {}, {}
        for method, (_, lrs, wds) in METHODS.items():
            if args.quick:
                lrs, wds = lrs[1:4], wds[len(wds) // 2:len(wds) // 2 + 1]
            results = {}
            for lr, wd in itertools.product(lrs, wds):
                runs = [train_run(data, task, method, lr, wd, k, args.epochs)
                        for k in range(1, n_seeds + 1)]
                results[lr, wd] = ([v for v, _ in runs], np.mean([s for _, s in runs]))
            (lr, wd), (vals, secs) = min(results.items(), key=lambda kv: np.mean(kv[1][0]))
            edges = [name for name, value, grid in (("lr", lr, lrs), ("wd", wd, wds))
                     if len(grid) > 1 and value in (grid[0], grid[-1])]
            finals[method], chosen[method] = vals, (lr, wd, secs, edges)
        for method, vals in finals.items():
            lr, wd, secs, edges = chosen[method]
            where = f"lr {lr:<6g}" + (f" wd {wd:<5g}" if len(METHODS[method][2]) > 1 else " " * 9)
            if all(np.isfinite(vals)) and n_seeds > 1:
                verdict = ("" if method == "AdamW" else
                           compare(vals, finals["AdamW"], names=(method, "AdamW")).verdict)
                stats = str(summarize(vals))
            else:
                verdict, stats = "", f"{np.mean(vals):.4f}"
            flag = f"  AT EDGE: {', '.join(edges)}" if edges else ""
            print(f"  {method:20s} {where} val loss {stats:32s} {secs:5.2f} s/run  "
                  f"{verdict}{flag}")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
