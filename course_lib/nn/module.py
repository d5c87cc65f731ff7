r"""The module protocol, the sequential container, and applying a course update rule.

Every layer is a :class:`Module` with

* ``forward(x)`` -- computes the output and caches what ``backward`` needs;
* ``backward(dout)`` -- given :math:`\partial L/\partial\,\text{out}` (same shape as the
  output) returns :math:`\partial L/\partial x` and *sets* (overwrites, never accumulates)
  the gradient arrays of its parameters, for the most recent ``forward``;
* ``training`` -- a flag like torch modules', switched by ``train()`` / ``eval()``;
* ``named_parameters()``, ``parameters()``, ``grads()`` -- the parameter arrays and their
  gradient arrays, in the same order. Parameter ``name`` has its gradient in attribute
  ``"d" + name`` (``W`` and ``dW``), an array of the same shape that ``backward`` writes in
  place, so a list from ``grads()`` stays valid across steps.

Unlike torch, gradients are overwritten by each ``backward`` (the CS231n convention), so
no ``zero_grad`` is needed between steps; :meth:`Module.zero_grad` exists for code that
accumulates by hand.

Training uses the course's update rules unchanged: :func:`step` calls
``rule(param, grad, state, **hyper)`` (e.g. :func:`course_lib.optim.sgd`) on every parameter,
in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..optim.rule import Rule, apply, as_rule

__all__ = [
    "Module",
    "NumpyOptimizer",
    "Sequential",
    "clip_grad_norm_",
    "clip_grad_value_",
    "step",
]


class Module:
    """Base class: subclasses list their parameter names in ``_params`` and implement
    ``forward`` and ``backward``."""

    _params: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.training = True

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode; returns ``self`` like torch."""
        self.training = bool(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def named_parameters(self) -> list[tuple[str, np.ndarray]]:
        return [(name, getattr(self, name)) for name in self._params]

    def parameters(self) -> list[np.ndarray]:
        return [p for _, p in self.named_parameters()]

    def grads(self) -> list[np.ndarray]:
        """Gradient arrays, aligned with :meth:`parameters`."""
        return [getattr(self, "d" + name) for name in self._params]

    def zero_grad(self) -> None:
        for g in self.grads():
            g.fill(0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Sequential(Module):
    """Layers applied in order; ``backward`` runs them in reverse.

    Parameters are named ``"<index>.<name>"`` (``"0.W"``, ``"0.b"``, ...) like torch's
    ``state_dict`` keys. ``train()``/``eval()`` switch every layer.
    """

    def __init__(self, *layers: Module):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential expects Module instances; layer {i} is "
                                 f"{type(layer).__name__}")
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def train(self, mode: bool = True) -> Sequential:
        self.training = bool(mode)
        for layer in self.layers:
            layer.train(mode)
        return self

    def named_parameters(self) -> list[tuple[str, np.ndarray]]:
        return [(f"{i}.{name}", p) for i, layer in enumerate(self.layers)
                for name, p in layer.named_parameters()]

    def grads(self) -> list[np.ndarray]:
        return [g for layer in self.layers for g in layer.grads()]

    def to_torch(self, dtype=None):
        """The same network as a ``torch.nn.Sequential`` (weights copied, same mode); see each
        layer's ``to_torch``."""
        import torch

        seq = torch.nn.Sequential(*(layer.to_torch(dtype) for layer in self.layers))
        return seq.train(self.training)

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self) -> str:
        inner = "\n".join(f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"


def step(model: Module, rule: Rule | Callable[..., Any], states: list, **hyper: Any) -> None:
    r"""Apply the update rule ``rule`` to every parameter of ``model``, in place.

    For each parameter array ``p`` with gradient ``g`` (from the last ``backward``) and its
    own state dict ``s``, calls ``rule(p, g, s, **hyper)`` -- e.g.
    ``step(model, course_lib.optim.sgd, states, lr=0.1, momentum=0.9)`` -- through
    :func:`course_lib.optim.rule.apply`, the loop every driver of the course shares.

    ``states`` is a list owned by the caller: pass an empty list ``[]`` at the first step;
    it is filled with one dict per parameter (momentum buffers etc.), and the hyperparameters
    are validated then with ``rule.validate`` (``TypeError`` for an unknown name, torch's
    ``ValueError`` messages for a bad value). Later calls must pass the same list.
    """
    rule = as_rule(rule)
    params, grads = model.parameters(), model.grads()
    if not states:
        rule.validate(**hyper)
        states.extend({} for _ in params)
    elif len(states) != len(params):
        raise ValueError(f"states holds {len(states)} entries but the model has "
                         f"{len(params)} parameters; pass [] at the first step")
    apply(rule, params, grads, states, hyper)


class NumpyOptimizer:
    """A thin stateful wrapper over :func:`step`: ``opt = NumpyOptimizer(model, sgd, lr=0.1)``,
    then ``opt.step()`` after each ``backward``. The constructor validates the hyperparameters
    (``rule.validate``); ``opt.hyper`` holds all of them, defaults filled in (change
    ``opt.hyper["lr"]`` for a schedule); ``opt.states`` the per-parameter state dicts."""

    def __init__(self, model: Module, rule: Rule | Callable[..., Any], **hyper: Any) -> None:
        self.model, self.rule = model, as_rule(rule)
        self.hyper: dict[str, Any] = self.rule.validate(**hyper)
        self.states: list[dict] = [{} for _ in model.parameters()]

    def step(self) -> None:
        step(self.model, self.rule, self.states, **self.hyper)

    def zero_grad(self) -> None:
        self.model.zero_grad()


def clip_grad_norm_(grads: Iterable[np.ndarray], max_norm: float,
                    norm_type: float = 2.0) -> float:
    r"""Rescale the gradient arrays in place so their joint norm is at most ``max_norm``;
    return the norm before clipping. Same rule as ``torch.nn.utils.clip_grad_norm_``:

    .. math:: g \leftarrow g\,\min\!\Big(1, \frac{c}{\lVert g\rVert_p + 10^{-6}}\Big),

    with :math:`\lVert g\rVert_p` over all arrays together (``norm_type=inf``: the max
    absolute entry). Keeps the direction of the step, unlike :func:`clip_grad_value_`.
    """
    grads = list(grads)
    if max_norm < 0:
        raise ValueError(f"max_norm must be non-negative, got {max_norm}")
    if not grads:
        return 0.0
    norm_type = float(norm_type)
    if norm_type == np.inf:
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        if norm_type <= 0:
            raise ValueError(f"norm_type must be positive, got {norm_type}")
        total = float(sum(float(np.sum(np.abs(g) ** norm_type)) for g in grads)) ** (1 / norm_type)
    coef = min(1.0, max_norm / (total + 1e-6))
    if coef < 1.0:
        for g in grads:
            g *= coef
    return total


def clip_grad_value_(grads: Iterable[np.ndarray], clip_value: float) -> None:
    """Clip every gradient entry to ``[-clip_value, clip_value]`` in place, as
    ``torch.nn.utils.clip_grad_value_``. Changes the direction of the step when it acts."""
    if clip_value < 0:
        raise ValueError(f"clip_value must be non-negative, got {clip_value}")
    for g in grads:
        np.clip(g, -clip_value, clip_value, out=g)
