r"""Search directions: the protocol every method of :func:`~.methods.minimize` implements.

:func:`~course_lib.second_order.methods.minimize` is one loop,

.. math:: x_{k+1} = x_k + \alpha_k p_k ,

in which only the direction :math:`p_k` (and the first step the line search tries) depends on
the method. A method is therefore an object with the five methods of
:class:`DirectionStrategy`; it keeps whatever memory it needs (the previous direction for CG,
the inverse-Hessian approximation for BFGS, the curvature pairs for L-BFGS) and learns about
every accepted step through :meth:`~DirectionStrategy.update`. Each strategy lives next to its
mathematics:

=========================  ==============================================================
``"gd"``                    :class:`SteepestDescentDirection` (here): :math:`p = -g`
``"newton"``                :class:`~.newton.NewtonDirection`
``"cg"``                    :class:`~.cg.CGDirection`
``"bfgs"``                  :class:`~.quasi_newton.BFGSDirection`
``"lbfgs"``                 :class:`~.quasi_newton.LBFGSDirection`
=========================  ==============================================================

Any object with these methods can be passed as ``minimize(..., method=strategy)``.
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["DirectionStrategy", "DirectionError", "SteepestDescentDirection",
           "scaled_first_step"]


class DirectionError(Exception):
    """The search direction could not be computed (e.g. a singular Newton system);
    :func:`~.methods.minimize` ends the run with ``status=5`` and this message."""


@runtime_checkable
class DirectionStrategy(Protocol):
    """What :func:`~.methods.minimize` asks of a method, once per iteration, in this order:
    :meth:`direction`, :meth:`step0`, then :meth:`update` after the line search succeeded."""

    #: the method's name (``OptimizeResult.method`` and the ``message``)
    name: str

    def direction(self, x: np.ndarray, f: float, g: np.ndarray) -> np.ndarray:
        """The search direction :math:`p_k` at :math:`x_k` (value ``f``, gradient ``g``); raise
        :class:`DirectionError` when it cannot be computed."""
        ...

    def step0(self, g: np.ndarray, p: np.ndarray) -> float:
        """The first step :math:`\\alpha` the line search tries along ``p``."""
        ...

    def update(self, step: float, p: np.ndarray, g_old: np.ndarray,
               g_new: np.ndarray) -> None:
        """Learn from the accepted step :math:`x_{k+1} = x_k + \\alpha p` with gradients
        :math:`g_k` (``g_old``) and :math:`g_{k+1}` (``g_new``)."""
        ...

    def reset(self) -> bool:
        """Forget the memory (after a failed line search); True when there was one to
        forget, so that retrying along :math:`-g` can help."""
        ...

    def extras(self) -> dict:
        """Method-specific fields of the :class:`~.result.OptimizeResult`."""
        ...


def scaled_first_step(g: np.ndarray) -> float:
    r""":math:`\min(1, 1/\lVert g\rVert)`: the first trial step along :math:`-g` when nothing
    is known about the scale of the problem (the first step moves at most a unit distance)."""
    return min(1.0, 1.0 / float(np.linalg.norm(g)))


class SteepestDescentDirection:
    r"""Steepest descent, :math:`p_k = -g_k` (``method="gd"``).

    The first trial step assumes that the first-order change :math:`\alpha_k g_k^\top p_k`
    equals the previous one (N&W §3.5): :math:`\alpha_0 = \alpha_{k-1} g_{k-1}^\top p_{k-1} /
    g_k^\top p_k`, and :func:`scaled_first_step` when there is no previous step.
    :class:`~.cg.CGDirection` inherits this rule.
    """

    name = "gd"

    def __init__(self) -> None:
        self.prev: tuple[float, float] | None = None  # (step, slope) of the last accepted step

    def direction(self, x: np.ndarray, f: float, g: np.ndarray) -> np.ndarray:
        return -g

    def step0(self, g: np.ndarray, p: np.ndarray) -> float:
        if self.prev is None:
            return scaled_first_step(g)
        step, slope = self.prev
        step0 = step * slope / float(g @ p)
        return step0 if 0 < step0 < math.inf else 1.0

    def update(self, step: float, p: np.ndarray, g_old: np.ndarray,
               g_new: np.ndarray) -> None:
        self.prev = (step, float(g_old @ p))

    def reset(self) -> bool:
        return False

    def extras(self) -> dict:
        return {}
