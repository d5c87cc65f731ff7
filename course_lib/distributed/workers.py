"""The experiments of chapter 11, as functions that run inside a process group.

Every function here is called on every rank by :meth:`WorkerPool.run` (so the process group is
initialized) and returns a picklable value per rank. ``world`` selects how many ranks take part
(the first ``world`` of the pool, through :func:`group_of`); the others return ``None`` at once
after joining the subgroup. Data are passed in from the parent as tensors (the workers never
import scikit-learn), the global batch of step ``t`` is ``batches[t]`` (indices), and worker
``r`` of ``p`` takes the contiguous ``r``-th ``1/p`` of it, so that the union of the workers'
batches is the global batch. The single-process references (:func:`train_single`) live here
too, so that the parent runs exactly the same model and data.
"""

from __future__ import annotations

import time
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["group_of", "make_mlp", "make_optimizer", "shard", "train_single", "ddp_training",
           "zero_training", "bn_statistics", "sync_batchnorm_error", "allreduce_times",
           "ddp_timeline", "powersgd_training", "local_sgd_training", "optimizer_state_bytes",
           "flat_params"]

_GROUPS: dict[int, Any] = {}


def group_of(world: int):
    """The process group of ranks ``0 .. world-1`` (created on first use; every rank of the
    pool must call this with the same ``world`` in the same order), or ``None`` on the ranks
    outside it. ``world`` equal to the pool's size gives the default group."""
    size = dist.get_world_size()
    if not 1 <= world <= size:
        raise ValueError(f"Invalid world: {world!r} (expected 1 .. {size})")
    if world == size:
        return dist.group.WORLD
    if world not in _GROUPS:
        _GROUPS[world] = dist.new_group(list(range(world)))
    return _GROUPS[world] if dist.get_rank() < world else None


def make_mlp(sizes: tuple[int, ...], seed: int, dtype=torch.float64,
             batchnorm: bool = False) -> nn.Sequential:
    """``Linear`` layers with ``Tanh`` between them, initialized from ``torch.manual_seed(seed)``
    (so every rank builds the same model)."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, dtype=dtype))
        if i < len(sizes) - 2:
            if batchnorm:
                layers.append(nn.BatchNorm1d(b, dtype=dtype))
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def make_optimizer(name: str, params, lr: float, group=None,
                   **hyper) -> torch.optim.Optimizer:
    """course_lib's optimizer ``name`` (``"sgd"`` with momentum 0.9 unless given, ``"adam"``,
    ``"zero-adam"``: course_lib's Adam sharded by ``ZeroRedundancyOptimizer`` over ``group``,
    the default group when None)."""
    from ..optim import SGD, Adam

    if name == "sgd":
        return SGD(params, lr=lr, **{"momentum": 0.9, **hyper})
    if name == "adam":
        return Adam(params, lr=lr, **hyper)
    if name == "zero-adam":
        from torch.distributed.optim import ZeroRedundancyOptimizer

        return ZeroRedundancyOptimizer(params, optimizer_class=Adam, process_group=group,
                                       lr=lr, **hyper)
    raise ValueError(f"Invalid optimizer: {name!r} (expected 'sgd', 'adam' or 'zero-adam')")


def shard(batch: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """The ``rank``-th of ``world`` contiguous equal parts of ``batch`` (its length must be a
    multiple of ``world``)."""
    if len(batch) % world:
        raise ValueError(f"Invalid batch: length {len(batch)} is not a multiple of {world}")
    size = len(batch) // world
    return batch[rank * size:(rank + 1) * size]


def flat_params(model: nn.Module) -> torch.Tensor:
    """All parameters of ``model`` in one detached vector."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).clone()


def optimizer_state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes of the per-element tensors an optimizer keeps in its state on this process
    (moments, momentum buffers; the 0-d step counters are left out)."""
    if hasattr(optimizer, "optim"):                  # ZeroRedundancyOptimizer: the local shard
        optimizer = optimizer.optim
    return sum(v.numel() * v.element_size() for s in optimizer.state.values()
               for v in s.values() if torch.is_tensor(v) and v.dim() > 0)


def _loss(model, X, y):
    return nn.functional.cross_entropy(model(X), y)


def train_single(X: torch.Tensor, y: torch.Tensor, batches: torch.Tensor, *, sizes, seed: int,
                 optimizer: str, lr: float, accumulation: int = 1, **hyper) -> dict:
    """One process: ``len(batches)`` steps on the global batches, each gradient accumulated
    over ``accumulation`` equal micro-batches (loss of each divided by ``accumulation``)."""
    model = make_mlp(sizes, seed, X.dtype)
    opt = make_optimizer(optimizer, model.parameters(), lr, **hyper)
    losses = []
    for batch in batches:
        opt.zero_grad()
        total = 0.0
        for k in range(accumulation):
            part = shard(batch, k, accumulation)
            loss = _loss(model, X[part], y[part]) / accumulation
            loss.backward()
            total += loss.item()
        opt.step()
        losses.append(total)
    return {"params": flat_params(model), "losses": losses,
            "state_bytes": optimizer_state_bytes(opt)}


def ddp_training(X: torch.Tensor, y: torch.Tensor, batches: torch.Tensor, *, world: int,
                 sizes, seed: int, optimizer: str, lr: float, **hyper) -> dict | None:
    """DDP over the first ``world`` ranks; each takes its shard of every global batch."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    group = group_of(world)
    if group is None:
        return None
    rank = dist.get_rank(group)
    model = DDP(make_mlp(sizes, seed, X.dtype), process_group=group)
    opt = make_optimizer(optimizer, model.parameters(), lr, group, **hyper)
    for batch in batches:
        part = shard(batch, rank, world)
        opt.zero_grad()
        _loss(model, X[part], y[part]).backward()
        opt.step()
    return {"params": flat_params(model.module), "state_bytes": optimizer_state_bytes(opt),
            "param_bytes": sum(p.numel() * p.element_size() for p in model.parameters())}


def zero_training(X, y, batches, *, world: int, sizes, seed: int, lr: float, **hyper):
    """:func:`ddp_training` with course_lib's Adam sharded by ``ZeroRedundancyOptimizer``."""
    return ddp_training(X, y, batches, world=world, sizes=sizes, seed=seed,
                        optimizer="zero-adam", lr=lr, **hyper)


def bn_statistics(x: torch.Tensor, *, world: int) -> dict | None:
    """BatchNorm statistics of a batch split over ``world`` ranks: each rank's own (per-worker
    BatchNorm) and the global ones from one ``all_reduce`` of ``[n, sum x, sum x^2]`` (what
    SyncBatchNorm computes)."""
    group = group_of(world)
    if group is None:
        return None
    part = shard(x, dist.get_rank(group), world)
    local_mean, local_var = part.mean(0), part.var(0, unbiased=False)
    sums = torch.cat([torch.tensor([float(len(part))], dtype=x.dtype), part.sum(0),
                      (part * part).sum(0)])
    dist.all_reduce(sums, group=group)
    d = x.shape[1]
    n, s1, s2 = sums[0], sums[1:1 + d], sums[1 + d:]
    mean = s1 / n
    var = s2 / n - mean * mean
    return {"local_mean": local_mean, "local_var": local_var, "mean": mean, "var": var}


def sync_batchnorm_error(*, world: int) -> str | None:
    """Try ``nn.SyncBatchNorm`` on CPU tensors inside the group: torch's error message, or
    None if it ran."""
    group = group_of(world)
    if group is None:
        return None
    layer = nn.SyncBatchNorm(4, process_group=group)
    try:
        layer(torch.randn(8, 4))
    except ValueError as err:
        return str(err)
    return None


def allreduce_times(sizes: list[int], *, world: int, repeats: int = 5,
                    dtype=torch.float32) -> dict | None:
    """Median seconds of one ``all_reduce`` of ``n`` elements for each ``n`` in ``sizes``, over
    ``repeats`` calls after one warm-up call, each started after a barrier (rank 0 reports)."""
    group = group_of(world)
    if group is None:
        return None
    out = {}
    for n in sizes:
        t = torch.ones(n, dtype=dtype)
        dist.all_reduce(t, group=group)
        times = []
        for _ in range(repeats):
            dist.barrier(group=group)
            start = time.perf_counter()
            dist.all_reduce(t, group=group)
            times.append(time.perf_counter() - start)
        out[n] = sorted(times)[len(times) // 2]
    return out if dist.get_rank() == 0 else None


def ddp_timeline(*, world: int, width: int = 256, depth: int = 6, batch: int = 32,
                 bucket_cap_mb: float = 0.3, seed: int = 0) -> dict | None:
    """One DDP backward pass of a ``depth``-layer MLP, timed: when each parameter's gradient is
    ready, when DDP launches each bucket's all-reduce and when it completes (seconds from the
    start of the backward pass, rank 0's clock)."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    group = group_of(world)
    if group is None:
        return None
    model = make_mlp((width,) * (depth + 1), seed, torch.float32)
    names = {p: name for name, p in model.named_parameters()}
    ddp = DDP(model, process_group=group, bucket_cap_mb=bucket_cap_mb)
    events: dict[str, list] = {"ready": [], "launch": [], "done": []}
    clock = {"t0": 0.0}

    def now():
        return time.perf_counter() - clock["t0"]

    for p in model.parameters():
        p.register_post_accumulate_grad_hook(
            lambda p: events["ready"].append((names[p], now())))

    def hook(state, bucket):
        index = bucket.index()
        events["launch"].append((index, now(), [names[p] for p in bucket.parameters()]))
        fut = dist.all_reduce(bucket.buffer().div_(world), group=group,
                              async_op=True).get_future()

        def finish(f):
            events["done"].append((index, now()))
            return f.value()[0]

        return fut.then(finish)

    ddp.register_comm_hook(None, hook)
    gen = torch.Generator().manual_seed(seed + dist.get_rank())
    x = torch.randn(batch, width, generator=gen)
    for _ in range(3):                               # the last pass is the one reported
        for key in ("ready", "launch", "done"):
            events[key].clear()
        ddp.zero_grad()
        loss = ddp(x).square().mean()
        dist.barrier(group=group)
        clock["t0"] = time.perf_counter()
        loss.backward()
        events["end"] = now()
    return events if dist.get_rank() == 0 else None


def _full_loss(model, X, y) -> float:
    with torch.no_grad():
        return nn.functional.cross_entropy(model(X), y).item()


def powersgd_training(X, y, batches, *, world: int, sizes, seed: int, lr: float,
                      rank: int | None = 1, error_feedback: bool = True, every: int = 10,
                      start_iter: int = 2) -> dict | None:
    """DDP with SGD (momentum 0.9) and, unless ``rank`` is None, DDP's PowerSGD communication
    hook of that matrix rank (with or without error feedback); the full training loss every
    ``every`` steps and the floats each worker sends per step for the compressed matrices."""
    from torch.distributed.algorithms.ddp_comm_hooks import powerSGD_hook as psgd
    from torch.nn.parallel import DistributedDataParallel as DDP

    group = group_of(world)
    if group is None:
        return None
    me = dist.get_rank(group)
    model = DDP(make_mlp(sizes, seed, X.dtype), process_group=group)
    if rank is not None:
        state = psgd.PowerSGDState(process_group=group, matrix_approximation_rank=rank,
                                   start_powerSGD_iter=start_iter, min_compression_rate=1,
                                   use_error_feedback=error_feedback, warm_start=True,
                                   random_seed=seed)
        model.register_comm_hook(state, psgd.powerSGD_hook)
    opt = make_optimizer("sgd", model.parameters(), lr)
    losses = [_full_loss(model.module, X, y)]
    for t, batch in enumerate(batches, start=1):
        part = shard(batch, me, world)
        opt.zero_grad()
        _loss(model, X[part], y[part]).backward()
        opt.step()
        if t % every == 0:
            losses.append(_full_loss(model.module, X, y))
    return {"losses": losses} if me == 0 else None


def local_sgd_training(X, y, batches, *, world: int, sizes, seed: int, lr: float,
                       period: int, momentum: float = 0.0, every: int = 10) -> dict | None:
    """Local SGD: every worker takes SGD steps on its own shards, and torch's
    ``PeriodicModelAverager`` averages the parameters every ``period`` steps. Returns the
    parameters (rank 0) and the full training loss of the average model every ``every`` steps
    (averaging is a collective, so all ranks evaluate it)."""
    from torch.distributed.algorithms.model_averaging.averagers import PeriodicModelAverager

    from ..optim import SGD

    group = group_of(world)
    if group is None:
        return None
    me = dist.get_rank(group)
    model = make_mlp(sizes, seed, X.dtype)
    opt = SGD(model.parameters(), lr=lr, momentum=momentum)
    averager = PeriodicModelAverager(period=period, warmup_steps=0, process_group=group)
    losses = [_full_loss(model, X, y)]
    for t, batch in enumerate(batches, start=1):
        part = shard(batch, me, world)
        opt.zero_grad()
        _loss(model, X[part], y[part]).backward()
        opt.step()
        averager.average_parameters(model.parameters())
        if t % every == 0:
            average = [p.detach().clone() for p in model.parameters()]
            for a in average:
                dist.all_reduce(a, group=group)
                a.div_(world)
            with torch.no_grad():
                saved = [p.clone() for p in model.parameters()]
                for p, a in zip(model.parameters(), average):
                    p.copy_(a)
                losses.append(_full_loss(model, X, y))
                for p, s in zip(model.parameters(), saved):
                    p.copy_(s)
    return {"params": flat_params(model), "losses": losses} if me == 0 else None
