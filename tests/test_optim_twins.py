"""RAdam, Rprop, ASGD, Adafactor, Muon and LBFGS: course_lib's twins of torch.optim (2.13).

For every option set of PyTorch's own test material (``optim_db``'s ``optim_inputs_func``) plus
a few of ours (tensor ``lr``, averaging on, Muon without Nesterov, ...), in float32,
float64 and complex64 where torch supports complex parameters, one tensor at a time and with
``foreach=True`` where torch's class has that path: 100 steps with the learning rate halved
at step 35 and, at step 70, each side replaced by a fresh optimizer that loads the *other*
side's state dict (checkpoints interchange both ways) -- the parameters are ``torch.equal``
to torch's after every step. LBFGS the same way through ``step(closure)`` (6 calls of up to
20 iterations, the state dicts swapped at call 3), with and without the strong-Wolfe search.

Also: the state dicts have torch's keys, dtypes, shapes and order; older state dicts (options
missing, scalar state as numbers) load as in torch; torch's bad inputs
(``optim_error_inputs_func``) and other invalid hyperparameters raise torch's exception with
torch's message (both classes are called and the messages compared); the implementation
flags are accepted or refused as the course's other twins do; and the rules on NumPy float64
(and complex128) arrays agree with the torch classes to 1e-12 relative over 100 steps.
"""

import copy
import math

import numpy as np
import pytest
import torch
from optim_reference import assert_fails_like_torch, bitwise_run, make_field
from torch.testing._internal.common_optimizers import optim_db

from course_lib.optim.adafactor import Adafactor, adafactor
from course_lib.optim.asgd import ASGD, asgd
from course_lib.optim.lbfgs import LBFGS, cubic_interpolate, lbfgs
from course_lib.optim.muon import Muon, adjust_lr, muon, newton_schulz
from course_lib.optim.radam import RAdam, radam, rectification
from course_lib.optim.rprop import Rprop, rprop

OURS = {"RAdam": RAdam, "Rprop": Rprop, "ASGD": ASGD, "Adafactor": Adafactor, "Muon": Muon,
        "LBFGS": LBFGS}
RULES = {"RAdam": radam, "Rprop": rprop, "ASGD": asgd, "Adafactor": adafactor, "Muon": muon}
INFOS = {info.optim_cls.__name__: info for info in optim_db
         if info.optim_cls.__name__ in OURS}
COMPLEX = {"RAdam", "Rprop", "ASGD", "LBFGS"}          # torch refuses complex for the others
FOREACH = {"RAdam", "Rprop", "ASGD", "Adafactor"}      # torch's classes with a foreach path
SHAPES = {"Muon": [(6, 4), (3, 7), (5, 5)],            # 2-D only; wide, tall and square
          "Adafactor": [(6, 4), (2, 3, 5), (6,), ()]}  # factored, batched, vector, scalar
DEFAULT_SHAPES = [(6, 4), (6,), (5,)]

# option sets torch's optim_db lacks: tensor lr, averaging from step 10, other switches
EXTRA = {"RAdam": [dict(lr=torch.tensor(0.01), betas=(0.8, 0.99))],
         "Rprop": [dict(lr=torch.tensor(0.02), step_sizes=(1e-3, 0.5), etas=(0.3, 1.7))],
         "ASGD": [dict(lr=0.05, t0=10, lambd=0.01),
                  dict(lr=torch.tensor(0.02), t0=3, alpha=0.6, weight_decay=0.1,
                       maximize=True)],
         "Adafactor": [dict(eps=(1e-6, 1e-2), lr=torch.tensor(0.03), weight_decay=0.05)],
         "Muon": [dict(lr=0.02, nesterov=False, momentum=0.9),
                  dict(lr=0.02, adjust_lr_fn="match_rms_adamw", weight_decay=0.01)],
         "LBFGS": [dict(lr=0.5, max_iter=5, history_size=3),
                   dict(line_search_fn="strong_wolfe", history_size=4, max_iter=7, lr=0.8)]}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One intra-op thread: on a busy 2-core machine torch's threaded bfloat16 matmuls (Muon)
    spend milliseconds waiting for each other. Both sides run under the same setting."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _options(name):
    db = [dict(inp.kwargs) for inp in INFOS[name].optim_inputs_func(device="cpu",
                                                                      dtype=torch.float32)]
    return db + EXTRA[name]


def _kw_id(kwargs):
    return "-".join(f"{k}={v.item() if torch.is_tensor(v) else v}"
                    for k, v in kwargs.items()) or "default"


# --- one tensor at a time: 100 steps, lr change, cross-loaded checkpoints ----------------

def _first_difference(name, kwargs, dtype):
    """The first step after which ours and torch's parameters differ (None: never): 100
    steps, the rate halved at 35, each side reloading the other's checkpoint at 70."""
    return bitwise_run(OURS[name], getattr(torch.optim, name), kwargs, dtype=dtype,
                       cross_load=True, shapes=SHAPES.get(name, DEFAULT_SHAPES))


STEP_CASES = [(name, kwargs, dtype, foreach)
              for name in ["RAdam", "Rprop", "ASGD", "Adafactor", "Muon"]
              for kwargs in _options(name)
              for dtype in ([torch.float32, torch.float64]
                            + ([torch.complex64] if name in COMPLEX else []))
              for foreach in ([False, True] if name in FOREACH else [None])]


@pytest.mark.parametrize(
    "name, kwargs, dtype, foreach", STEP_CASES,
    ids=[f"{n}-{_kw_id(k)}-{str(d).split('.')[1]}-{'single' if not f else 'foreach'}"
         for n, k, d, f in STEP_CASES])
def test_bit_identical_to_torch_with_checkpoints_swapped(name, kwargs, dtype, foreach):
    if foreach is not None:
        kwargs = dict(kwargs, foreach=foreach)
    differs_at = _first_difference(name, kwargs, dtype)
    assert differs_at is None, f"parameters differ from torch's after step {differs_at}"


def test_the_comparison_can_fail():
    """The harness notices a different order of operations: torch's foreach RAdam and its
    single-tensor RAdam differ by rounding after the first step."""
    class TorchSingle(torch.optim.RAdam):
        def __init__(self, params, **kwargs):
            super().__init__(params, **dict(kwargs, foreach=False))

    original = torch.optim.RAdam
    try:
        torch.optim.RAdam = TorchSingle
        assert _first_difference("RAdam", dict(foreach=True), torch.float32) == 1
    finally:
        torch.optim.RAdam = original


# --- LBFGS through step(closure) -----------------------------------------------------------

def _lbfgs_problem(dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    real = {torch.complex64: torch.float32, torch.complex128: torch.float64}.get(dtype, dtype)
    n = 8
    A = torch.randn(n, n, generator=gen, dtype=real)
    A = A @ A.T / n + 0.1 * torch.eye(n, dtype=real)
    init = [torch.randn(n, generator=gen, dtype=real), torch.randn(3, 4, generator=gen,
                                                                    dtype=real)]
    if dtype.is_complex:
        init = [torch.complex(p, torch.randn(p.shape, generator=gen, dtype=real)) for p in init]

    def loss(ps):
        w, V = ps
        w = torch.view_as_real(w).reshape(-1)[:n] if w.is_complex() else w
        V = torch.view_as_real(V) if V.is_complex() else V
        return (0.5 * w @ A @ w + 0.1 * (torch.cos(V) * V).sum() + 0.5 * (V**2).sum()
                + torch.log1p((V.sum() - w.sum()) ** 2))

    return init, loss


def _lbfgs_first_difference(kwargs, dtype, calls=6, swap_at=3):
    classes = {"ours": LBFGS, "torch": torch.optim.LBFGS}
    init, loss_fn = _lbfgs_problem(dtype)
    sides = {}
    for side, cls in classes.items():
        ps = [p.clone().requires_grad_() for p in init]
        sides[side] = [ps, cls(ps, **kwargs)]
    for call in range(calls):
        if call == swap_at:
            saved = {side: copy.deepcopy(opt.state_dict()) for side, (_, opt) in sides.items()}
            for side, cls in classes.items():
                fresh = cls(sides[side][0], **kwargs)
                fresh.load_state_dict(saved["torch" if side == "ours" else "ours"])
                sides[side][1] = fresh
        losses = []
        for ps, opt in sides.values():
            def closure(ps=ps, opt=opt):
                opt.zero_grad()
                value = loss_fn(ps)
                value.backward()
                return value
            losses.append(opt.step(closure))
        if not (torch.equal(*losses)
                and all(torch.equal(a, b) for a, b in zip(*(s[0] for s in sides.values())))):
            return call
    return None


LBFGS_CASES = [(kwargs, dtype) for kwargs in _options("LBFGS")
               for dtype in (torch.float32, torch.float64, torch.complex128)]


@pytest.mark.parametrize("kwargs, dtype", LBFGS_CASES,
                         ids=[f"{_kw_id(k)}-{str(d).split('.')[1]}" for k, d in LBFGS_CASES])
def test_lbfgs_bit_identical_to_torch_call_by_call(kwargs, dtype):
    differs_at = _lbfgs_first_difference(kwargs, dtype)
    assert differs_at is None, f"parameters differ from torch's after call {differs_at}"


def test_lbfgs_cases_exercise_memory_and_line_search():
    """The runs above go through the history overflow and the line search's zoom phase."""
    init, loss_fn = _lbfgs_problem(torch.float64)
    ps = [p.clone().requires_grad_() for p in init]
    opt = torch.optim.LBFGS(ps, lr=0.5, max_iter=5, history_size=3)

    def closure():
        opt.zero_grad()
        value = loss_fn(ps)
        value.backward()
        return value

    for _ in range(15):
        opt.step(closure)
    state = opt.state[ps[0]]
    assert state["n_iter"] > 3 and len(state["old_dirs"]) == 3


# --- state-dict layout ----------------------------------------------------------------------

LAYOUT = {"RAdam": dict(weight_decay=0.1), "Rprop": {}, "ASGD": dict(t0=1),
          "Adafactor": {}, "Muon": {}}


@pytest.mark.parametrize("name", list(LAYOUT))
def test_state_dict_layout_equals_torchs(name):
    """Same keys in the same order, same dtypes, shapes and values, for state and groups."""
    dicts = []
    for cls in (OURS[name], getattr(torch.optim, name)):
        ps, grad_fn = make_field(torch.float64, shapes=SHAPES.get(name, DEFAULT_SHAPES))
        ps = [p.requires_grad_() for p in ps]
        opt = cls(ps, **LAYOUT[name])
        for _ in range(3):
            with torch.no_grad():
                for p, g in zip(ps, grad_fn(ps)):
                    p.grad = g
            opt.step()
        dicts.append(opt.state_dict())
    mine, theirs = dicts
    assert mine["param_groups"] == theirs["param_groups"]
    assert [list(g) for g in mine["param_groups"]] == [list(g) for g in theirs["param_groups"]]
    assert list(mine["state"]) == list(theirs["state"])
    for key in mine["state"]:
        a, b = mine["state"][key], theirs["state"][key]
        assert list(a) == list(b)
        for k in a:
            assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
            assert torch.equal(a[k], b[k]), k


def test_lbfgs_state_dict_layout_equals_torchs():
    dicts = []
    for cls in (LBFGS, torch.optim.LBFGS):
        init, loss_fn = _lbfgs_problem(torch.float64)
        ps = [p.clone().requires_grad_() for p in init]
        opt = cls(ps, history_size=5, line_search_fn="strong_wolfe")

        def closure(opt=opt, ps=ps, loss_fn=loss_fn):
            opt.zero_grad()
            value = loss_fn(ps)
            value.backward()
            return value

        for _ in range(2):
            opt.step(closure)
        dicts.append(opt.state_dict())
    mine, theirs = dicts
    assert mine["param_groups"] == theirs["param_groups"]
    assert list(mine["state"]) == list(theirs["state"]) == [0]
    a, b = mine["state"][0], theirs["state"][0]
    assert list(a) == list(b)
    assert list(a) == ["func_evals", "n_iter", "al", "d", "t", "old_dirs", "old_stps", "ro",
                       "H_diag", "prev_flat_grad", "prev_loss"]
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, list):
            assert len(x) == len(y) and all(
                (u is None and v is None) or torch.equal(u, v) for u, v in zip(x, y)), k
        elif torch.is_tensor(x):
            assert x.dtype == y.dtype and torch.equal(x, y), k
        else:
            assert type(x) is type(y) and x == y, k


OLD_OPTIONS = {"RAdam": ["foreach", "maximize", "differentiable", "decoupled_weight_decay",
                         "capturable"],
               "Rprop": ["foreach", "maximize", "differentiable", "capturable"],
               "ASGD": ["foreach", "maximize", "differentiable", "capturable"],
               "Adafactor": ["foreach"]}


@pytest.mark.parametrize("name", list(OLD_OPTIONS))
@pytest.mark.parametrize("source", ["ours", "torch"])
def test_older_state_dicts_get_defaults_and_tensor_scalars(name, source):
    """A state dict from an older torch (options added later missing, scalar state stored as
    numbers): both classes load it, fill the same defaults and take the same next step."""
    cls = OURS[name] if source == "ours" else getattr(torch.optim, name)
    ps, grad_fn = make_field(torch.float64, shapes=SHAPES.get(name, DEFAULT_SHAPES))
    ps = [p.requires_grad_() for p in ps]
    opt = cls(ps, **(dict(t0=1) if name == "ASGD" else {}))
    for _ in range(3):
        with torch.no_grad():
            for p, g in zip(ps, grad_fn(ps)):
                p.grad = g
        opt.step()
    old = copy.deepcopy(opt.state_dict())
    for group in old["param_groups"]:
        for option in OLD_OPTIONS[name]:
            group.pop(option)
    for state in old["state"].values():
        for key in ("step", "eta", "mu"):
            if key in state:
                state[key] = state[key].item()
    results = []
    for other in (OURS[name], getattr(torch.optim, name)):
        qs = [p.detach().clone().requires_grad_() for p in ps]
        fresh = other(qs)
        fresh.load_state_dict(copy.deepcopy(old))
        with torch.no_grad():
            for q, g in zip(qs, grad_fn(qs)):
                q.grad = g
        fresh.step()
        results.append((qs, fresh.state_dict()))
    (mine, mine_sd), (theirs, theirs_sd) = results
    assert all(torch.equal(a, b) for a, b in zip(mine, theirs))
    assert mine_sd["param_groups"] == theirs_sd["param_groups"]
    for key, state in theirs_sd["state"].items():
        for k, value in state.items():
            assert torch.is_tensor(mine_sd["state"][key][k]) and torch.is_tensor(value)
            assert mine_sd["state"][key][k].dtype == value.dtype, k


# --- bad inputs: torch's exceptions and messages ----------------------------------------------

ERRORS = [(name, i) for name in OURS
          for i in range(len(INFOS[name].optim_error_inputs_func(device="cpu",
                                                                 dtype=torch.float32)))]


@pytest.mark.parametrize("name, index", ERRORS, ids=[f"{n}-{i}" for n, i in ERRORS])
def test_torchs_error_inputs(name, index):
    """Every bad input of torch's ``optim_error_inputs_func`` fails the same way with ours."""
    assert_fails_like_torch(OURS[name], INFOS[name], index)


def _vector():
    return [torch.zeros(3, requires_grad=True)]


def _matrix():
    return [torch.zeros(3, 2, requires_grad=True)]


BAD = [("RAdam", _vector, dict(lr=-1e-3)), ("RAdam", _vector, dict(lr=float("nan"))),
       ("RAdam", _vector, dict(eps=-1.0)), ("RAdam", _vector, dict(betas=(0.9, 1.0))),
       ("RAdam", _vector, dict(weight_decay=-0.1)),
       ("Rprop", _vector, dict(lr=-0.1)), ("Rprop", _vector, dict(etas=(0.5, 0.9))),
       ("Rprop", _vector, dict(etas=(0.0, 1.2))),
       ("ASGD", _vector, dict(lr=-0.1)), ("ASGD", _vector, dict(weight_decay=-1.0)),
       ("Adafactor", _vector, dict(lr=-0.1)), ("Adafactor", _vector, dict(beta2_decay=0.1)),
       ("Adafactor", _vector, dict(eps=(-1.0, 1e-3))),
       ("Adafactor", _vector, dict(eps=(None, -1.0))), ("Adafactor", _vector, dict(d=0.5)),
       ("Adafactor", _vector, dict(weight_decay=-0.5)),
       ("Muon", _matrix, dict(lr=-0.1)), ("Muon", _matrix, dict(momentum=-0.5)),
       ("Muon", _matrix, dict(weight_decay=-0.5)),
       ("Muon", _matrix, dict(adjust_lr_fn="spectral")), ("Muon", _vector, {}),
       ("Muon", _matrix, dict(foreach=True)),
       ("LBFGS", _vector, dict(lr=-1.0)),
       ("LBFGS", lambda: [dict(params=_vector()), dict(params=_vector())], {})]


@pytest.mark.parametrize("name, params, kwargs", BAD,
                         ids=[f"{n}-{i}-{_kw_id(k)}" for i, (n, _, k) in enumerate(BAD)])
def test_invalid_hyperparameters_raise_torchs_message(name, params, kwargs):
    with pytest.raises(Exception) as theirs:
        getattr(torch.optim, name)(params(), **kwargs)
    with pytest.raises(type(theirs.value)) as mine:
        OURS[name](params(), **kwargs)
    assert str(mine.value).replace("Muon", "") == str(theirs.value).replace("Muon", "")


VALIDATE = [("RAdam", dict(lr=-1.0)), ("Rprop", dict(lr=0.1, etas=(1.5, 2.0))),
            ("ASGD", dict(lr=0.1, weight_decay=-2.0)), ("Adafactor", dict(d=0.0)),
            ("Muon", dict(momentum=-1.0))]


@pytest.mark.parametrize("name, kwargs", VALIDATE)
def test_rule_validate_raises_the_class_message(name, kwargs):
    """The rule's own check (``Rule.validate``, used by the NumPy drivers) words it as torch."""
    params = _matrix() if name == "Muon" else _vector()
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)(params, **kwargs)
    with pytest.raises(ValueError, match=f"^{str(theirs.value)}$"):
        RULES[name].validate(**dict(dict(lr=0.1), **kwargs))


def _sparse_step(cls):
    emb = torch.nn.Embedding(4, 2, sparse=True)
    opt = cls(emb.parameters())
    emb(torch.tensor([1])).sum().backward()
    opt.step()


STEP_ERRORS = [("RAdam", "sparse"), ("Rprop", "sparse"), ("ASGD", "sparse"),
               ("Adafactor", "sparse"), ("Adafactor", "complex"), ("Muon", "sparse"),
               ("Muon", "complex"), ("Muon", "ns_steps"), ("LBFGS", "line_search")]


@pytest.mark.parametrize("name, what", STEP_ERRORS, ids=[f"{n}-{w}" for n, w in STEP_ERRORS])
@pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled")
def test_step_errors_are_torchs(name, what):
    def act(cls):
        if what == "sparse":
            _sparse_step(cls)
            return
        if what == "line_search":
            p = torch.ones(2, requires_grad=True)
            opt = cls([p], line_search_fn="armijo")
            opt.step(lambda: (p**2).sum().backward() or (p**2).sum())
            return
        dtype = torch.complex64 if what == "complex" else torch.float32
        p = torch.ones(3, 2, dtype=dtype, requires_grad=True)
        opt = cls([p], **(dict(ns_steps=100) if what == "ns_steps" else {}))
        p.grad = torch.ones_like(p)
        opt.step()

    messages = []
    for cls in (OURS[name], getattr(torch.optim, name)):
        with pytest.raises((RuntimeError, ValueError)) as info:
            act(cls)
        messages.append((type(info.value), str(info.value)))
    assert messages[0] == messages[1]


# --- implementation flags --------------------------------------------------------------------

FLAGS = {"RAdam": ["foreach", "capturable", "differentiable"],
         "Rprop": ["foreach", "capturable", "differentiable"],
         "ASGD": ["foreach", "capturable", "differentiable"],
         "Adafactor": ["foreach"]}
ACCEPTED = {"foreach": [None, False, True], "capturable": [False], "differentiable": [False]}


@pytest.mark.parametrize("name", list(FLAGS))
def test_flags_accepted_or_refused_saying_what_is_supported(name):
    p = [torch.zeros(2, requires_grad=True)]
    for flag in FLAGS[name]:
        for value in ACCEPTED[flag]:
            assert OURS[name](p, **{flag: value}).defaults[flag] is value
        for value in (True, "yes"):
            if value in ACCEPTED[flag]:
                continue
            error = TypeError if isinstance(value, str) else ValueError
            with pytest.raises(error, match=rf"^Invalid {flag}: {value!r} \(expected "):
                OURS[name](p, **{flag: value})


@pytest.mark.parametrize("name", list(OURS))
def test_constructor_signature_and_defaults_are_torchs(name):
    import inspect

    mine = inspect.signature(OURS[name]).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    assert list(mine) == list(theirs)
    for key in theirs:
        assert mine[key].kind == theirs[key].kind, key
        assert mine[key].default == theirs[key].default, key


# --- the NumPy path ---------------------------------------------------------------------------

NUMPY = [("RAdam", dict(lr=0.05, weight_decay=0.01)),
         ("RAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True,
                        maximize=True)),
         ("Rprop", dict(lr=0.05, etas=(0.4, 1.3))),
         ("ASGD", dict(lr=0.05, t0=20, lambd=0.01, weight_decay=0.01)),
         ("Adafactor", dict(lr=0.05, weight_decay=0.01)),
         ("Adafactor", dict(lr=0.05, eps=(1e-8, 1e-3), d=1.2, maximize=True))]
# The NumPy path is compared on a field whose centres are >= FAR units away in every
# coordinate: with centres a few units away Adafactor (lr 0.05) reaches one coordinate's
# minimizer and oscillates there, amplifying a 1-ulp difference fourfold per step (measured:
# 5e-11 after 50 steps with ATEN_CPU_CAPABILITY=default, 2e-5 with avx2/Haswell/1 thread).
FAR = 6.0
RTOL = 1e-12


def _numpy_vs_torch(name, hyper, dtype, steps=100):
    """Max over the steps of ``||x_numpy - x_torch|| / ||x_torch||`` per parameter."""
    torch_dtype = torch.complex128 if dtype is np.complex128 else torch.float64
    init, grad_fn = make_field(torch_dtype, 1, SHAPES.get(name, DEFAULT_SHAPES), FAR)
    ps = [p.clone().requires_grad_() for p in init]
    opt = OURS[name](ps, **hyper)
    xs = [p.numpy().copy() for p in init]
    states = [{} for _ in xs]
    sign = -1 if hyper.get("maximize") else 1
    worst = 0.0
    for _ in range(steps):
        with torch.no_grad():
            for p, g in zip(ps, grad_fn(ps)):
                p.grad = sign * g
        opt.step()
        grads = grad_fn([torch.from_numpy(x) for x in xs])
        for x, g, state in zip(xs, grads, states):
            RULES[name](x, sign * g.numpy(), state, **hyper)
        worst = max(worst, max(np.linalg.norm(x - p.detach().numpy())
                               / np.linalg.norm(p.detach().numpy()) for x, p in zip(xs, ps)))
    return worst


@pytest.mark.parametrize("name, hyper", NUMPY, ids=[f"{n}-{_kw_id(h)}" for n, h in NUMPY])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_numpy_rule_agrees_with_torch_class(name, hyper, dtype):
    """The same rule, unfused on NumPy, within 1e-12 relative of the torch class over 100
    steps of a well-conditioned, non-chaotic problem (float64; complex128 where torch allows
    complex parameters)."""
    if dtype is np.complex128 and name not in COMPLEX:
        with pytest.raises(RuntimeError, match="does not support complex parameters"):
            _numpy_vs_torch(name, hyper, dtype, steps=1)
        return
    assert _numpy_vs_torch(name, hyper, dtype) <= RTOL


def test_numpy_muon_agrees_with_the_rule_on_float64_tensors():
    """torch's Muon orthogonalizes in bfloat16; with ``ns_dtype=float64`` the rule on tensors
    and the rule on NumPy arrays agree to 1e-12 relative over 100 steps; and the class equals
    the rule with torch's bfloat16 (``ns_dtype=None``) bit for bit."""
    init, grad_fn = make_field(torch.float64, 1, SHAPES["Muon"], FAR)
    hyper = dict(lr=0.02, weight_decay=0.01)
    ts = [p.clone() for p in init]
    xs = [p.numpy().copy() for p in init]
    ps = [p.clone().requires_grad_() for p in init]
    opt = Muon(ps, **hyper)
    bf = [p.clone() for p in init]
    t_states, x_states, bf_states = [{} for _ in ts], [{} for _ in xs], [{} for _ in bf]
    worst = 0.0
    for _ in range(100):
        for t, g, s in zip(ts, grad_fn(ts), t_states):
            muon(t, g, s, ns_dtype=torch.float64, **hyper)
        for x, g, s in zip(xs, grad_fn([torch.from_numpy(x) for x in xs]), x_states):
            muon(x, g.numpy(), s, **hyper)
        with torch.no_grad():
            for p, g in zip(ps, grad_fn(ps)):
                p.grad = g
        opt.step()
        for b, g, s in zip(bf, grad_fn(bf), bf_states):
            muon(b, g, s, **hyper)
        worst = max(worst, max(np.linalg.norm(x - t.numpy()) / np.linalg.norm(t.numpy())
                               for x, t in zip(xs, ts)))
        assert all(torch.equal(b, p) for b, p in zip(bf, ps))
    assert worst <= RTOL


def test_numpy_lbfgs_agrees_with_torch_lbfgs():
    """``lbfgs`` on a flat float64 vector (NumPy objective) against torch's class (torch
    objective), 3 calls of 6 iterations, with and without the strong-Wolfe search: within
    1e-12 relative after every call, while the loss falls by orders of magnitude."""
    rng = np.random.default_rng(2)
    n = 10
    M = rng.standard_normal((n, n))
    A = M @ M.T / n + 0.5 * np.eye(n)
    b = rng.standard_normal(n)
    x0 = rng.standard_normal(n) * 3

    def fun(x):
        return 0.5 * x @ A @ x - b @ x + np.sum(np.log(np.cosh(x))), A @ x - b + np.tanh(x)

    At, bt = torch.from_numpy(A), torch.from_numpy(b)
    for options in ({}, dict(line_search_fn="strong_wolfe", history_size=4)):
        x, state = x0.copy(), {}
        p = torch.tensor(x0, requires_grad=True)
        opt = torch.optim.LBFGS([p], max_iter=6, **options)

        def closure(opt=opt, p=p):
            opt.zero_grad()
            value = 0.5 * p @ At @ p - bt @ p + torch.log(torch.cosh(p)).sum()
            value.backward()
            return value

        first = fun(x0)[0]
        for _ in range(3):
            opt.step(closure)
            lbfgs(x, fun, state, max_iter=6, **options)
            rel = np.linalg.norm(x - p.detach().numpy()) / np.linalg.norm(p.detach().numpy())
            assert rel <= RTOL, (options, rel)
        optimum = fun(np.linalg.solve(A + np.eye(n), b))[0]    # a bound: f* <= this
        assert fun(x)[0] - min(optimum, fun(x)[0]) < 1e-3 * abs(first - optimum)
        assert state["n_iter"] == opt.state[p]["n_iter"]


# --- pieces the chapter uses ------------------------------------------------------------------

def test_radam_rectification_switches_on_at_step_6_for_beta2_0_999():
    """rho_t <= 5 for t <= 5 (no adaptive step), then r_t in (0, 1) increasing to 1."""
    rects = [rectification(0.999, t)[1] for t in range(1, 200)]
    assert rects[:5] == [0.0] * 5 and 0 < rects[5] < rects[50] < rects[-1] < 1
    rho_inf = 2 / (1 - 0.999) - 1
    assert math.isclose(rectification(0.999, 10**6)[0], rho_inf, rel_tol=1e-12)


def test_muon_newton_schulz_and_lr_adjustment():
    """NS keeps the singular vectors (O = U diag(p^5(s / ||G||_F)) V^T exactly, in float64)
    and torch's adjustments of the learning rate."""
    rng = np.random.default_rng(0)
    G = rng.standard_normal((7, 4))
    U, s, Vt = np.linalg.svd(G, full_matrices=False)
    a, b, c = (3.4445, -4.7750, 2.0315)
    sig = s / np.linalg.norm(G)
    for _ in range(5):
        sig = a * sig + b * sig**3 + c * sig**5
    np.testing.assert_allclose(newton_schulz(G), (U * sig) @ Vt, rtol=0, atol=1e-13)
    t = newton_schulz(torch.from_numpy(G))
    assert t.dtype == torch.bfloat16 and t.shape == (7, 4)
    assert adjust_lr(0.1, None, (8, 2)) == 0.1 * 2.0
    assert adjust_lr(0.1, "original", (2, 8)) == 0.1
    assert adjust_lr(0.1, "match_rms_adamw", (4, 9)) == 0.1 * 0.2 * 3.0


def test_adafactor_memory_is_rows_plus_columns():
    p = torch.zeros(30, 20, requires_grad=True)
    opt = Adafactor([p])
    p.grad = torch.ones_like(p)
    opt.step()
    state = opt.state[p]
    assert state["row_var"].numel() + state["col_var"].numel() == 30 + 20


def test_asgd_average_is_the_mean_of_iterates_after_t0():
    """After step t0 + 2, ``ax`` is the running mean of the iterates since that step
    (float64, up to the float32 rounding of the weights mu that torch applies: a relative
    error of 3e-8 per weight, so 1e-6 relative over these 33 steps)."""
    p = torch.tensor([3.0, -2.0], dtype=torch.float64, requires_grad=True)
    opt = ASGD([p], lr=0.1, t0=5)
    iterates = []
    for _ in range(40):
        p.grad = torch.sin(p.detach()) + p.detach()
        opt.step()
        iterates.append(p.detach().clone())
    mean = torch.stack(iterates[6:]).mean(0)           # theta_{t0+2}, ..., theta_40
    torch.testing.assert_close(opt.state[p]["ax"], mean, rtol=1e-6, atol=0)
    assert not torch.allclose(opt.state[p]["ax"], torch.stack(iterates[5:]).mean(0),
                              rtol=1e-6, atol=0)
    assert torch.equal(opt.averaged()[0], opt.state[p]["ax"])


def test_cubic_interpolate_finds_a_cubic_minimizer():
    """For f(x) = (x - 1)^3 - 3 (x - 1) (minimizer 2), from values and slopes at 0 and 3."""
    f = lambda x: (x - 1) ** 3 - 3 * (x - 1)  # noqa: E731
    df = lambda x: 3 * (x - 1) ** 2 - 3  # noqa: E731
    assert math.isclose(cubic_interpolate(0.0, f(0.0), df(0.0), 3.0, f(3.0), df(3.0)), 2.0,
                        rel_tol=1e-14)
