"""Time the same MLP training run in course_lib.nn (NumPy) and in torch on the CPU.

A 64-128-10 ReLU network on the digits (course_lib.objectives.data.load_digits_split), softmax
cross-entropy, minibatch SGD with momentum, 100 epochs. Both runs start from the same
weights (the NumPy model is copied into torch with ``to_torch``) and see the same minibatches,
so besides the times the script prints how far apart the two final networks are -- in
float64 they should agree to rounding (~1e-12), which also checks the NumPy backward pass.

The NumPy side steps with ``course_lib.nn.step(model, course_lib.optim.sgd, ...)``; the torch
side with ``torch.optim.SGD``. Each run is timed ``--repeat`` times and the best time kept;
both use ``--threads`` threads (default 1, the fastest for matrices this small).

    .venv/bin/python benchmarks/numpy_vs_torch_mlp.py [--epochs 100] [--dtype float64]

The issue's requirement: NumPy time <= 3 x torch time. Exit status 1 if it is not met.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from course_lib import nn  # noqa: E402
from course_lib.objectives.data import load_digits_split, minibatches  # noqa: E402
from course_lib.optim import sgd  # noqa: E402


def batch_orders(n, batch_size, epochs, seed):
    rng = np.random.default_rng(seed)
    return [list(minibatches(n, batch_size, rng)) for _ in range(epochs)]


def run_numpy(model, X, y, orders, lr, momentum):
    loss_fn, states, loss = nn.CrossEntropyLoss(), [], float("nan")
    model.train()
    for epoch in orders:
        for idx in epoch:
            loss = loss_fn(model(X[idx]), y[idx])
            model.backward(loss_fn.backward())
            nn.step(model, sgd, states, lr=lr, momentum=momentum)
    return loss


def run_torch(model, X, y, orders, lr, momentum):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    orders = [[torch.from_numpy(idx) for idx in epoch] for epoch in orders]
    model.train()
    loss = torch.tensor(float("nan"))
    for epoch in orders:
        for idx in epoch:
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
    return float(loss.detach())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="intra-op threads for torch and for numpy's BLAS (0: leave defaults)")
    args = p.parse_args(argv)
    if args.threads > 0:
        # The matrices are tiny (32 x 128): threads only add synchronization, and on a busy
        # machine torch's spinning thread pool can slow it down tenfold. Same count for both.
        torch.set_num_threads(args.threads)
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)

    np_dtype = np.dtype(args.dtype)
    data = load_digits_split(seed=args.seed)
    X, y = data.X_train.astype(np_dtype), data.y_train
    orders = batch_orders(len(X), args.batch_size, args.epochs, args.seed)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def fresh_numpy():
        rng = np.random.default_rng(args.seed)
        return nn.Sequential(nn.Linear(64, args.hidden, rng, dtype=np_dtype), nn.ReLU(),
                             nn.Linear(args.hidden, 10, rng, dtype=np_dtype))

    t_np, t_torch = [], []
    for _ in range(args.repeat):
        model = fresh_numpy()
        tmodel = model.to_torch()
        t0 = time.perf_counter()
        loss_np = run_numpy(model, X, y, orders, args.lr, args.momentum)
        t_np.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        loss_torch = run_torch(tmodel, Xt, yt, orders, args.lr, args.momentum)
        t_torch.append(time.perf_counter() - t0)

    diff = max(float(np.max(np.abs(a.W.T - b.weight.detach().numpy())))
               for a, b in zip(model.layers[::2], tmodel[::2]))
    steps = sum(len(e) for e in orders)
    best_np, best_torch = min(t_np), min(t_torch)
    ratio = best_np / best_torch
    print(f"MLP 64-{args.hidden}-10, digits train set {X.shape}, {args.epochs} epochs x "
          f"{len(orders[0])} minibatches of {args.batch_size} = {steps} SGD steps, "
          f"{args.dtype}, lr={args.lr}, momentum={args.momentum}")
    print(f"numpy {np.__version__} (course_lib.nn): best {best_np:.3f} s of "
          f"{[round(t, 3) for t in t_np]}  ({1e6 * best_np / steps:.0f} us/step)")
    print(f"torch {torch.__version__} CPU, {torch.get_num_threads()} thread(s): best "
          f"{best_torch:.3f} s of {[round(t, 3) for t in t_torch]}  "
          f"({1e6 * best_torch / steps:.0f} us/step)")
    print(f"ratio numpy/torch = {ratio:.2f}  (requirement <= 3)")
    print(f"final minibatch loss: numpy {loss_np:.6f}, torch {loss_torch:.6f}; "
          f"max |W_numpy - W_torch| after training = {diff:.2e}")
    return 0 if ratio <= 3 else 1


if __name__ == "__main__":
    sys.exit(main())
