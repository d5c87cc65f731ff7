"""Shared harness: run a course_lib optimizer and its torch.optim namesake side by side.

Both optimizers see the same parameters (two param groups) and the same loss, a quadratic
plus a small tanh network term, so every step's gradient depends on the trajectory. The
harness returns the relative error of the parameters after every step.
"""

from __future__ import annotations

import copy

import torch


def make_problem(seed: int = 0, n: int = 6):
    """Two parameter tensors and a differentiable loss of them (float64)."""
    gen = torch.Generator().manual_seed(seed)
    A = torch.randn(n, n, generator=gen, dtype=torch.float64)
    A = A @ A.T / n + 0.1 * torch.eye(n, dtype=torch.float64)
    W = torch.randn(4, n, generator=gen, dtype=torch.float64) * 0.5
    X = torch.randn(16, 4, generator=gen, dtype=torch.float64)
    y = torch.randn(16, generator=gen, dtype=torch.float64)
    w0 = torch.randn(n, generator=gen, dtype=torch.float64)
    V0 = torch.randn(4, n, generator=gen, dtype=torch.float64) * 0.3

    def loss(w, V):
        quad = 0.5 * w @ A @ w
        net = torch.tanh(X @ (V + W)) @ w - y
        return quad + 0.5 * (net**2).mean()

    return [w0, V0], loss


def run_pair(ours_cls, torch_cls, group_options: list[dict], steps: int = 200, seed: int = 0,
             closure: bool = False):
    """Step both optimizers ``steps`` times; return the max relative error per step.

    ``group_options`` holds one dict of options per param group (two groups here: the
    vector and the matrix parameter), passed as the groups' own settings.
    """
    init, loss_fn = make_problem(seed)
    if any(opts.get("maximize") for opts in group_options):
        # Ascent on the negated loss: the same well-behaved trajectory, so round-off is not
        # amplified by a diverging run.
        loss_fn = (lambda f: (lambda *ps: -f(*ps)))(loss_fn)
    params = {}
    optims = {}
    for name, cls in (("ours", ours_cls), ("torch", torch_cls)):
        ps = [p.clone().requires_grad_(True) for p in init]
        groups = [dict(params=[p], **opts) for p, opts in zip(ps, group_options)]
        params[name] = ps
        optims[name] = cls(groups)

    errors = []
    for _ in range(steps):
        for name in ("ours", "torch"):
            opt, ps = optims[name], params[name]

            def closure_fn(opt=opt, ps=ps):
                opt.zero_grad()
                value = loss_fn(*ps)
                value.backward()
                return value

            if closure:
                opt.step(closure_fn)
            else:
                closure_fn()
                opt.step()
        err = max(
            ((a - b).norm() / b.norm().clamp_min(1e-300)).item()
            for a, b in zip(params["ours"], params["torch"])
        )
        errors.append(err)
    return errors, params, optims


def continue_from_state_dict(cls, group_options: list[dict], k: int = 50, steps: int = 100,
                             seed: int = 0):
    """Run ``steps`` steps straight through, and ``k`` steps + save/load + the rest in a fresh
    optimizer over copied parameters. Returns the two final parameter lists."""
    init, loss_fn = make_problem(seed)

    def fresh(ps):
        return cls([dict(params=[p], **opts) for p, opts in zip(ps, group_options)])

    def advance(opt, ps, n):
        for _ in range(n):
            opt.zero_grad()
            loss_fn(*ps).backward()
            opt.step()

    straight = [p.clone().requires_grad_(True) for p in init]
    advance(fresh(straight), straight, steps)

    first = [p.clone().requires_grad_(True) for p in init]
    opt = fresh(first)
    advance(opt, first, k)
    saved = copy.deepcopy(opt.state_dict())
    resumed = [p.detach().clone().requires_grad_(True) for p in first]
    opt2 = fresh(resumed)
    opt2.load_state_dict(saved)
    advance(opt2, resumed, steps - k)
    return straight, resumed
