"""Shared harness: run a course_lib optimizer and its torch.optim namesake side by side.

Both optimizers see the same parameters (two param groups) and the same loss, by default a
quadratic plus a small tanh network term (``kind="mixed"``), so every step's gradient depends
on the trajectory; ``kind="quadratic"`` is a pure, ill-conditioned quadratic of both
parameters. The harness returns the relative error of the parameters after every step.
"""

from __future__ import annotations

import copy
import warnings

import pytest
import torch


def make_problem(seed: int = 0, n: int = 6, kind: str = "mixed"):
    """Two parameter tensors and a differentiable loss of them (float64).

    ``kind="mixed"``: quadratic in ``w`` plus a tanh network's squared error;
    ``kind="quadratic"``: a quadratic of ``w`` and ``V`` (curvatures from about 0.1 to 10)
    whose minimizer lies 6 units from the start in every coordinate, so that 200 steps of an
    adaptive method (about ``lr`` per coordinate and step) stay in the transient. Close to a
    minimizer, with a constant learning rate, the steps of adaptive methods are about
    ``lr * sign(g)`` and the trajectory is chaotic: 1-ulp differences between torch's fused
    kernels and operator code then grow to 1e-5 within 100 steps (measured), which tests
    the dynamics rather than the implementation.
    """
    if kind not in ("mixed", "quadratic"):
        raise ValueError(f"Unknown problem kind: {kind}")
    gen = torch.Generator().manual_seed(seed)
    A = torch.randn(n, n, generator=gen, dtype=torch.float64)
    A = A @ A.T / n + 0.1 * torch.eye(n, dtype=torch.float64)
    W = torch.randn(4, n, generator=gen, dtype=torch.float64) * 0.5
    X = torch.randn(16, 4, generator=gen, dtype=torch.float64)
    y = torch.randn(16, generator=gen, dtype=torch.float64)
    w0 = torch.randn(n, generator=gen, dtype=torch.float64)
    V0 = torch.randn(4, n, generator=gen, dtype=torch.float64) * 0.3

    D = torch.logspace(-1, 1, V0.numel(), dtype=torch.float64).reshape(V0.shape)
    signs = torch.randn(5 * n, generator=gen, dtype=torch.float64).sign()
    w_far, V_far = w0 + 6 * signs[:n], V0 + 6 * signs[n:].reshape(V0.shape)

    def mixed(w, V):
        quad = 0.5 * w @ A @ w
        net = torch.tanh(X @ (V + W)) @ w - y
        return quad + 0.5 * (net**2).mean()

    def quadratic(w, V):
        return 0.5 * (w - w_far) @ A @ (w - w_far) + 0.5 * (D * (V - V_far) ** 2).sum()

    return [w0, V0], mixed if kind == "mixed" else quadratic


def run_pair(ours_cls, torch_cls, group_options: list[dict], steps: int = 200, seed: int = 0,
             closure: bool = False, kind: str = "mixed", defaults: dict | None = None):
    """Step both optimizers ``steps`` times; return the max relative error per step.

    ``group_options`` holds one dict of options per param group (two groups here: the
    vector and the matrix parameter), passed as the groups' own settings. ``kind`` picks the
    loss (see :func:`make_problem`); ``defaults`` are keyword arguments of both constructors
    (for the few options torch reads from the constructor only).
    """
    init, loss_fn = make_problem(seed, kind=kind)
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
        optims[name] = cls(groups, **(defaults or {}))

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
                             seed: int = 0, kind: str = "mixed", defaults: dict | None = None):
    """Run ``steps`` steps straight through, and ``k`` steps + save/load + the rest in a fresh
    optimizer over copied parameters. Returns the two final parameter lists."""
    init, loss_fn = make_problem(seed, kind=kind)

    def fresh(ps):
        return cls([dict(params=[p], **opts) for p, opts in zip(ps, group_options)],
                   **(defaults or {}))

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


# --- bit for bit: course_lib's classes against torch.optim's, step by step ---------------

#: The parameter shapes of :func:`make_field` unless a test gives its own.
FIELD_SHAPES = ((6, 4), (6,), (5,))


def make_field(dtype=torch.float64, seed: int = 0, shapes=FIELD_SHAPES, far=None):
    """Parameter tensors of ``shapes`` (complex when ``dtype`` is) and a gradient field of
    them: per element, on the real view ``r``, ``g = d (r - c) + 0.3 sin(2 r)`` with
    curvatures ``d`` from 0.1 to 10 and centres ``c`` a few units away (``3 z``, ``z``
    standard normal) -- the gradient of a smooth, non-quadratic, separable function, cheap to
    evaluate without autograd. With ``far`` the centres are at least ``far`` units away in
    every coordinate (``far (1 + |z|) sign(z)``), so that 100 steps of a sign-like method stay
    in the transient instead of chattering around a minimizer (chaotic: 1-ulp differences
    then grow by orders of magnitude)."""
    gen = torch.Generator().manual_seed(seed)
    real = {torch.complex64: torch.float32, torch.complex128: torch.float64}.get(dtype, dtype)
    params, consts = [], []
    for shape in shapes:
        full = tuple(shape) + ((2,) if dtype.is_complex else ())
        r = torch.randn(full, generator=gen, dtype=real)
        n = max(r.numel(), 2)
        d = torch.logspace(-1, 1, n, dtype=real)[torch.randperm(n, generator=gen)][:r.numel()]
        z = torch.randn(full, generator=gen, dtype=real)
        c = r + (3 * z if far is None else far * (1 + z.abs()) * z.sign())
        params.append(torch.view_as_complex(r) if dtype.is_complex else r)
        consts.append((d.reshape(full), c))

    def grad(ps):
        out = []
        for p, (d, c) in zip(ps, consts):
            r = torch.view_as_real(p) if p.is_complex() else p
            g = d * (r - c) + 0.3 * torch.sin(2 * r)
            out.append(torch.view_as_complex(g) if p.is_complex() else g)
        return out

    return params, grad


def bitwise_run(ours_cls, torch_cls, kwargs: dict, dtype=torch.float64, steps: int = 100,
                lr_change_at: int = 35, reload_at: int = 70, cross_load: bool = False,
                seed: int = 0, shapes=FIELD_SHAPES):
    """Step ours and torch's optimizer ``steps`` times on :func:`make_field` and return the
    first step after which the parameters are not ``torch.equal`` (``None`` if they never
    differ). Both see the same gradient at every step (computed from our parameters, equal
    to torch's as long as nothing differed).

    At ``lr_change_at`` every group's ``lr`` is halved (a tensor ``lr`` stays a tensor); at
    ``reload_at`` each optimizer is replaced by a fresh one that loads a deep copy of the
    other's state dict when ``cross_load`` (ours <- torch's, torch's <- ours), else its own.
    """
    init, grad_fn = make_field(dtype, seed, shapes)
    sign = -1 if kwargs.get("maximize") else 1  # ascend -f: the same well-behaved run
    sides = {}
    for name, cls in (("ours", ours_cls), ("torch", torch_cls)):
        ps = [p.clone().requires_grad_(True) for p in init]
        sides[name] = [ps, cls(ps, **kwargs)]
    for t in range(1, steps + 1):
        if t == lr_change_at:
            for _, opt in sides.values():
                for group in opt.param_groups:
                    group["lr"] = group["lr"] * 0.5
        if t == reload_at:
            saved = {name: copy.deepcopy(opt.state_dict()) for name, (_, opt) in sides.items()}
            for name, cls in (("ours", ours_cls), ("torch", torch_cls)):
                source = {"ours": "torch", "torch": "ours"}[name] if cross_load else name
                fresh = cls(sides[name][0], **kwargs)
                fresh.load_state_dict(saved[source])
                sides[name][1] = fresh
        with torch.no_grad():
            grads = grad_fn(sides["ours"][0])
        for ps, opt in sides.values():
            for p, g in zip(ps, grads):
                p.grad = sign * g
            opt.step()
        if not all(torch.equal(a, b) for a, b in zip(sides["ours"][0], sides["torch"][0])):
            return t
    return None


def assert_fails_like_torch(cls, info, index: int) -> None:
    """Bad input number ``index`` of torch's ``info.optim_error_inputs_func`` (an entry of
    ``optim_db``) fails -- or warns -- with ``cls`` as it does with torch's class: the same
    exception or warning type, a message matching torch's regex, at construction or at the
    first step as torch says."""
    from torch.testing._internal.common_optimizers import OptimizerErrorEnum

    error = info.optim_error_inputs_func(device="cpu", dtype=torch.float32)[index]
    spec = error.optimizer_error_input
    params = spec.params if spec.params is not None else [torch.zeros(2, requires_grad=True)]

    def act():
        opt = cls(params, **spec.kwargs)
        if error.error_on == OptimizerErrorEnum.STEP_ERROR:
            opt.step()

    if issubclass(error.error_type, Warning):
        with pytest.warns(error.error_type, match=error.error_regex):
            act()
    else:
        with pytest.raises(error.error_type, match=error.error_regex):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                act()
