"""course_lib.optim's classes are bit-identical twins of torch.optim's (torch 2.13, CPU).

For every option set of PyTorch's own test material (the ``optim_inputs_func`` entries of
``torch.testing._internal.common_optimizers.optim_db``), in float32 and float64, one tensor at
a time (torch's default on the CPU) and with ``foreach=True``, 100 steps with the learning
rate halved at step 35 and a state-dict reload at step 70 give parameters that are
``torch.equal`` to torch's after every step. Complex parameters, checkpoints loaded across
the two libraries, older state dicts, AdamW from an Adam checkpoint, sparse gradients and
the implementation flags are checked too; and the NumPy path agrees with the torch path to
1e-13 relative (float64) with complex arrays as well.
"""

import copy

import numpy as np
import pytest
import torch
from optim_reference import bitwise_run
from torch.testing._internal.common_optimizers import optim_db

import course_lib.optim as ours

NAMES = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "Adamax", "NAdam"]
INFOS = {info.optim_cls.__name__: info for info in optim_db
         if info.optim_cls.__name__ in NAMES}


def _inputs(name, dtype=torch.float32):
    return [(i, inp.kwargs) for i, inp in
            enumerate(INFOS[name].optim_inputs_func(device="cpu", dtype=dtype))]


def _kw_id(kwargs):
    return "-".join(f"{k}={v.item() if torch.is_tensor(v) else v}" for k, v in kwargs.items()) \
        or "default"


CASES = [(name, i, kwargs, dtype, foreach)
         for name in NAMES for i, kwargs in _inputs(name)
         for dtype in (torch.float32, torch.float64) for foreach in (False, True)]
COMPLEX = [(name, i, kwargs, torch.complex64, foreach)
           for name in NAMES for i, kwargs in _inputs(name) for foreach in (False, True)]
COMPLEX += [(name, 0, {}, torch.complex128, foreach) for name in NAMES
            for foreach in (False, True)]


def _ids(cases):
    return [f"{n}-{i}-{_kw_id(k)}-{str(d).split('.')[1]}-{'foreach' if f else 'single'}"
            for n, i, k, d, f in cases]


def _check(name, kwargs, dtype, foreach, **run):
    kwargs = dict(kwargs, foreach=foreach)
    try:
        torch_error = None
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    except (ValueError, RuntimeError) as error:
        torch_error = error
    if torch_error is not None:  # e.g. Adam: a tensor lr with foreach=True
        with pytest.raises(type(torch_error), match=f"^{str(torch_error)}$"):
            getattr(ours, name)([torch.zeros(2, requires_grad=True)], **kwargs)
        return
    differs_at = bitwise_run(getattr(ours, name), getattr(torch.optim, name), kwargs,
                             dtype=dtype, **run)
    assert differs_at is None, f"parameters differ from torch's after step {differs_at}"


@pytest.mark.parametrize("name, index, kwargs, dtype, foreach", CASES, ids=_ids(CASES))
def test_bit_identical_to_torch(name, index, kwargs, dtype, foreach):
    _check(name, kwargs, dtype, foreach)


@pytest.mark.parametrize("name, index, kwargs, dtype, foreach", COMPLEX, ids=_ids(COMPLEX))
def test_complex_parameters_bit_identical_to_torch(name, index, kwargs, dtype, foreach):
    _check(name, kwargs, dtype, foreach)


def test_every_optim_db_option_is_covered():
    """The grid above is torch's: every option torch's entries set appears in some case."""
    seen = {name: set() for name in NAMES}
    for name, _, kwargs, _, _ in CASES:
        seen[name] |= set(kwargs)
    assert seen["Adam"] >= {"lr", "weight_decay", "maximize", "amsgrad"}
    assert seen["NAdam"] >= {"momentum_decay", "decoupled_weight_decay", "maximize"}
    assert seen["RMSprop"] >= {"centered", "momentum", "maximize", "weight_decay"}
    assert seen["SGD"] >= {"momentum", "dampening", "nesterov", "maximize", "weight_decay"}
    assert any(torch.is_tensor(k.get("lr")) for n, _, k, _, _ in CASES if n == "SGD")
    assert len(CASES) == 4 * sum(len(_inputs(n)) for n in NAMES) >= 4 * 50


# --- checkpoints interchange with torch.optim -----------------------------------------

CROSS = [(name, i, kwargs) for name in NAMES for i, kwargs in _inputs(name)]


@pytest.mark.parametrize("name, index, kwargs", CROSS,
                         ids=[f"{n}-{i}-{_kw_id(k)}" for n, i, k in CROSS])
def test_checkpoints_interchange_both_ways(name, index, kwargs):
    """At step 70 ours loads torch's state dict and torch's loads ours; the runs go on
    bit-identical (and were so before)."""
    differs_at = bitwise_run(getattr(ours, name), getattr(torch.optim, name), kwargs,
                             dtype=torch.float64, cross_load=True)
    assert differs_at is None, f"parameters differ from torch's after step {differs_at}"


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_layout_equals_torchs(name):
    """Same keys, same dtypes and shapes, in the same order, for state and param groups."""
    kwargs = {"SGD": dict(momentum=0.9), "RMSprop": dict(momentum=0.9, centered=True),
              "Adam": dict(amsgrad=True), "AdamW": dict(amsgrad=True)}.get(name, {})
    dicts = []
    for module in (ours, torch.optim):
        p = torch.randn(3, 2, requires_grad=True)
        opt = getattr(module, name)([p], **kwargs)
        for _ in range(3):
            p.grad = torch.ones_like(p)
            opt.step()
        dicts.append(opt.state_dict())
    mine, theirs = dicts
    assert mine["param_groups"] == theirs["param_groups"]
    assert list(mine["state"]) == list(theirs["state"])
    for key in mine["state"]:
        a, b = mine["state"][key], theirs["state"][key]
        assert list(a) == list(b)
        for k in a:
            assert torch.equal(a[k], b[k]) and a[k].dtype == b[k].dtype, k


# --- older state dicts, AdamW ------------------------------------------------------------

OLD_OPTIONS = {"SGD": ["nesterov", "maximize", "foreach", "differentiable", "fused"],
               "Adagrad": ["foreach", "maximize", "differentiable", "fused"],
               "RMSprop": ["momentum", "centered", "foreach", "maximize", "differentiable",
                           "capturable"],
               "Adadelta": ["foreach", "maximize", "differentiable", "capturable"],
               "Adam": ["amsgrad", "maximize", "foreach", "capturable", "differentiable",
                        "decoupled_weight_decay", "fused"],
               "AdamW": ["amsgrad", "maximize", "foreach", "capturable", "differentiable",
                         "fused"],
               "Adamax": ["foreach", "maximize", "differentiable", "capturable"],
               "NAdam": ["maximize", "foreach", "capturable", "differentiable",
                         "decoupled_weight_decay"]}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("source", ["ours", "torch"])
def test_older_state_dicts_get_defaults_and_tensor_steps(name, source):
    """A state dict from an older torch: options added later are missing from its param
    groups and the step count is a number; loading fills torch's defaults, and both classes
    then take the same step."""
    module = ours if source == "ours" else torch.optim
    kwargs = dict(momentum=0.5) if name == "SGD" else {}
    p = torch.randn(4, requires_grad=True)
    opt = getattr(module, name)([p], **kwargs)
    for _ in range(3):
        p.grad = torch.sin(p.detach())
        opt.step()
    old = copy.deepcopy(opt.state_dict())
    for group in old["param_groups"]:
        for option in OLD_OPTIONS[name]:
            group.pop(option, None)
    for state in old["state"].values():
        for key in ("step", "mu_product"):
            if key in state:
                state[key] = state[key].item()
    results = []
    for cls in (getattr(ours, name), getattr(torch.optim, name)):
        q = p.detach().clone().requires_grad_()
        fresh = cls([q], **kwargs)
        fresh.load_state_dict(copy.deepcopy(old))
        q.grad = torch.sin(q.detach())
        fresh.step()
        results.append((q, fresh))
    (mine, opt_mine), (theirs, opt_theirs) = results
    assert torch.equal(mine, theirs)
    assert opt_mine.param_groups[0].keys() == opt_theirs.param_groups[0].keys()
    for key, value in opt_theirs.state[theirs].items():
        assert torch.is_tensor(opt_mine.state[mine][key]) and torch.is_tensor(value)


@pytest.mark.parametrize("source", [ours.Adam, torch.optim.Adam])
def test_adamw_stays_decoupled_after_loading_an_adam_state_dict(source):
    p = torch.randn(5, requires_grad=True)
    adam = source([p], weight_decay=0.1)
    p.grad = torch.ones(5)
    adam.step()
    saved = adam.state_dict()
    assert saved["param_groups"][0]["decoupled_weight_decay"] is False
    runs = []
    for cls in (ours.AdamW, torch.optim.AdamW):
        q = p.detach().clone().requires_grad_()
        opt = cls([q], weight_decay=0.1)
        opt.load_state_dict(copy.deepcopy(saved))
        assert opt.param_groups[0]["decoupled_weight_decay"] is True
        q.grad = torch.ones(5)
        opt.step()
        runs.append(q)
    assert torch.equal(*runs)


# --- sparse gradients ---------------------------------------------------------------------

SPARSE = [("SGD", {}), ("SGD", dict(momentum=0.9)), ("SGD", dict(momentum=0.9, maximize=True)),
          ("SGD", dict(momentum=0.9, nesterov=True)), ("Adagrad", {}),
          ("Adagrad", dict(lr_decay=0.1, maximize=True)),
          ("Adagrad", dict(initial_accumulator_value=0.1))]


@pytest.mark.parametrize("name, kwargs", SPARSE, ids=[f"{n}-{_kw_id(k)}" for n, k in SPARSE])
@pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled")
def test_sparse_gradients_as_torch(name, kwargs):
    """An embedding with sparse gradients: only the looked-up rows move, as in torch."""
    runs = []
    for module in (ours, torch.optim):
        torch.manual_seed(0)
        emb = torch.nn.Embedding(10, 3, sparse=True)
        opt = getattr(module, name)(emb.parameters(), lr=0.1, **kwargs)
        gen = torch.Generator().manual_seed(1)
        for _ in range(20):
            idx = torch.randint(0, 10, (4,), generator=gen)
            opt.zero_grad()
            (emb(idx) ** 2).sum().backward()
            assert emb.weight.grad.is_sparse
            opt.step()
        runs.append(emb.weight.detach())
    assert torch.equal(*runs)


@pytest.mark.parametrize("name", ["RMSprop", "Adadelta", "Adam", "AdamW", "Adamax", "NAdam"])
def test_sparse_gradients_refused_with_torchs_message(name):
    messages = []
    for module in (ours, torch.optim):
        emb = torch.nn.Embedding(4, 2, sparse=True)
        opt = getattr(module, name)(emb.parameters())
        emb(torch.tensor([1])).sum().backward()
        with pytest.raises(RuntimeError) as info:
            opt.step()
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_adagrad_sparse_with_weight_decay_raises_like_torch():
    for module in (ours, torch.optim):
        emb = torch.nn.Embedding(4, 2, sparse=True)
        opt = module.Adagrad(emb.parameters(), weight_decay=0.1)
        emb(torch.tensor([1])).sum().backward()
        with pytest.raises(RuntimeError,
                           match="^weight_decay option is not compatible with sparse gradients$"):
            opt.step()


# --- implementation flags -----------------------------------------------------------------

FLAGS = {"SGD": ["foreach", "differentiable", "fused"],
         "Adagrad": ["foreach", "differentiable", "fused"],
         "RMSprop": ["foreach", "capturable", "differentiable"],
         "Adadelta": ["foreach", "capturable", "differentiable"],
         "Adam": ["foreach", "capturable", "differentiable", "fused"],
         "AdamW": ["foreach", "capturable", "differentiable", "fused"],
         "Adamax": ["foreach", "capturable", "differentiable"],
         "NAdam": ["foreach", "capturable", "differentiable"]}
ACCEPTED = {"foreach": [None, False, True], "fused": [None, False], "capturable": [False],
            "differentiable": [False]}


@pytest.mark.parametrize("name", NAMES)
def test_flags_that_change_nothing_are_accepted(name):
    p = [torch.zeros(2, requires_grad=True)]
    for flag in FLAGS[name]:
        for value in ACCEPTED[flag]:
            opt = getattr(ours, name)(p, **{flag: value})
            assert opt.defaults[flag] is value


@pytest.mark.parametrize("name", NAMES)
def test_unsupported_flags_raise_saying_what_is_supported(name):
    p = [torch.zeros(2, requires_grad=True)]
    for flag in FLAGS[name]:
        for value in (True, "yes"):
            if value in ACCEPTED[flag]:
                continue
            error = TypeError if isinstance(value, str) else ValueError
            with pytest.raises(error, match=rf"^Invalid {flag}: {value!r} \(expected (None|False)"):
                getattr(ours, name)(p, **{flag: value})


# --- the NumPy path against the torch path ------------------------------------------------

NUMPY = [("SGD", ours.sgd, dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.01)),
         ("Adagrad", ours.adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.01)),
         ("RMSprop", ours.rmsprop, dict(lr=0.01, momentum=0.5, centered=True,
                                        weight_decay=0.01)),
         ("Adadelta", ours.adadelta, dict(lr=1.0, weight_decay=0.01)),
         ("Adam", ours.adam, dict(lr=0.05, amsgrad=True, weight_decay=0.01)),
         ("AdamW", ours.adam, dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
         ("Adamax", ours.adamax, dict(lr=0.05, weight_decay=0.01)),
         ("NAdam", ours.nadam, dict(lr=0.05, weight_decay=0.01, decoupled_weight_decay=True))]


@pytest.mark.parametrize("name, rule, hyper", NUMPY, ids=[n for n, _, _ in NUMPY])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_numpy_path_agrees_with_the_torch_path_to_rounding(name, rule, hyper, dtype):
    """The same rule on NumPy arrays, unfused, stays within 1e-13 relative of the torch
    class over 100 steps of a well-conditioned, non-chaotic problem (float64)."""
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal(8) + (1j * rng.standard_normal(8) if dtype is np.complex128 else 0)
    centre = x0 + 2.0
    x, state = x0.astype(dtype), {}
    p = torch.tensor(x0.astype(dtype), requires_grad=True)
    cls_hyper = {k: v for k, v in hyper.items()
                 if not (name == "AdamW" and k == "decoupled_weight_decay")}
    opt = getattr(ours, name)([p], **cls_hyper)

    def grad(z):
        return 0.5 * (z - centre) + 0.1 * np.sin(z.real) + (1j * 0.1 * np.sin(z.imag)
                                                            if np.iscomplexobj(z) else 0)

    for _ in range(100):
        g = grad(x)
        rule(x, g, state, **hyper)
        p.grad = torch.from_numpy(grad(p.detach().numpy()))
        opt.step()
    np.testing.assert_allclose(x, p.detach().numpy(), rtol=1e-13, atol=0)
    assert np.linalg.norm(x - centre) < np.linalg.norm(x0 - centre)
