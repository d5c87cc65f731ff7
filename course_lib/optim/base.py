"""The bridge between an update rule and ``torch.optim.Optimizer``.

An *update rule* in course_lib is a plain function

    rule(param, grad, state, **hyperparameters) -> None

that updates ``param`` (and the arrays in the dict ``state``) in place. It is written with
array operators and the helpers of :mod:`course_lib.arrays` only, so the same function runs
on NumPy arrays (the toy problems of the book, see :func:`course_lib.descent.run`), on torch
tensors and on :class:`~course_lib.arrays.TensorList` s. That is the course's rule of *one
definition per method*.

:class:`RuleOptimizer` turns a rule into a ``torch.optim.Optimizer``: param groups,
``step(closure)``, ``zero_grad()``, ``state_dict()``/``load_state_dict()`` and hooks are all
inherited from torch, and ``step`` calls the rule once per parameter (``foreach=None`` or
``False``, torch's default on the CPU) or once per list of parameters that share device,
dtype and step count (``foreach=True``), with the group's hyperparameters.
"""

from __future__ import annotations

import functools
import inspect

import torch

from ..arrays import TensorList, real_view
from .common import coupled_gradient

__all__ = ["RuleOptimizer", "coupled_gradient"]


def _to_scalar(x):
    """torch's ``_to_scalar``: a 1-element tensor becomes 0-d; anything else is unchanged."""
    return x.squeeze() if isinstance(x, torch.Tensor) and x.dim() != 0 else x


def _scalar_dtype():
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


class RuleOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` whose step applies ``self.rule`` to every parameter.

    Subclasses set ``rule`` (a staticmethod) and call ``super().__init__(params, defaults)``
    after validating ``defaults``. The rule receives, from each param group, the entries named
    by its keyword-only parameters.

    Class attributes a subclass may set: ``supports_sparse`` (False: a sparse gradient raises
    ``sparse_message``, torch's wording), ``scalar_state`` (state entries torch keeps as 0-d
    tensors; older checkpoints holding numbers are converted on load), and
    ``views_complex_as_real`` (whether torch's ``foreach`` path works on
    ``torch.view_as_real`` of complex parameters and state), ``foreach_tensor_lr_message``
    (torch's error when its ``foreach`` path refuses a tensor ``lr``), ``foreach_reads`` (the
    scalar state whose value the rule reads: ``foreach=True`` groups tensors that agree on
    it, so each ``_foreach_*`` call sees one value).
    """

    rule = None
    supports_sparse = False
    sparse_message = "{name} does not support sparse gradients"
    scalar_state = ("step",)
    views_complex_as_real = True
    foreach_tensor_lr_message = None
    foreach_reads = ("step",)

    # ------------------------------------------------------------------ loading
    def __setstate__(self, state):
        """Fill in options missing from older state dicts (the constructor's defaults) and
        turn a step count stored as a number into torch's 0-d tensor, as torch.optim does."""
        super().__setstate__(state)
        options = {name: p.default for name, p in inspect.signature(type(self)).parameters.items()
                   if p.default is not inspect.Parameter.empty}
        for group in self.param_groups:
            for name, value in options.items():
                group.setdefault(name, value)
            for p in group["params"]:
                p_state = self.state.get(p, {})
                for key in self.scalar_state:
                    if key in p_state and not torch.is_tensor(p_state[key]):
                        p_state[key] = torch.tensor(float(p_state[key]), dtype=_scalar_dtype())

    # ------------------------------------------------------------------ stepping
    def hyperparameters(self, group: dict) -> dict:
        """The keyword arguments the rule receives for one param group (a tensor ``lr`` is
        passed on as a 0-d tensor, as torch does)."""
        hyper = {k: group[k] for k in _keyword_only(type(self).rule)}
        if "lr" in hyper:
            hyper["lr"] = _to_scalar(hyper["lr"])
        return hyper

    @torch.no_grad()
    def step(self, closure=None):
        """Perform one optimization step; ``closure`` re-evaluates the loss and returns it."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        rule = type(self).rule
        for group in self.param_groups:
            hyper = self.hyperparameters(group)
            params = []
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse and not self.supports_sparse:
                    raise RuntimeError(self.sparse_message.format(name=type(self).__name__))
                params.append(p)
            if group.get("foreach") and not any(p.grad.is_sparse for p in params):
                self._foreach_step(params, hyper)
            else:
                for p in params:
                    rule(p, p.grad, self.state[p], **hyper)
        return loss

    def _foreach_hyperparameters(self, hyper: dict) -> dict:
        """The hyperparameters of the ``foreach`` path (a subclass converts what torch's
        multi-tensor function converts)."""
        return hyper

    def _foreach_step(self, params, hyper):
        """The rule applied to lists of tensors, as torch's ``foreach=True`` path: one call
        per (device, dtype, state layout, values of ``foreach_reads``) bucket."""
        rule = type(self).rule
        if self.foreach_tensor_lr_message and isinstance(hyper.get("lr"), torch.Tensor):
            raise RuntimeError(self.foreach_tensor_lr_message)
        hyper = self._foreach_hyperparameters(hyper)
        init = getattr(rule, "init_state", None)
        buckets: dict = {}
        for p in params:
            state = self.state[p]
            if init is not None and not state:
                init(p, state, **hyper)
            scalars = tuple(state[k].item() for k in self.foreach_reads if k in state)
            key = (p.device, p.dtype, tuple(state), scalars)
            buckets.setdefault(key, []).append(p)
        for (_, dtype, _, _), bucket in buckets.items():
            states = [self.state[p] for p in bucket]
            if dtype.is_complex and self.views_complex_as_real:
                # torch's multi-tensor functions view complex tensors as real first
                params = TensorList([real_view(p) for p in bucket])
                grads = TensorList([real_view(p.grad) for p in bucket])
                rule(params, grads, _StateList(states, real_view), **hyper)
            else:
                params = TensorList(bucket)
                grads = TensorList([p.grad for p in bucket])
                rule(params, grads, _StateList(states, None), **hyper)


class _StateList:
    """The per-parameter state dicts of a bucket, seen as one dict of TensorLists."""

    def __init__(self, states, view):
        self.states, self.view = states, view

    def __len__(self):
        return len(self.states[0])

    def __contains__(self, key):
        return key in self.states[0]

    def __iter__(self):
        return iter(self.states[0])

    def __getitem__(self, key):
        if self.view is None:
            return TensorList([s[key] for s in self.states])
        return TensorList([self.view(s[key]) if s[key].dim() else s[key] for s in self.states])

    def get(self, key, default=None):
        return self[key] if key in self else default

    def __setitem__(self, key, value):
        for s, t in zip(self.states, value.tensors):
            if key not in s or s[key] is not t:
                s[key] = t

    def update(self, other):
        for key, value in other.items():
            self[key] = value


@functools.cache
def _keyword_only(rule) -> tuple[str, ...]:
    return tuple(name for name, p in inspect.signature(rule).parameters.items()
                 if p.kind is inspect.Parameter.KEYWORD_ONLY)
