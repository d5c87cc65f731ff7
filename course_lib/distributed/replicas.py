r"""Many small networks trained at once: the batch-size experiments of chapter 11 on one core.

Data parallelism over :math:`p` workers of batch :math:`B/p` *is* minibatch SGD with batch
:math:`B` (chapter 11 asserts the equality with real DDP), so how training depends on
:math:`B` and on the learning rate can be measured in one process. :func:`train_replicas`
trains ``M`` independent two-layer tanh networks (one per learning rate and seed) as one batched
computation: their weights are stacked along a first axis and every step is a handful of
batched matrix products, so a grid of runs costs about as much as one.

:func:`per_example_gradients` gives the gradient of every example's loss (``torch.func``) for
the gradient noise scale :math:`\operatorname{tr}\Sigma/|G|^2`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["init_replicas", "replica_logits", "replica_losses", "train_replicas",
           "per_example_gradients", "trust_ratio"]

_NAMES = ("W1", "b1", "W2", "b2")


def init_replicas(seeds, n_in: int, hidden: int, n_out: int,
                  dtype=torch.float64) -> dict[str, torch.Tensor]:
    """Stacked parameters of ``len(seeds)`` networks, each initialized like ``nn.Linear``
    (uniform in +-1/sqrt(fan_in)) from its own seed."""
    out: dict[str, list[torch.Tensor]] = {name: [] for name in _NAMES}
    for s in seeds:
        gen = torch.Generator().manual_seed(int(s))
        for name, shape, fan_in in (("W1", (n_in, hidden), n_in), ("b1", (hidden,), n_in),
                                    ("W2", (hidden, n_out), hidden), ("b2", (n_out,), hidden)):
            bound = 1.0 / math.sqrt(fan_in)
            out[name].append((torch.rand(shape, generator=gen, dtype=dtype) * 2 - 1) * bound)
    return {name: torch.stack(v) for name, v in out.items()}


def replica_logits(params, X):
    """Logits of every replica, shape (M, B, C); ``X`` is (M, B, D) or (B, D) (the same
    examples for every replica)."""
    if X.dim() == 2:
        X = X.expand(params["W1"].shape[0], *X.shape)
    h = torch.tanh(torch.baddbmm(params["b1"][:, None], X, params["W1"]))
    return torch.baddbmm(params["b2"][:, None], h, params["W2"])


def replica_losses(params, X, y) -> torch.Tensor:
    """Mean cross-entropy of every replica on ``(X, y)`` (shape (M,))."""
    with torch.no_grad():
        logits = replica_logits(params, X)
        return torch.nn.functional.cross_entropy(
            logits.transpose(1, 2), y.expand(logits.shape[0], -1), reduction="none").mean(1)


def trust_ratio(weight: torch.Tensor, grad: torch.Tensor, weight_decay: float = 0.0,
                dims=None) -> torch.Tensor:
    r"""LARS's layer-wise ratio :math:`\|w\| / (\|g\| + \lambda \|w\|)` (norms over ``dims``,
    all of them by default); 1 where a norm is zero."""
    w = weight.norm(dim=dims)
    g = grad.norm(dim=dims)
    ratio = w / (g + weight_decay * w)
    return torch.where((w > 0) & (g > 0), ratio, torch.ones_like(ratio))


def train_replicas(X: torch.Tensor, y: torch.Tensor, *, seeds, lrs, batch_size: int,
                   steps: int, hidden: int = 32, momentum: float = 0.9, warmup: int = 0,
                   method: str = "sgd", trust_coefficient: float = 0.02,
                   weight_decay: float = 0.0, eval_every: int = 10,
                   data_seed: int | None = None) -> dict:
    """Train ``M = len(seeds)`` networks (``lrs[i]`` for network ``i``) for ``steps`` steps of
    SGD with momentum (torch's form ``b = mu b + g``, ``theta -= lr b``) or LARS (each tensor's
    step scaled by ``trust_coefficient * trust_ratio``, momentum on the scaled step), batches
    of ``batch_size`` drawn with replacement (each network from its own seed), the learning rate
    ramped linearly over the first ``warmup`` steps. Returns the full training loss every
    ``eval_every`` steps (``losses``, shape (M, steps // eval_every + 1); ``inf`` once a run
    has diverged), ``examples`` at those points and the final ``params``."""
    if method not in ("sgd", "lars"):
        raise ValueError(f"Invalid method: {method!r} (expected 'sgd' or 'lars')")
    seeds = [int(s) for s in seeds]
    lrs = torch.as_tensor(np.broadcast_to(np.asarray(lrs, dtype=float), (len(seeds),)).copy(),
                          dtype=X.dtype)
    n, d = X.shape
    params = init_replicas(seeds, d, hidden, int(y.max()) + 1, X.dtype)
    for p in params.values():
        p.requires_grad_(True)
    buffers = {k: torch.zeros_like(v) for k, v in params.items()}
    gen = torch.Generator().manual_seed(seeds[0] if data_seed is None else int(data_seed))
    offsets = torch.as_tensor(seeds)
    losses = [replica_losses(params, X, y)]
    M = len(seeds)
    for t in range(1, steps + 1):
        idx = (torch.randint(0, n, (M, batch_size), generator=gen) + offsets[:, None]) % n
        logits = replica_logits(params, X[idx])
        loss = torch.nn.functional.cross_entropy(
            logits.transpose(1, 2), y[idx], reduction="none").mean(1).sum()
        grads = torch.autograd.grad(loss, list(params.values()))
        scale = lrs * min(1.0, t / warmup) if warmup else lrs
        with torch.no_grad():
            for (name, p), g in zip(params.items(), grads):
                shape = (M,) + (1,) * (p.dim() - 1)
                if weight_decay:
                    g = g + weight_decay * p
                if method == "lars":
                    dims = tuple(range(1, p.dim()))
                    local = trust_coefficient * trust_ratio(p, g - weight_decay * p,
                                                            weight_decay, dims)
                    g = g * local.reshape(shape)
                buffers[name].mul_(momentum).add_(g)
                p.sub_(scale.reshape(shape) * buffers[name])
        if t % eval_every == 0:
            losses.append(replica_losses(params, X, y))
    out = torch.stack(losses, 1)
    out = torch.where(torch.isfinite(out), out, torch.full_like(out, math.inf))
    # a run whose loss became inf or nan stays diverged
    out = torch.where(torch.cummax(torch.isinf(out).to(torch.int8), 1).values.bool(),
                      torch.full_like(out, math.inf), out)
    examples = np.arange(out.shape[1]) * eval_every * batch_size
    return {"losses": out.numpy(), "examples": examples,
            "params": {k: v.detach() for k, v in params.items()}}


def per_example_gradients(params: dict[str, torch.Tensor], X: torch.Tensor,
                          y: torch.Tensor, replica: int = 0) -> torch.Tensor:
    """Gradients of every example's cross-entropy for one replica, flattened: shape (N, P)."""
    from torch.func import grad, vmap

    one = {k: v[replica].detach() for k, v in params.items()}

    def loss(p, x, target):
        h = torch.tanh(x @ p["W1"] + p["b1"])
        return torch.nn.functional.cross_entropy((h @ p["W2"] + p["b2"])[None], target[None])

    g = vmap(grad(loss), in_dims=(None, 0, 0))(one, X, y)
    return torch.cat([g[k].reshape(len(X), -1) for k in _NAMES], 1)
