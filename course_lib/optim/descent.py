r"""Run an update rule on a NumPy objective and record the trajectory.

This is the "numpy path" of the course: the same rule functions that drive the torch
optimizers (:mod:`course_lib.optim`) are applied to a point :math:`x\in\mathbb{R}^n` of a
test objective (:mod:`course_lib.objectives`), so every figure of a trajectory on a toy
surface is produced by the code that is verified against ``torch.optim``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["Trajectory", "run"]


@dataclass
class Trajectory:
    """The iterates of one run.

    Attributes
    ----------
    xs : array (k + 1, n) -- :math:`x_0, \\dots, x_k` (``k <= steps``; shorter if it diverged).
    values : array (k + 1,) -- :math:`f(x_i)` (NaN when only a gradient was given).
    grad_norms : array (k,) -- :math:`\\lVert\\nabla f(x_i)\\rVert` of the gradients used.
    diverged : bool -- True when an iterate or gradient stopped being finite.
    message : str -- what ended the run.
    """

    xs: np.ndarray
    values: np.ndarray
    grad_norms: np.ndarray
    diverged: bool = False
    message: str = ""
    hyperparameters: dict = field(default_factory=dict)

    @property
    def x(self) -> np.ndarray:
        """The last iterate."""
        return self.xs[-1]

    @property
    def steps(self) -> np.ndarray:
        """The displacements :math:`x_{i+1}-x_i`, shape (k, n)."""
        return np.diff(self.xs, axis=0)

    def __len__(self) -> int:
        return len(self.xs)


def run(rule: Callable, objective, x0=None, steps: int = 100, *, grad: Callable | None = None,
        lr: float | Callable[[int], float], max_norm: float | None = None,
        **hyperparameters) -> Trajectory:
    r"""Apply ``rule`` for ``steps`` iterations from ``x0`` and return the :class:`Trajectory`.

    Parameters
    ----------
    rule : an update rule from :mod:`course_lib.optim` (e.g. ``course_lib.optim.sgd``).
    objective : an object with ``value(x)`` and ``grad(x)`` (see :mod:`course_lib.objectives`),
        or ``None`` when ``grad`` is given.
    x0 : array (n,), default ``objective.x0``. Not modified.
    steps : number of updates.
    grad : optional gradient oracle ``grad(x, t) -> array (n,)`` used instead of
        ``objective.grad`` -- e.g. a noisy minibatch gradient; ``t`` counts from 0.
    lr : learning rate, or a schedule ``lr(t)`` evaluated at step ``t = 0, 1, ...``.
    max_norm : if given, clip each gradient to this Euclidean norm before the rule sees it
        (:math:`g \leftarrow g\,\min(1, c/\lVert g\rVert)`).
    **hyperparameters : passed to the rule (``momentum=0.9``, ``nesterov=True``, ...).

    The run stops early, with ``diverged=True``, if an iterate or gradient is not finite.
    """
    if objective is None and grad is None:
        raise ValueError("run needs an objective or a grad oracle")
    if steps < 0:
        raise ValueError(f"Invalid number of steps: {steps}")
    if max_norm is not None and max_norm <= 0:
        raise ValueError(f"Invalid max_norm value: {max_norm}")
    check = getattr(rule, "check", None)
    schedule = lr if callable(lr) else None
    if check is not None:
        check(lr=schedule(0) if schedule else lr, **hyperparameters)
    if x0 is None:
        x0 = objective.x0
    x = np.array(x0, dtype=float, copy=True)
    if x.ndim != 1:
        raise ValueError(f"x0 must be 1-D, got shape {x.shape}")
    oracle = grad if grad is not None else (lambda z, t: objective.grad(z))
    value = objective.value if objective is not None else (lambda z: np.nan)

    xs, values, norms = [x.copy()], [float(value(x))], []
    state: dict = {}
    message, diverged = f"completed {steps} steps", False
    for t in range(steps):
        g = np.asarray(oracle(x, t), dtype=float)
        norm = float(np.linalg.norm(g))
        if not np.isfinite(norm):
            message, diverged = f"gradient not finite at step {t}", True
            break
        if max_norm is not None and norm > max_norm:
            g = g * (max_norm / norm)
        norms.append(norm)
        rule(x, g, state, lr=schedule(t) if schedule else lr, **hyperparameters)
        if not np.all(np.isfinite(x)):
            message, diverged = f"iterate not finite after step {t + 1}", True
            break
        xs.append(x.copy())
        values.append(float(value(x)))
    return Trajectory(np.array(xs), np.array(values), np.array(norms), diverged, message,
                      dict(lr=lr, **hyperparameters))
