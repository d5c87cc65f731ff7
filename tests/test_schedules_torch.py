"""course_lib.schedules' factories against torch's schedulers in the settings
tests/test_schedules.py does not cover: several param groups (per-group ``max_lr``,
``lr_lambda`` and ``swa_lr`` lists), the SWA recipe (cosine annealing, then ``SWALR`` created
mid-run from the current rate), ``OneCycleLR`` given as ``epochs * steps_per_epoch``,
``ChainedScheduler`` of multiplicative schedulers (``MultiplicativeLR``, ``MultiStepLR``,
``LinearLR`` decay) and ``PolynomialLR``'s edge powers.

"Equal to torch at every step": a real ``torch.optim.SGD`` runs torch's scheduler in the usual
loop (``optimizer.step(); scheduler.step()``), and every group's ``lr`` before each optimizer
step equals our ``schedule(t)`` to ``rtol=1e-12`` (torch's schedulers are recursive, ours
closed forms: they agree to accumulated rounding) over 400 steps, in float64 arithmetic.
"""

import math

import numpy as np
import pytest
import scheduler_reference
import torch
from torch.optim import lr_scheduler as tls
from torch.optim import swa_utils

from course_lib.schedules import (
    chained,
    constant_factor,
    cosine_annealing,
    exponential_decay,
    lambda_schedule,
    linear_decay,
    multiplicative,
    multistep_decay,
    one_cycle,
    polynomial_decay,
    swa_schedule,
)

STEPS = 400
RTOL = 1e-12
ATOL = 1e-15  # exact zeros (polynomial decay past total_iters)


def torch_lrs(make, lrs=(0.1,), steps=STEPS):
    """torch's rates for ``steps`` steps (scheduler_reference.torch_lrs)."""
    return scheduler_reference.torch_lrs(make, lrs, steps)


def ours(schedules, steps=STEPS):
    """Each schedule's rate at each step, shape (steps, len(schedules))."""
    return np.array([[s(t) for s in schedules] for t in range(steps)])


# --- several param groups -----------------------------------------------------------------

@pytest.mark.parametrize("kw", [dict(anneal_strategy="cos"), dict(anneal_strategy="linear"),
                                dict(three_phase=True, pct_start=0.2)],
                         ids=["cos", "linear", "three_phase"])
def test_one_cycle_per_group_max_lr(kw):
    max_lrs = [0.4, 0.05, 1.5]
    expected = torch_lrs(lambda o: tls.OneCycleLR(o, max_lr=max_lrs, total_steps=STEPS,
                                                  **kw), lrs=(0.1, 0.2, 0.3))
    schedules = [one_cycle(m, STEPS, **kw) for m in max_lrs]
    np.testing.assert_allclose(ours(schedules), expected, rtol=RTOL, atol=0)


def test_one_cycle_epochs_times_steps_per_epoch_is_total_steps():
    expected = torch_lrs(lambda o: tls.OneCycleLR(o, max_lr=0.3, epochs=8, steps_per_epoch=50,
                                                  anneal_strategy="linear"))
    np.testing.assert_allclose(ours([one_cycle(0.3, 8 * 50, anneal_strategy="linear")]),
                               expected, rtol=RTOL, atol=0)


def _quarter_every_100(t):
    return 0.25 ** (t // 100)


def test_lambda_schedule_per_group_lambdas():
    fns = [_quarter_every_100, lambda t: 1 / math.sqrt(1 + t), lambda t: 1 + math.sin(t / 30)]
    lrs = (0.1, 0.03, 0.5)
    expected = torch_lrs(lambda o: tls.LambdaLR(o, fns), lrs=lrs)
    np.testing.assert_allclose(ours([lambda_schedule(lr, f) for lr, f in zip(lrs, fns)]),
                               expected, rtol=RTOL, atol=0)


def test_multiplicative_per_group_and_constant_factor_per_group():
    fns = [lambda t: 0.995, lambda t: 1 - 1 / (t + 20)]
    lrs = (0.1, 0.7)
    expected = torch_lrs(lambda o: tls.MultiplicativeLR(o, fns), lrs=lrs)
    np.testing.assert_allclose(ours([multiplicative(lr, f) for lr, f in zip(lrs, fns)]),
                               expected, rtol=RTOL, atol=0)
    expected = torch_lrs(lambda o: tls.ConstantLR(o, factor=0.25, total_iters=30), lrs=lrs)
    np.testing.assert_allclose(ours([constant_factor(lr, 0.25, 30) for lr in lrs]), expected,
                               rtol=RTOL, atol=0)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_swa_schedule_per_group_swa_lr(strategy):
    swa_lrs = [0.02, 0.5]
    expected = torch_lrs(lambda o: swa_utils.SWALR(o, swa_lr=swa_lrs, anneal_epochs=25,
                                                   anneal_strategy=strategy), lrs=(0.1, 0.2))
    schedules = [swa_schedule(lr, s, 25, strategy) for lr, s in zip((0.1, 0.2), swa_lrs)]
    np.testing.assert_allclose(ours(schedules), expected, rtol=RTOL, atol=0)


# --- the SWA recipe: cosine annealing, then SWALR from the current rate ---------------------

@pytest.mark.parametrize("swa_start, anneal_epochs, strategy", [(150, 20, "cos"),
                                                                 (237, 5, "linear"),
                                                                 (100, 0, "cos")])
def test_swa_recipe_cosine_then_swalr_from_the_current_rate(swa_start, anneal_epochs,
                                                            strategy):
    """Izmailov et al.'s recipe as torch's documentation writes it: a cosine schedule until
    ``swa_start``, then ``SWALR`` created there (it anneals from whatever rate the optimizer
    has at that moment). Ours: the cosine, then ``swa_schedule`` started from the cosine's
    rate at ``swa_start``."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    cosine = tls.CosineAnnealingLR(opt, T_max=300)
    swa = None
    seen = []
    for t in range(STEPS):
        if t == swa_start:
            swa = swa_utils.SWALR(opt, swa_lr=0.01, anneal_epochs=anneal_epochs,
                                  anneal_strategy=strategy)
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        (swa if swa is not None else cosine).step()
    cos = cosine_annealing(0.1, 300)
    anneal = swa_schedule(cos(swa_start), 0.01, anneal_epochs, strategy)
    mine = [cos(t) if t < swa_start else anneal(t - swa_start) for t in range(STEPS)]
    np.testing.assert_allclose(mine, seen, rtol=RTOL, atol=0)
    assert seen[-1] == pytest.approx(0.01, rel=1e-12)


# --- ChainedScheduler of multiplicative schedulers -------------------------------------------

def test_chained_multiplicative_multistep_and_linear_decay():
    def make(o):
        return tls.ChainedScheduler([tls.MultiplicativeLR(o, lambda t: 0.999),
                                     tls.MultiStepLR(o, milestones=[60, 200, 320], gamma=0.5),
                                     tls.LinearLR(o, start_factor=1.0, end_factor=0.2,
                                                  total_iters=250)])

    schedule = chained(0.1, multiplicative(1.0, lambda t: 0.999),
                       multistep_decay(1.0, [60, 200, 320], 0.5),
                       linear_decay(1.0, 0.2, 250))
    np.testing.assert_allclose(ours([schedule])[:, 0], torch_lrs(make)[:, 0], rtol=RTOL,
                               atol=0)


def test_chained_with_two_groups_applies_the_same_factors_to_each_base_rate():
    def make(o):
        return tls.ChainedScheduler([tls.ExponentialLR(o, gamma=0.997),
                                     tls.ConstantLR(o, factor=0.5, total_iters=40)])

    lrs = (0.1, 0.03)
    schedules = [chained(lr, exponential_decay(1.0, 0.997), constant_factor(1.0, 0.5, 40))
                 for lr in lrs]
    np.testing.assert_allclose(ours(schedules), torch_lrs(make, lrs=lrs), rtol=RTOL, atol=0)


# --- PolynomialLR edge powers ------------------------------------------------------------------

@pytest.mark.parametrize("total_iters, power", [(300, 0.0), (250, 0.25), (1, 1.0), (399, 5.0)])
def test_polynomial_decay_edge_powers(total_iters, power):
    expected = torch_lrs(lambda o: tls.PolynomialLR(o, total_iters=total_iters, power=power))
    np.testing.assert_allclose(ours([polynomial_decay(0.1, total_iters, power)])[:, 0],
                               expected[:, 0], rtol=RTOL, atol=ATOL)
