r"""Coordinate descent: minimize along one coordinate at a time.

A *sweep* replaces each coordinate in turn by the exact minimizer of :math:`f` along it,

.. math:: x_i \leftarrow \arg\min_t f(x_1, \dots, x_{i-1}, t, x_{i+1}, \dots, x_n),

so :math:`f` never increases. For a smooth :math:`f` a fixed point of the sweep has
:math:`\partial_i f = 0` for every :math:`i`, i.e. it is stationary. For a nonsmooth
:math:`f` that is **false** (ERRATA 32; Nocedal & Wright §9.3, Powell 1973): on
:func:`kinked_valley`, :math:`f(x, y) = 5|x-y| + (x+y)^2`, every point :math:`(c, c)` with
:math:`|c| \le 5/4` is a fixed point -- from :math:`(1, 1)` no single
coordinate can decrease :math:`f = 4`, yet :math:`\min f = 0` at the origin, reached by moving
both coordinates together.

When the nonsmooth part is *separable*, as in the lasso

.. math:: \min_w \frac{1}{2N}\lVert y - Xw\rVert^2 + \alpha\lVert w\rVert_1,

coordinate descent does converge to a minimizer (Tseng 2001), and each coordinate step is a
soft-thresholding (:func:`soft_threshold`, :func:`lasso_coordinate_descent`). The scaling
:math:`1/(2N)` is scikit-learn's ``Lasso(fit_intercept=False)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from .result import OptimizeResult

__all__ = [
    "coordinate_descent",
    "soft_threshold",
    "kinked_valley",
    "kinked_valley_argmin",
    "lasso_objective",
    "lasso_argmin",
    "lasso_coordinate_descent",
]


def coordinate_descent(fun: Callable, x0: ArrayLike, argmin: Callable, *, max_sweeps: int = 100,
                       tol: float = 0.0, callback: Callable | None = None) -> OptimizeResult:
    r"""Cyclic exact coordinate descent.

    Parameters
    ----------
    fun : ``f(x) -> float`` for ``x`` of shape (n,) (used for the record only).
    x0 : array (n,); not modified.
    argmin : ``argmin(x, i) -> float``, the exact minimizer of ``f`` along coordinate ``i``
        with the other coordinates of ``x`` fixed (e.g. :func:`kinked_valley_argmin`,
        :func:`lasso_argmin`).
    max_sweeps : number of sweeps over all coordinates at most.
    tol : stop after a sweep in which no coordinate moved more than ``tol``.
    callback : called as ``callback(x)`` after every sweep.

    Returns
    -------
    :class:`~course_lib.second_order.result.OptimizeResult` with ``x``, ``fun``, ``nit``
    (sweeps), ``success`` (a fixed point was reached: a sweep moved nothing by more than
    ``tol`` -- *not* a proof of optimality), ``message``, ``path`` (the point after every
    single coordinate update, shape (nit * n + 1, n)) and ``fun_path`` (``f`` along ``path``).
    """
    x = np.array(x0, dtype=float, copy=True)
    if x.ndim != 1:
        raise ValueError(f"x0 must be 1-D, got shape {x.shape}")
    if int(max_sweeps) != max_sweeps or max_sweeps < 0:
        raise ValueError(f"Invalid max_sweeps: {max_sweeps!r}")
    if not tol >= 0:
        raise ValueError(f"Invalid tol: {tol!r}")
    path, values = [x.copy()], [float(fun(x))]
    success, message, sweep = False, f"max_sweeps = {max_sweeps} reached", 0
    while sweep < max_sweeps:
        moved = 0.0
        for i in range(x.size):
            new = float(argmin(x, i))
            moved = max(moved, abs(new - x[i]))
            x[i] = new
            path.append(x.copy())
            values.append(float(fun(x)))
        sweep += 1
        if callback is not None:
            callback(x.copy())
        if moved <= tol:
            success = True
            message = (f"fixed point: no coordinate moved more than tol = {tol:g} in sweep "
                       f"{sweep} (a coordinatewise minimum, not necessarily a minimizer)")
            break
    return OptimizeResult(x=x, fun=values[-1], nit=sweep, success=success, message=message,
                          path=np.array(path), fun_path=np.array(values))


def soft_threshold(z: ArrayLike, t: float) -> np.ndarray | float:
    r"""Soft-thresholding :math:`S_t(z) = \operatorname{sign}(z)\max(|z|-t, 0)`, the minimizer
    of :math:`\tfrac12(w-z)^2 + t|w|` (elementwise; ``t >= 0``)."""
    z = np.asarray(z, dtype=float)
    if np.any(np.asarray(t) < 0):
        raise ValueError(f"Invalid threshold: {t!r}")
    return np.sign(z) * np.maximum(np.abs(z) - t, 0.0)


def kinked_valley(x: ArrayLike, a: float = 5.0) -> np.ndarray | float:
    r""":math:`f(x_1, x_2) = a|x_1-x_2| + (x_1+x_2)^2` (ERRATA 32 with :math:`a = 5`): convex,
    minimum 0 at the origin, nonsmooth along the diagonal. Accepts points of shape (..., 2)."""
    x = np.asarray(x, dtype=float)
    return a * np.abs(x[..., 0] - x[..., 1]) + (x[..., 0] + x[..., 1]) ** 2


def kinked_valley_argmin(x: ArrayLike, i: int, a: float = 5.0) -> float:
    r"""Exact minimizer over coordinate ``i`` of :func:`kinked_valley`, the other one,
    :math:`c`, fixed: :math:`h(t) = a|t-c| + (t+c)^2` is minimized at

    .. math:: t^\star = \begin{cases} -c-a/2 & c < -a/4 \\ c & |c| \le a/4 \\
              a/2 - c & c > a/4 \end{cases}

    (for :math:`|c|\le a/4` the subdifferential :math:`2(2c) + a[-1, 1]` at the kink
    :math:`t=c` contains 0)."""
    c = float(np.asarray(x)[1 - i])
    if c < -a / 4:
        return -c - a / 2
    if c > a / 4:
        return a / 2 - c
    return c


def lasso_objective(X: ArrayLike, y: ArrayLike, w: ArrayLike, alpha: float) -> float:
    r""":math:`\frac{1}{2N}\lVert y - Xw\rVert^2 + \alpha\lVert w\rVert_1`, ``X`` of shape
    (N, n), ``y`` (N,), ``w`` (n,)."""
    X, y, w = (np.asarray(v, dtype=float) for v in (X, y, w))
    r = y - X @ w
    return float(r @ r / (2 * len(y)) + alpha * np.abs(w).sum())


def lasso_argmin(X: ArrayLike, y: ArrayLike, alpha: float) -> Callable:
    r"""``argmin(w, j)`` for :func:`coordinate_descent` on :func:`lasso_objective`:

    .. math:: w_j^\star = \frac{S_\alpha(\rho_j)}{z_j}, \quad
              \rho_j = \tfrac1N X_j^\top(y - Xw + X_j w_j), \quad z_j = \tfrac1N\lVert X_j
              \rVert^2

    (0 when the column :math:`X_j` is zero). Recomputes the residual: :math:`O(Nn)` per call,
    for teaching; :func:`lasso_coordinate_descent` keeps it updated instead."""
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    N = len(y)
    z = (X**2).sum(axis=0) / N

    def argmin(w, j):
        if z[j] == 0:
            return 0.0
        rho = X[:, j] @ (y - X @ w + X[:, j] * w[j]) / N
        return float(soft_threshold(rho, alpha) / z[j])

    return argmin


def lasso_coordinate_descent(X: ArrayLike, y: ArrayLike, alpha: float, w0: ArrayLike | None = None,
                             *, max_sweeps: int = 1000, tol: float = 1e-10) -> OptimizeResult:
    r"""Cyclic coordinate descent for the lasso (:func:`lasso_objective`), the residual
    :math:`r = y - Xw` updated after each coordinate step (:math:`O(N)` per step). Each step is
    :func:`lasso_argmin`'s exact minimizer.

    Stops after a sweep in which no weight changed by more than ``tol``. Returns an
    :class:`~course_lib.second_order.result.OptimizeResult` with ``x`` (the weights),
    ``fun``, ``nit`` (sweeps), ``success``, ``message`` and ``fun_path`` (the objective after
    every sweep, starting with ``w0``'s).
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (N, n) and y (N,), got {X.shape} and {y.shape}")
    if not alpha >= 0:
        raise ValueError(f"Invalid alpha: {alpha!r}")
    N, n = X.shape
    w = np.zeros(n) if w0 is None else np.array(w0, dtype=float, copy=True)
    z = (X**2).sum(axis=0) / N
    r = y - X @ w
    values = [lasso_objective(X, y, w, alpha)]
    success, message, sweep = False, f"max_sweeps = {max_sweeps} reached", 0
    while sweep < max_sweeps:
        moved = 0.0
        for j in range(n):
            if z[j] == 0:
                new = 0.0
            else:
                rho = X[:, j] @ r / N + z[j] * w[j]
                new = float(soft_threshold(rho, alpha) / z[j])
            delta = new - w[j]
            if delta:
                r -= X[:, j] * delta
                w[j] = new
                moved = max(moved, abs(delta))
        sweep += 1
        values.append(lasso_objective(X, y, w, alpha))
        if moved <= tol:
            success, message = True, f"converged: no weight moved more than {tol:g}"
            break
    return OptimizeResult(x=w, fun=values[-1], nit=sweep, success=success, message=message,
                          fun_path=np.array(values))
