r"""Averaging the iterates of a stochastic method: Polyak--Ruppert, EMA and SWA.

Three different things that are often given each other's names:

* **Polyak--Ruppert averaging** is the *uniform* mean of the iterates,
  :math:`\bar\theta_t = \frac1t\sum_{i=1}^t \theta_i`, i.e. the recursion
  :math:`\bar\theta_t = \bar\theta_{t-1} + (\theta_t-\bar\theta_{t-1})/t`
  (Polyak & Juditsky 1992; Ruppert 1988). On a noisy convex problem with a constant step it
  averages the noise away: its error keeps shrinking like :math:`1/\sqrt t` while the last
  iterate's stays at the noise floor.
* An **exponential moving average** (EMA),
  :math:`\bar\theta_t = \beta\bar\theta_{t-1} + (1-\beta)\theta_t`, weighs iterate
  :math:`\theta_{t-k}` by :math:`(1-\beta)\beta^k`: it forgets, with a memory of about
  :math:`1/(1-\beta)` steps. It is *not* Polyak--Ruppert averaging (ERRATA 33) but a separate
  variant, suggested for non-convex problems where the early iterates are far from where
  training ends (GBC §8.7.3). With a constant step it keeps a noise floor of its own, lower
  than the last iterate's and higher than the uniform mean's.
* **Stochastic weight averaging** (SWA, Izmailov et al. 2018) is the uniform average of the
  *weights* of a network, :math:`w \leftarrow (n\,w + w_{\text{new}})/(n+1)`, collected
  along a run with a high constant or cyclical learning rate, after which the BatchNorm
  statistics are recomputed for the averaged weights (:func:`update_bn`). It averages
  weights, not predictions (ERRATA 23): averaging predictions of several snapshots is an
  *ensemble* (snapshot ensembles, FGE), which costs one forward pass per member.

What is here: :func:`uniform_average` and :func:`exponential_average` (the running averages
of a whole sequence, e.g. a :class:`~course_lib.optim.descent.Trajectory`'s ``xs``);
:class:`UniformAverage` and :class:`ExponentialMovingAverage` (the same, one
:meth:`~UniformAverage.update` at a time, on NumPy arrays, tensors, lists or dicts of them,
or the parameters of a ``torch.nn.Module``); :class:`SWA` and :func:`update_bn`, which equal
``torch.optim.swa_utils.AveragedModel`` and ``update_bn``.
"""

from __future__ import annotations

import copy
import numbers
from typing import Any

import numpy as np
import torch

__all__ = [
    "SWA",
    "ExponentialMovingAverage",
    "UniformAverage",
    "exponential_average",
    "uniform_average",
    "update_bn",
]


def _check_decay(decay) -> None:
    if (not isinstance(decay, numbers.Real) or isinstance(decay, bool)
            or not 0.0 <= decay < 1.0):
        raise ValueError(f"Invalid decay: {decay} (expected a number in [0, 1))")


# --------------------------------------------------------------------------------------------
# Whole sequences (NumPy)
# --------------------------------------------------------------------------------------------

def uniform_average(xs) -> np.ndarray:
    r"""Running Polyak--Ruppert averages of a sequence: row ``t`` is the mean of rows ``0..t``.

    .. math:: \bar x_t = \frac{1}{t+1}\sum_{i=0}^{t} x_i, \qquad t = 0, 1, \dots

    ``xs`` is an array whose first axis is time (e.g. ``Trajectory.xs``, shape (k+1, n), whose
    row 0 is the starting point; pass ``xs[1:]`` to average only the iterates the method
    produced, :math:`\frac1t\sum_{i=1}^t\theta_i`). Returns an array of the same shape;
    ``uniform_average(xs)[-1] == xs.mean(axis=0)`` up to rounding.
    """
    xs = np.asarray(xs, dtype=float)
    if xs.ndim == 0 or len(xs) == 0:
        raise ValueError(f"Invalid xs: shape {xs.shape} (expected at least one row)")
    counts = np.arange(1, len(xs) + 1).reshape((-1,) + (1,) * (xs.ndim - 1))
    return np.cumsum(xs, axis=0) / counts


def exponential_average(xs, decay: float, *, bias_correction: bool = False) -> np.ndarray:
    r"""Running exponential moving averages of a sequence (first axis is time).

    With :math:`\beta` = ``decay`` and rows :math:`x_1, \dots, x_t` (row ``t-1`` of ``xs``):

    * ``bias_correction=False`` (torch's ``get_ema_multi_avg_fn`` convention): start at the
      first row, :math:`\bar x_1 = x_1`, then :math:`\bar x_t=\beta\bar x_{t-1}+(1-\beta)x_t`:

      .. math:: \bar x_t = \beta^{t-1}x_1 + \sum_{k=0}^{t-2}(1-\beta)\beta^k\,x_{t-k}

    * ``bias_correction=True`` (Adam's convention): start from :math:`m_0=0`,
      :math:`m_t=\beta m_{t-1}+(1-\beta)x_t`, and divide by the total weight:

      .. math:: \bar x_t = \frac{m_t}{1-\beta^t}
                = \frac{\sum_{k=0}^{t-1}(1-\beta)\beta^k\,x_{t-k}}{1-\beta^t}

    Both sets of weights sum to 1, so a constant sequence is returned unchanged; they differ
    only in how much weight the earliest rows get, and agree once :math:`\beta^t \approx 0`.
    (The raw :math:`m_t`, without either fix, is shrunk towards zero by :math:`1-\beta^t`.)
    Returns an array of the same shape as ``xs``.
    """
    _check_decay(decay)
    xs = np.asarray(xs, dtype=float)
    if xs.ndim == 0 or len(xs) == 0:
        raise ValueError(f"Invalid xs: shape {xs.shape} (expected at least one row)")
    out = np.empty_like(xs)
    if bias_correction:
        m = np.zeros_like(xs[0])
        weight = 0.0                                    # 1 - beta^t, by the same recursion
        for t, x in enumerate(xs):
            m = decay * m + (1 - decay) * x
            weight = decay * weight + (1 - decay)
            out[t] = m / weight
    else:
        avg = xs[0].copy()
        out[0] = avg
        for t in range(1, len(xs)):
            avg = decay * avg + (1 - decay) * xs[t]
            out[t] = avg
    return out


# --------------------------------------------------------------------------------------------
# One update at a time (NumPy arrays, tensors, containers of them, nn.Module parameters)
# --------------------------------------------------------------------------------------------

def _leaves(x):
    """Detached leaves of x: (kind, structure) where structure mirrors x."""
    if isinstance(x, torch.nn.Module):
        return {name: p.detach() for name, p in x.named_parameters()}
    if isinstance(x, torch.Tensor):
        return x.detach()
    if isinstance(x, (np.ndarray, numbers.Number)):
        return np.asarray(x, dtype=float) if not isinstance(x, np.ndarray) else x
    if isinstance(x, dict):
        return {k: _leaves(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_leaves(v) for v in x]
    raise TypeError(f"cannot average objects of type {type(x).__name__}")


def _map(fn, *trees):
    first = trees[0]
    if isinstance(first, dict):
        if any(not isinstance(t, dict) or set(t) != set(first) for t in trees[1:]):
            raise ValueError("the structure (dict keys) differs from the first update's")
        return {k: _map(fn, *(t[k] for t in trees)) for k in first}
    if isinstance(first, list):
        if any(not isinstance(t, list) or len(t) != len(first) for t in trees[1:]):
            raise ValueError("the structure (list length) differs from the first update's")
        return [_map(fn, *parts) for parts in zip(*trees)]
    if any(tuple(t.shape) != tuple(first.shape) for t in trees[1:]):
        raise ValueError(f"shape {tuple(trees[1].shape)} differs from the first update's "
                         f"{tuple(first.shape)}")
    return fn(*trees)


def _clone(a):
    return a.clone() if isinstance(a, torch.Tensor) else np.array(a, dtype=float, copy=True)


class _Average:
    def __init__(self):
        self.count = 0
        self._state = None

    @property
    def value(self):
        """The current average, with the structure of the updates (a dict name -> tensor for a
        module); ``None`` before the first update."""
        raise NotImplementedError

    @torch.no_grad()
    def copy_to(self, module: torch.nn.Module) -> torch.nn.Module:
        """Write the average into the parameters of ``module`` (averaged as a module), in place."""
        value = self.value
        if not isinstance(value, dict):
            raise TypeError("copy_to needs an average of a module's parameters")
        params = dict(module.named_parameters())
        if set(params) != set(value):
            raise ValueError("copy_to: the module's parameter names differ from the average's")
        for name, p in params.items():
            p.copy_(value[name])
        return module


class UniformAverage(_Average):
    r"""Polyak--Ruppert averaging, one update at a time: the uniform mean of all updates.

    .. math:: \bar\theta_1 = \theta_1,\qquad
              \bar\theta_t = \bar\theta_{t-1} + \frac{\theta_t - \bar\theta_{t-1}}{t}
              = \frac1t\sum_{i=1}^t\theta_i

    ``update(x)`` accepts a NumPy array, a tensor, a list/tuple or dict of them, or a
    ``torch.nn.Module`` (its parameters, by name). The average is kept in copies of its own
    (same dtype/device for tensors; float64 for NumPy); ``value`` returns it, ``count`` is
    :math:`t`. This is the arithmetic of :class:`SWA` and of torch's ``AveragedModel`` default.
    """

    @torch.no_grad()
    def update(self, x):
        """Add one iterate to the average; return the new average (same as ``value``)."""
        leaves = _leaves(x)
        if self._state is None:
            self._state = _map(_clone, leaves)
        else:
            n = self.count

            def step(avg, new):
                avg += (new - avg) / (n + 1)
                return avg

            _map(step, self._state, leaves)
        self.count += 1
        return self.value

    @property
    def value(self):
        return self._state


class ExponentialMovingAverage(_Average):
    r"""Exponential moving average with decay :math:`\beta`, one update at a time.

    ``bias_correction=False`` (default, torch's ``AveragedModel(...,
    multi_avg_fn=get_ema_multi_avg_fn(decay))``): :math:`\bar\theta_1=\theta_1`, then
    :math:`\bar\theta_t = \beta\bar\theta_{t-1}+(1-\beta)\theta_t`.

    ``bias_correction=True``: :math:`m_t = \beta m_{t-1} + (1-\beta)\theta_t` from
    :math:`m_0 = 0`, and ``value`` is :math:`m_t/(1-\beta^t)` (as Adam corrects its moments).

    See :func:`exponential_average` for the closed forms. This is **not** Polyak--Ruppert
    averaging, which is the uniform mean (:class:`UniformAverage`). Accepts the same inputs as
    :class:`UniformAverage`.
    """

    def __init__(self, decay: float = 0.999, *, bias_correction: bool = False):
        _check_decay(decay)
        super().__init__()
        self.decay = decay
        self.bias_correction = bias_correction

    @torch.no_grad()
    def update(self, x):
        """Add one iterate; return the new average (same as ``value``)."""
        leaves = _leaves(x)
        beta = self.decay
        if self._state is None:
            if self.bias_correction:
                self._state = _map(lambda new: (1 - beta) * _clone(new), leaves)
            else:
                self._state = _map(_clone, leaves)
        else:
            def step(avg, new):
                avg *= beta
                avg += (1 - beta) * new
                return avg

            _map(step, self._state, leaves)
        self.count += 1
        return self.value

    @property
    def value(self):
        if self._state is None or not self.bias_correction:
            return self._state
        total = 1.0 - self.decay ** self.count
        return _map(lambda m: m / total, self._state)


# --------------------------------------------------------------------------------------------
# Stochastic weight averaging
# --------------------------------------------------------------------------------------------

class SWA(torch.nn.Module):
    r"""Stochastic weight averaging of a network's *weights* (Izmailov et al., 2018).

    ``SWA(model)`` keeps a deep copy of ``model``; each :meth:`update` with the current model
    averages its parameters uniformly into the copy,

    .. math:: w_{\text{SWA}} \leftarrow \frac{n\,w_{\text{SWA}} + w}{n+1}, \qquad n \leftarrow n+1

    (the first update copies). Buffers (BatchNorm's running statistics, ...) are not averaged:
    they are copied from the latest model, and after the last update :func:`update_bn` must
    recompute the BatchNorm statistics *for the averaged weights*, since the running
    statistics of the individual models do not describe the averaged network's activations.
    The result is one network, evaluated with one forward pass -- averaging the *predictions*
    of the snapshots would be an ensemble instead (ERRATA 23).

    Same numbers as ``torch.optim.swa_utils.AveragedModel(model)`` (default ``avg_fn``,
    ``use_buffers=False``) followed by ``torch.optim.swa_utils.update_bn``. Calling the object
    calls the averaged copy, ``module`` is the copy, ``n_averaged`` the number of updates.
    The learning rate used while collecting iterates is the business of the schedules
    (constant or :func:`course_lib.schedules.cyclic`; torch's ``SWALR``).
    """

    n_averaged: torch.Tensor

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.module = copy.deepcopy(model)
        self.register_buffer("n_averaged", torch.tensor(0, dtype=torch.long))

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """Average ``model``'s parameters into the copy; copy its buffers."""
        n = int(self.n_averaged)
        mine, theirs = dict(self.module.named_parameters()), dict(model.named_parameters())
        if list(mine) != list(theirs):
            raise ValueError("SWA.update: the model's parameters differ from the averaged ones")
        for name, p_avg in mine.items():
            p = theirs[name].detach().to(p_avg.device)
            if n == 0:
                p_avg.copy_(p)
            else:
                p_avg.add_((p - p_avg) / (n + 1))
        for b_avg, b in zip(self.module.buffers(), model.buffers(), strict=True):
            b_avg.copy_(b.detach().to(b_avg.device))
        self.n_averaged += 1

    update_parameters = update  # torch's AveragedModel name


@torch.no_grad()
def update_bn(data, model: torch.nn.Module, device=None) -> torch.nn.Module:
    r"""Recompute the BatchNorm running statistics of ``model`` from ``data``.

    For each BatchNorm layer (with ``track_running_stats``), over the batches
    :math:`B_1,\dots,B_K` of ``data`` passed through the model in training mode, the running
    mean and variance become the plain averages of the per-batch statistics of the layer's
    input:

    .. math:: \mu = \frac1K\sum_{k=1}^K \operatorname{mean}(x_{B_k}), \qquad
              \sigma^2 = \frac1K\sum_{k=1}^K \operatorname{var}_{\text{unbiased}}(x_{B_k})

    (mean and variance per channel, over the batch and any spatial dimensions), and
    ``num_batches_tracked`` becomes :math:`K`. This is what ``torch.optim.swa_utils.update_bn``
    gets by resetting the statistics and running forward passes with ``momentum=None``
    (a cumulative average); here the statistics are computed explicitly from the layers'
    inputs. As in torch, the whole model is in training mode during the pass (so dropout is
    active, which changes the statistics: this is torch's behaviour, reproduced); each
    module's mode is restored afterwards.

    ``data``: a tensor (one batch), or an iterable of batches, each a tensor or a tuple/list
    whose first element is the input (a ``DataLoader`` of ``(x, y)``). ``device``: where to
    move each batch. Returns ``model``.
    """
    bns = [m for m in model.modules()
           if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not bns:
        return model
    sums: dict[Any, list[Any]] = {m: [0, 0, 0] for m in bns}
    # per layer: sum of means, sum of variances, number of batches

    def hook(module, inputs):
        x = inputs[0]
        dims = [0] + list(range(2, x.dim()))
        acc = sums[module]
        acc[0] = acc[0] + x.mean(dim=dims)
        acc[1] = acc[1] + x.var(dim=dims, correction=1)
        acc[2] += 1

    handles = [m.register_forward_pre_hook(hook) for m in bns]
    modes = {m: m.training for m in model.modules()}
    try:
        model.train()
        batches = [data] if isinstance(data, torch.Tensor) else data
        for batch in batches:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes.items():
            m.training = mode
    for m in bns:
        mean_sum, var_sum, count = sums[m]
        m.reset_running_stats()
        assert m.running_mean is not None and m.running_var is not None
        assert m.num_batches_tracked is not None
        if count:
            m.running_mean.copy_(mean_sum / count)
            m.running_var.copy_(var_sum / count)
            m.num_batches_tracked.fill_(count)
    return model
