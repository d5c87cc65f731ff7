"""course_lib.benchmark (chapter 12): the interior (grid-edge) check, the budget accounting
trials x steps, the t confidence interval and the "not distinguishable" verdict against hand
computations, the Dolan--Moré performance profile against a hand-worked example, search
spaces, a results file that survives a run killed mid-way (the continued run redoes no
trial), and a tiny workload end to end (tuning, repetitions, table, profile)."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from course_lib.benchmark import (
    NOT_DISTINGUISHABLE,
    Budget,
    Fixed,
    LogUniform,
    OptimizerSpec,
    SearchSpace,
    Uniform,
    Workload,
    compare,
    grid_configs,
    interior_check,
    load_results,
    performance_profile,
    random_configs,
    read_records,
    run_benchmark,
    run_trial,
    summarize,
)
from course_lib.benchmark.runner import append_record, select_best
from course_lib.benchmark.workloads import mean_squared_error
from course_lib.objectives.data import Split
from course_lib.optim import SGD, Adam

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ interior check

SPACE = SearchSpace(lr=LogUniform(1e-4, 1.0), momentum=Fixed(0.9))


def test_grid_edge_optimum_is_flagged_and_interior_is_not():
    grid = grid_configs(SearchSpace(lr=LogUniform(1e-4, 1.0)), 5)
    assert [c["lr"] for c in grid] == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1, 1.0], rel=1e-12)
    high = interior_check(SPACE, grid[-1], grid)["lr"]
    assert high.at_edge == "high" and not high.interior and high.position == pytest.approx(1.0)
    low = interior_check(SPACE, grid[0], grid)["lr"]
    assert low.at_edge == "low" and "LOW EDGE" in str(low)
    mid = interior_check(SPACE, grid[2], grid)["lr"]
    assert mid.interior and mid.position == pytest.approx(0.5, abs=1e-12)
    # only tuned entries are checked
    assert set(interior_check(SPACE, {"lr": 1e-2, "momentum": 0.9})) == {"lr"}


def test_random_search_optimum_is_judged_against_what_was_tried():
    tried = [{"lr": v} for v in (1e-3, 3e-3, 1e-2, 3e-2)]
    space = SearchSpace(lr=LogUniform(1e-4, 1.0))
    # 3e-2 is far from the range's bound (position 0.62) but it is the largest value tried:
    # nothing on its right was measured, so the optimum is not bracketed.
    check = interior_check(space, {"lr": 3e-2}, tried)["lr"]
    assert check.at_edge == "high" and check.position == pytest.approx(
        (math.log(3e-2) - math.log(1e-4)) / math.log(1e4), rel=1e-12)
    assert interior_check(space, {"lr": 1e-2}, tried)["lr"].interior
    # without the trials: the margin (10% of the log range) decides
    assert interior_check(space, {"lr": 1.5e-4})["lr"].at_edge == "low"   # position 0.044
    assert interior_check(space, {"lr": 3e-4})["lr"].interior             # position 0.119
    with pytest.raises(ValueError, match="Invalid tried"):
        interior_check(space, {"lr": 1e-2}, tried[:2])
    with pytest.raises(ValueError, match="Invalid margin"):
        interior_check(space, {"lr": 1e-2}, margin=0.5)


# ------------------------------------------------------------------ search spaces, budget

def test_search_spaces_draw_inside_their_ranges_and_grids_have_the_budget():
    space = SearchSpace(lr=LogUniform(1e-3, 10.0), wd=Uniform(0.0, 0.5), momentum=Fixed(0.9))
    configs = random_configs(space, 200, np.random.default_rng(3))
    lrs = np.array([c["lr"] for c in configs])
    assert len(configs) == 200 and all(c["momentum"] == 0.9 for c in configs)
    assert lrs.min() >= 1e-3 and lrs.max() <= 10.0
    # log-uniform: log10(lr) uniform on [-3, 1], mean -1 (200 draws: sd of the mean 0.08)
    assert abs(np.log10(lrs).mean() + 1) < 0.35
    assert configs == random_configs(space, 200, np.random.default_rng(3))
    grid = grid_configs(space, 16)                      # 4 x 4 over lr and wd
    assert len(grid) == 16 and len({(c["lr"], c["wd"]) for c in grid}) == 16
    with pytest.raises(ValueError, match="Invalid trials: 15"):
        grid_configs(space, 15)
    with pytest.raises(TypeError):
        SearchSpace(lr=(1e-3, 1.0))
    with pytest.raises(ValueError, match="Invalid range"):
        LogUniform(0.0, 1.0)


def test_budget_is_trials_times_steps():
    b = Budget(trials=16, seeds=4)
    assert b.tuning_steps(300) == 4800 and b.total_steps(300) == 6000
    assert Budget(trials=5, seeds=3, steps=40).tuning_steps(300) == 200
    with pytest.raises(ValueError, match="Invalid trials: 0"):
        Budget(trials=0)


# ------------------------------------------------------------------ seeds: CI and verdicts

def test_t_interval_matches_a_hand_computation():
    s = summarize([1.0, 2.0, 3.0])
    # mean 2, s = 1, n = 3; t_{0.975, 2} = 4.303 (any t table), half-width 4.303 / sqrt(3)
    assert s.mean == 2.0 and s.std == 1.0 and s.n == 3
    assert s.half_width == pytest.approx(4.303 / math.sqrt(3), abs=1e-3)
    assert s.low == pytest.approx(2 - 2.4842, abs=1e-3) and s.high == pytest.approx(4.4842,
                                                                                    abs=1e-3)
    # five values: t_{0.975, 4} = 2.776; values 10, 12, 11, 13, 9: mean 11, s = sqrt(2.5)
    s5 = summarize([10, 12, 11, 13, 9])
    assert s5.half_width == pytest.approx(2.776 * math.sqrt(2.5) / math.sqrt(5), abs=1e-3)
    # 90% interval: t_{0.95, 2} = 2.920
    assert summarize([1.0, 2.0, 3.0], 0.9).half_width == pytest.approx(2.920 / math.sqrt(3),
                                                                       abs=1e-3)
    assert summarize([5.0, 5.0, 5.0]).low == summarize([5.0, 5.0, 5.0]).high == 5.0
    with pytest.raises(ValueError, match="Invalid values"):
        summarize([1.0])
    with pytest.raises(ValueError, match="Invalid values"):
        summarize([1.0, math.inf])


def test_overlapping_intervals_are_not_distinguishable():
    a, b = [1.0, 2.0, 3.0], [2.5, 3.5, 4.5]        # CIs [-0.48, 4.48] and [1.02, 5.98]
    c = compare(a, b, names=("SGD", "Adam"))
    assert c.verdict == NOT_DISTINGUISHABLE and c.winner is None and not c.distinguishable
    # the same means with ten times less spread: [1.75, 2.25] vs [3.25, 3.75]
    a10 = [1.9, 2.0, 2.1]
    b10 = [3.4, 3.5, 3.6]
    c = compare(a10, b10, names=("SGD", "Adam"))
    assert c.winner == "a" and c.verdict == "SGD is better"
    c = compare(a10, b10, names=("SGD", "Adam"), higher_is_better=True)
    assert c.winner == "b" and c.verdict == "Adam is better"
    # touching intervals count as overlapping: [0, 2] (one value repeated) vs [2, 2]
    assert compare([2.0, 2.0], [2.0, 2.0]).verdict == NOT_DISTINGUISHABLE


# ------------------------------------------------------------------ performance profiles

def test_performance_profile_matches_a_hand_worked_example():
    inf = math.inf
    #            A     B     C
    costs = [[10, 20, inf],      # p1: ratios 1, 2, inf
             [30, 15, 45],       # p2: ratios 2, 1, 3
             [inf, inf, inf],    # p3: nobody solves it
             [5, 5, 50]]         # p4: ratios 1, 1, 10 (a tie: both are best)
    prof = performance_profile(costs, methods=("A", "B", "C"),
                               problems=("p1", "p2", "p3", "p4"))
    assert np.array_equal(prof.ratios, [[1, 2, inf], [2, 1, 1.5 * 2], [inf] * 3, [1, 1, 10]])
    assert prof.rho(1.0).tolist() == [0.5, 0.5, 0.0]
    assert prof.rho(2.0).tolist() == [0.75, 0.75, 0.0]
    assert prof.rho(3.0).tolist() == [0.75, 0.75, 0.25]
    assert prof.rho(10.0).tolist() == [0.75, 0.75, 0.5]
    assert prof.solved().tolist() == [0.75, 0.75, 0.5]
    assert prof.rho([1.0, 3.0]).shape == (2, 3)
    taus, rho = prof.steps()
    assert taus.tolist() == [1.0, 2.0, 3.0, 10.0] and rho[-1].tolist() == [0.75, 0.75, 0.5]
    same = performance_profile({"A": {"p1": 10, "p2": 30, "p3": inf, "p4": 5},
                                "B": {"p1": 20, "p2": 15, "p3": inf, "p4": 5},
                                "C": {"p1": inf, "p2": 45, "p3": inf, "p4": 50}})
    assert np.array_equal(same.ratios, prof.ratios) and same.problems == prof.problems
    assert "| A | 0.50 | 0.75 | 0.75 |" in prof.table((1.0, 2.0, math.inf))
    with pytest.raises(ValueError, match="Invalid costs"):
        performance_profile([[1.0, 0.0]])
    with pytest.raises(ValueError, match="Invalid costs"):
        performance_profile({"A": {"p1": 1.0}, "B": {}})


# ------------------------------------------------------------------ a tiny workload

def _tiny_data() -> Split:
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(240, 5, generator=gen)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    return Split(X[:160], y[:160], X[160:200], y[160:200], X[200:], y[200:], n_classes=2)


def _tiny_model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Linear(5, 2)


def tiny_workload(steps: int = 12) -> Workload:
    return Workload(name="tiny", make_model=_tiny_model, make_data=_tiny_data, target=0.2,
                    steps=steps, batch_size=16, eval_every=4)


TINY_OPTIMIZERS = [
    OptimizerSpec("sgd", "SGD", lambda params, lr: SGD(params, lr=lr, momentum=0.9),
                  SearchSpace(lr=LogUniform(1e-3, 1.0))),
    OptimizerSpec("adam", "Adam", lambda params, lr: Adam(params, lr=lr),
                  SearchSpace(lr=LogUniform(1e-4, 0.3))),
]


def test_run_trial_is_reproducible_and_measures_time_to_target():
    w = tiny_workload(steps=20)
    make = TINY_OPTIMIZERS[0].make({"lr": 0.3})
    a, b = run_trial(w, make, 3), run_trial(w, make, 3)
    assert [m for _, _, m in a.curve] == [m for _, _, m in b.curve]       # same seed, same run
    assert [s for s, _, _ in a.curve] == [0, 4, 8, 12, 16, 20]
    assert a.best_metric == min(m for _, _, m in a.curve) and a.steps == 20
    reached = [s for s, _, m in a.curve if m <= w.target]
    assert a.steps_to_target == (reached[0] if reached else math.inf)
    assert a.seconds_to_target <= a.seconds and a.seconds > 0
    # a diverging run (least squares, step far above 2/L) stops and never reaches the target
    data = _tiny_data()
    regression = Workload(
        name="tiny_regression", make_model=lambda seed: _tiny_model(seed),
        make_data=lambda: Split(data.X_train, data.X_train[:, :2] * 3, data.X_val,
                                data.X_val[:, :2] * 3, data.X_test, data.X_test, 0),
        loss=torch.nn.functional.mse_loss, metric=mean_squared_error, target=0.01,
        steps=400, batch_size=16, eval_every=4)
    bad = run_trial(regression, TINY_OPTIMIZERS[0].make({"lr": 50.0}), 3)
    assert bad.diverged and bad.steps < 400 and bad.steps_to_target == math.inf
    assert bad.curve[-1][2] is None and bad.as_dict()["steps_to_target"] is None
    assert bad.final_metric == math.inf and bad.as_dict()["final_metric"] is None
    json.dumps(bad.as_dict(), allow_nan=False)             # stored as JSON without NaN/inf


def test_tiny_benchmark_end_to_end(tmp_path):
    path = tmp_path / "results.jsonl"
    budget = Budget(trials=4, seeds=3)
    records = run_benchmark(path, [tiny_workload()], TINY_OPTIMIZERS, budget, progress=False)
    trials = [r for r in records if r["kind"] != "meta"]
    assert len(trials) == 2 * (4 + 3)
    res = load_results(path)
    # budget accounting: every optimizer spent trials x steps on tuning, seeds x steps after
    assert res.budget_used() == {"sgd": {"tune": 48, "final": 36},
                                 "adam": {"tune": 48, "final": 36}}
    for opt in ("sgd", "adam"):
        tune = res.trials("tune", "tiny", opt)
        best = min(tune, key=lambda r: (r["best_metric"],
                                        math.inf if r["steps_to_target"] is None
                                        else r["steps_to_target"], r["index"]))
        assert res.chosen("tiny", opt) == best["config"]
        finals = res.trials("final", "tiny", opt)
        assert all(r["config"] == best["config"] for r in finals)
        assert len({r["seed"] for r in finals}) == 3
        assert not {r["seed"] for r in finals} & {r["seed"] for r in tune}
        assert res.summary("tiny", opt).n == 3
    # paired tuning: trial i has the same seed for every optimizer
    assert [r["seed"] for r in res.trials("tune", "tiny", "sgd")] == \
        [r["seed"] for r in res.trials("tune", "tiny", "adam")]
    assert res.compare("tiny", "sgd", "adam").verdict in (NOT_DISTINGUISHABLE, "sgd is better",
                                                          "adam is better")
    prof = res.profile("steps_to_target")
    assert prof.methods == ("sgd", "adam") and prof.ratios.shape == (1, 2)
    assert "| tiny |" in res.table()
    meta = res.meta[0]
    assert {"platform", "cpu", "cores", "torch_threads"} <= set(meta["machine"])
    assert "sources_sha256" in meta["code"]
    assert select_best(res.trials("tune", "tiny", "sgd"))["config"] == res.chosen("tiny", "sgd")


# ------------------------------------------------------------------ resume

RUNNER = textwrap.dedent('''
    import sys, time
    sys.path.insert(0, {tests!r})
    from test_benchmark import tiny_workload, TINY_OPTIMIZERS
    from course_lib.benchmark import Budget, run_benchmark
    run_benchmark({path!r}, [tiny_workload()], TINY_OPTIMIZERS, Budget(trials=4, seeds=3),
                  progress=False, on_record=lambda r: time.sleep(0.3))
''')


def _trial_keys(path) -> list:
    return [(r["kind"], r["optimizer"], r["index"]) for r in read_records(path)
            if r["kind"] != "meta"]


def test_killed_run_continues_without_redoing_trials(tmp_path):
    path = tmp_path / "results.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", RUNNER.format(
        tests=str(ROOT / "tests"), path=str(path))], cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while len(_trial_keys(path)) < 3:
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    before = read_records(path)
    done_before = _trial_keys(path)
    assert 3 <= len(done_before) < 14
    with open(path, "a") as fh:                     # a line cut off by the kill
        fh.write('{"kind": "tune", "workload": "ti')
    new = []
    records = run_benchmark(path, [tiny_workload()], TINY_OPTIMIZERS, Budget(trials=4, seeds=3),
                            progress=False, on_record=new.append)
    keys = _trial_keys(path)
    assert len(keys) == len(set(keys)) == 14               # every trial exactly once
    assert len(new) == 14 - len(done_before)               # nothing was run twice
    assert not {(r["kind"], r["optimizer"], r["index"]) for r in new} & set(done_before)
    assert records[:len(before)] == before                 # the old lines are untouched
    assert sum(r["kind"] == "meta" for r in records) == 2
    # once complete, another call runs nothing
    again = []
    run_benchmark(path, [tiny_workload()], TINY_OPTIMIZERS, Budget(trials=4, seeds=3),
                  progress=False, on_record=again.append)
    assert again == []


def test_interrupted_in_process_and_protocol_change_is_refused(tmp_path):
    path = tmp_path / "results.jsonl"
    run_benchmark(path, [tiny_workload()], TINY_OPTIMIZERS[:1], Budget(trials=4, seeds=3),
                  progress=False, max_trials=2)
    assert len(_trial_keys(path)) == 2
    # another seed base draws other configurations: the file's trials do not match them
    with pytest.raises(ValueError, match="another results file"):
        run_benchmark(path, [tiny_workload()], TINY_OPTIMIZERS[:1], Budget(trials=4, seeds=3),
                      progress=False, seed_base=7)
    run_benchmark(path, [tiny_workload()], TINY_OPTIMIZERS[:1], Budget(trials=4, seeds=3),
                  progress=False)
    assert len(_trial_keys(path)) == 7


def test_records_are_one_json_object_per_line(tmp_path):
    path = tmp_path / "r.jsonl"
    append_record(path, {"kind": "meta", "x": 1})
    path.write_text(path.read_text() + '{"kind": "tu')       # a partial line, no newline
    append_record(path, {"kind": "meta", "x": 2})
    lines = path.read_text().splitlines()
    assert json.loads(lines[-1]) == {"kind": "meta", "x": 2}
    assert [r["x"] for r in read_records(path)] == [1, 2]
    with pytest.raises(ValueError):
        append_record(path, {"kind": "meta", "x": math.nan})   # JSON has no NaN
    assert os.path.getsize(path) > 0


# ------------------------------------------------------------------ tune: grid, score, check

def test_tune_on_a_parabola_chooses_the_grid_point_nearest_the_minimum_and_checks_it():
    from course_lib.benchmark import tune

    space = SearchSpace(lr=LogUniform(1e-3, 1e1), momentum=Fixed(0.9))
    # minimum of (log10 lr + 1.2)^2 at lr = 10^-1.2; the 5-point grid is 1e-3, ..., 1e1
    outcome = tune(space, lambda c: (math.log10(c["lr"]) + 1.2) ** 2, 5)
    assert outcome.values("lr") == pytest.approx([1e-3, 1e-2, 1e-1, 1.0, 1e1], rel=1e-12)
    assert outcome.best["lr"] == pytest.approx(0.1, rel=1e-12) and outcome.best["momentum"] == 0.9
    assert outcome.best_score == pytest.approx(0.04, abs=1e-12)
    assert outcome.interior
    outcome.assert_interior()
    assert "* lr = 0.1: 0.04" in outcome.table()

    edge = tune(space, lambda c: c["lr"], 5)  # smaller is always better: the low edge
    assert edge.edges["lr"].at_edge == "low" and not edge.interior
    with pytest.raises(AssertionError, match="widen the search: lr = 0.001 .*LOW EDGE"):
        edge.assert_interior()


def test_tune_averages_seeds_counts_divergence_as_worst_and_can_maximize():
    from course_lib.benchmark import Budget, tune

    space = SearchSpace(lr=LogUniform(1e-2, 1e2))
    calls = []

    def objective(config, seed):
        calls.append(seed)
        return math.nan if config["lr"] > 50 else abs(math.log10(config["lr"]) - 1) + seed

    outcome = tune(space, objective, Budget(trials=5), seeds=[0, 1])
    assert len(calls) == 10
    assert outcome.per_seed[2] == pytest.approx([1.0, 2.0], abs=1e-12)
    assert outcome.scores[2] == pytest.approx(1.5, abs=1e-12)
    assert outcome.scores[-1] == math.inf and outcome.per_seed[-1] == [math.inf, math.inf]
    assert outcome.best["lr"] == pytest.approx(10.0)
    # the diverged largest rate still brackets the optimum from above
    assert outcome.edges["lr"].at_edge is None

    accuracy = tune(space, lambda c: -abs(math.log10(c["lr"])), 5, maximize=True)
    assert accuracy.best["lr"] == pytest.approx(1.0)
    rand = tune(space, lambda c: c["lr"], 4, method="random", rng=np.random.default_rng(0))
    assert len(rand.configs) == 4 and rand.best["lr"] == min(rand.values("lr"))


def test_tune_rejects_bad_arguments():
    from course_lib.benchmark import tune

    space = SearchSpace(lr=LogUniform(1e-2, 1.0))
    with pytest.raises(TypeError, match="space must be a SearchSpace"):
        tune({"lr": LogUniform(1e-2, 1.0)}, lambda c: 0.0, 3)
    with pytest.raises(TypeError, match="objective must be callable"):
        tune(space, 3.0, 3)
    with pytest.raises(ValueError, match="Invalid method: 'bayes'"):
        tune(space, lambda c: 0.0, 3, method="bayes")
    with pytest.raises(ValueError, match="Invalid rng: None"):
        tune(space, lambda c: 0.0, 3, method="random")
    with pytest.raises(ValueError, match="Invalid seeds"):
        tune(space, lambda c, s: 0.0, 3, seeds=[])
