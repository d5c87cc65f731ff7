"""PyTorch's generic optimizer checks, run on course_lib.optim's classes.

PyTorch tests every optimizer with the same generic tests (``TestOptimRenewed`` in its
``test/test_optim.py``), driven by the entries of
``torch.testing._internal.common_optimizers.optim_db``: the option sets of
``optim_inputs_func`` and the bad inputs of ``optim_error_inputs_func``. The tests below are
written for this course from what those generic tests check (no CUDA needed), with each
``optim_db`` entry's class swapped for ours. Where PyTorch compares two runs with a
tolerance, these compare ours with torch's own class bit for bit.

Pass counts per optimizer: ``pytest tests/test_optim_torch_generic.py -q -rA | grep PASSED``
(every test id starts with the optimizer's name).
"""

import copy
import inspect
import warnings

import pytest
import torch
from optim_reference import assert_fails_like_torch
from torch.optim.optimizer import (
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
)
from torch.testing._internal.common_optimizers import optim_db

import course_lib.optim as ours

NAMES = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "Adamax", "NAdam"]
INFOS = {info.optim_cls.__name__: info for info in optim_db
         if info.optim_cls.__name__ in NAMES}


def _inputs(name, dtype=torch.float64):
    return INFOS[name].optim_inputs_func(device="cpu", dtype=dtype)


CASES = [(name, i) for name in NAMES for i in range(len(_inputs(name)))]
IDS = [f"{name}-{i}-{_inputs(name)[i].desc.replace(' ', '_')}" for name, i in CASES]


def _kwargs(name, index, dtype=torch.float64):
    return dict(_inputs(name, dtype)[index].kwargs)


def _params(dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(5, 3, generator=gen, dtype=dtype).requires_grad_(),
            torch.randn(5, generator=gen, dtype=dtype).requires_grad_()]


def _loss(ps, maximize=False):
    W, b = ps
    x = torch.linspace(-1, 1, 3, dtype=W.dtype)
    value = ((W @ x + b) ** 2).sum() + 0.1 * torch.tanh(W).sum()
    return -value if maximize else value


def _closure(opt, ps, maximize=False):
    def closure():
        opt.zero_grad()
        loss = _loss(ps, maximize)
        loss.backward()
        return loss
    return closure


def _twin_runs(name, kwargs, steps, make_groups=lambda ps: ps, between=None):
    """Run ours and torch's class side by side; ``between(t, opt, ps)`` may change either
    between steps. Returns the two parameter lists."""
    runs = []
    for module in (ours, torch.optim):
        ps = _params()
        opt = getattr(module, name)(make_groups(ps), **kwargs)
        for t in range(steps):
            if between is not None:
                opt = between(t, opt, ps) or opt
            opt.step(_closure(opt, ps, kwargs.get("maximize", False)))
        runs.append(ps)
    return runs


def _equal(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, index", CASES, ids=IDS)
def test_goes_right_direction(name, index):
    """The loss decreases (increases when maximizing) over 30 closure steps."""
    kwargs = _kwargs(name, index)
    maximize = kwargs.get("maximize", False)
    ps = _params()
    opt = getattr(ours, name)(ps, **kwargs)
    closure = _closure(opt, ps, maximize)
    before = closure().item()
    for _ in range(30):
        opt.step(closure)
    after = closure().item()
    # the closure returns what the optimizer ascends when maximizing
    assert after > before if maximize else after < before


@pytest.mark.parametrize("name, index", CASES, ids=IDS)
def test_step_is_noop_when_params_have_no_grad(name, index):
    kwargs = _kwargs(name, index)
    ps = _params()
    before = [p.detach().clone() for p in ps]
    opt = getattr(ours, name)(ps, **kwargs)
    state_before = copy.deepcopy(opt.state_dict()["state"])
    for _ in range(3):
        opt.step()
    assert _equal(ps, before)
    assert len(opt.state_dict()["state"]) == len(state_before)


@pytest.mark.parametrize("name, index", CASES, ids=IDS)
def test_step_is_noop_for_zero_grads(name, index):
    """Zero gradients move nothing unless weight decay acts on the parameters (then they
    move as torch's class moves them)."""
    kwargs = _kwargs(name, index)
    runs = []
    for module in (ours, torch.optim):
        ps = _params()
        opt = getattr(module, name)(ps, **kwargs)
        for _ in range(3):
            for p in ps:
                p.grad = torch.zeros_like(p)
            opt.step()
        runs.append(ps)
    assert _equal(*runs)
    if opt.defaults.get("weight_decay", 0) == 0:  # AdamW decays by default
        assert _equal(runs[0], _params())


@pytest.mark.parametrize("name, index", CASES, ids=IDS)
def test_state_dict_deterministic(name, index):
    """A copy that loads the state dict continues in step with the original; loading does
    not modify the dict; both then produce equal state dicts."""
    kwargs = _kwargs(name, index)
    maximize = kwargs.get("maximize", False)
    ps = _params()
    opt = getattr(ours, name)(ps, **kwargs)
    for _ in range(10):
        opt.step(_closure(opt, ps, maximize))
    qs = [p.detach().clone().requires_grad_() for p in ps]
    opt_c = getattr(ours, name)(qs, **kwargs)
    saved = copy.deepcopy(opt.state_dict())
    loaded = copy.deepcopy(opt.state_dict())
    opt_c.load_state_dict(loaded)
    torch.testing.assert_close(loaded, saved, rtol=0, atol=0)
    for _ in range(10):
        opt.step(_closure(opt, ps, maximize))
        opt_c.step(_closure(opt_c, qs, maximize))
        assert _equal(ps, qs)
    torch.testing.assert_close(opt.state_dict(), opt_c.state_dict(), rtol=0, atol=0)


@pytest.mark.parametrize("name, index", CASES, ids=IDS)
def test_param_groups_and_lr_changes_match_torch(name, index):
    """Two param groups (the second with half the learning rate), whose learning rates are
    changed between steps (a tensor lr stays a tensor), give torch's parameters exactly."""
    kwargs = _kwargs(name, index)
    lr = kwargs.pop("lr", inspect.signature(INFOS[name].optim_cls).parameters["lr"].default)

    def groups(ps):
        return [dict(params=[ps[0]], lr=lr), dict(params=[ps[1]], lr=lr * 0.5)]

    def change(t, opt, ps):
        if t in (5, 12):
            for group in opt.param_groups:
                group["lr"] = group["lr"] * 0.7

    mine, theirs = _twin_runs(name, kwargs, 20, groups, change)
    assert _equal(mine, theirs)


@pytest.mark.parametrize("name, index", CASES, ids=IDS)
def test_tensor_lr_equals_float_lr(name, index):
    """A 0-d float64 tensor lr gives the same steps as the Python float."""
    kwargs = _kwargs(name, index)
    lr = kwargs.pop("lr", 0.01)
    lr = lr.item() if torch.is_tensor(lr) else lr
    runs = []
    for value in (lr, torch.tensor(lr, dtype=torch.float64)):
        ps = _params()
        opt = getattr(ours, name)(ps, lr=value, **kwargs)
        for _ in range(10):
            opt.step(_closure(opt, ps, kwargs.get("maximize", False)))
        runs.append(ps)
    torch.testing.assert_close(runs[0], runs[1], rtol=1e-14, atol=0)


@pytest.mark.parametrize("name, index", CASES, ids=IDS)
def test_can_load_older_state_dict(name, index):
    """Options added to torch after a checkpoint was written are missing from its param
    groups, and the step count is a Python number: the class fills in its defaults and
    continues exactly as torch's class does from the same checkpoint."""
    kwargs = _kwargs(name, index)
    info = INFOS[name]
    removed = ["foreach", "maximize", "differentiable", "capturable", "fused",
               *info.not_og_supported_flags]

    def reload(t, opt, ps):
        if t != 5:
            return None
        saved = copy.deepcopy(opt.state_dict())
        for group in saved["param_groups"]:
            for option in removed:
                if option not in kwargs:
                    group.pop(option, None)
        for state in saved["state"].values():
            for key in ("step", "mu_product"):
                if key in state:
                    state[key] = state[key].item()
        fresh = type(opt)(ps, **kwargs)
        fresh.load_state_dict(saved)
        return fresh

    mine, theirs = _twin_runs(name, kwargs, 10, between=reload)
    assert _equal(mine, theirs)


@pytest.mark.parametrize("name, index", CASES, ids=IDS)
def test_non_empty_state_like_torch(name, index):
    """After steps, each parameter holds the state torch's class holds: same keys."""
    kwargs = _kwargs(name, index)
    states = []
    for module in (ours, torch.optim):
        ps = _params()
        opt = getattr(module, name)(ps, **kwargs)
        for _ in range(2):
            opt.step(_closure(opt, ps, kwargs.get("maximize", False)))
        states.append([sorted(opt.state[p]) for p in ps])
    assert states[0] == states[1]
    if not (name == "SGD" and kwargs.get("momentum", 0) == 0):
        assert all(states[0])


@pytest.mark.parametrize("name, index", CASES, ids=IDS)
def test_step_after_add_param_group(name, index):
    """A param group added after 5 steps (with its own lr) is stepped as torch steps it."""
    kwargs = _kwargs(name, index)

    def add_group(t, opt, ps):
        if t == 5:
            lr = opt.param_groups[0]["lr"]
            opt.add_param_group(dict(params=[ps[1]], lr=lr * 2))

    mine, theirs = _twin_runs(name, kwargs, 12, lambda ps: [ps[0]], add_group)
    assert _equal(mine, theirs)


@pytest.mark.parametrize("name, index", CASES, ids=IDS)
def test_complex_equals_view_as_real(name, index):
    """A complex parameter is updated as its real view would be (torch's convention), and
    as torch's class updates it, bit for bit."""
    kwargs = _kwargs(name, index, torch.complex64)
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(4, 3, dtype=torch.complex64, generator=gen).requires_grad_()
    r = torch.view_as_real(z).detach().clone().requires_grad_()
    t = z.detach().clone().requires_grad_()
    opts = (getattr(ours, name)([z], **kwargs), getattr(ours, name)([r], **kwargs),
            getattr(torch.optim, name)([t], **kwargs))
    for _ in range(5):
        g = torch.randn(4, 3, dtype=torch.complex64, generator=gen)
        z.grad, r.grad, t.grad = g.clone(), torch.view_as_real(g).clone(), g.clone()
        for opt in opts:
            opt.step()
        torch.testing.assert_close(torch.view_as_real(z), r)  # torch's own tolerance
        assert torch.equal(z, t)


@pytest.mark.parametrize("name, index", CASES, ids=IDS)
def test_zero_grad(name, index):
    kwargs = _kwargs(name, index)
    ps = _params()
    opt = getattr(ours, name)(ps, **kwargs)
    _loss(ps).backward()
    opt.zero_grad(set_to_none=False)
    assert all(torch.equal(p.grad, torch.zeros_like(p)) for p in ps)
    _loss(ps).backward()
    opt.zero_grad()
    assert all(p.grad is None for p in ps)


@pytest.mark.parametrize("name, index", CASES, ids=IDS)
def test_deepcopy_and_repr(name, index):
    kwargs = _kwargs(name, index)
    ps = _params()
    opt = getattr(ours, name)(ps, **kwargs)
    opt.step(_closure(opt, ps))
    clone = copy.deepcopy(opt)
    assert {k for k in vars(opt) if not k.startswith("_")} == \
        {k for k in vars(clone) if not k.startswith("_")}
    assert repr(opt).startswith(f"{name} (") and "Parameter Group 0" in repr(opt)


ERRORS = [(name, i) for name in NAMES
          for i in range(len(INFOS[name].optim_error_inputs_func(device="cpu",
                                                                 dtype=torch.float32)))]


@pytest.mark.parametrize("name, index", ERRORS,
                         ids=[f"{n}-{i}" for n, i in ERRORS])
def test_errors(name, index):
    """Every bad input of torch's ``optim_error_inputs_func`` fails (or warns) the same way
    with our class."""
    assert_fails_like_torch(getattr(ours, name), INFOS[name], index)


# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_step_hooks(name):
    """Per-optimizer and global step pre/post hooks run around ``step`` in order; a pre
    hook may replace (args, kwargs); removing a handle stops the hook."""
    ps = _params()
    opt = getattr(ours, name)(ps)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", o is opt)))
    h2 = opt.register_step_post_hook(lambda o, a, k: calls.append(("post", o is opt)))
    g1 = register_optimizer_step_pre_hook(
        lambda o, a, k: calls.append(("global pre", o is opt)))
    g2 = register_optimizer_step_post_hook(
        lambda o, a, k: calls.append(("global post", o is opt)))
    try:
        opt.step(_closure(opt, ps))
    finally:
        g1.remove()
        g2.remove()
    assert calls == [("global pre", True), ("pre", True), ("post", True),
                     ("global post", True)]
    h1.remove()
    h2.remove()
    calls.clear()
    opt.step(_closure(opt, ps))
    assert calls == []


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_hooks(name):
    """state_dict and load_state_dict pre/post hooks run and can edit what they see."""
    ps = _params()
    opt = getattr(ours, name)(ps)
    opt.step(_closure(opt, ps))
    seen = []
    opt.register_state_dict_pre_hook(lambda o: seen.append("sd pre"))

    def post(o, state_dict):
        seen.append("sd post")
        state_dict["extra"] = 1
        return state_dict

    opt.register_state_dict_post_hook(post)
    saved = opt.state_dict()
    assert saved["extra"] == 1 and seen == ["sd pre", "sd post"]

    fresh = getattr(ours, name)([p.detach().clone().requires_grad_() for p in ps])

    def load_pre(o, state_dict):
        seen.append("load pre")
        state_dict = copy.deepcopy(state_dict)
        state_dict.pop("extra")
        state_dict["param_groups"][0]["lr"] = 0.5
        return state_dict

    fresh.register_load_state_dict_pre_hook(load_pre)
    fresh.register_load_state_dict_post_hook(lambda o: seen.append("load post"))
    fresh.load_state_dict(saved)
    assert seen[-2:] == ["load pre", "load post"]
    assert fresh.param_groups[0]["lr"] == 0.5


@pytest.mark.parametrize("name", NAMES)
def test_foreach_matches_forloop(name):
    """``foreach=True`` (the rule on lists of tensors) gives the one-tensor-at-a-time bits,
    for every option set of torch's whose two torch paths agree bit for bit too."""
    for index in range(len(_inputs(name))):
        kwargs = _kwargs(name, index)
        if torch.is_tensor(kwargs.get("lr")) and name in ("Adam", "AdamW"):
            continue  # torch refuses a tensor lr with foreach=True (test_errors)
        runs = {}
        for foreach in (False, True):
            for module in (ours, torch.optim):
                ps = _params()
                opt = getattr(module, name)(ps, foreach=foreach, **kwargs)
                for _ in range(10):
                    opt.step(_closure(opt, ps, kwargs.get("maximize", False)))
                runs[(foreach, module.__name__)] = ps
        # ours equals torch, path by path
        assert _equal(runs[(False, ours.__name__)], runs[(False, "torch.optim")])
        assert _equal(runs[(True, ours.__name__)], runs[(True, "torch.optim")])
        torch.testing.assert_close(runs[(True, ours.__name__)], runs[(False, ours.__name__)])


@pytest.mark.parametrize("name", NAMES)
def test_set_default_dtype_works_with_foreach(name):
    """Scalar state follows torch's default dtype, as in torch (float32 here)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        for foreach in (False, True):
            p = torch.randn(3, dtype=torch.float64, requires_grad=True)
            q = p.detach().clone().requires_grad_()
            mine = getattr(ours, name)([p], foreach=foreach, momentum=0.9) if name == "SGD" \
                else getattr(ours, name)([p], foreach=foreach)
            theirs = getattr(torch.optim, name)([q], foreach=foreach, momentum=0.9) \
                if name == "SGD" else getattr(torch.optim, name)([q], foreach=foreach)
            for _ in range(3):
                p.grad, q.grad = torch.ones(3, dtype=torch.float64), torch.ones(3,
                                                                               dtype=torch.float64)
                mine.step()
                theirs.step()
            assert torch.equal(p, q)
            for key, value in theirs.state[q].items():
                assert mine.state[p][key].dtype == value.dtype, key
    finally:
        torch.set_default_dtype(previous)


def test_error_messages_are_torchs_for_each_class():
    """A sanity check of the harness: torch's own classes pass test_errors' expectations."""
    for name, index in ERRORS:
        error = INFOS[name].optim_error_inputs_func(device="cpu", dtype=torch.float32)[index]
        if issubclass(error.error_type, Warning):
            continue
        spec = error.optimizer_error_input
        params = spec.params if spec.params is not None else [torch.zeros(2,
                                                                          requires_grad=True)]
        with pytest.raises(error.error_type, match=error.error_regex):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                INFOS[name].optim_cls(params, **spec.kwargs)
