"""course_lib.distributed on real gloo process groups (2 and 4 local processes).

Covers: DDP over p workers equals one process with the global batch (SGD with momentum and
course_lib's Adam, float64, <= 1e-12 after several steps), gradient accumulation equals the
same, ZeroRedundancyOptimizer wrapping course_lib's Adam equals unsharded Adam while the
state is split across the ranks, the BatchNorm all-reduce of sums equals the full-batch
statistics, local SGD with period 1 equals DDP-SGD; the launcher: a worker that raises gives
WorkerError naming its rank with the traceback, one that dies is reported with its exit code,
a task past its timeout gives TimeoutError, and no worker process outlives the pool in any of
these cases; argument validation; the cost-model formulas. Every test that starts processes
is bounded by its pool's timeout (every worker is killed when it expires).
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import torch

from course_lib.distributed import (
    WorkerError,
    WorkerPool,
    costs,
    function_name,
    launch,
    replicas,
    workers,
)

SIZES = (6, 12, 3)


def _data(seed=0, n=96, steps=4, batch=16):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, SIZES[0], generator=gen, dtype=torch.float64)
    y = torch.randint(0, SIZES[-1], (n,), generator=gen)
    batches = torch.stack([torch.randperm(n, generator=gen)[:batch] for _ in range(steps)])
    return X, y, batches


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:                                    # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _all_gone(pids, wait=10.0) -> bool:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def pool():
    with WorkerPool(4, timeout=90) as p:
        yield p
    assert _all_gone(p.pids)


@pytest.mark.parametrize("world", [2, 4])
@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.1), ("adam", 0.01)])
def test_ddp_equals_one_process_with_the_global_batch(pool, world, optimizer, lr):
    X, y, batches = _data()
    results = pool.run(workers.ddp_training, X, y, batches, world=world, sizes=SIZES,
                       seed=3, optimizer=optimizer, lr=lr)
    assert results[world:] == [None] * (4 - world)
    ref = workers.train_single(X, y, batches, sizes=SIZES, seed=3, optimizer=optimizer, lr=lr)
    assert not torch.equal(ref["params"], workers.flat_params(workers.make_mlp(SIZES, 3)))
    for r in results[:world]:
        # rounding only: the mean over B equals the mean of the p means over B / p
        torch.testing.assert_close(r["params"], ref["params"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_gradient_accumulation_equals_the_global_batch(optimizer):
    X, y, batches = _data(1)
    ref = workers.train_single(X, y, batches, sizes=SIZES, seed=2, optimizer=optimizer, lr=0.05)
    for k in (2, 4, 8):
        acc = workers.train_single(X, y, batches, sizes=SIZES, seed=2, optimizer=optimizer,
                                   lr=0.05, accumulation=k)
        torch.testing.assert_close(acc["params"], ref["params"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(acc["losses"], ref["losses"], rtol=1e-12)


@pytest.mark.parametrize("world", [2, 4])
def test_zero_redundancy_adam_equals_adam_and_shards_the_state(pool, world):
    X, y, batches = _data(2)
    sizes = (6, 16, 16, 3)
    results = pool.run(workers.zero_training, X, y, batches, world=world, sizes=sizes, seed=4,
                       lr=0.01)[:world]
    ref = workers.train_single(X, y, batches, sizes=sizes, seed=4, optimizer="adam", lr=0.01)
    for r in results:
        torch.testing.assert_close(r["params"], ref["params"], rtol=0, atol=1e-12)
    per_rank = [r["state_bytes"] for r in results]
    # exp_avg and exp_avg_sq of every parameter live on exactly one rank
    assert ref["state_bytes"] == 2 * 8 * sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    assert sum(per_rank) == ref["state_bytes"]
    assert all(b > 0 for b in per_rank)
    assert max(per_rank) < ref["state_bytes"]


def test_batchnorm_allreduce_of_sums_gives_the_full_batch_statistics(pool):
    x = torch.randn(32, 5, generator=torch.Generator().manual_seed(5), dtype=torch.float64) + 3
    for world in (2, 4):
        r = pool.run(workers.bn_statistics, x, world=world)[0]
        torch.testing.assert_close(r["mean"], x.mean(0), rtol=1e-13, atol=0)
        torch.testing.assert_close(r["var"], x.var(0, unbiased=False), rtol=1e-11, atol=0)
        torch.testing.assert_close(r["local_mean"], x[:32 // world].mean(0), rtol=1e-14, atol=0)


def test_local_sgd_with_period_one_equals_ddp_sgd(pool):
    X, y, batches = _data(3)
    local = pool.run(workers.local_sgd_training, X, y, batches, world=4, sizes=SIZES, seed=6,
                     lr=0.1, period=1, every=100)[0]
    ddp = pool.run(workers.ddp_training, X, y, batches, world=4, sizes=SIZES, seed=6,
                   optimizer="sgd", lr=0.1, momentum=0.0)[0]
    torch.testing.assert_close(local["params"], ddp["params"], rtol=0, atol=1e-12)


def test_allreduce_times_and_timeline_are_reported(pool):
    times = pool.run(workers.allreduce_times, [256, 4096], world=2, repeats=3)
    assert times[1:] == [None] * 3 and set(times[0]) == {256, 4096}
    assert all(0 < t < 10 for t in times[0].values())
    events = pool.run(workers.ddp_timeline, world=4, width=64, depth=4,
                      bucket_cap_mb=0.02)[0]
    assert len(events["launch"]) >= 2
    launched = {name for _, _, names in events["launch"] for name in names}
    assert launched == {name for name, _ in events["ready"]}
    # the first bucket is sent while the backward pass still computes earlier layers
    assert events["launch"][0][1] < max(t for _, t in events["ready"])


def test_a_worker_that_raises_names_its_rank_and_nobody_is_left():
    p = WorkerPool(2, timeout=60, preload=())
    pids = p.pids
    with pytest.raises(WorkerError, match=r"(?s)worker rank \d raised in math:sqrt.*"
                                          r"Traceback.*ValueError: math domain error") as info:
        p.run("math:sqrt", -1.0)
    assert info.value.rank in (0, 1)
    assert _all_gone(pids)
    with pytest.raises(RuntimeError, match="closed"):
        p.run("math:sqrt", 1.0)


def test_a_worker_that_dies_is_reported_and_nobody_is_left():
    with WorkerPool(2, timeout=60, preload=()) as p:
        pids = p.pids
        with pytest.raises(WorkerError, match=r"worker rank \d died \(exit code -6\)"):
            p.run("os:abort")
    assert _all_gone(pids)


def test_a_task_past_its_timeout_stops_every_worker():
    with WorkerPool(2, timeout=3, preload=()) as p:
        pids = p.pids
        with pytest.raises(TimeoutError, match=r"time:sleep did not finish within 3 s"):
            p.run("time:sleep", 30)
    assert _all_gone(pids)


def test_launch_returns_one_result_per_rank():
    assert launch("math:hypot", 2, 3.0, 4.0, timeout=60, preload=()) == [5.0, 5.0]


def test_bad_arguments():
    with pytest.raises(ValueError, match="Invalid fn"):
        function_name(lambda: 0)
    with pytest.raises(TypeError):
        function_name(3)
    with pytest.raises(ValueError, match="Invalid world_size"):
        WorkerPool(0)
    with pytest.raises(TypeError):
        WorkerPool(2.0)
    with pytest.raises(ValueError, match="Invalid backend"):
        WorkerPool(2, backend="mpi")
    assert function_name(workers.ddp_training) == "course_lib.distributed.workers:ddp_training"


def test_cost_model_formulas():
    assert costs.ring_allreduce_bytes(1000, 1) == 0
    np.testing.assert_allclose(costs.ring_allreduce_bytes(1000, [2, 4, 1024]),
                               [1000, 1500, 2 * 1023 / 1024 * 1000], rtol=1e-15)
    latency, bandwidth = 2e-5, 3e9
    n = np.array([1e3, 1e5, 1e7, 1e3, 1e7])
    p = np.array([2, 2, 2, 4, 4])
    t = costs.ring_allreduce_time(n, p, latency, bandwidth)
    fitted = costs.fit_allreduce(n, t, p)
    np.testing.assert_allclose(fitted, (latency, bandwidth), rtol=1e-9)
    g = np.random.default_rng(0).standard_normal((500, 7)) + 0.3
    mean = g.mean(0)
    expected = np.trace(np.cov(g.T, bias=True)) / (mean @ mean)
    assert costs.noise_scale(g) == pytest.approx(expected, rel=1e-12)
    b = np.array([1.0, 10.0, 100.0])
    np.testing.assert_allclose(costs.examples_to_result(b, 50, 10),
                               50 * 10 * (1 + b / 10), rtol=1e-15)
    model = costs.scaling(np.array([1, 8, 1024]), per_worker_batch=16,
                          seconds_per_example=1e-4, gradient_bytes=4e6, latency=1e-5,
                          bandwidth=1e9, s_min=100, b_noise=200, n_examples=10_000)
    assert model["communication"][0] == 0
    bound = 1 + 200 / 16           # steps at batch b over S_min: the most p can gain
    assert np.all(model["time"][0] / model["time"] <= bound * (1 + 1e-12))


def test_trust_ratio_and_replicas_agree_with_torch():
    w, g = torch.tensor([3.0, 4.0]), torch.tensor([0.0, 0.5])
    assert replicas.trust_ratio(w, g).item() == pytest.approx(10.0)
    assert replicas.trust_ratio(w, g, 0.1).item() == pytest.approx(5 / 1.0)
    assert replicas.trust_ratio(torch.zeros(2), g).item() == 1.0
    X = torch.randn(40, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = torch.arange(40) % 3
    params = replicas.init_replicas([1, 2], 5, 4, 3)
    grads = replicas.per_example_gradients(params, X, y, replica=1)
    one = {k: v[1].clone().requires_grad_() for k, v in params.items()}
    h = torch.tanh(X[7] @ one["W1"] + one["b1"])
    loss = torch.nn.functional.cross_entropy((h @ one["W2"] + one["b2"])[None], y[7:8])
    loss.backward()
    expected = torch.cat([one[k].grad.reshape(-1) for k in ("W1", "b1", "W2", "b2")])
    torch.testing.assert_close(grads[7], expected, rtol=1e-12, atol=1e-14)
