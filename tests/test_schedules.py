"""course_lib.schedules against torch.optim.lr_scheduler (torch 2.13), closed forms and ERRATA.

Every torch comparison drives a real ``torch.optim.SGD`` with torch's scheduler in the usual
loop (``optimizer.step(); scheduler.step()``) and reads ``param_groups[i]["lr"]`` before each
optimizer step: that is the rate the step uses, and our ``schedule(t)`` must equal it at every
one of ``STEPS`` steps.
"""

import math
import pickle

import numpy as np
import pytest
import scheduler_reference
import torch
from torch.optim import lr_scheduler as tls

from course_lib.objectives import Quadratic
from course_lib.optim import SGD, sgd
from course_lib.optim.descent import run
from course_lib.schedules import (
    EarlyStopping,
    ReduceLROnPlateau,
    Schedule,
    ScheduledLR,
    constant,
    cosine_annealing,
    cosine_warm_restarts,
    cyclic,
    exponential_decay,
    linear_decay,
    linear_warmup,
    multistep_decay,
    piecewise_linear,
    step_decay,
)

STEPS = 600
# Torch's schedulers are recursive (lr <- lr * factor) and ours closed forms: they agree to
# accumulated rounding, measured at most ~1.3e-13 relative over 600 steps.
RTOL = 1e-12
ATOL = 1e-15  # for exact zeros (cosine at T_max with lr_min = 0)


def torch_lrs(make, lrs=(0.1,), steps=STEPS):
    """torch's rates for ``steps`` steps (scheduler_reference.torch_lrs)."""
    return scheduler_reference.torch_lrs(make, lrs, steps)


def ours(schedule, steps=STEPS):
    return np.array([schedule(t) for t in range(steps)])


def assert_matches(schedule, make, lr=0.1):
    expected = torch_lrs(make, (lr,))[:, 0]
    np.testing.assert_allclose(ours(schedule), expected, rtol=RTOL, atol=ATOL)
    return expected


# ------------------------------------------------------------------------------------------
# Each schedule against its torch scheduler, at every one of 600 steps
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lr, step_size, gamma", [(0.1, 30, 0.1), (0.5, 7, 0.5), (1.0, 1, 0.99)])
def test_step_decay_equals_StepLR(lr, step_size, gamma):
    lrs = assert_matches(step_decay(lr, step_size, gamma),
                         lambda o: tls.StepLR(o, step_size=step_size, gamma=gamma), lr)
    assert lrs[step_size - 1] == lr and lrs[step_size] == pytest.approx(lr * gamma, rel=1e-15)


@pytest.mark.parametrize("milestones, gamma", [([30, 80, 250, 400], 0.3), ([0, 5, 6, 599], 0.5)])
def test_multistep_decay_equals_MultiStepLR(milestones, gamma):
    assert_matches(multistep_decay(0.1, milestones, gamma),
                   lambda o: tls.MultiStepLR(o, milestones=milestones, gamma=gamma))


@pytest.mark.parametrize("gamma", [0.99, 0.995, 1.01])
def test_exponential_decay_equals_ExponentialLR(gamma):
    assert_matches(exponential_decay(0.1, gamma), lambda o: tls.ExponentialLR(o, gamma=gamma))


CYCLIC = [
    dict(base_lr=0.01, max_lr=0.1, step_size_up=20),
    dict(base_lr=0.01, max_lr=0.1, step_size_up=15, step_size_down=45),
    dict(base_lr=0.01, max_lr=0.1, step_size_up=25, mode="triangular2"),
    dict(base_lr=0.001, max_lr=0.1, step_size_up=10, step_size_down=30, mode="triangular2"),
    dict(base_lr=0.01, max_lr=0.1, step_size_up=20, mode="exp_range", gamma=0.995),
    dict(base_lr=0.02, max_lr=0.2, step_size_up=7, step_size_down=3, mode="exp_range",
         gamma=0.999),
]


@pytest.mark.parametrize("kw", CYCLIC, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_cyclic_equals_CyclicLR(kw):
    lrs = assert_matches(cyclic(**kw), lambda o: tls.CyclicLR(o, **kw, cycle_momentum=False))
    assert lrs[0] == kw["base_lr"]
    up = kw["step_size_up"]
    scale = kw["gamma"] ** up if kw.get("mode") == "exp_range" else 1.0  # first peak at t = up
    peak = kw["base_lr"] + (kw["max_lr"] - kw["base_lr"]) * scale
    assert lrs[up] == pytest.approx(peak, rel=1e-12) and lrs.max() == pytest.approx(peak, rel=1e-12)


# T_max below the number of steps (7, 50, 150) exercises torch's behaviour past T_max: it
# climbs back along the cosine (period 2 T_max); T_max = 600 covers one descent exactly.
@pytest.mark.parametrize("T_max, lr_min", [(7, 0.0), (50, 0.0), (50, 0.01), (150, 0.001),
                                          (600, 0.0), (600, 0.001)])
def test_cosine_annealing_equals_CosineAnnealingLR(T_max, lr_min):
    lrs = assert_matches(cosine_annealing(0.1, T_max, lr_min),
                         lambda o: tls.CosineAnnealingLR(o, T_max=T_max, eta_min=lr_min))
    if T_max < STEPS:
        assert lrs[T_max] == pytest.approx(lr_min, abs=1e-15)
    if 2 * T_max < STEPS:  # back at the top after a full period
        assert lrs[2 * T_max] == pytest.approx(0.1, rel=1e-12)


@pytest.mark.parametrize("T_0, T_mult, lr_min", [(10, 1, 0.0), (37, 1, 0.001), (5, 2, 0.0),
                                                (3, 3, 0.002), (1, 2, 0.0), (1, 10, 0.0)])
def test_cosine_warm_restarts_equals_CosineAnnealingWarmRestarts(T_0, T_mult, lr_min):
    lrs = assert_matches(cosine_warm_restarts(0.1, T_0, T_mult, lr_min),
                         lambda o: tls.CosineAnnealingWarmRestarts(o, T_0=T_0, T_mult=T_mult,
                                                                   eta_min=lr_min))
    restarts, T_i, t = [], T_0, T_0
    while t < STEPS:
        restarts.append(t)
        T_i *= T_mult
        t += T_i
    assert all(lrs[r] == 0.1 for r in restarts)


def test_cosine_warm_restarts_finds_restarts_exactly():
    s = cosine_warm_restarts(0.1, 1, 10)  # restarts at 1, 11, 111, 1111 (math.log(1000, 10) < 3)
    assert [s(t) for t in (0, 1, 11, 111, 1111)] == [0.1] * 5
    assert s(110) == pytest.approx(0.05 * (1 + math.cos(math.pi * 99 / 100)), rel=1e-15)


def test_reduce_on_plateau_relative_threshold_with_negative_metric_like_torch():
    # In min mode a negative best b has b (1 - threshold) > b: worse values count as better.
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    theirs, mine = tls.ReduceLROnPlateau(opt, patience=0), ReduceLROnPlateau(0.1, patience=0)
    for m in [-1.0, -0.99995, -0.9999]:
        opt.step()
        theirs.step(m)
        mine.step(m)
        assert mine.best == theirs.best == m and mine.num_bad_epochs == theirs.num_bad_epochs == 0
    assert mine.lr == opt.param_groups[0]["lr"] == 0.1
    absolute = ReduceLROnPlateau(0.1, patience=0, threshold_mode="abs")
    assert [absolute.step(m) for m in [-1.0, -0.99995, -0.9999]] == pytest.approx([0.1, 0.01, 0.001])


@pytest.mark.parametrize("W, start_factor", [(20, 0.1), (1, 0.5), (100, 1e-3), (600, 0.25)])
def test_linear_warmup_of_constant_equals_LinearLR(W, start_factor):
    for shift in (True, False):
        assert_matches(linear_warmup(constant(0.1), W, start_factor, shift=shift),
                       lambda o: tls.LinearLR(o, start_factor=start_factor, total_iters=W))


def test_linear_warmup_then_cosine_equals_SequentialLR():
    W, T = 50, 200

    def make(o):
        return tls.SequentialLR(o, [tls.LinearLR(o, start_factor=0.01, total_iters=W),
                                    tls.CosineAnnealingLR(o, T_max=T, eta_min=0.001)],
                                milestones=[W])

    lrs = assert_matches(linear_warmup(cosine_annealing(0.1, T, 0.001), W, 0.01), make)
    assert lrs[W] == 0.1 and lrs[W + T] == pytest.approx(0.001, rel=1e-12)


def test_linear_warmup_then_step_decay_equals_SequentialLR():
    def make(o):
        return tls.SequentialLR(o, [tls.LinearLR(o, start_factor=0.2, total_iters=30),
                                    tls.StepLR(o, step_size=100, gamma=0.5)], milestones=[30])

    assert_matches(linear_warmup(step_decay(0.1, 100, 0.5), 30, 0.2), make)


def test_multiplied_warmup_equals_ChainedScheduler():
    def make(o):
        return tls.ChainedScheduler([tls.LinearLR(o, start_factor=0.05, total_iters=40),
                                     tls.ExponentialLR(o, gamma=0.995)])

    assert_matches(linear_warmup(exponential_decay(0.1, 0.995), 40, 0.05, shift=False), make)


def test_linear_decay_equals_LinearLR_and_closed_form():
    s = linear_decay(0.1, 0.001, 100)
    assert_matches(s, lambda o: tls.LinearLR(o, start_factor=1.0, end_factor=0.01,
                                             total_iters=100))
    t = np.arange(STEPS)
    np.testing.assert_allclose(ours(s), 0.1 + (0.001 - 0.1) * np.minimum(t, 100) / 100,
                               rtol=1e-15)
    assert s(0) == 0.1 and s(100) == 0.001 and s(10**6) == 0.001
    up = linear_decay(0.0, 0.5, 4)  # increasing is fine (no torch LinearLR equivalent)
    assert [up(t) for t in range(6)] == [0.0, 0.125, 0.25, 0.375, 0.5, 0.5]


def test_piecewise_linear_is_numpy_interp():
    points = [(10, 0.0), (50, 0.1), (300, 0.1), (450, 0.001), (451, 0.0005)]
    s = piecewise_linear(points)
    t = np.arange(STEPS)
    expected = np.interp(t, [p[0] for p in points], [p[1] for p in points])
    np.testing.assert_allclose(ours(s), expected, rtol=1e-14, atol=1e-17)
    assert s(0) == 0.0 and s(10) == 0.0 and s(30) == pytest.approx(0.05, rel=1e-15)
    assert s(10**6) == 0.0005 and piecewise_linear([(5, 0.3)])(0) == 0.3
    assert s(30.5) == pytest.approx(np.interp(30.5, [10, 50], [0.0, 0.1]), rel=1e-15)


def test_constant():
    s = constant(0.03)
    assert all(s(t) == 0.03 for t in range(STEPS))
    assert_matches(s, lambda o: tls.LambdaLR(o, lambda t: 1.0), lr=0.03)


# ------------------------------------------------------------------------------------------
# ReduceLROnPlateau: same metric sequence into ours and torch's
# ------------------------------------------------------------------------------------------

def plateau_metrics(n=STEPS, seed=0):
    """A loss that decreases in bursts separated by plateaus (with noise and a few spikes)."""
    rng = np.random.default_rng(seed)
    level, out = 1.0, []
    while len(out) < n:
        burst = rng.integers(3, 15)
        plateau = rng.integers(2, 25)
        out += list(level * np.exp(-0.05 * np.arange(burst)))
        level = out[-1]
        out += list(level * (1 + 1e-5 * rng.standard_normal(plateau)))
    out = np.array(out[:n])
    out[rng.integers(0, n, 10)] *= 1.5  # spikes
    return out


PLATEAU = [
    dict(),
    dict(patience=0),
    dict(patience=3, cooldown=2, factor=0.5),
    dict(patience=2, threshold=1e-3, threshold_mode="abs", factor=0.7, min_lr=1e-4),
    dict(patience=5, threshold=0.0, cooldown=5, factor=0.3, eps=1e-3),
    dict(mode="max", patience=4, factor=0.5),
    dict(mode="max", patience=1, threshold_mode="abs", threshold=1e-4, min_lr=0.01, factor=0.8),
]


@pytest.mark.parametrize("kw", PLATEAU, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()) or "defaults")
def test_reduce_on_plateau_equals_torch(kw):
    metrics = plateau_metrics()
    if kw.get("mode") == "max":
        metrics = -np.log(metrics)  # an accuracy-like quantity that increases
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    theirs = tls.ReduceLROnPlateau(opt, **kw)
    mine = ReduceLROnPlateau(0.1, **kw)
    expected, got = [], []
    for m in metrics:
        opt.step()
        theirs.step(m)
        expected.append(opt.param_groups[0]["lr"])
        got.append(mine.step(m))
        assert (mine.num_bad_epochs, mine.cooldown_counter, mine.best) == (
            theirs.num_bad_epochs, theirs.cooldown_counter, theirs.best)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=0)
    assert len(set(expected)) >= 3, "the test sequence must trigger several reductions"


def test_reduce_on_plateau_per_group_min_lr():
    metrics = plateau_metrics(seed=1)
    ps = [torch.zeros(1, requires_grad=True) for _ in range(2)]
    opt = torch.optim.SGD([dict(params=[ps[0]], lr=0.1), dict(params=[ps[1]], lr=0.05)])
    kw = dict(patience=2, factor=0.5, min_lr=[1e-3, 2e-3])
    theirs = tls.ReduceLROnPlateau(opt, **kw)
    mine = ReduceLROnPlateau([0.1, 0.05], **kw)
    for m in metrics:
        opt.step()
        theirs.step(m)
        assert mine.step(m) == pytest.approx([g["lr"] for g in opt.param_groups], rel=RTOL)
    assert mine.lr == [1e-3, 2e-3]


def test_reduce_on_plateau_drives_torch_optimizer_through_bridge():
    metrics = plateau_metrics(seed=2)
    p = torch.zeros(1, requires_grad=True)
    opt_ref, opt = torch.optim.SGD([p], lr=0.1), torch.optim.SGD([p.detach().clone()], lr=0.1)
    reference = tls.ReduceLROnPlateau(opt_ref, patience=3)
    plateau = ReduceLROnPlateau(0.1, patience=3)
    bridge = ScheduledLR(opt, plateau)
    for m in metrics:
        opt_ref.step()
        opt.step()
        reference.step(m)
        plateau.step(m)
        bridge.step()
        assert opt.param_groups[0]["lr"] == opt_ref.param_groups[0]["lr"]


# ------------------------------------------------------------------------------------------
# The bridge: any torch optimizer driven by a schedule, identical to torch's scheduler
# ------------------------------------------------------------------------------------------

def small_problem(seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(64, 5, generator=gen)
    y = torch.randn(64, 1, generator=gen)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    return X, y, net


def train(net, opt, scheduler, X, y, steps):
    lrs = []
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(X), y).backward()
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.step()
        scheduler.step()
    return lrs


@pytest.mark.parametrize("opt_cls", [torch.optim.SGD, SGD])
def test_bridge_drives_optimizer_like_torch_scheduler(opt_cls):
    X, y, net = small_problem()
    net2 = small_problem()[2]
    net2.load_state_dict(net.state_dict())
    steps = 500

    def groups(n):
        return [dict(params=n[0].parameters(), lr=0.05), dict(params=n[2].parameters(), lr=0.02)]

    opt_ref = opt_cls(groups(net), momentum=0.9)
    ref = tls.StepLR(opt_ref, step_size=100, gamma=0.5)  # each group from its own initial lr
    opt = opt_cls(groups(net2), momentum=0.9)
    ours_sched = ScheduledLR(opt, [step_decay(0.05, 100, 0.5), step_decay(0.02, 100, 0.5)])
    lrs_ref = train(net, opt_ref, ref, X, y, steps)
    lrs = train(net2, opt, ours_sched, X, y, steps)
    np.testing.assert_allclose(lrs, lrs_ref, rtol=RTOL)
    for a, b in zip(net2.parameters(), net.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    assert ours_sched.get_last_lr() == pytest.approx(ref.get_last_lr(), rel=RTOL)
    assert ours_sched.last_epoch == steps


def test_bridge_cosine_one_schedule_for_all_groups_and_state_dict():
    X, y, net = small_problem()
    opt = torch.optim.SGD([dict(params=net[0].parameters()), dict(params=net[2].parameters())],
                          lr=123.0)  # overwritten by the schedule
    s = cosine_annealing(0.05, 40, 0.001)
    sched = ScheduledLR(opt, s)
    assert [g["lr"] for g in opt.param_groups] == [s(0), s(0)]
    lrs = train(net, opt, sched, X, y, 25)
    assert [r[0] for r in lrs] == [s(t) for t in range(25)]
    state = pickle.loads(pickle.dumps(sched.state_dict()))
    opt2 = torch.optim.SGD([dict(params=net[0].parameters()), dict(params=net[2].parameters())],
                           lr=0.0)
    resumed = ScheduledLR(opt2, constant(0.0))
    resumed.load_state_dict(state)
    resumed.step()
    sched.step()
    assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups] == [s(26)] * 2


def test_bridge_rejects_wrong_number_of_schedules():
    p = [torch.zeros(1, requires_grad=True)]
    opt = torch.optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match=r"^Invalid schedule: list of 2 schedules"):
        ScheduledLR(opt, [constant(0.1), constant(0.2)])
    with pytest.raises(ValueError, match=r"^Invalid schedule: 0\.1 "):
        ScheduledLR(opt, 0.1)


def test_schedule_in_numpy_descent_run():
    """course_lib.optim.descent.run evaluates the schedule at t = 0, 1, ... like the bridge."""
    q = Quadratic.with_condition(4, 10.0, rng=np.random.default_rng(0), x0=np.ones(4))
    s = linear_warmup(cosine_annealing(0.1, 80, 0.001), 20, 0.1)
    traj = run(sgd, q, steps=100, lr=s, momentum=0.9)
    x, b = q.x0.copy(), None
    for t in range(100):
        g = q.A @ x
        b = g if b is None else 0.9 * b + g
        x = x - s(t) * b
    np.testing.assert_allclose(traj.x, x, rtol=1e-12, atol=1e-15)
    x = torch.tensor(q.x0, requires_grad=True)
    opt = SGD([x], lr=0.0, momentum=0.9)
    sched = ScheduledLR(opt, s)
    for _ in range(100):
        opt.zero_grad()
        (0.5 * x @ torch.tensor(q.A) @ x).backward()
        opt.step()
        sched.step()
    np.testing.assert_allclose(traj.x, x.detach().numpy(), rtol=1e-12, atol=1e-15)


def test_schedules_pickle_and_print():
    s = linear_warmup(multistep_decay(0.1, [30, 60]), 5)
    s2 = pickle.loads(pickle.dumps(s))
    assert [s2(t) for t in range(100)] == [s(t) for t in range(100)]
    assert repr(step_decay(0.1, 30)) == "step_decay(lr=0.1, step_size=30, gamma=0.1)"
    assert isinstance(s, Schedule) and isinstance(s(np.int64(3)), float)


# ------------------------------------------------------------------------------------------
# ERRATA 7, 8, 35 (numerical demonstration 11)
# ------------------------------------------------------------------------------------------

def test_errata_7_step_decay_is_not_per_step_decay():
    eta = 0.1
    assert step_decay(eta, 10, 0.1)(30) == pytest.approx(1e-3 * eta, rel=1e-12)
    assert exponential_decay(eta, 0.1)(30) == pytest.approx(1e-30 * eta, rel=1e-12)  # 000's rule


def test_errata_35_linear_decay_with_constant_tail_has_divergent_sum_of_squares():
    # GBC's eps_k, k >= 1 (eps_0 = 0.1 is the initial rate): sum_{k=1}^K eps_k^2.
    s = linear_decay(0.1, 0.001, 100)
    sq = np.array([s(k) ** 2 for k in range(1, 10**5 + 1)])
    partial = np.cumsum(sq)
    assert [round(partial[K - 1], 4) for K in (10**3, 10**4, 10**5)] == [0.3326, 0.3416, 0.4316]
    # ... grows by 1e-6 per step forever, while 0.1/k converges to 0.01 pi^2/6:
    assert partial[-1] - partial[-2] == pytest.approx(1e-6, rel=1e-9)
    k = np.arange(1, 10**6 + 1)
    assert np.sum((0.1 / k) ** 2) == pytest.approx(0.01 * math.pi**2 / 6, abs=1e-5)
    assert round(0.01 * math.pi**2 / 6, 7) == 0.0164493


def _seed_000_piecewise(start, end, epoch, total_epochs):
    """The seed document 000's piecewise code, verbatim (reindented)."""
    const_epochs = int(0.2 * total_epochs)
    decay_epochs = int(0.6 * total_epochs)
    if epoch < const_epochs:
        return start
    elif epoch < const_epochs + decay_epochs:
        return start - (start - end) * (epoch - const_epochs) / decay_epochs
    else:
        return end


def _seed_000_cyclic(start, end, cycle_length, epoch, total_epochs):
    """The seed document 000's "cyclic" code, verbatim."""
    return start - (start - end) * (epoch % cycle_length) / cycle_length


def test_errata_8_seed_cyclic_and_piecewise_code():
    etas = [_seed_000_cyclic(1, 0.1, 20, i + 1, 100) for i in range(100)]
    assert min(etas) == pytest.approx(0.145, abs=1e-12)        # not 0.1 as documented
    assert max(etas) == 1 and etas[18:21] == pytest.approx([0.145, 1.0, 0.955])  # a jump back up
    # Smith's triangular CLR is continuous and reaches both bounds:
    clr = [cyclic(0.1, 1.0, 10)(t) for t in range(100)]
    assert min(clr) == pytest.approx(0.1) and max(clr) == pytest.approx(1.0)
    assert max(abs(a - b) for a, b in zip(clr, clr[1:])) == pytest.approx(0.09)
    # The piecewise code holds the final value for 21 epochs (80..100), not 20; it is
    # piecewise_linear([(20, 1), (80, 0.01)]) evaluated at epochs 1..100.
    seed = [_seed_000_piecewise(1, 0.01, i + 1, 100) for i in range(100)]
    pw = piecewise_linear([(20, 1.0), (80, 0.01)])
    assert seed == pytest.approx([pw(i + 1) for i in range(100)], rel=1e-14)
    assert sum(e == 0.01 for e in seed) == 21 and sum(e == 1 for e in seed) == 20


# ------------------------------------------------------------------------------------------
# EarlyStopping
# ------------------------------------------------------------------------------------------

def test_early_stopping_on_a_synthetic_validation_curve():
    t = np.arange(200)
    rng = np.random.default_rng(0)
    val = (t - 60.0) ** 2 / 3600 + 0.5 + 0.01 * rng.standard_normal(200)  # U-shaped, noisy
    params = {"w": np.zeros(3), "b": np.zeros(1)}
    stopper = EarlyStopping(patience=15)
    for step, v in enumerate(val):
        params["w"][:] = step  # the "training" changes the parameters every step
        params["b"][:] = -step
        if stopper.step(v, params):
            break
    best = int(np.argmin(val[:step + 1]))
    assert stopper.best_step == best and stopper.best_value == val[best]
    assert step == best + 15 and stopper.should_stop and 40 < best < 80
    assert np.all(stopper.best_params["w"] == best)  # a copy, not a view of params
    stopper.restore(params)
    assert np.all(params["w"] == best) and np.all(params["b"] == -best)


def test_early_stopping_patience_min_delta_and_max_mode():
    s = EarlyStopping(patience=0)
    assert not s.step(1.0) and s.step(1.0) and s.best_step == 0  # patience 0: first non-improvement
    s = EarlyStopping(patience=2, min_delta=0.1)
    assert [s.step(v) for v in [1.0, 0.95, 0.85, 0.8, 0.79]] == [False, False, False, False, True]
    assert s.best_step == 2 and s.best_value == 0.85
    s = EarlyStopping(patience=1, mode="max")
    assert [s.step(v) for v in [0.5, 0.6, 0.6, 0.7]] == [False, False, True, False]
    assert s.best_step == 3
    s = EarlyStopping(patience=2)
    assert [s.step(v) for v in [float("nan"), 1.0, float("nan"), float("nan")]] == [False, False, False, True]
    with pytest.raises(RuntimeError, match="no parameters"):
        s.restore({})


def test_early_stopping_restores_a_torch_model_with_batchnorm():
    gen = torch.Generator().manual_seed(0)
    w_true = torch.randn(10, 1, generator=gen)
    X_tr, X_va = torch.randn(20, 10, generator=gen), torch.randn(200, 10, generator=gen)
    y_tr = X_tr @ w_true + 1.0 * torch.randn(20, 1, generator=gen)  # few noisy examples
    y_va = X_va @ w_true
    model = torch.nn.Sequential(torch.nn.Linear(10, 64), torch.nn.BatchNorm1d(64),
                                torch.nn.Tanh(), torch.nn.Linear(64, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    stopper, snapshots = EarlyStopping(patience=20), []
    for epoch in range(400):  # noqa: B007 - the loop variable is read after the loop
        model.train()
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(X_tr), y_tr).backward()
        opt.step()
        model.eval()
        with torch.no_grad():
            val = torch.nn.functional.mse_loss(model(X_va), y_va).item()
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        if stopper.step(val, model):
            break
    best = int(np.argmin(stopper.history))
    assert stopper.best_step == best and stopper.should_stop and epoch == best + 20
    # the validation loss really went down (11.6 -> 1.24 at epoch 8) and then up (1.94)
    assert best >= 5 and stopper.history[-1] > 1.2 * stopper.best_value
    before = model.state_dict()
    assert not torch.equal(before["0.weight"], snapshots[best]["0.weight"])
    stopper.restore(model)
    for k, v in model.state_dict().items():  # weights and BatchNorm buffers
        assert torch.equal(v, snapshots[best][k]), k
    # list-of-parameters form
    stopper2 = EarlyStopping(patience=1)
    params = list(model.parameters())
    stopper2.step(1.0, params)
    with torch.no_grad():
        params[0].add_(1.0)
    stopper2.step(2.0, params)
    stopper2.restore(params)
    assert torch.equal(params[0], snapshots[best]["0.weight"])


# ------------------------------------------------------------------------------------------
# Invalid arguments
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: constant(-0.1), r"^Invalid lr: -0\.1 \(expected a finite number >= 0\)$"),
        (lambda: step_decay(0.1, 0), r"^Invalid step_size: 0 \(expected a positive integer\)$"),
        (lambda: step_decay(0.1, 2.5), r"^Invalid step_size: 2\.5 "),
        (lambda: step_decay(0.1, 10, gamma=-1), r"^Invalid gamma: -1 \(expected a finite number > 0\)$"),
        (lambda: multistep_decay(0.1, [30, 10]), r"^Invalid milestones: \[30, 10\] \(expected strictly increasing"),
        (lambda: multistep_decay(0.1, [-1, 10]), r"^Invalid milestones: \[-1, 10\] "),
        (lambda: exponential_decay(0.1, 0.0), r"^Invalid gamma: 0\.0 "),
        (lambda: linear_decay(0.1, -0.01, 10), r"^Invalid lr_end: -0\.01 "),
        (lambda: linear_decay(0.1, 0.01, 0), r"^Invalid total_steps: 0 "),
        (lambda: piecewise_linear([]), r"^Invalid points: \[\] "),
        (lambda: piecewise_linear([(10, 0.1), (5, 0.2)]), r"^Invalid points: .*strictly increasing"),
        (lambda: piecewise_linear([(0, 0.1), (5, -0.2)]), r"^Invalid points: .*>= 0\)$"),
        (lambda: cyclic(0.1, 1.0, 0), r"^Invalid step_size_up: 0 "),
        (lambda: cyclic(0.1, 1.0, 10, step_size_down=-5), r"^Invalid step_size_down: -5 "),
        (lambda: cyclic(0.1, 1.0, 10, mode="triangle"), r"^Invalid mode: 'triangle' \(expected one of 'triangular', 'triangular2', 'exp_range'\)$"),
        (lambda: cyclic(-0.1, 1.0, 10), r"^Invalid base_lr: -0\.1 "),
        (lambda: cosine_annealing(0.1, 0), r"^Invalid T_max: 0 "),
        (lambda: cosine_annealing(0.1, 10, lr_min=-1e-3), r"^Invalid lr_min: -0\.001 "),
        (lambda: cosine_warm_restarts(0.1, 0), r"^Invalid T_0: 0 "),
        (lambda: cosine_warm_restarts(0.1, 10, T_mult=0), r"^Invalid T_mult: 0 \(expected a positive integer\)$"),
        (lambda: cosine_warm_restarts(0.1, 10, T_mult=1.5), r"^Invalid T_mult: 1\.5 "),
        (lambda: linear_warmup(constant(0.1), -1), r"^Invalid warmup_steps: -1 \(expected an integer >= 0\)$"),
        (lambda: linear_warmup(constant(0.1), 10, start_factor=1.5), r"^Invalid start_factor: 1\.5 \(expected a number in \[0, 1\]\)$"),
        (lambda: linear_warmup(0.1, 10), r"^Invalid schedule: 0\.1 "),
        (lambda: constant(0.1)(-1), r"^Invalid step: -1 \(expected a number >= 0\)$"),
        (lambda: ReduceLROnPlateau(0.1, factor=1.0), r"^Invalid factor: 1\.0 \(expected a number in \[0, 1\)\)$"),
        (lambda: ReduceLROnPlateau(0.1, mode="minimum"), r"^Invalid mode: 'minimum' "),
        (lambda: ReduceLROnPlateau(0.1, threshold_mode="relative"), r"^Invalid threshold_mode: 'relative' "),
        (lambda: ReduceLROnPlateau(0.1, patience=-1), r"^Invalid patience: -1 \(expected an integer >= 0\)$"),
        (lambda: ReduceLROnPlateau(0.1, cooldown=-2), r"^Invalid cooldown: -2 "),
        (lambda: ReduceLROnPlateau([0.1, 0.2], min_lr=[0.0]), r"^Invalid min_lr: \[0\.0\] \(expected a number or a list of 2 numbers\)$"),
        (lambda: ReduceLROnPlateau(0.1, eps=-1.0), r"^Invalid eps: -1\.0 "),
        (lambda: EarlyStopping(patience=-3), r"^Invalid patience: -3 "),
        (lambda: EarlyStopping(mode="low"), r"^Invalid mode: 'low' "),
        (lambda: EarlyStopping(min_delta=-0.1), r"^Invalid min_delta: -0\.1 "),
    ],
)
def test_invalid_arguments_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# ------------------------------------------------------------------------------------------
# One-cycle, polynomial, constant-factor, lambda, multiplicative, chained, SWA and
# inverse-square-root schedules: each against torch at every step (rtol 1e-12)
# ------------------------------------------------------------------------------------------

from torch.optim import swa_utils  # noqa: E402

from course_lib.schedules import (  # noqa: E402
    chained,
    constant_factor,
    inverse_sqrt_warmup,
    lambda_schedule,
    multiplicative,
    one_cycle,
    one_cycle_momentum,
    polynomial_decay,
    swa_schedule,
)


def torch_one_cycle(total_steps, momentum_key="momentum", **kw):
    """lr and momentum during each of the total_steps + 1 steps torch's OneCycleLR allows."""
    p = torch.zeros(1, requires_grad=True)
    if momentum_key == "momentum":
        opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    else:
        opt = torch.optim.Adam([p], lr=0.1)
    scheduler = tls.OneCycleLR(opt, total_steps=total_steps, **kw)
    lrs, moms = [], []
    for t in range(total_steps + 1):
        group = opt.param_groups[0]
        lrs.append(group["lr"])
        moms.append(group["momentum"] if momentum_key == "momentum" else group["betas"][0])
        if t < total_steps:
            opt.step()
            scheduler.step()
    return np.array(lrs), np.array(moms)


ONE_CYCLE = [
    dict(total_steps=600, max_lr=0.1),
    dict(total_steps=600, max_lr=0.1, anneal_strategy="linear"),
    dict(total_steps=600, max_lr=0.1, three_phase=True),
    dict(total_steps=600, max_lr=0.1, three_phase=True, anneal_strategy="linear"),
    dict(total_steps=97, max_lr=2.0, pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
    dict(total_steps=101, max_lr=0.5, pct_start=0.45, three_phase=True, div_factor=5.0),
    dict(total_steps=50, max_lr=1.0, pct_start=0.1, anneal_strategy="linear"),
]


@pytest.mark.parametrize("kw", ONE_CYCLE, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
@pytest.mark.parametrize("momentum_key", ["momentum", "beta1"])
def test_one_cycle_equals_OneCycleLR_with_momentum(kw, momentum_key):
    kw = dict(kw)
    T = kw.pop("total_steps")
    lr_kw = {k: v for k, v in kw.items() if k != "max_lr"}
    lrs, moms = torch_one_cycle(T, momentum_key, **kw)
    schedule = one_cycle(kw["max_lr"], T, **lr_kw)
    mom_kw = {k: v for k, v in lr_kw.items() if k in ("pct_start", "anneal_strategy", "three_phase")}
    momentum = one_cycle_momentum(T, **mom_kw)
    np.testing.assert_allclose(ours(schedule, T + 1), lrs, rtol=RTOL, atol=0)
    np.testing.assert_allclose(ours(momentum, T + 1), moms, rtol=RTOL, atol=0)
    # the three levels: start max_lr / div, peak max_lr, end (max_lr / div) / final_div
    div, final = kw.get("div_factor", 25.0), kw.get("final_div_factor", 1e4)
    assert schedule(0) == pytest.approx(kw["max_lr"] / div, rel=1e-15)
    assert schedule(T - 1) == pytest.approx(kw["max_lr"] / div / final, rel=1e-12)
    assert momentum(0) == 0.95
    peak_step = kw.get("pct_start", 0.3) * T - 1
    if float(peak_step).is_integer():  # the peak is a step: max_lr is reached exactly there
        assert schedule(int(peak_step)) == pytest.approx(kw["max_lr"], rel=1e-15)
        assert moms.min() == pytest.approx(0.85, rel=1e-15)
    else:  # torch's fractional phase end: the peak falls between two steps and is missed
        assert lrs.max() < kw["max_lr"] and moms.min() > 0.85
    with pytest.raises(ValueError, match=rf"^Tried to step {T + 1} times\. The specified number of total steps is {T}$"):
        schedule(T + 1)


def test_one_cycle_drives_torch_optimizer_through_bridge():
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=123.0)
    bridge = ScheduledLR(opt, one_cycle(0.4, 200, three_phase=True))
    seen = []
    for _ in range(200):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        bridge.step()
    np.testing.assert_allclose(seen, torch_one_cycle(200, max_lr=0.4, three_phase=True)[0][:200],
                               rtol=RTOL, atol=0)


@pytest.mark.parametrize("total_iters, power", [(5, 1.0), (100, 2.0), (450, 0.5), (600, 3.0)])
def test_polynomial_decay_equals_PolynomialLR(total_iters, power):
    lrs = assert_matches(polynomial_decay(0.1, total_iters, power),
                         lambda o: tls.PolynomialLR(o, total_iters=total_iters, power=power))
    if total_iters < STEPS:
        assert np.all(lrs[total_iters:] == 0)
    t = np.arange(STEPS)
    np.testing.assert_allclose(lrs, 0.1 * (1 - np.minimum(t, total_iters) / total_iters) ** power,
                               rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("factor, total_iters", [(1 / 3, 5), (0.5, 100), (0.1, 1), (1.0, 7)])
def test_constant_factor_equals_ConstantLR(factor, total_iters):
    lrs = assert_matches(constant_factor(0.1, factor, total_iters),
                         lambda o: tls.ConstantLR(o, factor=factor, total_iters=total_iters))
    assert np.all(lrs[total_iters:] == pytest.approx(0.1, rel=1e-15))


def _halve_every_50(t):
    return 0.5 ** (t // 50)


def test_lambda_schedule_equals_LambdaLR_and_pickles():
    fns = [_halve_every_50, lambda t: 1 / (1 + 0.01 * t), lambda t: math.cos(t / 100) ** 2]
    for fn in fns:
        assert_matches(lambda_schedule(0.1, fn), lambda o, fn=fn: tls.LambdaLR(o, fn))
    s = pickle.loads(pickle.dumps(lambda_schedule(0.3, _halve_every_50)))
    assert s(49) == 0.3 and s(50) == 0.15


@pytest.mark.parametrize("fn", [lambda t: 0.99, lambda t: 1 - 1 / (t + 10), lambda t: 1.001 if t % 2 else 0.998])
def test_multiplicative_equals_MultiplicativeLR_bit_for_bit(fn):
    expected = torch_lrs(lambda o: tls.MultiplicativeLR(o, fn))[:, 0]
    assert np.array_equal(ours(multiplicative(0.1, fn)), expected)   # same order of products


def test_chained_equals_ChainedScheduler():
    def make(o):
        return tls.ChainedScheduler([tls.ConstantLR(o, factor=0.5, total_iters=20),
                                     tls.StepLR(o, step_size=100, gamma=0.3),
                                     tls.ExponentialLR(o, gamma=0.999),
                                     tls.PolynomialLR(o, total_iters=550, power=1.5)])

    s = chained(0.1, constant_factor(1.0, 0.5, 20), step_decay(1.0, 100, 0.3),
                exponential_decay(1.0, 0.999), polynomial_decay(1.0, 550, 1.5))
    assert_matches(s, make)
    warm = chained(0.1, linear_warmup(constant(1.0), 40, 0.05, shift=False),
                   exponential_decay(1.0, 0.995))
    assert_matches(warm, lambda o: tls.ChainedScheduler(
        [tls.LinearLR(o, start_factor=0.05, total_iters=40), tls.ExponentialLR(o, gamma=0.995)]))
    with pytest.raises(ValueError, match="at least one schedule"):
        chained(0.1)


@pytest.mark.parametrize("swa_lr, anneal_epochs, strategy", [
    (0.05, 10, "cos"), (0.05, 10, "linear"), (0.3, 1, "cos"), (0.01, 0, "cos"),
    (0.02, 250, "cos"), (0.2, 37, "linear")])
def test_swa_schedule_equals_SWALR(swa_lr, anneal_epochs, strategy):
    lrs = assert_matches(swa_schedule(0.1, swa_lr, anneal_epochs, strategy),
                         lambda o: swa_utils.SWALR(o, swa_lr=swa_lr, anneal_epochs=anneal_epochs,
                                                   anneal_strategy=strategy))
    assert np.all(lrs[max(anneal_epochs, 1):] == pytest.approx(swa_lr, rel=1e-12))
    if anneal_epochs > 0:
        assert lrs[0] == 0.1


@pytest.mark.parametrize("W", [1, 10, 100, 4000])
def test_inverse_sqrt_warmup_equals_LambdaLR_and_vaswani(W):
    lrs = assert_matches(inverse_sqrt_warmup(0.1, W),
                         lambda o: tls.LambdaLR(o, lambda t: min((t + 1) / W, (W / (t + 1)) ** 0.5)))
    # Vaswani et al. (2017), eq. (3): d^-0.5 min(n^-0.5, n W^-1.5) with n = t + 1, d = 512
    d = 512
    noam = inverse_sqrt_warmup(1 / math.sqrt(d * W), W)
    n = np.arange(1, STEPS + 1)
    np.testing.assert_allclose(ours(noam), d**-0.5 * np.minimum(n**-0.5, n * W**-1.5), rtol=1e-13)
    if W <= STEPS:
        assert lrs[W - 1] == pytest.approx(0.1, rel=1e-15) and lrs.max() == lrs[W - 1]
    if 4 * W <= STEPS:  # the tail halves when the step count quadruples
        assert lrs[4 * W - 1] == pytest.approx(0.05, rel=1e-14)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: one_cycle(0.1, 0), ValueError, r"^Invalid total_steps: 0 \(expected a positive integer\)$"),
        (lambda: one_cycle(0.1, 100, pct_start=1), ValueError, r"^Invalid pct_start: 1 \(expected a float in \[0, 1\]\)$"),
        (lambda: one_cycle(0.1, 100, anneal_strategy="cosine"), ValueError, r"^Invalid anneal_strategy: 'cosine' "),
        (lambda: one_cycle(-0.1, 100), ValueError, r"^Invalid max_lr: -0\.1 "),
        (lambda: one_cycle(0.1, 100, div_factor=0), ValueError, r"^Invalid div_factor: 0 "),
        (lambda: one_cycle_momentum(100, base_momentum=1.5), ValueError, r"^Invalid base_momentum: 1\.5 "),
        (lambda: polynomial_decay(0.1, 0), ValueError, r"^Invalid total_iters: 0 "),
        (lambda: polynomial_decay(0.1, 10, power=-1.0), ValueError, r"^Invalid power: -1\.0 "),
        (lambda: constant_factor(0.1, 0.0), ValueError, r"^Invalid factor: 0\.0 \(expected a number in \(0, 1\]\)$"),
        (lambda: constant_factor(0.1, 0.5, 0), ValueError, r"^Invalid total_iters: 0 \(expected a positive integer\)$"),
        (lambda: lambda_schedule(0.1, 3.0), TypeError, r"^lr_lambda should be a function, but got float$"),
        (lambda: multiplicative(0.1, None), TypeError, r"^lr_lambda should be a function, but got NoneType$"),
        (lambda: chained(0.1, 2.0), ValueError, r"^Invalid factors: 2\.0 "),
        (lambda: swa_schedule(0.1, 0.05, anneal_epochs=-1), ValueError, r"^Invalid anneal_epochs: -1 "),
        (lambda: swa_schedule(0.1, 0.05, anneal_strategy="exp"), ValueError, r"^Invalid anneal_strategy: 'exp' "),
        (lambda: inverse_sqrt_warmup(0.1, 0), ValueError, r"^Invalid warmup_steps: 0 \(expected a positive integer\)$"),
    ],
)
def test_new_schedules_reject_invalid_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()
