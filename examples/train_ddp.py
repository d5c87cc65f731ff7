#!/usr/bin/env python3
"""Data-parallel training with DistributedDataParallel, launched by torchrun.

On a laptop (two CPU processes, gloo):

    torchrun --standalone --nproc_per_node=2 examples/train_ddp.py

On a cluster, unchanged, on each of N nodes (one process per GPU, nccl):

    torchrun --nnodes=N --nproc_per_node=GPUS_PER_NODE --rdzv_backend=c10d \
        --rdzv_endpoint=HOST:29500 --rdzv_id=JOB_ID examples/train_ddp.py

torchrun sets RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT. The backend is nccl
when CUDA is available (each process takes the GPU numbered LOCAL_RANK) and gloo otherwise;
``--backend`` overrides it. The model (a small MLP) learns a synthetic classification task
made by a random teacher network (no download). Every worker takes its 1/p share of each global
batch, so the run is the same optimization for every p; ``--check`` makes rank 0 repeat it in
one process and print the largest parameter difference (use ``--dtype float64``). The last
lines print the final loss and a checksum of the parameters (equal on every rank).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # course_lib from this checkout
import course_lib.optim  # noqa: E402


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", choices=("auto", "gloo", "nccl"), default="auto")
    ap.add_argument("--optimizer", choices=("sgd", "adam", "zero-adam"), default="adam")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=256, help="global batch (all workers)")
    ap.add_argument("--examples", type=int, default=8192)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="CPU threads per process")
    ap.add_argument("--check", action="store_true",
                    help="rank 0 repeats the run in one process and compares")
    return ap.parse_args(argv)


def make_data(n, dim, classes, seed, dtype):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, dim, generator=gen, dtype=dtype)
    teacher = torch.randn(dim, classes, generator=gen, dtype=dtype)
    y = (torch.tanh(X @ teacher) + 0.5 * torch.randn(n, classes, generator=gen,
                                                     dtype=dtype)).argmax(1)
    return X, y


def make_model(width, seed, dtype):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(32, width, dtype=dtype), nn.Tanh(),
                         nn.Linear(width, width, dtype=dtype), nn.Tanh(),
                         nn.Linear(width, 10, dtype=dtype))


def make_optimizer(name, params, lr):
    if name == "sgd":
        return course_lib.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adam":
        return course_lib.optim.Adam(params, lr=lr)
    from torch.distributed.optim import ZeroRedundancyOptimizer

    return ZeroRedundancyOptimizer(params, optimizer_class=course_lib.optim.Adam, lr=lr)


def train(model, opt, X, y, batches, rank, world):
    loss = torch.tensor(float("nan"))
    for batch in batches:
        part = batch.view(world, -1)[rank]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(X[part]), y[part])
        loss.backward()
        opt.step()
    return loss


def checksum(model):
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double().cpu()
    digest = hashlib.sha256(flat.numpy().tobytes()).hexdigest()[:16]
    return flat.abs().sum().item(), digest, flat


def main(argv=None):
    args = parse(argv)
    backend = args.backend
    if backend == "auto":
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    torch.set_num_threads(args.threads)
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    dist.init_process_group(backend, device_id=device if backend == "nccl" else None)
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch_size % world:
        raise SystemExit(f"--batch-size {args.batch_size} is not a multiple of {world} workers")
    dtype = getattr(torch, args.dtype)
    X, y = make_data(args.examples, 32, 10, args.seed, dtype)
    X, y = X.to(device), y.to(device)
    gen = torch.Generator().manual_seed(args.seed + 1)
    batches = torch.stack([torch.randperm(args.examples, generator=gen)[:args.batch_size]
                           for _ in range(args.steps)]).to(device)
    model = DDP(make_model(args.width, args.seed, dtype).to(device),
                device_ids=[local_rank] if backend == "nccl" else None)
    opt = make_optimizer(args.optimizer, model.parameters(), args.lr)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    train(model, opt, X, y, batches, rank, world)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        full = nn.functional.cross_entropy(model(X), y).item()
    total, digest, flat = checksum(model.module)
    spread = torch.tensor([total, -total], dtype=torch.float64, device=device)
    dist.all_reduce(spread, op=dist.ReduceOp.MAX)
    if rank == 0:
        print(f"backend={backend} world_size={world} device={device.type} "
              f"optimizer={args.optimizer} steps={args.steps} global_batch={args.batch_size} "
              f"dtype={args.dtype}")
        print(f"time {seconds:.2f} s ({1e3 * seconds / args.steps:.2f} ms/step)")
        print(f"final training loss {full:.6f}")
        print(f"parameter checksum sum|theta| = {total:.12f} sha256[:16] = {digest} "
              f"(max - min over ranks: {(spread[0] + spread[1]).item():.3g})")
        if args.check:
            single = make_model(args.width, args.seed, dtype).to(device)
            name = "adam" if args.optimizer == "zero-adam" else args.optimizer
            train(single, make_optimizer(name, single.parameters(), args.lr), X, y, batches,
                  0, 1)
            diff = (checksum(single)[2] - flat).abs().max().item()
            print(f"one process, global batch: max |theta_DDP - theta_1| = {diff:.3g}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
