r"""Gradient checking by centred finite differences.

For a scalar function :math:`f` the centred difference

.. math:: \frac{\partial f}{\partial x_k} \approx \frac{f(x+he_k)-f(x-he_k)}{2h}

has truncation error :math:`O(h^2)` (the one-sided difference has :math:`O(h)`) and rounding
error about :math:`\epsilon_\text{mach}|f|/h`; in float64 :math:`h=10^{-6}` balances the two
for well-scaled :math:`f` and leaves a relative error around :math:`10^{-9}`. Gradient
checks must be done in float64: in float32 the rounding term alone is about :math:`10^{-1}`.

A layer :math:`y=F(x)` is checked through the scalar :math:`f(x) = \langle \delta, F(x)\rangle`
for a random "upstream gradient" :math:`\delta`: its gradient is the vector-Jacobian product
:math:`J^\top\delta` that ``backward(delta)`` must return (:func:`numerical_gradient_array`,
CS231n's ``eval_numerical_gradient_array``). :func:`check_layer` does this for the input and
every parameter of any :class:`course_lib.nn.Module`, losses included.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

__all__ = ["check_layer", "numerical_gradient", "numerical_gradient_array", "numerical_jacobian",
           "relative_error"]

# Seed of the default upstream gradient: deliberately not a small integer, so that dout is
# not the very array a test drew for x from default_rng(0) (with dout = x, BatchNorm's
# input gradient is ~0 and the check would measure noise).
_DOUT_SEED = 0x5EED_D0D7


def _check_x(x, name="x") -> np.ndarray:
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise ValueError(f"{name} must be a floating-point numpy array (perturbed in place), "
                         f"got {type(x).__name__}"
                         + (f" of dtype {x.dtype}" if isinstance(x, np.ndarray) else ""))
    return x


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                       h: float = 1e-6) -> np.ndarray:
    r"""Centred-difference gradient of the scalar function ``f`` at ``x`` (any shape).

    ``x`` is perturbed *in place*, one entry at a time, and restored, so ``f`` may read it
    through a closure (e.g. ``f = lambda _: loss(layer.forward(x0))`` with ``x`` a parameter
    array of ``layer``). Returns an array of ``x``'s shape. Costs ``2 * x.size`` calls.
    """
    x = _check_x(x)
    if h <= 0:
        raise ValueError(f"h must be positive, got {h}")
    grad = np.zeros(x.shape, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        fp = float(f(x))
        x[idx] = old - h
        fm = float(f(x))
        x[idx] = old
        grad[idx] = (fp - fm) / (2 * h)
    return grad


def numerical_gradient_array(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                             dout, h: float = 1e-6) -> np.ndarray:
    r"""Centred-difference vector-Jacobian product :math:`J_f(x)^\top\,\text{dout}` for an
    array-valued ``f`` -- what a layer's ``backward(dout)`` computes for its input.

    .. math:: \big(J^\top\delta\big)_k \approx
        \Big\langle \delta, \frac{f(x+he_k)-f(x-he_k)}{2h}\Big\rangle .

    ``dout`` has the shape of ``f(x)``; ``x`` is perturbed in place and restored.
    """
    x = _check_x(x)
    if h <= 0:
        raise ValueError(f"h must be positive, got {h}")
    dout = np.asarray(dout, dtype=np.float64)
    grad = np.zeros(x.shape, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        fp = np.array(f(x), dtype=np.float64, copy=True)
        x[idx] = old - h
        fm = np.array(f(x), dtype=np.float64, copy=True)  # f may return x itself
        x[idx] = old
        if fp.shape != dout.shape:
            raise ValueError(f"dout has shape {dout.shape} but f(x) has shape {fp.shape}")
        grad[idx] = np.sum((fp - fm) * dout) / (2 * h)
    return grad


def numerical_jacobian(f: Callable[[np.ndarray], np.ndarray], x, h: float = 1e-6) -> np.ndarray:
    r"""Centred-difference Jacobian of ``f`` at the vector ``x`` (shape ``(n,)``): column
    ``k`` is :math:`(f(x+he_k)-f(x-he_k))/(2h)`, so the result has shape ``f(x).shape + (n,)``
    -- ``(n,)`` (the gradient) for a scalar ``f``, ``(m, n)`` for ``f`` with values in
    :math:`\mathbb R^m`. ``x`` is not modified (``f`` receives perturbed copies); any
    array-like is accepted and converted to float64. Costs ``2n`` calls.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"Invalid x: shape {x.shape} (expected a vector, shape (n,))")
    if h <= 0:
        raise ValueError(f"h must be positive, got {h}")
    columns = []
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = h
        columns.append((np.asarray(f(x + e), dtype=np.float64)
                        - np.asarray(f(x - e), dtype=np.float64)) / (2 * h))
    return np.moveaxis(np.array(columns), 0, -1)


def relative_error(a, b, floor: float = 0.0) -> float:
    r"""Normwise relative error
    :math:`\lVert a-b\rVert / \max(\lVert a\rVert, \lVert b\rVert, \text{floor})`
    (Frobenius norms), 0 when all three are 0.

    ``floor`` > 0 turns it into an absolute error for arrays smaller than ``floor`` -- for a
    gradient that is zero analytically (the bias of a layer followed by BatchNorm), where
    the finite difference returns only its noise, :math:`\sim10^{-10}`, and the ratio of two
    noises is meaningless.

    Normwise rather than entrywise (CS231n's :math:`\max_k |a_k-b_k|/(|a_k|+|b_k|)`): an entry
    that is zero analytically carries the finite difference's absolute error
    (:math:`\sim10^{-10}`), which an entrywise ratio would blow up to order 1.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error needs arrays of the same shape, got {a.shape} "
                         f"and {b.shape}")
    scale = max(float(np.linalg.norm(a)), float(np.linalg.norm(b)), float(floor))
    if scale == 0.0:
        return 0.0
    return float(np.linalg.norm(a - b)) / scale


def _generators(obj, seen=None):
    """All numpy Generators held by ``obj`` and its sub-modules (for replaying randomness)."""
    from .module import Module

    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    values = vars(obj).values() if isinstance(obj, Module) else obj
    for v in values:
        if isinstance(v, np.random.Generator):
            yield v
        elif isinstance(v, Module) or (isinstance(v, (list, tuple))
                                       and any(isinstance(u, Module) for u in v)):
            yield from _generators(v, seen)


def check_layer(layer, x, *args, dout=None, h: float = 1e-6, rng=None, floor: float = 0.0,
                details: bool = False):
    r"""Compare ``layer.backward`` with centred differences; return the largest relative error.

    Parameters
    ----------
    layer : a :class:`course_lib.nn.Module` (layer, :class:`~course_lib.nn.Sequential` or
        loss), in the mode to check (``train()``/``eval()``). It is deep-copied first, so the
        caller's layer (its running statistics, its random generator) is not changed.
    x : float64 array, the input.
    *args : further arguments of ``forward`` (a loss's target).
    dout : upstream gradient, shape of the output; default standard normal from ``rng``
        (an int seed or Generator; default a fixed seed). For a loss (scalar output) it is a
        scalar.
    h : the finite-difference step.
    floor : passed to :func:`relative_error` (use e.g. 1.0 when a gradient is zero
        analytically).
    details : return a dict ``{"x": err, "<param name>": err, ...}`` instead of the max.

    Randomness inside the layer (dropout masks) is replayed: the state of every numpy
    ``Generator`` the layer holds is restored before each ``forward``, so all evaluations use
    the mask of the analytic pass.
    """
    from .module import Module

    if not isinstance(layer, Module):
        raise TypeError(f"check_layer expects a course_lib.nn.Module, got {type(layer).__name__}")
    layer = copy.deepcopy(layer)
    x = np.array(x, dtype=np.float64, copy=True)
    states = [(g, copy.deepcopy(g.bit_generator.state)) for g in _generators(layer)]

    def forward(z):
        for g, s in states:
            g.bit_generator.state = s
        return layer.forward(z, *args)

    out = np.asarray(forward(x), dtype=np.float64)
    if dout is None:
        dout = np.random.default_rng(_DOUT_SEED if rng is None else rng).standard_normal(out.shape)
    dout = np.asarray(dout, dtype=np.float64)
    if dout.shape != out.shape:
        raise ValueError(f"dout has shape {dout.shape} but the output has shape {out.shape}")
    dx = np.array(layer.backward(dout if dout.ndim else float(dout)), dtype=np.float64)
    analytic = [g.copy() for g in layer.grads()]

    errors = {"x": relative_error(dx, numerical_gradient_array(forward, x, dout, h), floor)}
    for (name, p), g in zip(layer.named_parameters(), analytic):
        num = numerical_gradient_array(lambda _: forward(x), _check_x(p, name), dout, h)
        errors[name] = relative_error(g, num, floor)
    return errors if details else max(errors.values())
