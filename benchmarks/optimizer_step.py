"""Time one step of each course_lib.optim class against its torch.optim namesake (CPU).

For SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW, Adamax and NAdam with default settings,
float32 parameters of 1e6 and 1e7 elements in all, held as 1 tensor and as 100 tensors,
the script times ``opt.step()`` of ours and of torch's class, twice: on torch's default path
on the CPU (the single-tensor for-loop, ``foreach=None``) and with ``foreach=True`` on both
sides (the rule applied to :class:`course_lib.arrays.TensorList` s against torch's
multi-tensor functions). Ours and torch's are timed alternately, after warm-up steps; the
table gives the medians of the wall-clock times of the repeats and their ratio ours / torch
(goal: <= 1.0), then two checks on noise: the same ratio for the CPU time of the process
(``time.process_time``: all threads, kernel time included) and the ratio of the fastest
steps. On an idle machine the three ratios agree; when other programs compete for the
cores, the last two are the more trustworthy.

Two load-independent counts explain the times: per step and parameter tensor, the number of
element-wise kernels that produce a tensor of the parameter's size (each one a pass over
memory) and how many of them allocate a fresh tensor (for tensors of 40 MB, glibc maps fresh
pages each time, and the page faults cost about as much as ten passes).

It then measures, with ``tracemalloc``, the peak memory that one step of each update rule
allocates on the numpy path (``rule(x, g, state, ...)`` on a float64 array of 1e6 elements,
state already created), divided by the size of the parameters (goal: <= 1.0, i.e. at most
one temporary array of the parameters' size).

    .venv/bin/python benchmarks/optimizer_step.py [--repeats 9] [--threads N] [--sizes 1e6,1e7]

It takes about four minutes on 2 idle cores. Timings of memory-bound steps on a shared machine
are noisy (10-20 %, more under load: the load average is printed); compare ratios, not
absolute times.
"""

from __future__ import annotations

import argparse
import inspect
import os
import platform
import statistics
import sys
import time
import tracemalloc

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import course_lib.optim as ours  # noqa: E402

NAMES = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "Adamax", "NAdam"]
RULES = {"SGD": (ours.sgd, {}), "Adagrad": (ours.adagrad, {}),
         "RMSprop": (ours.rmsprop, {}), "Adadelta": (ours.adadelta, {}),
         "Adam": (ours.adam, {}),
         "AdamW": (ours.adam, dict(weight_decay=1e-2, decoupled_weight_decay=True)),
         "Adamax": (ours.adamax, {}), "NAdam": (ours.nadam, {})}


def make_params(total: int, pieces: int, seed: int = 0) -> list[torch.Tensor]:
    """``pieces`` float32 tensors of ``total / pieces`` elements each, with gradients."""
    gen = torch.Generator().manual_seed(seed)
    params = []
    for _ in range(pieces):
        p = torch.randn(total // pieces, generator=gen).requires_grad_()
        p.grad = torch.randn(total // pieces, generator=gen)
        params.append(p)
    return params


def time_steps(name: str, total: int, pieces: int, repeats: int, warmup: int = 2,
               foreach: bool | None = None):
    """Median seconds of one step of ours and of torch's class, timed alternately."""
    optims = {}
    for side, module in (("ours", ours), ("torch", torch.optim)):
        optims[side] = getattr(module, name)(make_params(total, pieces), foreach=foreach)
    for _ in range(warmup):
        for opt in optims.values():
            opt.step()
    wall = {side: [] for side in optims}
    cpu = {side: [] for side in optims}
    for _ in range(repeats):
        for side, opt in optims.items():
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            opt.step()
            wall[side].append(time.perf_counter() - start_wall)
            cpu[side].append(time.process_time() - start_cpu)
    del optims
    return ({side: statistics.median(t) for side, t in wall.items()},
            {side: statistics.median(t) for side, t in cpu.items()},
            {side: min(t) for side, t in wall.items()})


class _KernelCount(TorchDispatchMode):
    """Record the name of every aten operator that returns a tensor of ``numel`` elements."""

    def __init__(self, numel: int):
        super().__init__()
        self.numel, self.names = numel, []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        first = args[0] if args else None
        if isinstance(first, (list, tuple)):  # _foreach_*: the sizes of the list's tensors
            big = any(isinstance(t, torch.Tensor) and t.numel() == self.numel for t in first)
        else:
            big = isinstance(out, torch.Tensor) and out.numel() == self.numel
        if big:
            self.names.append(func.__name__)
        return out


def kernel_counts(name: str, module, numel: int = 10**5,
                  foreach: bool | None = None) -> tuple[int, int]:
    """(parameter-sized kernels, of which fresh allocations) in one step of one tensor
    (with ``foreach=True``: ``_foreach_*`` calls on a list of 3 tensors)."""
    ps = [torch.randn(numel).requires_grad_() for _ in range(3 if foreach else 1)]
    for p in ps:
        p.grad = torch.randn(numel)
    opt = getattr(module, name)(ps, foreach=foreach)
    opt.step()  # creates the state
    with _KernelCount(numel) as count:
        opt.step()
    # In-place kernels end with "_" (add_) or write to out= (maximum.out).
    fresh = [n for n in count.names if not (n.split(".")[0].endswith("_") or n.endswith(".out"))]
    return len(count.names), len(fresh)


def default_lr(name: str) -> float:
    return inspect.signature(getattr(ours, name)).parameters["lr"].default


def numpy_peak_ratio(name: str, n: int = 10**6, **options) -> float:
    """Peak bytes allocated during one numpy-path step, over the parameters' bytes."""
    rule, extra = RULES[name]
    rng = np.random.default_rng(0)
    x, g, state = rng.standard_normal(n), rng.standard_normal(n), {}
    hyper = dict(lr=default_lr(name), **extra, **options)
    rule(x, g, state, **hyper)  # creates the state: not counted
    tracemalloc.start()
    tracemalloc.reset_peak()
    rule(x, g, state, **hyper)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / x.nbytes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9,
                        help="timed steps per optimizer for 1e7 parameters (5x that for 1e6)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--sizes", default="1e6,1e7",
                        help="total parameter counts, comma-separated (default 1e6,1e7)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, numpy {np.__version__}, python "
          f"{platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{torch.get_num_threads()} torch threads, float32, median of {args.repeats} steps "
          f"(x5 for 1e6 parameters)")
    print("load average before: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    print()
    header = f"{'optimizer':<9} {'path':<7} {'params':>6} {'tensors':>7} {'ours ms':>9} " \
             f"{'torch ms':>9} {'ours/torch':>10} {'CPU time':>8} {'fastest':>8}"
    print(header)
    print("-" * len(header))
    worst = {}
    for total in (int(float(x)) for x in args.sizes.split(",")):
        for pieces in (1, 100):
            for name in NAMES:
                for path, foreach in (("default", None), ("foreach", True)):
                    repeats = args.repeats * (5 if total < 10**7 else 1)  # small steps: cheap
                    wall, cpu, fastest = time_steps(name, total, pieces, repeats,
                                                    foreach=foreach)
                    ratio = wall["ours"] / wall["torch"]
                    worst[name, path] = max(worst.get((name, path), 0.0), ratio)
                    print(f"{name:<9} {path:<7} {total:>6.0e} {pieces:>7} "
                          f"{wall['ours'] * 1e3:>9.2f} {wall['torch'] * 1e3:>9.2f} "
                          f"{ratio:>10.2f} {cpu['ours'] / cpu['torch']:>8.2f} "
                          f"{fastest['ours'] / fastest['torch']:>8.2f}", flush=True)
    print()
    print("element-wise kernels of the parameter's size per step and tensor (fresh allocations);")
    print("foreach: _foreach_* calls per step on a list of 3 tensors (fresh lists)")
    header = f"{'optimizer':<9} {'ours':>8} {'torch':>8} {'ours foreach':>13} {'torch foreach':>14}"
    print(header)
    print("-" * len(header))
    for name in NAMES:
        cells = [kernel_counts(name, module, foreach=foreach)
                 for foreach in (None, True) for module in (ours, torch.optim)]
        print(f"{name:<9} " + " ".join(f"{k:>{w - 4}} ({f})" for (k, f), w in
                                      zip(cells, (8, 8, 13, 14))))
    print()
    print("numpy path, one step on 1e6 float64 parameters (state already created)")
    header = f"{'rule':<20} {'peak extra / param bytes':>14}"
    print(header)
    print("-" * len(header))
    rows = [(name, name, {}) for name in NAMES]
    rows.insert(1, ("SGD momentum=0.9", "SGD", dict(momentum=0.9)))
    rows += [("Adam amsgrad", "Adam", dict(amsgrad=True)),
             ("RMSprop centered", "RMSprop", dict(centered=True)),
             ("RMSprop momentum=0.9", "RMSprop", dict(momentum=0.9))]
    for label, name, options in rows:
        print(f"{label:<24} {numpy_peak_ratio(name, **options):>9.2f}")
    print()
    print("load average after: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    print("worst ratio per optimizer and path: "
          + ", ".join(f"{name} {path} {ratio:.2f}" for (name, path), ratio in worst.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
