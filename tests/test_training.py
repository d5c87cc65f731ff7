"""The two training loops and their callbacks: ``course_lib.training.train`` (torch) and
``course_lib.nn.fit`` (NumPy) against hand-written loops; the History they share; callbacks
that stop training; early stopping restoring the best parameters; schedule and plateau
callbacks setting the rate as torch's schedulers do; averaging callbacks against the plain
mean of the iterates; ``nn.evaluate`` against torch."""

import math

import numpy as np
import pytest
import torch

from course_lib import nn
from course_lib.averaging import ExponentialMovingAverage, UniformAverage
from course_lib.objectives.data import Split, minibatches
from course_lib.optim import sgd
from course_lib.schedules import ReduceLROnPlateau, step_decay
from course_lib.training import (
    Averaging,
    Callback,
    EarlyStop,
    EarlyStopping,
    History,
    LambdaCallback,
    LRSchedule,
    Plateau,
    make_mlp,
    train,
)

N, D, C, BATCH = 50, 6, 3, 8
STEPS_PER_EPOCH = math.ceil(N / BATCH)  # 7, the last batch has 2 examples


def numpy_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))
    y = (X[:, :C].argmax(axis=1) + (rng.random(N) < 0.2)) % C  # learnable, 20% noise
    X_val = rng.standard_normal((20, D))
    return X, y, X_val, X_val[:, :C].argmax(axis=1)


def numpy_net(seed=1):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(D, 16, rng), nn.Tanh(), nn.Linear(16, C, rng))


def torch_split(seed=0):
    X, y, X_val, y_val = numpy_data(seed)
    return Split(X, y, X_val, y_val, X_val, y_val, n_classes=C).as_tensors(torch.float64)


def torch_net(seed=1):
    return make_mlp([D, 16, C], activation=torch.nn.Tanh, seed=seed, dtype=torch.float64)


def params_of(model):
    return [p.copy() for p in model.parameters()]


# ---------------------------------------------------------------- nn.fit and nn.evaluate

def test_fit_equals_the_hand_written_loop():
    """Same weights, same generator: nn.fit and the loop it replaces take the same steps."""
    X, y, X_val, y_val = numpy_data()
    hyper = {"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-3}
    hand, loss_fn, states, losses = numpy_net(), nn.CrossEntropyLoss(), [], []
    gen = np.random.default_rng(7)
    for _ in range(3):
        for idx in minibatches(N, BATCH, gen):
            losses.append(loss_fn(hand(X[idx]), y[idx]))
            hand.backward(loss_fn.backward())
            nn.step(hand, sgd, states, **hyper)
    model = numpy_net()
    history = nn.fit(model, sgd, X, y, epochs=3, batch_size=BATCH, rng=7, **hyper)
    assert history.step_loss == losses  # the same operations in the same order: exact
    for a, b in zip(model.parameters(), hand.parameters()):
        assert np.array_equal(a, b)


def test_fit_history_fields():
    X, y, X_val, y_val = numpy_data()
    history = nn.fit(numpy_net(), sgd, X, y, lr=0.05, epochs=4, batch_size=BATCH, rng=0,
                     X_val=X_val, y_val=y_val)
    assert isinstance(history, History) and History is nn.History
    assert len(history.step_loss) == len(history.lr) == 4 * STEPS_PER_EPOCH
    assert len(history.train_loss) == len(history.val_loss) == len(history.val_acc) == 4
    assert history.lr == [0.05] * (4 * STEPS_PER_EPOCH)
    assert not history.stopped and not history.diverged and history.metrics == {}
    # train_loss is the mean minibatch loss of the epoch, weighted by batch size
    first = np.array(history.step_loss[:STEPS_PER_EPOCH])
    sizes = np.array([BATCH] * (STEPS_PER_EPOCH - 1) + [N % BATCH])
    assert math.isclose(history.train_loss[0], float(first @ sizes) / N, rel_tol=1e-14)
    # validation entries are nn.evaluate's after the epoch; without validation data, none
    assert all(0 <= a <= 1 for a in history.val_acc)
    bare = nn.fit(numpy_net(), sgd, X, y, lr=0.05, epochs=2, batch_size=BATCH, rng=0)
    assert bare.val_loss == [] and len(bare.train_loss) == 2


def test_fit_eval_train_records_the_full_training_loss_in_eval_mode():
    X, y, _, _ = numpy_data()
    model = nn.Sequential(nn.Dropout(0.5, rng=3), *numpy_net().layers)
    history = nn.fit(model, sgd, X, y, lr=0.05, epochs=2, batch_size=BATCH, rng=0,
                     eval_train=True)
    assert history.train_loss[-1] == nn.evaluate(model, X, y)[0]
    assert model.training  # evaluate restored the mode


def test_fit_with_a_schedule_sets_the_rate_of_each_update():
    """lr(t) is the rate of update t + 1, as descent.run and torch's schedulers."""
    X, y, _, _ = numpy_data()
    schedule = step_decay(0.2, step_size=3, gamma=0.5)
    seen = []
    spy = LambdaCallback(on_before_step=lambda t, loss, loop: seen.append(loop.lr))
    history = nn.fit(numpy_net(), sgd, X, y, lr=schedule, epochs=2, batch_size=BATCH, rng=0,
                     callbacks=[spy])
    T = 2 * STEPS_PER_EPOCH
    assert seen == [schedule(t) for t in range(T)]
    assert history.lr == [schedule(t) for t in range(1, T + 1)]
    # the same through the LRSchedule callback
    other = nn.fit(numpy_net(), sgd, X, y, lr=0.2, epochs=2, batch_size=BATCH, rng=0,
                   callbacks=[LRSchedule(schedule)])
    assert other.lr == history.lr and other.step_loss == history.step_loss


def test_fit_continues_a_run_through_states():
    X, y, _, _ = numpy_data()
    whole = numpy_net()
    nn.fit(whole, sgd, X, y, lr=0.1, momentum=0.9, epochs=2, batch_size=BATCH, rng=3)
    split, states, gen = numpy_net(), [], np.random.default_rng(3)
    for _ in range(2):
        nn.fit(split, sgd, X, y, lr=0.1, momentum=0.9, epochs=1, batch_size=BATCH, rng=gen,
               states=states)
    assert len(states) == len(split.parameters()) and "momentum_buffer" in states[0]
    for a, b in zip(whole.parameters(), split.parameters()):
        assert np.array_equal(a, b)


def test_fit_stops_on_a_nonfinite_loss():
    X, y, X_val, y_val = numpy_data()
    # least squares with lr 1e50: each step multiplies the error by ~1e50 until it overflows
    linear, targets = nn.Sequential(nn.Linear(D, C, 0)), X[:, :C]
    history = nn.fit(linear, sgd, X, targets, lr=1e50, epochs=5, batch_size=BATCH, rng=0,
                     loss_fn=nn.MSELoss(), X_val=X_val, y_val=X_val[:, :C],
                     stop_on_nonfinite=True)
    assert history.diverged and not history.stopped
    assert all(np.isfinite(history.step_loss))
    assert len(history.val_loss) < 5 and len(history.train_loss) == len(history.val_loss)


def test_evaluate_matches_torch_and_restores_the_mode():
    X, y, X_val, y_val = numpy_data()
    model = nn.Sequential(nn.Linear(D, 8, 0), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, C, 1))
    model(X)  # running statistics from one training batch
    loss, acc = nn.evaluate(model, X_val, y_val)
    assert model.training
    tmodel = model.to_torch().eval()
    with torch.no_grad():
        out = tmodel(torch.tensor(X_val))
    t_loss = torch.nn.functional.cross_entropy(out, torch.tensor(y_val)).item()
    assert math.isclose(loss, t_loss, rel_tol=1e-12)
    assert acc == float((out.argmax(dim=1).numpy() == y_val).mean())
    model[0].W[:] = np.inf
    assert nn.evaluate(model, X_val, y_val)[0] == math.inf
    reg = nn.Sequential(nn.Linear(D, 2, 0))
    mse, no_acc = nn.evaluate(reg, X_val, np.zeros((20, 2)), nn.MSELoss())
    assert mse > 0 and math.isnan(no_acc)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"epochs": 0}, ValueError, r"Invalid epochs: 0 \(expected a positive integer\)"),
    ({"batch_size": 0}, ValueError, r"Invalid batch_size: 0"),
    ({"callbacks": [print]}, TypeError, r"callbacks\[0\] is builtin_function_or_method"),
    ({"X_val": np.zeros((2, D))}, ValueError, r"Invalid X_val, y_val: give both or neither"),
])
def test_fit_bad_arguments(kwargs, error, message):
    X, y, _, _ = numpy_data()
    args = {"lr": 0.1, "epochs": 1, "batch_size": BATCH, **kwargs}
    with pytest.raises(error, match=message):
        nn.fit(numpy_net(), sgd, X, y, **args)


def test_fit_and_evaluate_reject_torch_models():
    with pytest.raises(TypeError, match="course_lib.nn.Module"):
        nn.fit(torch_net(), sgd, np.zeros((2, D)), np.zeros(2, int), lr=0.1, epochs=1,
               batch_size=1)
    with pytest.raises(TypeError, match="course_lib.nn.Module"):
        nn.evaluate(torch_net(), np.zeros((2, D)), np.zeros(2, int))


# ---------------------------------------------------------------- training.train (torch)

def test_train_equals_the_hand_written_torch_loop():
    data = torch_split()
    model, hand = torch_net(), torch_net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    hand_opt = torch.optim.SGD(hand.parameters(), lr=0.1, momentum=0.9)
    history = train(model, opt, data, epochs=3, batch_size=BATCH, seed=5, progress=False)
    gen, losses = torch.Generator().manual_seed(5), []
    for _ in range(3):
        order = torch.randperm(N, generator=gen)
        for start in range(0, N, BATCH):
            idx = order[start:start + BATCH]
            hand_opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(hand(data.X_train[idx]), data.y_train[idx])
            loss.backward()
            hand_opt.step()
            losses.append(loss.item())
    assert history.step_loss == losses
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), hand.parameters()))
    assert len(history.val_acc) == 3 and len(history.lr) == 3 * STEPS_PER_EPOCH


@pytest.mark.parametrize("world", ["torch", "numpy"])
def test_a_callback_stops_training(world):
    def run(callbacks, epochs=4):
        if world == "torch":
            model = torch_net()
            opt = torch.optim.SGD(model.parameters(), lr=0.05)
            return train(model, opt, torch_split(), epochs=epochs, batch_size=BATCH,
                         callbacks=callbacks, progress=False)
        X, y, X_val, y_val = numpy_data()
        return nn.fit(numpy_net(), sgd, X, y, lr=0.05, epochs=epochs, batch_size=BATCH, rng=0,
                      X_val=X_val, y_val=y_val, callbacks=callbacks)

    at_step = run([LambdaCallback(on_step_end=lambda t, loss, loop: t == 10)])
    assert at_step.stopped and len(at_step.step_loss) == 10
    # the interrupted epoch is closed: metrics over the examples it saw
    assert len(at_step.train_loss) == len(at_step.val_loss) == 2

    class StopAfterTwoEpochs(Callback):
        def on_epoch_end(self, epoch, history, loop):
            loop.stop = epoch == 1

    at_epoch = run([StopAfterTwoEpochs()])
    assert at_epoch.stopped and len(at_epoch.val_loss) == 2
    assert len(at_epoch.step_loss) == 2 * STEPS_PER_EPOCH
    assert not run([], epochs=2).stopped


# ---------------------------------------------------------------- early stopping

@pytest.mark.parametrize("world", ["torch", "numpy"])
def test_early_stop_restores_the_best_parameters(world):
    """A validation loss that first falls then rises (lr too large on a tiny, noisy set):
    the callback stops `patience` epochs after the best one and puts its parameters back."""
    snapshots = []
    if world == "torch":
        snap = LambdaCallback(on_epoch_end=lambda e, h, loop: snapshots.append(
            [p.detach().clone() for p in loop.model.parameters()]))
    else:
        snap = LambdaCallback(on_epoch_end=lambda e, h, loop: snapshots.append(
            params_of(loop.model)))
    stopper = EarlyStopping(patience=3)
    # the snapshot callback runs first, so it sees the parameters the stopper judges
    callbacks = [snap, EarlyStop(stopper)]
    if world == "torch":
        model = torch_net()
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        history = train(model, opt, torch_split(), epochs=60, batch_size=BATCH,
                        callbacks=callbacks, progress=False)
        final = [p.detach() for p in model.parameters()]
    else:
        X, y, X_val, y_val = numpy_data()
        model = numpy_net()
        history = nn.fit(model, sgd, X, y, lr=0.5, epochs=60, batch_size=BATCH, rng=0,
                         X_val=X_val, y_val=y_val, callbacks=callbacks)
        final = model.parameters()
    best = int(np.argmin(history.val_loss))
    assert history.stopped and 0 < best < len(history.val_loss) - 1
    assert stopper.best_step == best and len(history.val_loss) == best + 1 + 3
    assert stopper.best_value == history.val_loss[best]
    for p, saved in zip(final, snapshots[best]):
        assert (torch.equal(p, saved) if world == "torch" else np.array_equal(p, saved))


def test_early_stop_without_restore_and_on_a_metric_of_its_own():
    X, y, X_val, y_val = numpy_data()
    stopper = EarlyStopping(patience=1, mode="max")
    record = LambdaCallback(on_epoch_end=lambda e, h, loop: h.record("score", -e))
    model = numpy_net()
    history = nn.fit(model, sgd, X, y, lr=0.05, epochs=10, batch_size=BATCH, rng=0,
                     callbacks=[record, EarlyStop(stopper, monitor="score",
                                                  restore_best=False)])
    assert history.metrics["score"] == [0, -1] and stopper.best_step == 0
    assert not np.array_equal(model.parameters()[0], stopper.best_params[0])
    with pytest.raises(RuntimeError, match="no value of 'val_loss' was recorded"):
        nn.fit(numpy_net(), sgd, X, y, lr=0.05, epochs=1, batch_size=BATCH,
               callbacks=[EarlyStop(EarlyStopping())])


# ---------------------------------------------------------------- learning rates

def torch_run(callbacks=(), scheduler=None, make_scheduler=None, epochs=3, lr=0.2):
    model = torch_net()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.5)
    if make_scheduler is not None:
        scheduler = make_scheduler(opt)
    history = train(model, opt, torch_split(), epochs=epochs, batch_size=BATCH,
                    scheduler=scheduler, callbacks=callbacks, progress=False)
    return history, model


def test_schedule_callback_per_step_equals_torch_scheduler():
    ours, m1 = torch_run(callbacks=[LRSchedule(step_decay(0.2, step_size=4, gamma=0.5))])
    theirs, m2 = torch_run(
        make_scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5))
    assert ours.lr == theirs.lr and ours.step_loss == theirs.step_loss
    assert all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters()))
    assert min(ours.lr) < 0.2 * 0.5**4  # it did decay


def test_schedule_callback_per_epoch_equals_torch_scheduler_stepped_per_epoch():
    schedulers = []
    hooks = LambdaCallback(
        on_train_begin=lambda loop: schedulers.append(
            torch.optim.lr_scheduler.StepLR(loop.optimizer, 1, gamma=0.3)),
        on_epoch_end=lambda epoch, history, loop: schedulers[0].step())
    theirs, _ = torch_run(callbacks=[hooks])
    ours, _ = torch_run(callbacks=[LRSchedule(step_decay(0.2, 1, 0.3), every="epoch")])
    assert ours.step_loss == theirs.step_loss
    rates = sorted(set(ours.lr), reverse=True)
    assert np.allclose(rates, [0.2, 0.2 * 0.3, 0.2 * 0.09], rtol=1e-15)


@pytest.mark.parametrize("world", ["torch", "numpy"])
def test_plateau_callback_equals_torch_reduce_lr_on_plateau(world):
    """torch's ReduceLROnPlateau stepped with the validation loss after every epoch, against
    the Plateau callback; a large relative threshold makes it reduce several times."""
    kwargs = {"factor": 0.5, "patience": 1, "threshold": 0.05}
    t_sched = []

    def torch_plateau(epoch, history, loop):
        if world == "torch":
            t_sched[0].step(history.val_loss[-1])
        else:  # a bare optimizer holding the rate, driven by the NumPy run's losses
            t_sched[0].step(history.val_loss[-1])
            loop.lr = t_sched[0].optimizer.param_groups[0]["lr"]

    if world == "torch":
        theirs, _ = torch_run(make_scheduler=None, epochs=12, lr=0.3, callbacks=[
            LambdaCallback(on_train_begin=lambda loop: t_sched.append(
                torch.optim.lr_scheduler.ReduceLROnPlateau(loop.optimizer, **kwargs)),
                on_epoch_end=torch_plateau)])
        ours, _ = torch_run(epochs=12, lr=0.3,
                            callbacks=[Plateau(ReduceLROnPlateau(lr=0.3, **kwargs))])
    else:
        X, y, X_val, y_val = numpy_data()
        holder = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3)
        t_sched.append(torch.optim.lr_scheduler.ReduceLROnPlateau(holder, **kwargs))

        def run(callbacks):
            return nn.fit(numpy_net(), sgd, X, y, lr=0.3, epochs=12, batch_size=BATCH,
                          rng=0, X_val=X_val, y_val=y_val, callbacks=callbacks)

        theirs = run([LambdaCallback(on_epoch_end=torch_plateau)])
        ours = run([Plateau(ReduceLROnPlateau(lr=0.3, **kwargs))])
    assert ours.lr == theirs.lr and ours.val_loss == theirs.val_loss
    assert len(set(ours.lr)) >= 3  # at least two reductions


# ---------------------------------------------------------------- averaging

def test_averaging_callbacks_equal_the_mean_of_the_iterates():
    X, y, _, _ = numpy_data()
    iterates = []
    spy = LambdaCallback(on_step_end=lambda t, loss, loop: iterates.append(
        params_of(loop.model)))
    uniform, ema = UniformAverage(), ExponentialMovingAverage(0.9)
    per_epoch = UniformAverage()
    nn.fit(numpy_net(), sgd, X, y, lr=0.1, epochs=2, batch_size=BATCH, rng=0,
           callbacks=[spy, Averaging(uniform, start=3), Averaging(ema),
                      Averaging(per_epoch, every="epoch")])
    T = 2 * STEPS_PER_EPOCH
    assert uniform.count == T - 2 and ema.count == T and per_epoch.count == 2
    for i, avg in enumerate(uniform.value):
        mean = np.mean([it[i] for it in iterates[2:]], axis=0)
        np.testing.assert_allclose(avg, mean, rtol=1e-12, atol=1e-14)
        ema_ref = iterates[0][i].copy()
        for it in iterates[1:]:
            ema_ref = 0.9 * ema_ref + 0.1 * it[i]
        np.testing.assert_allclose(ema.value[i], ema_ref, rtol=1e-12, atol=1e-14)
        ends = [iterates[STEPS_PER_EPOCH - 1][i], iterates[-1][i]]
        np.testing.assert_allclose(per_epoch.value[i], np.mean(ends, axis=0), rtol=1e-12)


def test_averaging_callback_on_a_torch_model_matches_torch_averaged_model():
    model = torch_net()
    reference = torch.optim.swa_utils.AveragedModel(model)
    mine = UniformAverage()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    train(model, opt, torch_split(), epochs=2, batch_size=BATCH, progress=False,
          callbacks=[Averaging(mine),
                     LambdaCallback(on_step_end=lambda t, loss, loop:
                                    reference.update_parameters(loop.model))])
    for (name, _), q in zip(model.named_parameters(), reference.module.parameters()):
        torch.testing.assert_close(mine.value[name], q, rtol=1e-12, atol=1e-14)


def test_lambda_callback_rejects_unknown_hooks():
    with pytest.raises(TypeError, match="unknown hook 'on_step'"):
        LambdaCallback(on_step=lambda *a: None)
    with pytest.raises(TypeError, match="EarlyStop expects an EarlyStopping"):
        EarlyStop(object())
    with pytest.raises(ValueError, match=r"Invalid every: 'batch'"):
        LRSchedule(step_decay(0.1, 2), every="batch")


def test_loop_lr_sets_every_torch_param_group():
    model = torch_net()
    groups = [{"params": model[0].parameters(), "lr": 0.1},
              {"params": model[2].parameters(), "lr": 0.2}]
    opt = torch.optim.SGD(groups, lr=0.1)
    plateau = ReduceLROnPlateau(lr=[0.1, 0.2], factor=0.5, patience=0, threshold=10.0)
    history = train(model, opt, torch_split(), epochs=3, batch_size=BATCH, progress=False,
                    callbacks=[Plateau(plateau)])
    # relative threshold 10: the bar best * (1 - 10) is -inf at first (best = inf), then
    # negative, so no epoch improves and each of the three halves both rates (torch alike)
    assert [g["lr"] for g in opt.param_groups] == [0.0125, 0.025] == plateau.lr
    assert history.lr[-1] == 0.025  # the first group's rate after the last update, before
    # the third epoch's reduction
    bad = Plateau(ReduceLROnPlateau(lr=[0.1, 0.2, 0.3]))
    message = r"Invalid lr: \[0\.1, 0\.2, 0\.3\] \(expected a number or 2"
    with pytest.raises(ValueError, match=message):
        train(torch_net(), torch.optim.SGD([{"params": model[0].parameters()},
                                            {"params": model[2].parameters()}], lr=0.1),
              torch_split(), epochs=1, batch_size=BATCH, progress=False, callbacks=[bad])
