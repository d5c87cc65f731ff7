"""The rule abstraction of course_lib.optim.rule: ``update_rule``/``Rule`` (signature-derived
``defaults``/``required``, ``validate`` and its TypeError/ValueError messages, frozen, the
function's metadata), ``as_rule``, the one loop ``apply``, and the wiring of the three drivers
that use it -- ``RuleOptimizer.step`` (single-tensor and foreach), ``nn.step`` and
``nn.NumpyOptimizer`` -- checked with recording mock rules rather than by comparing the library
with itself. Every library rule's defaults are compared with torch.optim's constructors.
"""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest
import torch

import course_lib.nn as nn
import course_lib.optim as optim
from course_lib.optim.base import RuleOptimizer
from course_lib.optim.rule import Rule, apply, as_rule, update_rule

RULES = {"SGD": optim.sgd, "Adagrad": optim.adagrad, "RMSprop": optim.rmsprop,
         "Adadelta": optim.adadelta, "Adam": optim.adam, "Adamax": optim.adamax,
         "NAdam": optim.nadam}
CHECKS = {"SGD": optim.check_sgd, "Adagrad": optim.check_adagrad,
          "RMSprop": optim.check_rmsprop, "Adadelta": optim.check_adadelta,
          "Adam": optim.check_adam, "Adamax": optim.check_adamax, "NAdam": optim.check_nadam}


class Recorder:
    """A rule body and a check that record what they were called with."""

    def __init__(self):
        self.calls, self.checks = [], []

    def make(self, **decorator):
        recorder = self

        def check(lr, momentum, **_):
            recorder.checks.append(dict(lr=lr, momentum=momentum, **_))
            if lr < 0:
                raise ValueError(f"Invalid learning rate: {lr}")

        @update_rule(check=check, **decorator)
        def mock(param, grad, state, *, lr, momentum=0.5, flag=False):
            recorder.calls.append((param, grad, state, dict(lr=lr, momentum=momentum,
                                                            flag=flag)))
            state["n"] = state.get("n", 0) + 1

        return mock


# --- Rule and update_rule -------------------------------------------------------------------

@pytest.mark.parametrize("name", list(RULES))
def test_library_rules_are_rules_with_torch_defaults(name):
    """Each rule is a Rule whose signature defaults equal torch.optim's constructor defaults
    for every shared name (lr is required: the classes pick their own default)."""
    rule = RULES[name]
    assert isinstance(rule, Rule) and rule.name == name.lower()
    assert rule.required == ("lr",)
    assert rule.check is CHECKS[name]
    torch_params = inspect.signature(getattr(torch.optim, name)).parameters
    shared = [k for k in rule.defaults if k in torch_params]
    assert shared, "no shared hyperparameter"
    for key in shared:
        assert rule.defaults[key] == torch_params[key].default, key
    assert rule.names == tuple(k for k, p in inspect.signature(rule.update).parameters.items()
                               if p.kind is inspect.Parameter.KEYWORD_ONLY)
    # the class's param groups hold exactly the rule's hyperparameters plus torch's switches
    opt = getattr(optim, name)([torch.zeros(2, requires_grad=True)], lr=0.1)
    assert set(rule.names) <= set(opt.defaults)
    assert set(opt.defaults) - set(rule.names) <= {"foreach", "fused", "capturable",
                                                   "differentiable"}
    assert getattr(optim, name).rule is rule


def test_init_state_and_no_function_attributes():
    assert optim.adam.init_state.__name__ == "init_adam_state"
    assert optim.sgd.init_state is None
    for rule in RULES.values():
        assert "check" not in vars(rule.update) and "init_state" not in vars(rule.update)
    with pytest.raises(dataclasses.FrozenInstanceError):
        optim.sgd.check = None
    with pytest.raises(TypeError):
        optim.sgd.defaults["momentum"] = 0.9      # a read-only mapping


def test_calling_a_rule_runs_the_function_in_place():
    x, y = np.array([1.0, -2.0]), np.array([1.0, -2.0])
    g = np.array([0.5, 0.25])
    s1, s2 = {}, {}
    for _ in range(3):
        optim.sgd(x, g, s1, lr=0.1, momentum=0.9)
        optim.sgd.update(y, g, s2, lr=0.1, momentum=0.9)
    assert np.array_equal(x, y) and np.array_equal(s1["momentum_buffer"], s2["momentum_buffer"])
    assert not np.array_equal(x, [1.0, -2.0])


def test_rule_shows_its_function():
    assert inspect.signature(optim.adam) == inspect.signature(optim.adam.update)
    assert optim.adam.__doc__ == optim.adam.update.__doc__
    assert optim.adam.__name__ == "adam" and optim.adam.__wrapped__ is optim.adam.update
    assert optim.adam.__module__ == "course_lib.optim.adam"
    assert repr(optim.sgd) == ("<update rule sgd(lr, momentum=0.0, dampening=0.0, "
                               "weight_decay=0.0, nesterov=False, maximize=False)>")


def test_validate_fills_defaults_in_signature_order_and_checks():
    rec = Recorder()
    mock = rec.make()
    assert mock.defaults == {"momentum": 0.5, "flag": False} and mock.required == ("lr",)
    full = mock.validate(flag=True, lr=0.1)
    assert list(full.items()) == [("lr", 0.1), ("momentum", 0.5), ("flag", True)]
    assert rec.checks == [dict(lr=0.1, momentum=0.5, flag=True)]   # every name, once
    with pytest.raises(ValueError, match=r"^Invalid learning rate: -1$"):
        mock.validate(lr=-1)
    assert optim.adam.validate(lr=0.1, amsgrad=True) == dict(optim.adam.defaults, lr=0.1,
                                                             amsgrad=True)


@pytest.mark.parametrize("call, message", [
    (lambda r: r.validate(lr=0.1, momentun=0.9),
     r"^mock\(\) got an unexpected keyword argument 'momentun'$"),
    (lambda r: r.validate(momentum=0.9),
     r"^mock\(\) missing 1 required keyword-only argument: 'lr'$"),
    (lambda r: optim.sgd.validate(lr=0.1, betas=(0.9, 0.99)),
     r"^sgd\(\) got an unexpected keyword argument 'betas'$"),
])
def test_validate_type_errors(call, message):
    with pytest.raises(TypeError, match=message):
        call(Recorder().make())


def test_validate_missing_several_and_var_keyword():
    @update_rule
    def two(param, grad, state, *, a, b, c, d=1):
        pass

    with pytest.raises(TypeError, match=r"^two\(\) missing 2 required keyword-only "
                                        r"arguments: 'a' and 'c'$"):
        two.validate(b=1)
    with pytest.raises(TypeError, match=r"^two\(\) missing 3 required keyword-only "
                                        r"arguments: 'a', 'b', and 'c'$"):
        two.validate()

    @update_rule()
    def loose(param, grad, state, *, lr, **extra):
        pass

    assert loose.var_keyword and loose.validate(lr=1, anything=2) == {"lr": 1, "anything": 2}


def test_update_rule_rejects_bad_definitions():
    with pytest.raises(TypeError, match=r"takes \(param, grad, state, \*, \.\.\.\); "
                                        r"bad takes 2 positional parameters"):
        @update_rule
        def bad(param, grad, *, lr):
            pass

    def check(lr):
        pass

    with pytest.raises(TypeError, match=r"^check of update rule f does not accept its "
                                        r"hyperparameters \('lr', 'momentum'\)"):
        @update_rule(check=check)
        def f(param, grad, state, *, lr, momentum=0.0):
            pass


def test_as_rule():
    assert as_rule(optim.sgd) is optim.sgd

    def plain(param, grad, state, *, lr, momentum=0.0):
        param -= lr * grad

    wrapped = as_rule(plain)
    assert isinstance(wrapped, Rule) and wrapped.update is plain and wrapped.check is None
    assert as_rule(plain) is wrapped                       # cached
    assert wrapped.defaults == {"momentum": 0.0} and wrapped.required == ("lr",)
    with pytest.raises(TypeError, match=r"^Invalid rule: expected an update rule \(a Rule or a "
                                        r"function\), got int$"):
        as_rule(3)


# --- apply: the one loop ---------------------------------------------------------------------

def test_apply_skips_none_gradients_and_passes_hyper_unchanged():
    rec = Recorder()
    mock = rec.make()
    params = [np.zeros(2), np.zeros(3), np.zeros(1)]
    grads = [np.ones(2), None, np.ones(1)]
    states = [{}, {}, {}]
    hyper = dict(lr=0.1, momentum=0.2, flag=True)
    apply(mock, params, grads, states, hyper)
    assert [(c[0] is params[i], c[1] is grads[i], c[2] is states[i])
            for c, i in zip(rec.calls, (0, 2))] == [(True, True, True)] * 2
    assert [c[3] for c in rec.calls] == [hyper, hyper]
    assert states == [{"n": 1}, {}, {"n": 1}]
    assert rec.checks == []                                # apply does not validate
    with pytest.raises(ValueError):                        # misaligned inputs
        apply(mock, params, grads[:2], states, hyper)


def test_apply_accepts_a_plain_function():
    seen = []
    apply(lambda p, g, s, **h: seen.append((p, g, h)), [1, 2], [3, 4], [{}, {}], {"lr": 5})
    assert seen == [(1, 3, {"lr": 5}), (2, 4, {"lr": 5})]


# --- wiring of the three drivers -------------------------------------------------------------

def _model(rng):
    return nn.Sequential(nn.Linear(3, 2, rng), nn.ReLU(), nn.Linear(2, 1, rng))


def test_nn_step_wiring():
    """nn.step validates once (first call, empty states), then hands every parameter, its
    gradient array and its own state dict to the rule with the hyperparameters as given."""
    rec = Recorder()
    mock = rec.make()
    model = _model(np.random.default_rng(0))
    states: list = []
    for _ in range(2):
        nn.step(model, mock, states, lr=0.1, flag=True)
    assert len(rec.checks) == 1 and rec.checks[0] == dict(lr=0.1, momentum=0.5, flag=True)
    params, grads = model.parameters(), model.grads()
    assert len(rec.calls) == 2 * len(params) == 8
    for k, (p, g, s, h) in enumerate(rec.calls):
        i = k % len(params)
        assert p is params[i] and g is grads[i] and s is states[i]
        assert h == dict(lr=0.1, momentum=0.5, flag=False) | {"flag": True}
    assert states == [{"n": 2}] * 4
    with pytest.raises(ValueError, match=r"^Invalid learning rate: -1$"):
        nn.step(model, mock, [], lr=-1)
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'nesterov'"):
        nn.step(model, mock, [], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"^states holds 1 entries but the model has 4 "
                                         r"parameters; pass \[\] at the first step$"):
        nn.step(model, mock, [{}], lr=0.1)


def test_numpy_optimizer_wiring():
    """NumpyOptimizer validates in its constructor, keeps the full hyperparameters in
    ``hyper`` (a schedule edits them) and each step is one nn.step over its states."""
    rec = Recorder()
    mock = rec.make()
    model = _model(np.random.default_rng(1))
    opt = nn.NumpyOptimizer(model, mock, lr=0.1)
    assert opt.rule is mock and opt.hyper == dict(lr=0.1, momentum=0.5, flag=False)
    assert len(rec.checks) == 1 and len(opt.states) == 4
    opt.step()
    opt.hyper["lr"] = 0.05
    opt.step()
    assert [c[3]["lr"] for c in rec.calls] == [0.1] * 4 + [0.05] * 4
    assert all(c[2] is opt.states[k % 4] for k, c in enumerate(rec.calls))
    assert len(rec.checks) == 1                              # states were not empty any more
    with pytest.raises(ValueError, match=r"^Invalid learning rate: -0\.5$"):
        nn.NumpyOptimizer(model, optim.sgd, lr=-0.5)


def test_rule_optimizer_wiring_single_tensor_and_foreach():
    """RuleOptimizer.step passes each group's hyperparameters (the rule's names only), skips
    parameters without a gradient, and with foreach=True calls init_state, then the rule once
    per bucket on TensorLists."""
    rec = Recorder()
    inits = []

    def init(param, state, **hyper):
        inits.append(hyper)
        state["n"] = torch.zeros(())

    mock = rec.make(init_state=init)

    class Mock(RuleOptimizer):
        rule = mock
        scalar_state = ()
        foreach_reads = ()

        def __init__(self, params, lr=0.1, momentum=0.5, flag=False, foreach=None):
            defaults = mock.validate(lr=lr, momentum=momentum, flag=flag)
            super().__init__(params, dict(defaults, foreach=foreach))

    a, b, c = (torch.zeros(2, requires_grad=True) for _ in range(3))
    a.grad, c.grad = torch.ones(2), torch.ones(2)
    opt = Mock([{"params": [a, b]}, {"params": [c], "lr": 0.3}], momentum=0.7)
    opt.step()
    assert [(call[0] is p, call[1] is p.grad, call[3]) for call, p in zip(rec.calls, (a, c))] \
        == [(True, True, dict(lr=0.1, momentum=0.7, flag=False)),
            (True, True, dict(lr=0.3, momentum=0.7, flag=False))]
    assert b not in opt.state and inits == []
    rec.calls.clear()
    fopt = Mock([a, c], foreach=True)
    fopt.step()
    assert len(inits) == 2 and len(rec.calls) == 1             # one bucket, one call
    params, grads, _, hyper = rec.calls[0]
    assert [t is p for t, p in zip(params.tensors, (a, c))] == [True, True]
    assert [t is p.grad for t, p in zip(grads.tensors, (a, c))] == [True, True]
    assert hyper == dict(lr=0.1, momentum=0.5, flag=False)


def test_rule_optimizer_accepts_an_undecorated_function():
    """A subclass may still name a plain function (wrapped by as_rule), staticmethod or not."""
    def plain(param, grad, state, *, lr):
        param.add_(grad, alpha=-lr)

    for rule in (plain, staticmethod(plain)):
        cls = type("Plain", (RuleOptimizer,), {"rule": rule})
        p = torch.ones(2, requires_grad=True)
        p.grad = torch.full((2,), 2.0)
        cls([p], {"lr": 0.25}).step()
        assert torch.equal(p.detach(), torch.full((2,), 0.5))


def test_rules_pickle_and_copy_by_reference():
    """A rule is immutable and pickles like a function, so worker processes and deepcopies
    of an optimizer share it."""
    import copy
    import pickle

    for rule in RULES.values():
        assert pickle.loads(pickle.dumps(rule)) is rule
        assert copy.deepcopy(rule) is rule and copy.copy(rule) is rule
    opt = optim.Adam([torch.zeros(2, requires_grad=True)], lr=0.1)
    assert type(copy.deepcopy(opt)).rule is optim.adam
