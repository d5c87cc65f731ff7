"""Work per step, counted (not timed): course_lib.optim does no more than torch.optim.

Timings are noisy; the number of element-wise kernels a step runs over parameter-sized
memory, and how many of them allocate a fresh parameter-sized tensor, are not. A
``TorchDispatchMode`` records every aten operator of one step (as
``benchmarks/optimizer_step.py`` does): per tensor, ours must not exceed torch's default
single-tensor path, for every option set of torch's ``optim_db``; with ``foreach=True`` our
``_foreach_*`` calls must not exceed torch's. On the NumPy path, one step allocates at most
one parameter-sized temporary (tracemalloc).
"""

import tracemalloc

import numpy as np
import pytest
import torch
from torch.testing._internal.common_optimizers import optim_db
from torch.utils._python_dispatch import TorchDispatchMode

import course_lib.optim as ours

NAMES = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "Adamax", "NAdam"]
INFOS = {info.optim_cls.__name__: info for info in optim_db
         if info.optim_cls.__name__ in NAMES}
NUMEL = 4096


class _Count(TorchDispatchMode):
    """Records (operator name, returns a fresh tensor) for every operator that writes a
    tensor of ``NUMEL`` elements (or a list of them: the ``_foreach_*`` operators)."""

    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = func.__name__
        inplace = name.split(".")[0].endswith("_") or name.endswith(".out") \
            or "out" in (kwargs or {})
        first = args[0] if args else None
        if isinstance(first, (list, tuple)):  # _foreach_*: sizes of the list's tensors
            big = any(isinstance(t, torch.Tensor) and t.numel() == NUMEL for t in first)
        else:
            big = isinstance(out, torch.Tensor) and out.numel() == NUMEL
        if big:
            self.ops.append((name, not inplace))
        return out


def _count(module, name, kwargs, foreach, tensors=1):
    gen = torch.Generator().manual_seed(0)
    ps = [torch.randn(NUMEL, generator=gen).requires_grad_() for _ in range(tensors)]
    for p in ps:
        p.grad = torch.randn(NUMEL, generator=gen)
    opt = getattr(module, name)(ps, foreach=foreach, **kwargs)
    opt.step()  # creates the state
    with _Count() as count:
        opt.step()
    kernels = len(count.ops)
    fresh = sum(f for _, f in count.ops)
    return kernels, fresh, [n for n, _ in count.ops]


CASES = [(name, i, inp.kwargs) for name in NAMES
         for i, inp in enumerate(INFOS[name].optim_inputs_func(device="cpu",
                                                               dtype=torch.float32))]


@pytest.mark.parametrize("name, index, kwargs", CASES,
                         ids=[f"{n}-{i}-{'-'.join(map(str, k)) or 'default'}"
                              for n, i, k in CASES])
def test_no_more_kernels_or_allocations_than_torch(name, index, kwargs):
    mine = _count(ours, name, kwargs, foreach=False)
    theirs = _count(torch.optim, name, kwargs, foreach=False)
    assert mine[0] <= theirs[0], f"kernels: ours {mine[2]} vs torch {theirs[2]}"
    assert mine[1] <= theirs[1], f"fresh: ours {mine[2]} vs torch {theirs[2]}"
    assert mine[0] > 0  # the counter sees the step


@pytest.mark.parametrize("name, index, kwargs", CASES,
                         ids=[f"{n}-{i}-{'-'.join(map(str, k)) or 'default'}"
                              for n, i, k in CASES])
def test_foreach_no_more_calls_or_allocations_than_torch_foreach(name, index, kwargs):
    if torch.is_tensor(kwargs.get("lr")) and name in ("Adam", "AdamW"):
        kwargs = dict(kwargs, lr=kwargs["lr"].item())  # torch refuses a tensor lr here
    mine = _count(ours, name, kwargs, foreach=True, tensors=3)
    theirs = _count(torch.optim, name, kwargs, foreach=True, tensors=3)
    assert mine[0] <= theirs[0], f"calls: ours {mine[2]} vs torch {theirs[2]}"
    assert mine[1] <= theirs[1], f"fresh: ours {mine[2]} vs torch {theirs[2]}"
    assert all(n.startswith("_foreach_") for n in mine[2]), mine[2]


def test_counts_of_the_defaults_are_torchs():
    """The counts the issue quoted, now equal to or below torch's (defaults, float32)."""
    table = {name: (_count(ours, name, {}, False)[:2], _count(torch.optim, name, {}, False)[:2])
             for name in NAMES}
    assert table["Adam"] == ((7, 1), (7, 2))
    assert table["RMSprop"] == ((5, 1), (5, 1))
    assert table["Adadelta"] == ((11, 2), (11, 2))


NUMPY = [("SGD", ours.sgd, {}), ("SGD momentum", ours.sgd, dict(momentum=0.9)),
         ("Adagrad", ours.adagrad, {}), ("RMSprop", ours.rmsprop, {}),
         ("RMSprop centered", ours.rmsprop, dict(centered=True)),
         ("RMSprop momentum", ours.rmsprop, dict(momentum=0.9)),
         ("Adadelta", ours.adadelta, {}), ("Adam", ours.adam, {}),
         ("Adam amsgrad", ours.adam, dict(amsgrad=True)),
         ("AdamW", ours.adam, dict(weight_decay=1e-2, decoupled_weight_decay=True)),
         ("Adamax", ours.adamax, {}), ("NAdam", ours.nadam, {})]


@pytest.mark.parametrize("label, rule, options", NUMPY, ids=[n for n, _, _ in NUMPY])
def test_numpy_step_needs_at_most_one_parameter_sized_temporary(label, rule, options):
    n = 1_000_000
    rng = np.random.default_rng(0)
    x, g, state = rng.standard_normal(n), rng.standard_normal(n), {}
    rule(x, g, state, lr=1e-3, **options)  # creates the state: not counted
    tracemalloc.start()
    tracemalloc.reset_peak()
    rule(x, g, state, lr=1e-3, **options)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # one temporary, plus the helpers' chunks of 32768 elements (2.6 % of n each)
    assert peak / x.nbytes <= 1.1, f"peak {peak / x.nbytes:.2f} x the parameters' bytes"
