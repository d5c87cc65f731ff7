"""Adaptive optimizers of course_lib.optim against torch.optim (torch 2.13), in float64.

Adagrad, RMSprop, Adadelta, Adam, AdamW, Adamax and NAdam: step-by-step agreement for every
option, state-dict round trips, validation messages, the numpy path, and the closed-form
facts the book states (ERRATA, numerical demonstrations 3-6).
"""

import copy
import inspect
import itertools
import math

import numpy as np
import pytest
import torch
from optim_reference import continue_from_state_dict, run_pair

import course_lib.optim as ours
from course_lib.objectives import Quadratic
from course_lib.optim.descent import run

RTOL = 1e-9
STEPS = 200
NAMES = ["Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "Adamax", "NAdam"]
RULES = {"Adagrad": ours.adagrad, "RMSprop": ours.rmsprop, "Adadelta": ours.adadelta,
         "Adam": ours.adam, "AdamW": ours.adam, "Adamax": ours.adamax, "NAdam": ours.nadam}


def _grid(**axes):
    """Every combination of the values of the options."""
    return [dict(zip(axes, values)) for values in itertools.product(*axes.values())]


def _half_grid(**axes):
    """Half of the 2^4 grid of four two-valued options (resolution IV): every option takes
    both values, and every pair of options meets all four combinations of its values."""
    corners = itertools.product((0, 1), repeat=len(axes))
    return [o for corner, o in zip(corners, _grid(**axes)) if sum(corner) % 2 == 0]


# (name, options of group 1, options of group 2, constructor defaults). Group 2 changes the
# learning rate and one continuous hyperparameter, so the groups really differ; `maximize`
# is the same in both groups (the harness then ascends the negated loss).
CASES = []
for o in _grid(amsgrad=[False, True], maximize=[False, True],
               wd=[(0, False), (0.05, False), (0.05, True)]):
    wd, decoupled = o.pop("wd")
    first = dict(lr=0.01, weight_decay=wd, decoupled_weight_decay=decoupled, **o)
    CASES.append(("Adam", first, dict(first, lr=0.005, betas=(0.8, 0.99), eps=1e-6), {}))
for o in _grid(amsgrad=[False, True], maximize=[False, True]):
    first = dict(lr=0.01, weight_decay=0.1, **o)
    CASES.append(("AdamW", first, dict(o, lr=0.005, betas=(0.8, 0.99), eps=1e-6), {}))
for o in _half_grid(lr_decay=[0, 0.05], weight_decay=[0, 0.05], maximize=[False, True],
                    initial_accumulator_value=[0, 0.1]):
    iav = o.pop("initial_accumulator_value")  # torch reads it from the constructor only
    first = dict(lr=0.1, **o)
    CASES.append(("Adagrad", first, dict(first, lr=0.05, eps=1e-6),
                  dict(initial_accumulator_value=iav)))
for o in _half_grid(momentum=[0, 0.9], centered=[False, True], weight_decay=[0, 0.05],
                    maximize=[False, True]):
    first = dict(lr=0.002, **o)
    CASES.append(("RMSprop", first, dict(first, lr=0.001, alpha=0.9, eps=1e-6), {}))
for o in _grid(weight_decay=[0, 0.05], maximize=[False, True]):
    first = dict(lr=1.0, **o)
    CASES.append(("Adadelta", first, dict(first, lr=0.5, rho=0.95, eps=1e-5), {}))
for o in _grid(weight_decay=[0, 0.05], maximize=[False, True]):
    first = dict(lr=0.02, **o)
    CASES.append(("Adamax", first, dict(first, lr=0.01, betas=(0.8, 0.99), eps=1e-6), {}))
for o in _grid(maximize=[False, True], wd=[(0, False), (0.05, False), (0.05, True)]):
    wd, decoupled = o.pop("wd")
    first = dict(lr=0.01, weight_decay=wd, decoupled_weight_decay=decoupled, **o)
    CASES.append(("NAdam", first, dict(first, lr=0.005, betas=(0.8, 0.99), eps=1e-6,
                                       momentum_decay=0.01), {}))


def _id(case):
    name, first, _, defaults = case
    options = {**first, **defaults}
    return name + "-" + "-".join(f"{k}={v}" for k, v in options.items() if k != "lr")


# The tanh-network loss with every case; the pure quadratic with those that do not maximize
# (maximizing only negates the loss, which the network cases cover).
PAIRS = [(case, "mixed") for case in CASES]
PAIRS += [(case, "quadratic") for case in CASES if not case[1].get("maximize")]


@pytest.mark.parametrize("case, kind", PAIRS, ids=[f"{_id(c)}-{k}" for c, k in PAIRS])
def test_matches_torch_two_groups(case, kind):
    name, first, second, defaults = case
    errors, *_ = run_pair(getattr(ours, name), getattr(torch.optim, name), [first, second],
                          steps=STEPS, kind=kind, defaults=defaults)
    assert max(errors) <= RTOL, f"max relative error {max(errors):.3e}"


def test_every_listed_option_is_exercised():
    """The grid above sets every option of the issue to a non-default value somewhere."""
    listed = {
        "Adagrad": {"lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps",
                    "maximize"},
        "RMSprop": {"lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"},
        "Adadelta": {"lr", "rho", "eps", "weight_decay", "maximize"},
        "Adam": {"lr", "betas", "eps", "weight_decay", "amsgrad", "maximize",
                 "decoupled_weight_decay"},
        "AdamW": {"lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"},
        "Adamax": {"lr", "betas", "eps", "weight_decay", "maximize"},
        "NAdam": {"lr", "betas", "eps", "weight_decay", "momentum_decay",
                  "decoupled_weight_decay", "maximize"},
    }
    for name, options in listed.items():
        defaults = inspect.signature(getattr(ours, name)).parameters
        varied = set()
        for case_name, first, second, ctor in CASES:
            if case_name == name:
                for opts in (first, second, ctor):
                    varied |= {k for k, v in opts.items() if v != defaults[k].default}
        assert options <= varied, f"{name}: never varied {options - varied}"


@pytest.mark.parametrize("name", NAMES)
def test_defaults_match_torch(name):
    p = [torch.zeros(3, requires_grad=True)]
    mine, theirs = getattr(ours, name)(p), getattr(torch.optim, name)(p)
    assert mine.defaults == theirs.defaults


@pytest.mark.parametrize("name", NAMES)
def test_signature_matches_torch(name):
    """Same names and defaults; the positional parameters come in torch's order."""
    mine = inspect.signature(getattr(ours, name)).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    assert set(theirs) == set(mine)
    for key, parameter in mine.items():
        assert parameter.default == theirs[key].default, key
    positional = [k for k, p in mine.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == list(theirs)[:len(positional)]


STATEFUL = [
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05), {}),
    ("AdamW", dict(lr=0.01, amsgrad=True), {}),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05), dict(initial_accumulator_value=0.1)),
    ("RMSprop", dict(lr=0.002, momentum=0.9, centered=True), {}),
    ("Adadelta", dict(lr=1.0, rho=0.95), {}),
    ("Adamax", dict(lr=0.02), {}),
    ("NAdam", dict(lr=0.01, weight_decay=0.05, decoupled_weight_decay=True), {}),
]


@pytest.mark.parametrize("name, options, defaults", STATEFUL, ids=[s[0] for s in STATEFUL])
def test_state_dict_round_trip_continues_identically(name, options, defaults):
    straight, resumed = continue_from_state_dict(
        getattr(ours, name), [options, dict(options, lr=options["lr"] / 2)], k=50, steps=100,
        defaults=defaults)
    for a, b in zip(straight, resumed):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name, options, defaults", STATEFUL, ids=[s[0] for s in STATEFUL])
def test_state_keys_and_exact_step_count_survive_a_round_trip(name, options, defaults):
    p = torch.randn(4, requires_grad=True)
    opt = getattr(ours, name)([p], **options, **defaults)
    for _ in range(7):
        opt.zero_grad()
        (p**4).sum().backward()
        opt.step()
    saved = copy.deepcopy(opt.state_dict())
    fresh = getattr(ours, name)([p.detach().clone().requires_grad_()], **options, **defaults)
    fresh.load_state_dict(saved)
    before, after = opt.state[p], next(iter(fresh.state.values()))
    adam = {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    expected = {"Adam": adam, "AdamW": adam, "Adagrad": {"step", "sum"},
                "RMSprop": {"step", "square_avg", "grad_avg", "momentum_buffer"},
                "Adadelta": {"step", "square_avg", "acc_delta"},
                "Adamax": {"step", "exp_avg", "exp_inf"},
                "NAdam": {"step", "mu_product", "exp_avg", "exp_avg_sq"}}[name]
    assert set(before) == set(after) == expected
    # torch's layout: the step count is a 0-d tensor of torch's scalar dtype (float32, or
    # float64 when that is the default dtype, as in these tests)
    assert after["step"].dtype == torch.get_default_dtype() and after["step"].dim() == 0
    assert after["step"].item() == 7
    for key in expected:
        assert torch.equal(before[key], after[key])
    theirs = getattr(torch.optim, name)([p.detach().clone().requires_grad_()],
                                        **options, **defaults)
    theirs.load_state_dict(saved)  # and torch's class reads it
    assert set(next(iter(theirs.state.values()))) == expected


@pytest.mark.parametrize("name", NAMES)
def test_closure_returns_loss_and_matches(name):
    opts = dict(lr=0.01) if name != "Adadelta" else dict(lr=1.0)
    errors, *_ = run_pair(getattr(ours, name), getattr(torch.optim, name), [opts, opts],
                          steps=50, closure=True)
    assert max(errors) <= RTOL
    p = torch.ones(2, requires_grad=True)
    opt = getattr(ours, name)([p])

    def closure():
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 2.0


@pytest.mark.parametrize("name", NAMES)
def test_tensor_learning_rate(name):
    opts = dict(lr=torch.tensor(0.01 if name != "Adadelta" else 1.0))
    errors, *_ = run_pair(getattr(ours, name), getattr(torch.optim, name), [opts, opts],
                          steps=50)
    assert max(errors) <= RTOL


def test_adam_tensor_betas_match_torch():
    opts = dict(lr=0.01, betas=(torch.tensor(0.8), torch.tensor([0.99])))
    errors, *_ = run_pair(ours.Adam, torch.optim.Adam, [opts, opts], steps=50)
    assert max(errors) <= RTOL


@pytest.mark.parametrize("name", NAMES)
def test_parameters_without_grad_are_skipped(name):
    a, b = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    opt = getattr(ours, name)([a, b])
    (a**2).sum().backward()
    opt.step()
    assert torch.equal(b, torch.ones(2)) and not torch.equal(a, torch.ones(2))
    # Adagrad creates the state of every parameter in its constructor, as torch does.
    assert (b in opt.state) == (name == "Adagrad")
    assert len(getattr(torch.optim, name)([a, b]).state) == (2 if name == "Adagrad" else 0)


def test_adagrad_uses_the_constructors_initial_accumulator_value_like_torch():
    """torch 2.13 ignores a param group's own initial_accumulator_value; so do we."""
    for cls in (ours.Adagrad, torch.optim.Adagrad):
        key = "sum"
        a, b = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
        opt = cls([dict(params=[a], initial_accumulator_value=0.5)],
                  initial_accumulator_value=0.1)
        assert torch.equal(opt.state[a][key], torch.full((2,), 0.1))
        opt.add_param_group(dict(params=[b], initial_accumulator_value=0.7))
        (3 * (a + b)).sum().backward()
        opt.step()
        assert torch.allclose(opt.state[b][key], torch.full((2,), 9.1), rtol=1e-15, atol=0)


def test_nadam_mu_product_is_rounded_to_float32_as_torch_does():
    """torch keeps mu_product in a 0-d tensor of torch's scalar dtype, float32 unless the
    default dtype is float64, so it is rounded after every step; ours is the same tensor."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        p, q = (torch.ones(3, dtype=torch.float64, requires_grad=True) for _ in range(2))
        mine, theirs = ours.NAdam([p]), torch.optim.NAdam([q])
        for _ in range(30):
            for x, opt in ((p, mine), (q, theirs)):
                opt.zero_grad()
                (x**2).sum().backward()
                opt.step()
    finally:
        torch.set_default_dtype(previous)
    mus = [0.9 * (1 - 0.5 * 0.96 ** (t * 4e-3)) for t in range(1, 31)]
    assert mine.state[p]["mu_product"].dtype == torch.float32
    assert torch.equal(mine.state[p]["mu_product"], theirs.state[q]["mu_product"])
    assert mine.state[p]["mu_product"].item() != math.prod(mus)  # rounded
    assert torch.equal(p, q)


# --- the numpy path: the same rule on NumPy arrays gives the torch class's iterates ---------

NUMPY_CASES = [
    ("Adagrad", dict(lr=0.3, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.01)),
    ("Adadelta", dict(lr=1.0, rho=0.95, weight_decay=0.01)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.01)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1)),
    ("Adamax", dict(lr=0.05, weight_decay=0.01)),
    ("NAdam", dict(lr=0.05, weight_decay=0.01, decoupled_weight_decay=True)),
]


@pytest.mark.parametrize("name, options", NUMPY_CASES, ids=[c[0] for c in NUMPY_CASES])
@pytest.mark.parametrize("maximize", [False, True])
def test_numpy_path_equals_torch_class(name, options, maximize):
    """One definition: the numpy driver and the torch class produce the same iterates."""
    q = Quadratic.with_condition(5, 50.0, rng=np.random.default_rng(1), x0=np.arange(5.0))
    sign = -1.0 if maximize else 1.0  # ascend -f when maximizing
    hyper = dict(options, maximize=maximize)
    rule_hyper = dict(hyper, decoupled_weight_decay=True) if name == "AdamW" else hyper
    traj = run(RULES[name], None, q.x0, steps=100, grad=lambda x, t: sign * q.grad(x),
               **rule_hyper)
    x = torch.tensor(q.x0, requires_grad=True)
    opt = getattr(ours, name)([x], **hyper)
    for _ in range(100):
        x.grad = torch.from_numpy(sign * q.grad(x.detach().numpy()))
        opt.step()
    # torch fuses multiply-adds (lerp_, addcmul_, add_(alpha=)) that NumPy rounds twice
    np.testing.assert_allclose(traj.x, x.detach().numpy(), rtol=1e-13, atol=0)
    assert q.value(traj.x) < q.value(q.x0)  # it did descend


def test_numpy_path_with_objective_and_schedule():
    q = Quadratic.with_condition(2, 10.0, rng=np.random.default_rng(0), x0=np.array([1.0, 1.0]))
    traj = run(ours.adam, q, steps=300, lr=lambda t: 0.1 / (1 + t / 100))
    assert traj.values[-1] < 1e-3 * traj.values[0] and not traj.diverged


# --- validation: our class, torch's class and the numpy path raise the same message --------

INVALID = {
    "common": [
        (dict(lr=-0.1), r"^Invalid learning rate: -0\.1$"),
        (dict(lr=float("nan")), r"^Invalid learning rate: nan$"),
        (dict(lr=torch.tensor([0.1, 0.2])), r"^Tensor lr must be 1-element$"),
        (dict(lr=0.1, eps=-1e-8), r"^Invalid epsilon value: -1e-08$"),
        (dict(lr=0.1, eps=float("nan")), r"^Invalid epsilon value: nan$"),
        (dict(lr=0.1, weight_decay=-1e-4), r"^Invalid weight_decay value: -0\.0001$"),
    ],
    "betas": [
        (dict(lr=0.1, betas=(1.0, 0.999)), r"^Invalid beta parameter at index 0: 1\.0$"),
        (dict(lr=0.1, betas=(-0.1, 0.999)), r"^Invalid beta parameter at index 0: -0\.1$"),
        (dict(lr=0.1, betas=(0.9, 1.5)), r"^Invalid beta parameter at index 1: 1\.5$"),
    ],
    "Adam": [
        (dict(lr=0.1, betas=(0, 0.999)), r"^betas must be either both floats or both Tensors$"),
        (dict(lr=0.1, betas=(torch.tensor(0.9), 0.999)),
         r"^betas must be either both floats or both Tensors$"),
    ],
    "Adagrad": [
        (dict(lr=0.1, lr_decay=-0.5), r"^Invalid lr_decay value: -0\.5$"),
        (dict(lr=0.1, initial_accumulator_value=-1),
         r"^Invalid initial_accumulator_value value: -1$"),
    ],
    "RMSprop": [
        (dict(lr=0.1, momentum=-0.9), r"^Invalid momentum value: -0\.9$"),
        (dict(lr=0.1, alpha=-0.5), r"^Invalid alpha value: -0\.5$"),
    ],
    "Adadelta": [
        (dict(lr=0.1, rho=1.5), r"^Invalid rho value: 1\.5$"),
        (dict(lr=0.1, rho=-0.1), r"^Invalid rho value: -0\.1$"),
    ],
    "NAdam": [
        (dict(lr=0.1, momentum_decay=-1e-3), r"^Invalid momentum_decay value: -0\.001$"),
    ],
}
INVALID_CASES = [
    (name, kwargs, message)
    for name in NAMES
    for group in ("common",
                  *(["betas"] if name in ("Adam", "AdamW", "Adamax", "NAdam") else []),
                  "Adam" if name == "AdamW" else name)
    for kwargs, message in INVALID.get(group, [])
]


@pytest.mark.parametrize("name, kwargs, message", INVALID_CASES,
                         ids=[f"{n}-{m}" for n, _, m in INVALID_CASES])
def test_invalid_hyperparameters_raise_like_torch(name, kwargs, message):
    p = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match=message):
        getattr(ours, name)(p, **kwargs)
    with pytest.raises(ValueError, match=message):
        getattr(torch.optim, name)(p, **kwargs)
    with pytest.raises(ValueError, match=message):  # the numpy path validates too
        run(RULES[name], Quadratic(np.eye(2)), steps=1, **kwargs)


# --- closed forms (ERRATA, "Numerical demonstrations" 3-6) --------------------------------

def _steps(rule, g, n, **hyper):
    """The displacements of ``n`` steps of ``rule`` under the constant gradient ``g``, and
    the final state."""
    x, state, out = np.zeros(1), {}, []
    for _ in range(n):
        before = x.copy()
        rule(x, np.array([g]), state, **hyper)
        out.append((x - before)[0])
    return np.array(out), state


@pytest.mark.parametrize("g", [1e3, 1.0, 1e-3])
def test_adam_bias_corrected_first_step_is_minus_lr(g):
    """Demonstration 3: the first Adam step is -eta whatever the scale of g."""
    steps, _ = _steps(ours.adam, g, 1, lr=0.01)
    assert steps[0] / 0.01 == pytest.approx(-1.0, abs=1e-4)
    p = torch.zeros(1, requires_grad=True)  # the torch class takes the same step
    opt = ours.Adam([p], lr=0.01)
    p.grad = torch.tensor([g])
    opt.step()
    assert p.item() == steps[0]


@pytest.mark.parametrize("beta2, expected", [(0.999, -3.16228), (0.99, -1.0)])
def test_adam_uncorrected_first_step(beta2, expected):
    """Demonstration 3: without the correction the first step is -(1-b1)/sqrt(1-b2) eta."""
    _, state = _steps(ours.adam, 1.0, 1, lr=0.01, betas=(0.9, beta2))
    uncorrected = -state["exp_avg"] / (np.sqrt(state["exp_avg_sq"]) + 1e-8)
    assert uncorrected[0] == pytest.approx(expected, abs=1e-4)


def test_adam_eps_placement():
    """Demonstration 4: g = 1e-6 constant, eps = 1e-8, step 100: eps outside vs inside."""
    steps, state = _steps(ours.adam, 1e-6, 100, lr=0.01, eps=1e-8)
    assert abs(steps[-1]) / 0.01 == pytest.approx(0.990099, abs=1e-5)
    m_hat = state["exp_avg"] / (1 - 0.9**100)
    v_hat = state["exp_avg_sq"] / (1 - 0.999**100)
    assert (m_hat / np.sqrt(v_hat + 1e-8))[0] == pytest.approx(0.0099995, abs=1e-5)


def test_rmsprop_first_step_and_sign_limit():
    """Demonstration 5: no bias correction, so step 1 is -eta/sqrt(1-rho); then -eta sign g."""
    steps, state = _steps(ours.rmsprop, 0.5, 500, lr=0.01, alpha=0.9, eps=1e-8)
    assert steps[0] / 0.01 == pytest.approx(-3.16228, abs=1e-4)
    assert steps[-1] / 0.01 == pytest.approx(-1.0, abs=1e-6)
    assert state["square_avg"][0] == pytest.approx((1 - 0.9**500) * 0.25, rel=1e-12)  # EMA weights
    steps, _ = _steps(ours.rmsprop, -0.5, 1, lr=0.01, alpha=0.99)
    assert steps[0] / 0.01 == pytest.approx(10.0, rel=1e-6)
    # A small gradient: eps outside the root keeps the sign-like step; inside it would not.
    steps, state = _steps(ours.rmsprop, 1e-4, 2000, lr=0.01, alpha=0.99, eps=1e-8)
    assert steps[-1] / 0.01 == pytest.approx(-1.0, abs=2e-4)
    assert (1e-4 / np.sqrt(state["square_avg"] + 1e-8))[0] == pytest.approx(0.70711, abs=1e-4)


def test_rmsprop_centered_divides_by_the_standard_deviation():
    steps, state = _steps(ours.rmsprop, 2.0, 3, lr=0.01, alpha=0.9, centered=True, eps=0.0)
    v, m = state["square_avg"][0], state["grad_avg"][0]
    assert v == pytest.approx((1 - 0.9**3) * 4.0, rel=1e-14)
    assert m == pytest.approx((1 - 0.9**3) * 2.0, rel=1e-14)
    assert steps[-1] == pytest.approx(-0.01 * 2.0 / math.sqrt(v - m * m), rel=1e-14)


def test_adadelta_zeiler_first_step_and_role_of_numerator_eps():
    """Demonstration 6: rho = 0.95, eps = 1e-6, g = 1 gives step 1 = -4.4721e-3; without
    the eps of the numerator (eps = 0) a zero-initialized AdaDelta never moves."""
    steps, _ = _steps(ours.adadelta, 1.0, 1, lr=1.0, rho=0.95, eps=1e-6)
    assert steps[0] == pytest.approx(-4.4721e-3, abs=1e-7)
    assert steps[0] == pytest.approx(-math.sqrt(1e-6 / (0.05 + 1e-6)), rel=1e-14)
    steps, _ = _steps(ours.adadelta, 1.0, 1000, lr=1.0, rho=0.95, eps=0.0)
    assert np.all(steps == 0.0)


@pytest.mark.parametrize("g", [0.5, -3.0, 1e-3])
def test_adagrad_first_step_is_about_lr_times_sign(g):
    """ERRATA 4: the accumulator includes the current gradient, so step 1 is ~ -eta sign(g)
    (with eps = 1e-8 and g = 0.5 not eta g / eps = 5e5)."""
    steps, _ = _steps(ours.adagrad, g, 1, lr=0.01, eps=1e-8)
    assert steps[0] == pytest.approx(-0.01 * np.sign(g), rel=1e-5)


def test_adagrad_accumulates_squares_and_decays_the_rate():
    steps, state = _steps(ours.adagrad, 2.0, 4, lr=0.1, lr_decay=0.5, eps=0.0)
    assert state["sum"][0] == 16.0 and state["step"] == 4
    assert steps[-1] == pytest.approx(-0.1 / (1 + 3 * 0.5) * 2.0 / 4.0, rel=1e-14)


@pytest.mark.parametrize("g", [1e3, 1.0, -1e-3])
def test_adamax_first_step_is_about_minus_lr_times_sign(g):
    steps, state = _steps(ours.adamax, g, 1, lr=0.002)
    assert steps[0] == pytest.approx(-0.002 * np.sign(g), rel=1e-4)
    assert state["exp_inf"][0] == abs(g) + 1e-8


def test_nadam_first_step_closed_form():
    steps, state = _steps(ours.nadam, 1.0, 1, lr=0.002, eps=0.0)
    mu1, mu2 = (0.9 * (1 - 0.5 * 0.96 ** (t * 4e-3)) for t in (1, 2))
    expected = -0.002 * (1.0 + mu2 * 0.1 / (1 - mu1 * mu2))  # g / sqrt(v_hat) = 1
    assert steps[0] == pytest.approx(expected, rel=1e-14)
    # torch's scalar dtype: float64 here (the tests' default dtype), float32 otherwise
    assert state["mu_product"] == mu1 and state["mu_product"].dtype == np.float64


def test_adamw_decay_is_decoupled_from_the_moments():
    """AdamW's decay shrinks the weights by (1 - lr wd) and does not enter m and v."""
    x, state = np.ones(1), {}
    ours.adam(x, np.zeros(1), state, lr=0.1, weight_decay=0.5, decoupled_weight_decay=True)
    assert x[0] == pytest.approx(0.95, rel=1e-15)
    assert state["exp_avg"][0] == state["exp_avg_sq"][0] == 0.0
    x, state = np.ones(1), {}
    ours.adam(x, np.zeros(1), state, lr=0.1, weight_decay=0.5)
    assert state["exp_avg"][0] == pytest.approx(0.05, rel=1e-15)  # coupled: (1 - b1) wd x
