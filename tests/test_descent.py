"""course_lib.optim.descent.run, the NumPy path: every argument error and its message,
divergence (status, message, where the path stops), gradient clipping against a hand
computation, a learning-rate schedule lr(t), the result's scipy field names and the read-only
aliases of course_lib 0.1 (xs, values, steps, len), and the path-plotting functions of
course_lib.viz.plotting accepting a result.
"""

from __future__ import annotations

import math
import pickle

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.optimize  # noqa: E402

from course_lib.objectives import Quadratic  # noqa: E402
from course_lib.optim import adam, sgd  # noqa: E402
from course_lib.optim.descent import Trajectory, run  # noqa: E402
from course_lib.optim.rule import update_rule  # noqa: E402
from course_lib.result import OptimizeResult  # noqa: E402
from course_lib.second_order import OptimizeResult as SecondOrderResult  # noqa: E402
from course_lib.second_order import minimize  # noqa: E402
from course_lib.viz.plotting import (  # noqa: E402
    animate_trajectories,
    iterates,
    loss_curves,
    plot_trajectories,
    trajectory,
)


class Half:
    """f(x) = ||x||^2 / 2: gradient x, so an SGD step is x <- x - lr x."""

    dim = 2
    x0 = np.array([3.0, 4.0])
    bounds = ((-5.0, 5.0), (-5.0, 5.0))
    minimizers = [np.zeros(2)]

    def value(self, x):
        x = np.asarray(x)
        return 0.5 * np.sum(x * x, axis=-1)

    def grad(self, x):
        return np.array(x, dtype=float)


# --- errors ---------------------------------------------------------------------------------

ERRORS = [
    (lambda: run(sgd, None, np.ones(2), 3, lr=0.1), TypeError,
     r"^run\(\) needs an objective or a gradient oracle grad\(x, t\), got neither$"),
    (lambda: run(sgd, None, None, 3, grad=lambda x, t: x, lr=0.1), TypeError,
     r"^run\(\) needs x0 when objective is None$"),
    (lambda: run(sgd, Half(), grad=3, lr=0.1), TypeError,
     r"^Invalid grad: 3 \(expected a callable grad\(x, t\) or None\)$"),
    (lambda: run(3, Half(), lr=0.1), TypeError,
     r"^Invalid rule: expected an update rule \(a Rule or a function\), got int$"),
    (lambda: run(sgd, Half(), steps=-1, lr=0.1), ValueError,
     r"^Invalid steps: -1 \(expected an integer >= 0\)$"),
    (lambda: run(sgd, Half(), steps=2.5, lr=0.1), ValueError,
     r"^Invalid steps: 2\.5 \(expected an integer >= 0\)$"),
    (lambda: run(sgd, Half(), lr=0.1, max_norm=0.0), ValueError,
     r"^Invalid max_norm: 0\.0 \(expected a number > 0 or None\)$"),
    (lambda: run(sgd, Half(), lr=0.1, max_norm=float("nan")), ValueError,
     r"^Invalid max_norm: nan \(expected a number > 0 or None\)$"),
    (lambda: run(sgd, Half(), lr=0.1, max_norm="1"), TypeError,
     r"^Invalid max_norm: '1' \(expected a number > 0 or None\)$"),
    (lambda: run(sgd, Half(), lr=0.1, momentun=0.9), TypeError,
     r"^sgd\(\) got an unexpected keyword argument 'momentun'$"),
    (lambda: run(sgd, Half(), lr=-0.1), ValueError, r"^Invalid learning rate: -0\.1$"),
    (lambda: run(sgd, Half(), lr=lambda t: 0.1 if t == 0 else -1e-3), ValueError,
     None),                                                        # valid at t = 0 only ...
    (lambda: run(sgd, Half(), lr=lambda t: -0.1), ValueError,      # ... checked at lr(0)
     r"^Invalid learning rate: -0\.1$"),
    (lambda: run(adam, Half(), lr=0.1, betas=(0.9, 1.0)), ValueError,
     r"^Invalid beta parameter at index 1: 1\.0$"),
    (lambda: run(sgd, Half(), lr=0.1, nesterov=True), ValueError,
     r"^Nesterov momentum requires a momentum and zero dampening$"),
    (lambda: run(sgd, Half(), np.ones((2, 2)), lr=0.1), ValueError,
     r"^x0 must be 1-D, got shape \(2, 2\)$"),
    (lambda: run(sgd, None, np.ones(2), 3, grad=lambda x, t: np.ones(3), lr=0.1), ValueError,
     r"^the gradient at step 0 has shape \(3,\), expected \(2,\)$"),
]


@pytest.mark.parametrize("call, error, message", ERRORS, ids=range(len(ERRORS)))
def test_errors(call, error, message):
    if message is None:             # a schedule is validated at t = 0 only: no error
        assert call().nit == 100
        return
    with pytest.raises(error, match=message):
        call()


# --- divergence -----------------------------------------------------------------------------

def test_divergence_of_the_iterate_stops_before_the_overflow():
    """f = x^2/2, x0 = 1, lr = 1 + 1e100: x_t = (-1e100)^t, so x_3 = -1e300 is the last finite
    iterate and step 4 overflows (1e100 * 1e300 = inf). The gradients 1e200 and 1e300 are
    finite, though their squares overflow: the run goes on through them."""
    f = Quadratic(np.eye(1), x0=np.array([1.0]))
    with np.errstate(over="ignore"):
        res = run(sgd, f, steps=10, lr=1.0 + 1e100)
    assert res.diverged and not res.success and res.status == 3
    assert res.message == "iterate not finite after step 4"
    np.testing.assert_allclose(res.path[:, 0], [1.0, -1e100, 1e200, -1e300], rtol=1e-15)
    np.testing.assert_allclose(res.grad_norms, [1.0, 1e100, 1e200, 1e300], rtol=1e-15)
    assert res.nit == 3 and len(res) == 4 and res.njev == 4 and res.nfev == 4
    assert np.array_equal(res.x, res.path[-1])
    np.testing.assert_allclose(res.fun_path[:2], [0.5, 5e199], rtol=1e-15)
    assert np.all(np.isinf(res.fun_path[2:]))   # f(1e200) = 5e399 overflows; x itself does not


def test_gradient_norm_overflow_stops_the_run():
    big = np.full(4, 1e308)                     # finite entries, norm 2e308 > max float
    res = run(sgd, None, np.zeros(4), 5, grad=lambda x, t: np.ones(4) if t == 0 else big,
              lr=1.0)
    assert res.status == 3 and res.message == "gradient norm overflows at step 1"
    assert res.nit == 1 and res.njev == 2 and np.array_equal(res.grad_norms, [2.0])


def test_divergence_of_the_gradient_stops_where_it_appears():
    calls = []

    def oracle(x, t):
        calls.append(t)
        return np.array([np.inf, 0.0]) if t == 2 else x

    res = run(sgd, None, np.ones(2), 10, grad=oracle, lr=0.5)
    assert res.diverged and not res.success and res.status == 3
    assert res.message == "gradient not finite at step 2" and calls == [0, 1, 2]
    np.testing.assert_allclose(res.path, [[1, 1], [0.5, 0.5], [0.25, 0.25]], rtol=0)
    assert res.nit == 2 and res.njev == 3 and len(res.grad_norms) == 2
    assert res.nfev == 0 and math.isnan(res.fun)      # no objective: no values


def test_a_completed_run():
    res = run(sgd, Half(), steps=5, lr=0.1)
    assert not res.diverged and res.success and res.status == 1
    assert res.message == "completed 5 steps" and res.nit == 5 and res.nfev == res.njev + 1 == 6
    np.testing.assert_allclose(res.path, Half.x0 * 0.9 ** np.arange(6)[:, None], rtol=1e-15)
    empty = run(sgd, Half(), steps=0, lr=0.1)
    assert empty.nit == 0 and empty.message == "completed 0 steps" and empty.steps.shape == (0, 2)


# --- clipping -------------------------------------------------------------------------------

def test_clipping_against_a_hand_computation():
    """max_norm = 1 on ||x||^2/2 from (3, 4), lr = 0.5: while ||x|| > 1 the clipped step is
    0.5 x/||x||, so the norm drops by exactly 0.5 per step along the ray of (3, 4): 5, 4.5,
    4, ..., 1.0, then unclipped steps halve it."""
    res = run(sgd, Half(), steps=12, lr=0.5, max_norm=1.0)
    direction = np.array([0.6, 0.8])
    norms = [5.0 - 0.5 * k for k in range(9)]                 # 5.0 ... 1.0 (clipped steps)
    norms += [norms[-1] * 0.5 ** k for k in range(1, 5)]      # ||g|| <= 1: g = x, x <- x / 2
    np.testing.assert_allclose(res.path, np.outer(norms, direction), rtol=1e-14, atol=0)
    np.testing.assert_allclose(res.grad_norms, norms[:-1], rtol=1e-14)  # before clipping
    unclipped = run(sgd, Half(), steps=12, lr=0.5)
    loose = run(sgd, Half(), steps=12, lr=0.5, max_norm=5.0)  # never exceeded: no effect
    assert np.array_equal(loose.path, unclipped.path)


# --- schedules ------------------------------------------------------------------------------

def test_schedule_is_evaluated_at_each_step():
    seen = []

    @update_rule
    def record(param, grad, state, *, lr):
        seen.append(lr)
        param -= lr * grad

    schedule = lambda t: 1.0 / (t + 2)  # noqa: E731
    res = run(record, Half(), steps=4, lr=schedule)
    assert seen == [0.5, 1 / 3, 0.25, 0.2]
    expected = Half.x0 * np.cumprod([1.0] + [1 - s for s in seen])[:, None]
    np.testing.assert_allclose(res.path, expected, rtol=1e-15)
    assert res.hyperparameters == {"lr": schedule}            # the schedule itself is recorded


def test_state_persists_and_hyperparameters_are_complete():
    res = run(sgd, Half(), steps=3, lr=0.1, momentum=0.9)
    assert res.hyperparameters == dict(sgd.defaults, lr=0.1, momentum=0.9)
    assert res.method == "sgd"
    x, b = Half.x0.copy(), None       # heavy ball by hand: b = 0.9 b + g, x <- x - 0.1 b
    for _ in range(3):
        b = x.copy() if b is None else 0.9 * b + x
        x = x - 0.1 * b
    np.testing.assert_allclose(res.x, x, rtol=1e-14)


# --- the result: scipy's vocabulary, 0.1's aliases ------------------------------------------

SCIPY_FIELDS = {"x", "fun", "nit", "nfev", "njev", "status", "message", "success"}


def test_result_uses_scipy_field_names():
    res = run(sgd, Half(), steps=3, lr=0.1)
    assert isinstance(res, Trajectory) and isinstance(res, OptimizeResult)
    assert isinstance(res, SecondOrderResult) and isinstance(res, scipy.optimize.OptimizeResult)
    assert SecondOrderResult is OptimizeResult
    assert set(res) == SCIPY_FIELDS | {"path", "fun_path", "grad_norms", "diverged",
                                       "hyperparameters", "method"}
    theirs = scipy.optimize.minimize(Half().value, Half.x0, jac=Half().grad, method="BFGS")
    assert SCIPY_FIELDS <= set(theirs)                        # the same names scipy uses
    ours = minimize(Half().value, Half.x0, jac=Half().grad, method="gd")
    assert SCIPY_FIELDS | {"path", "fun_path"} <= set(ours)   # ... and minimize
    assert res.fun == res.fun_path[-1] and np.array_equal(res.x, res.path[-1])
    assert res.path.shape == (4, 2) and res.fun_path.shape == (4,)
    assert "message: completed 3 steps" in repr(res)          # scipy's repr works
    back = pickle.loads(pickle.dumps(res))
    assert isinstance(back, Trajectory) and np.array_equal(back.xs, res.xs)


def test_aliases_are_read_only():
    res = run(sgd, Half(), steps=3, lr=0.1)
    assert res.xs is res.path and res.values is res.fun_path and len(res) == 4
    assert np.array_equal(res.steps, np.diff(res.path, axis=0))
    assert list(dict.values(res))[0] is res.x                 # the mapping view is still there
    for name in ("xs", "values", "steps"):
        with pytest.raises(AttributeError, match=rf"^Trajectory\.{name} is a read-only alias"):
            setattr(res, name, None)
    res.note = "fields stay writable"                         # scipy's attribute -> key
    assert res["note"] == "fields stay writable"
    assert {"xs", "values", "steps", "path"} <= set(dir(res))


# --- plotting accepts a result --------------------------------------------------------------

def test_plotting_accepts_results():
    res = run(sgd, Half(), steps=5, lr=0.1)
    ours = minimize(Half().value, Half.x0, jac=Half().grad, method="gd", maxiter=5)
    assert np.array_equal(iterates(res), res.path) and np.array_equal(iterates(ours), ours.path)
    assert np.array_equal(iterates(res.path.tolist()), res.path)

    class Old:                                                # anything with xs
        xs = res.path

    assert np.array_equal(iterates(Old()), res.path)
    fig, ax = plt.subplots()
    try:
        line = trajectory(ax, res)
        assert np.array_equal(np.column_stack(line.get_data()), res.path)
        plot_trajectories(Half(), {"run": res, "minimize": ours}, ax=ax, resolution=20)
        loss_curves({"run": res}, ax=ax)
        assert np.array_equal(ax.get_lines()[-1].get_ydata(), res.fun_path)
        anim = animate_trajectories(Half(), {"run": res, "minimize": ours}, frames=3,
                                    resolution=20)
        assert anim is not None
    finally:
        plt.close("all")
