"""course_lib.optim.SGD against torch.optim.SGD (torch 2.13), step by step in float64."""

import itertools

import numpy as np
import pytest
import torch
from optim_reference import continue_from_state_dict, run_pair

from course_lib.objectives import Quadratic
from course_lib.optim import SGD, sgd
from course_lib.optim.descent import run

RTOL = 1e-9
STEPS = 200

# Every combination of the options; nesterov only where torch allows it.
COMBOS = [
    dict(lr=lr, momentum=m, dampening=d, weight_decay=wd, nesterov=n, maximize=mx)
    for lr, m, d, wd, n, mx in itertools.product(
        [0.05], [0.0, 0.9], [0.0, 0.3], [0.0, 0.01], [False, True], [False, True]
    )
    if not (n and (m <= 0 or d != 0))
]


def _id(c):
    return "-".join(f"{k}={v}" for k, v in c.items())


@pytest.mark.parametrize("options", COMBOS, ids=_id)
def test_matches_torch_two_groups(options):
    # The second group overrides lr and momentum so the groups really differ.
    other = dict(options, lr=0.02, momentum=options["momentum"] * 0.5)
    if other["nesterov"] and other["momentum"] == 0:
        other["nesterov"] = False
    errors, *_ = run_pair(SGD, torch.optim.SGD, [options, other], steps=STEPS)
    assert max(errors) <= RTOL, f"max relative error {max(errors):.3e}"


def test_defaults_match_torch():
    p = [torch.zeros(3, requires_grad=True)]
    ours, theirs = SGD(p), torch.optim.SGD(p)
    assert ours.defaults == theirs.defaults
    assert ours.defaults["lr"] == 1e-3


def test_closure_returns_loss_and_matches():
    opts = dict(lr=0.05, momentum=0.9, nesterov=True)
    errors, params, optims = run_pair(SGD, torch.optim.SGD, [opts, opts], steps=50, closure=True)
    assert max(errors) <= RTOL


def test_tensor_learning_rate():
    opts = dict(lr=torch.tensor(0.05), momentum=0.9)
    errors, *_ = run_pair(SGD, torch.optim.SGD, [opts, opts], steps=50)
    assert max(errors) <= RTOL


@pytest.mark.parametrize("options", [dict(lr=0.05), dict(lr=0.05, momentum=0.9, dampening=0.1),
                                     dict(lr=0.05, momentum=0.9, nesterov=True)], ids=_id)
def test_state_dict_round_trip_continues_identically(options):
    straight, resumed = continue_from_state_dict(SGD, [options, dict(options, lr=0.01)])
    for a, b in zip(straight, resumed):
        assert torch.equal(a, b)


def test_zero_grad_sets_grads_to_none():
    p = torch.ones(3, requires_grad=True)
    opt = SGD([p], lr=0.1)
    (p**2).sum().backward()
    opt.zero_grad()
    assert p.grad is None


def test_parameters_without_grad_are_skipped():
    a, b = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    opt = SGD([a, b], lr=0.1, momentum=0.9)
    (a**2).sum().backward()
    opt.step()
    assert torch.equal(b, torch.ones(2)) and b not in opt.state
    assert torch.allclose(a, torch.full((2,), 0.8), rtol=0, atol=1e-15)


def test_numpy_path_equals_torch_class():
    """One definition: the numpy driver and the torch class produce the same iterates."""
    q = Quadratic.with_condition(5, 50.0, rng=np.random.default_rng(1), x0=np.arange(5.0))
    traj = run(sgd, q, steps=100, lr=0.01, momentum=0.9, nesterov=True)
    x = torch.tensor(q.x0, requires_grad=True)
    opt = SGD([x], lr=0.01, momentum=0.9, nesterov=True)
    A = torch.tensor(q.A)
    for _ in range(100):
        opt.zero_grad()
        (0.5 * x @ A @ x).backward()
        opt.step()
    np.testing.assert_allclose(traj.x, x.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(lr=-0.1), r"^Invalid learning rate: -0\.1$"),
        (dict(lr=0.1, momentum=-0.5), r"^Invalid momentum value: -0\.5$"),
        (dict(lr=0.1, weight_decay=-1e-4), r"^Invalid weight_decay value: -0\.0001$"),
        (dict(lr=0.1, nesterov=True),
         r"^Nesterov momentum requires a momentum and zero dampening$"),
        (dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
         r"^Nesterov momentum requires a momentum and zero dampening$"),
        (dict(lr=torch.tensor([0.1, 0.2])), r"^Tensor lr must be 1-element$"),
    ],
)
def test_invalid_hyperparameters_raise_like_torch(kwargs, message):
    p = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match=message):
        SGD(p, **kwargs)
    with pytest.raises(ValueError, match=message):
        torch.optim.SGD(p, **kwargs)
    with pytest.raises(ValueError, match=message):  # the numpy path validates too
        run(sgd, Quadratic(np.eye(2)), steps=1, **kwargs)
