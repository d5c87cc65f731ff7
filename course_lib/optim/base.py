"""The bridge between an update rule and ``torch.optim.Optimizer``.

An *update rule* in course_lib is a :class:`~course_lib.optim.rule.Rule`, made by decorating a
function

    @update_rule(check=..., init_state=...)
    def rule(param, grad, state, *, lr, ...) -> None

that updates ``param`` (and the arrays in the dict ``state``) in place. It is written with
array operators and the helpers of :mod:`course_lib.arrays` only, so the same function runs
on NumPy arrays (the toy problems of the book, see :func:`course_lib.optim.descent.run`), on
torch tensors and on :class:`~course_lib.arrays.TensorList` s. That is the course's rule of
*one definition per method*.

:class:`RuleOptimizer` turns a rule into a ``torch.optim.Optimizer``: param groups,
``step(closure)``, ``zero_grad()``, ``state_dict()``/``load_state_dict()`` and hooks are all
inherited from torch, and ``step`` calls the rule once per parameter (``foreach=None`` or
``False``, torch's default on the CPU) or once per list of parameters that share device,
dtype and step count (``foreach=True``), with the group's hyperparameters.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

import torch

from ..arrays import TensorList, real_view
from .common import coupled_gradient
from .rule import Rule, apply, as_rule

__all__ = ["RuleOptimizer", "coupled_gradient", "to_scalar", "scalar_dtype"]


def to_scalar(x: Any) -> Any:
    """torch's ``_to_scalar``: a 1-element tensor becomes 0-d; anything else is unchanged."""
    return x.squeeze() if isinstance(x, torch.Tensor) and x.dim() != 0 else x


def scalar_dtype() -> torch.dtype:
    """The dtype of torch's 0-d state tensors (``step``): float64 if that is torch's default
    dtype, float32 otherwise."""
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


class RuleOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` whose step applies ``self.rule`` to every parameter.

    Subclasses set ``rule`` (a :class:`~course_lib.optim.rule.Rule`: ``rule = sgd``; a plain
    function is wrapped by :func:`~course_lib.optim.rule.as_rule`, ``staticmethod`` or not) and
    call ``super().__init__(params, defaults)`` with ``defaults`` from ``rule.validate(...)``
    plus torch's implementation switches. The rule receives, from each param group, the
    entries named by its keyword-only parameters (``rule.names``).

    Class attributes a subclass may set: ``supports_sparse`` (False: a sparse gradient raises
    ``sparse_message``, torch's wording), ``scalar_state`` (state entries torch keeps as 0-d
    tensors; older checkpoints holding numbers are converted on load), and
    ``views_complex_as_real`` (whether torch's ``foreach`` path works on
    ``torch.view_as_real`` of complex parameters and state), ``foreach_tensor_lr_message``
    (torch's error when its ``foreach`` path refuses a tensor ``lr``), ``foreach_reads`` (the
    scalar state whose value the rule reads: ``foreach=True`` groups tensors that agree on
    it, so each ``_foreach_*`` call sees one value).
    """

    rule: ClassVar[Rule | Callable[..., Any] | None] = None
    supports_sparse: ClassVar[bool] = False
    sparse_message: ClassVar[str] = "{name} does not support sparse gradients"
    scalar_state: ClassVar[tuple[str, ...]] = ("step",)
    views_complex_as_real: ClassVar[bool] = True
    foreach_tensor_lr_message: ClassVar[str | None] = None
    foreach_reads: ClassVar[tuple[str, ...]] = ("step",)

    @classmethod
    def get_rule(cls) -> Rule:
        """The class's rule as a :class:`~course_lib.optim.rule.Rule`."""
        if cls.rule is None:
            raise TypeError(f"{cls.__name__} sets no update rule (class attribute 'rule')")
        return as_rule(cls.rule)

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
                        p_state[key] = torch.tensor(float(p_state[key]), dtype=scalar_dtype())

    # ------------------------------------------------------------------ stepping
    def hyperparameters(self, group: dict) -> dict:
        """The keyword arguments the rule receives for one param group (a tensor ``lr`` is
        passed on as a 0-d tensor, as torch does)."""
        hyper = {k: group[k] for k in self.get_rule().names}
        if "lr" in hyper:
            hyper["lr"] = to_scalar(hyper["lr"])
        return hyper

    @torch.no_grad()
    def step(self, closure=None):
        """Perform one optimization step; ``closure`` re-evaluates the loss and returns it."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        rule = self.get_rule()
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
                apply(rule, params, [p.grad for p in params], [self.state[p] for p in params],
                      hyper)
        return loss

    def _foreach_hyperparameters(self, hyper: dict) -> dict:
        """The hyperparameters of the ``foreach`` path (a subclass converts what torch's
        multi-tensor function converts)."""
        return hyper

    def _foreach_step(self, params, hyper) -> None:
        """The rule applied to lists of tensors, as torch's ``foreach=True`` path: one call
        per (device, dtype, state layout, values of ``foreach_reads``) bucket."""
        rule = self.get_rule()
        if self.foreach_tensor_lr_message and isinstance(hyper.get("lr"), torch.Tensor):
            raise RuntimeError(self.foreach_tensor_lr_message)
        hyper = self._foreach_hyperparameters(hyper)
        init = rule.init_state
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
                rule.update(params, grads, _StateList(states, real_view), **hyper)
            else:
                params = TensorList(bucket)
                grads = TensorList([p.grad for p in bucket])
                rule.update(params, grads, _StateList(states, None), **hyper)


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

