r"""Conjugate gradients: linear CG on quadratics and the nonlinear CG :math:`\beta` formulas.

**Linear CG** (N&W Algorithm 5.2) minimizes :math:`\tfrac12 x^\top A x - b^\top x` with
:math:`A \succ 0`, i.e. solves :math:`Ax = b`. With residual :math:`r = Ax - b = \nabla f`,

.. math:: \alpha_k = \frac{r_k^\top r_k}{p_k^\top A p_k},\quad x_{k+1} = x_k + \alpha_k p_k,
          \quad r_{k+1} = r_k + \alpha_k A p_k,\quad
          \beta_{k+1} = \frac{r_{k+1}^\top r_{k+1}}{r_k^\top r_k},\quad
          p_{k+1} = -r_{k+1} + \beta_{k+1} p_k .

The directions are :math:`A`-conjugate, so in exact arithmetic it terminates in at most
:math:`n` steps (at most the number of distinct eigenvalues).

**Nonlinear CG** (N&W §5.2) replaces :math:`\alpha_k` by a line search and :math:`\beta` by
one of the formulas below, written with :math:`g_{k+1}, g_k`; on a quadratic with exact line
searches all of them equal linear CG's :math:`\beta`.

* Fletcher--Reeves: :math:`\beta^{FR} = \dfrac{g_{k+1}^\top g_{k+1}}{g_k^\top g_k}`;
* Polak--Ribière: :math:`\beta^{PR} = \dfrac{g_{k+1}^\top (g_{k+1}-g_k)}{g_k^\top g_k}`;
* PR+: :math:`\beta^{+} = \max(\beta^{PR}, 0)` (restarts by itself when :math:`\beta^{PR}<0`).

:class:`CGDirection` is nonlinear CG as the
:class:`~course_lib.second_order.directions.DirectionStrategy` of
``minimize(..., method="cg")``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from .directions import SteepestDescentDirection
from .result import OptimizeResult

__all__ = [
    "beta_fletcher_reeves",
    "beta_polak_ribiere",
    "beta_polak_ribiere_plus",
    "CG_BETAS",
    "linear_cg",
    "CGDirection",
]


def beta_fletcher_reeves(g_new: ArrayLike, g_old: ArrayLike) -> float:
    r""":math:`\beta^{FR} = g_{k+1}^\top g_{k+1} / g_k^\top g_k`."""
    return float(np.dot(g_new, g_new) / np.dot(g_old, g_old))


def beta_polak_ribiere(g_new: ArrayLike, g_old: ArrayLike) -> float:
    r""":math:`\beta^{PR} = g_{k+1}^\top (g_{k+1}-g_k) / g_k^\top g_k`."""
    return float(np.dot(g_new, np.subtract(g_new, g_old)) / np.dot(g_old, g_old))


def beta_polak_ribiere_plus(g_new: ArrayLike, g_old: ArrayLike) -> float:
    r""":math:`\beta^{+} = \max(\beta^{PR}, 0)`."""
    return max(beta_polak_ribiere(g_new, g_old), 0.0)


#: The ``beta`` options of ``minimize(..., method="cg")``.
CG_BETAS: dict[str, Callable] = {
    "fr": beta_fletcher_reeves,
    "pr": beta_polak_ribiere,
    "pr+": beta_polak_ribiere_plus,
}


def linear_cg(A: ArrayLike | Callable, b: ArrayLike, x0: ArrayLike | None = None, *,
              rtol: float = 1e-10, atol: float = 0.0, maxiter: int | None = None,
              callback: Callable | None = None) -> OptimizeResult:
    r"""Linear conjugate gradients for :math:`Ax = b`, :math:`A` SPD (N&W Algorithm 5.2).

    Parameters
    ----------
    A : array (n, n), SPD, or a callable ``v -> A v``.
    b : array (n,).
    x0 : array (n,), default zeros.
    rtol, atol : stop when :math:`\lVert r_k\rVert \le \max(\text{rtol}\,\lVert r_0\rVert,
        \text{atol})`.
    maxiter : default ``n`` (exact arithmetic needs no more; pass more to absorb rounding).
    callback : called as ``callback(x_k)`` after each step.

    Returns
    -------
    :class:`~course_lib.second_order.result.OptimizeResult` with ``x``, ``nit``, ``success``,
    ``message``, ``path`` (iterates, shape (nit + 1, n)), ``residual_norms``
    (:math:`\lVert r_0\rVert, \dots`, shape (nit + 1,)) and ``directions`` (the
    :math:`p_k`, shape (nit, n), mutually :math:`A`-conjugate in exact arithmetic).
    """
    b = np.asarray(b, dtype=float)
    if b.ndim != 1:
        raise ValueError(f"b must be 1-D, got shape {b.shape}")
    n = b.size
    if callable(A):
        matvec = A
    else:
        M = np.asarray(A, dtype=float)

        def matvec(v):
            return M @ v

    x = np.zeros(n) if x0 is None else np.array(x0, dtype=float, copy=True)
    if x.shape != (n,):
        raise ValueError(f"x0 must have shape ({n},), got {x.shape}")
    if maxiter is None:
        maxiter = n
    if int(maxiter) != maxiter or maxiter < 0:
        raise ValueError(f"Invalid maxiter: {maxiter!r}")
    if not (rtol >= 0 and atol >= 0):
        raise ValueError(f"Invalid rtol, atol: {rtol!r}, {atol!r}")
    r = matvec(x) - b
    p = -r
    rr = float(r @ r)
    stop = max(rtol * np.sqrt(rr), atol)
    path, norms, directions = [x.copy()], [np.sqrt(rr)], []
    k, message, success = 0, "", False
    while True:
        if np.sqrt(rr) <= stop:
            success, message = True, f"converged: ||r|| <= {stop:.3e}"
            break
        if k >= maxiter:
            message = f"maximum number of iterations reached ({maxiter})"
            break
        Ap = matvec(p)
        pAp = float(p @ Ap)
        if not pAp > 0:
            message = f"A is not positive definite along p_{k}: p^T A p = {pAp:.3e}"
            break
        alpha = rr / pAp
        x = x + alpha * p
        r = r + alpha * Ap
        rr_new = float(r @ r)
        directions.append(p)
        p = -r + (rr_new / rr) * p
        rr = rr_new
        k += 1
        path.append(x.copy())
        norms.append(np.sqrt(rr))
        if callback is not None:
            callback(x.copy())
    return OptimizeResult(x=x, nit=k, success=success, message=message, path=np.array(path),
                          residual_norms=np.array(norms),
                          directions=np.array(directions).reshape(len(directions), n))


class CGDirection(SteepestDescentDirection):
    r"""Nonlinear conjugate gradients (``method="cg"``): :math:`p_k = -g_k + \beta_k p_{k-1}`
    with ``beta`` one of :data:`CG_BETAS` (default ``"pr+"``).

    Restarts with :math:`p_k = -g_k` every ``restart`` iterations (``None``: never) and
    whenever :math:`p_k` is not a descent direction (:math:`g_k^\top p_k \ge 0`); restarts are
    counted in ``nrestarts``. The first trial step is steepest descent's (N&W §3.5). After a
    failed line search :meth:`reset` forgets :math:`p_{k-1}` (a retry along :math:`-g_k`)
    unless the direction was already :math:`-g_k`.
    """

    name = "cg"

    def __init__(self, *, beta: str = "pr+", restart: int | None = None):
        super().__init__()
        if beta not in CG_BETAS:
            raise ValueError(f"Invalid beta: {beta!r}; expected one of "
                             + ", ".join(map(repr, CG_BETAS)))
        self.beta = CG_BETAS[beta]
        self.restart = restart
        self.p: np.ndarray | None = None
        self.g: np.ndarray | None = None
        self.since_restart = 0
        self.nrestarts = 0

    def direction(self, x: np.ndarray, f: float, g: np.ndarray) -> np.ndarray:
        if self.p is not None:
            if self.restart is None or self.since_restart < self.restart:
                q = -g + self.beta(g, self.g) * self.p
                if float(g @ q) < 0:
                    self.since_restart += 1
                    return q
            self.nrestarts += 1  # scheduled, or q was not a descent direction
        self.since_restart = 1
        return -g

    def update(self, step: float, p: np.ndarray, g_old: np.ndarray,
               g_new: np.ndarray) -> None:
        super().update(step, p, g_old, g_new)
        self.p, self.g = p, g_old  # beta needs g_k when the direction at x_{k+1} is formed

    def reset(self) -> bool:
        if self.p is None or self.since_restart == 1:
            return False
        self.p = None
        self.prev = None
        self.nrestarts += 1
        return True

    def extras(self) -> dict:
        return {"nrestarts": self.nrestarts}
