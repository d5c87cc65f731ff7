r"""Run an update rule on a NumPy objective and record the trajectory.

This is the "numpy path" of the course: the same rules that drive the torch optimizers
(:mod:`course_lib.optim`) are applied to a point :math:`x\in\mathbb{R}^n` of a test objective
(:mod:`course_lib.objectives`), so every figure of a trajectory on a toy surface is produced
by the code that is verified against ``torch.optim``. The result is a :class:`Trajectory`, an
:class:`~course_lib.result.OptimizeResult` with scipy's field names, like the result of
:func:`course_lib.second_order.minimize`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..result import OptimizeResult
from ..validation import check_int, invalid, is_real
from .rule import Rule, apply, as_rule

__all__ = ["Trajectory", "run"]

#: read-only attributes of :class:`Trajectory` kept from course_lib 0.1, and what they alias
ALIASES = {"xs": "path", "values": "fun_path", "steps": "np.diff(path, axis=0)"}


class Trajectory(OptimizeResult):
    r"""What :func:`run` returns: an :class:`~course_lib.result.OptimizeResult` (a ``dict``
    with attribute access, scipy's field names) with the fields of a fixed-step run.

    Attributes
    ----------
    x : array (n,) -- the last finite iterate :math:`x_k`.
    fun : float -- :math:`f(x_k)` (NaN when only a gradient oracle was given).
    nit : int -- the number of updates :math:`k` recorded in ``path`` (``steps``, or fewer
        if the run diverged).
    nfev : int -- evaluations of ``objective.value`` (:math:`k + 1`; 0 without an objective).
    njev : int -- calls of the gradient oracle (a non-finite gradient's call included).
    status : int -- 1 when every requested step was taken (the normal end of a run without a
        stopping test), 3 when an iterate or gradient stopped being finite; see
        :data:`course_lib.result.STATUS`.
    success : bool -- ``not diverged``.
    message : str -- what ended the run (``"completed 100 steps"``,
        ``"gradient not finite at step 12"``, ``"gradient norm overflows at step 12"``,
        ``"iterate not finite after step 13"``).
    path : array (k + 1, n) -- :math:`x_0, \dots, x_k`.
    fun_path : array (k + 1,) -- :math:`f(x_0), \dots, f(x_k)`.
    grad_norms : array (k,) -- :math:`\lVert\nabla f(x_i)\rVert` of the gradients used, before
        clipping.
    diverged : bool -- True when an iterate or gradient stopped being finite.
    hyperparameters : dict -- what the rule ran with, defaults filled in (``lr`` as given: a
        number or the schedule).
    method : str -- the rule's name (``"sgd"``).

    Read-only aliases (the names of course_lib 0.1): ``xs`` is ``path``, ``values`` is
    ``fun_path`` (it shadows ``dict.values``: use ``items()`` for the mapping), ``steps`` is
    the displacements :math:`x_{i+1} - x_i`, shape (k, n); ``len(result)`` is ``len(path)``.
    """

    @property
    def xs(self) -> np.ndarray:
        """The iterates :math:`x_0, \\dots, x_k` (alias of ``path``)."""
        return self["path"]

    @property
    def values(self) -> np.ndarray:
        """:math:`f(x_0), \\dots, f(x_k)` (alias of ``fun_path``)."""
        return self["fun_path"]

    @property
    def steps(self) -> np.ndarray:
        """The displacements :math:`x_{i+1}-x_i`, shape (k, n)."""
        return np.diff(self["path"], axis=0)

    def __len__(self) -> int:
        return len(self["path"])

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ALIASES:
            raise AttributeError(f"Trajectory.{name} is a read-only alias of "
                                 f"{ALIASES[name]}")
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *ALIASES]


def _check_max_norm(max_norm: Any) -> None:
    if max_norm is None:
        return
    if not is_real(max_norm):
        raise TypeError(f"Invalid max_norm: {max_norm!r} (expected a number > 0 or None)")
    if not max_norm > 0:                # NaN fails too
        raise invalid("max_norm", max_norm, "a number > 0 or None")


def _norm(g: np.ndarray) -> float:
    """The Euclidean norm; rescaled by max|g_i| only where ``sum g_i^2`` overflows, so that a
    finite gradient such as 1e200 has a finite norm (and the common case is numpy's)."""
    with np.errstate(over="ignore"):    # an overflow is handled here
        norm = float(np.linalg.norm(g))
    if math.isinf(norm):
        scale = float(np.max(np.abs(g)))
        norm = scale * float(np.linalg.norm(g / scale))
    return norm


def run(rule: Rule | Callable[..., Any], objective: Any, x0: Any = None, steps: int = 100, *,
        grad: Callable[[np.ndarray, int], Any] | None = None,
        lr: float | Callable[[int], float], max_norm: float | None = None,
        **hyperparameters: Any) -> Trajectory:
    r"""Apply ``rule`` for ``steps`` iterations from ``x0`` and return the :class:`Trajectory`.

    Parameters
    ----------
    rule : an update rule of :mod:`course_lib.optim` (e.g. ``course_lib.optim.sgd``), or a
        plain function ``rule(param, grad, state, *, lr, ...)``.
    objective : an object with ``value(x)`` and ``grad(x)`` (see :mod:`course_lib.objectives`),
        or ``None`` when ``grad`` (and ``x0``) are given.
    x0 : array (n,), default ``objective.x0``. Not modified.
    steps : number of updates, an integer >= 0.
    grad : optional gradient oracle ``grad(x, t) -> array (n,)`` used instead of
        ``objective.grad`` -- e.g. a noisy minibatch gradient; ``t`` counts from 0.
    lr : learning rate, or a schedule ``lr(t)`` evaluated at step ``t = 0, 1, ...``.
    max_norm : if given, clip each gradient to this Euclidean norm before the rule sees it
        (:math:`g \leftarrow g\,c/\lVert g\rVert` when :math:`\lVert g\rVert > c`).
    **hyperparameters : passed to the rule (``momentum=0.9``, ``nesterov=True``, ...).

    The hyperparameters are checked first with ``rule.validate`` (a schedule at ``lr(0)``):
    ``TypeError`` for a name the rule does not take, ``ValueError`` with torch's message for a
    bad value. Each step is :func:`course_lib.optim.rule.apply` on the one parameter ``x``.
    The run stops early, with ``diverged=True`` and ``status=3``, if an iterate or gradient is
    not finite; ``path`` then ends at the last finite iterate.
    """
    rule = as_rule(rule)
    if objective is None and grad is None:
        raise TypeError("run() needs an objective or a gradient oracle grad(x, t), got neither")
    if grad is not None and not callable(grad):
        raise TypeError(f"Invalid grad: {grad!r} (expected a callable grad(x, t) or None)")
    check_int(steps, "steps", 0)
    _check_max_norm(max_norm)
    schedule = lr if callable(lr) else None
    hyper = rule.validate(lr=schedule(0) if schedule else lr, **hyperparameters)
    if x0 is None:
        if objective is None:
            raise TypeError("run() needs x0 when objective is None")
        x0 = objective.x0
    x = np.array(x0, dtype=float, copy=True)
    if x.ndim != 1:
        raise ValueError(f"x0 must be 1-D, got shape {x.shape}")
    oracle = grad if grad is not None else (lambda z, t: objective.grad(z))

    def value(z: np.ndarray) -> float:
        return float(objective.value(z)) if objective is not None else math.nan

    xs, values, norms = [x.copy()], [value(x)], []
    state: dict = {}
    status, message, njev = 1, f"completed {steps} steps", 0
    for t in range(steps):
        g = np.asarray(oracle(x, t), dtype=float)
        njev += 1
        if g.shape != x.shape:
            raise ValueError(f"the gradient at step {t} has shape {g.shape}, expected "
                             f"{x.shape}")
        if not np.all(np.isfinite(g)):
            status, message = 3, f"gradient not finite at step {t}"
            break
        norm = _norm(g)
        if not math.isfinite(norm):
            status, message = 3, f"gradient norm overflows at step {t}"
            break
        if max_norm is not None and norm > max_norm:
            g = g * (max_norm / norm)
        norms.append(norm)
        if schedule is not None:
            hyper["lr"] = schedule(t)
        apply(rule, [x], [g], [state], hyper)
        if not np.all(np.isfinite(x)):
            status, message = 3, f"iterate not finite after step {t + 1}"
            break
        xs.append(x.copy())
        values.append(value(x))
    path, fun_path = np.array(xs), np.array(values)
    return Trajectory(
        x=path[-1].copy(), fun=float(fun_path[-1]), nit=len(path) - 1,
        nfev=len(fun_path) if objective is not None else 0, njev=njev, status=status,
        success=status == 1, message=message, path=path, fun_path=fun_path,
        grad_norms=np.array(norms), diverged=status == 3,
        hyperparameters=dict(hyper, lr=lr), method=rule.name)
