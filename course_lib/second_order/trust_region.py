r"""Trust-region methods (N&W ch. 4 and §7.1): the dogleg and Steihaug-CG steps and the driver.

At :math:`x_k` a trust-region method minimizes the quadratic model
:math:`m_k(p) = f_k + g_k^\top p + \tfrac12 p^\top B_k p` only over the ball
:math:`\lVert p\rVert \le \Delta_k` (``B_k`` = the Hessian here, or any symmetric matrix),
then compares the actual and the predicted reduction,

.. math:: \rho_k = \frac{f(x_k) - f(x_k + p_k)}{m_k(0) - m_k(p_k)},

accepts the step when :math:`\rho_k > \eta` and updates the radius (N&W Algorithm 4.1, with
scipy's constants): :math:`\Delta \leftarrow \Delta/4` if :math:`\rho_k < 1/4`;
:math:`\Delta \leftarrow \min(2\Delta, \Delta_{\max})` if :math:`\rho_k > 3/4` and the step
reached the boundary. (:math:`\rho_k` here is N&W's ratio, not a convergence rate.)

* :func:`dogleg_step` (Powell 1970; N&W §4.1) needs :math:`B \succ 0`: the Newton step if it
  fits; else the Cauchy point :math:`-\frac{g^\top g}{g^\top Bg}g` scaled to the boundary if
  that is outside; else the point where the segment from the Cauchy point to the Newton
  step leaves the ball.
* :func:`steihaug_cg` (Steihaug 1983; N&W Algorithm 7.2) runs linear CG on
  :math:`Bp = -g` from :math:`p = 0` with Hessian-vector products only, and stops at the
  boundary when an iterate leaves the ball or a direction of non-positive curvature appears.
  Inner tolerance :math:`\lVert r\rVert < \min(1/2, \sqrt{\lVert g\rVert})\lVert g\rVert`.

:func:`trust_region` reproduces ``scipy.optimize.minimize(method="dogleg")`` and
``(method="trust-ncg")``: the same steps, radius rule and stopping test
(:math:`\lVert g\rVert_2 <` ``gtol``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from .result import OptimizeResult

__all__ = ["boundary_intersections", "dogleg_step", "steihaug_cg", "trust_region"]


def boundary_intersections(z: ArrayLike, d: ArrayLike, radius: float) -> tuple[float, float]:
    r"""The two roots :math:`t_a \le t_b` of :math:`\lVert z + t d\rVert = \Delta`
    (for :math:`\lVert z\rVert < \Delta` they have opposite signs)."""
    a, b = float(d @ d), 2.0 * float(z @ d)
    c = float(z @ z) - radius * radius
    sq = np.sqrt(b * b - 4 * a * c)
    # the numerically stable pair of roots
    aux = b + np.copysign(sq, b)
    ta, tb = -aux / (2 * a), -2 * c / aux
    return (ta, tb) if ta <= tb else (tb, ta)


def _model(g, Bp_fn):
    return lambda p: float(g @ p) + 0.5 * float(p @ Bp_fn(p))


def dogleg_step(g: ArrayLike, B: ArrayLike, radius: float) -> tuple[np.ndarray, bool]:
    r"""Dogleg step for :math:`\min g^\top p + \tfrac12 p^\top Bp`, :math:`\lVert p\rVert\le\Delta`.

    ``g`` shape (n,), ``B`` shape (n, n) symmetric positive definite (``ValueError``
    otherwise). Returns ``(p, hits_boundary)``.
    """
    g = np.asarray(g, dtype=float)
    B = np.asarray(B, dtype=float)
    try:
        L = np.linalg.cholesky(B)
    except np.linalg.LinAlgError:
        raise ValueError("dogleg needs a positive definite B") from None
    p_newton = -np.linalg.solve(L.T, np.linalg.solve(L, g))
    if np.linalg.norm(p_newton) < radius:
        return p_newton, False
    p_cauchy = -(g @ g) / (g @ B @ g) * g
    norm_c = np.linalg.norm(p_cauchy)
    if norm_c >= radius:
        return p_cauchy * (radius / norm_c), True
    _, tb = boundary_intersections(p_cauchy, p_newton - p_cauchy, radius)
    return p_cauchy + tb * (p_newton - p_cauchy), True


def steihaug_cg(g: ArrayLike, hessp: Callable, radius: float) -> tuple[np.ndarray, bool]:
    r"""Steihaug's truncated CG for :math:`\min g^\top p + \tfrac12 p^\top Bp`,
    :math:`\lVert p\rVert \le \Delta`, with ``hessp(v) = B v`` only (N&W Algorithm 7.2).

    Returns ``(p, hits_boundary)``. Works for indefinite :math:`B`: on a direction
    :math:`d` with :math:`d^\top Bd \le 0` it returns whichever boundary point along
    :math:`d` has the lower model value.
    """
    g = np.asarray(g, dtype=float)
    gnorm = float(np.linalg.norm(g))
    tol = min(0.5, np.sqrt(gnorm)) * gnorm
    z = np.zeros_like(g)
    if gnorm < tol:
        return z, False
    model = _model(g, hessp)
    r, d = g.copy(), -g
    rr = float(r @ r)
    while True:
        Bd = hessp(d)
        dBd = float(d @ Bd)
        if dBd <= 0:
            ta, tb = boundary_intersections(z, d, radius)
            pa, pb = z + ta * d, z + tb * d
            return (pa, True) if model(pa) < model(pb) else (pb, True)
        alpha = rr / dBd
        z_next = z + alpha * d
        if np.linalg.norm(z_next) >= radius:
            _, tb = boundary_intersections(z, d, radius)
            return z + tb * d, True
        r = r + alpha * Bd
        rr_next = float(r @ r)
        if np.sqrt(rr_next) < tol:
            return z_next, False
        d = -r + (rr_next / rr) * d
        z, rr = z_next, rr_next


def trust_region(fun: Callable, x0: ArrayLike, jac: Callable, hess: Callable | None = None, *,
                 hessp: Callable | None = None, method: str = "steihaug",
                 initial_radius: float = 1.0, max_radius: float = 1000.0,
                 eta: float = 0.15, gtol: float = 1e-4,
                 maxiter: int | None = None) -> OptimizeResult:
    r"""Minimize ``fun`` by a trust-region method (N&W Algorithm 4.1).

    Parameters
    ----------
    fun, jac : :math:`f(x)` and :math:`\nabla f(x)` for ``x`` of shape (n,).
    hess : ``x -> array (n, n)``; needed by ``"dogleg"``; for ``"steihaug"`` either ``hess``
        or ``hessp``.
    hessp : ``(x, v) -> array (n,)``, the Hessian-vector product (``"steihaug"`` only).
    method : ``"dogleg"`` or ``"steihaug"`` (as scipy's ``"dogleg"`` / ``"trust-ncg"``).
    initial_radius, max_radius, eta : :math:`\Delta_0`, :math:`\Delta_{\max}` and the
        acceptance threshold :math:`\eta \in [0, 1/4)`.
    gtol : stop when :math:`\lVert\nabla f(x_k)\rVert_2 <` ``gtol`` (scipy's default 1e-4).
    maxiter : default :math:`200n`.

    Returns
    -------
    :class:`OptimizeResult` with ``x``, ``fun``, ``jac``, ``nit`` (iterations, rejected steps
    included, as scipy counts them), ``success``, ``message``, ``path`` (accepted iterates),
    ``radii`` (:math:`\Delta_k` before each iteration) and ``ratios`` (:math:`\rho_k`).
    """
    if method not in ("dogleg", "steihaug"):
        raise ValueError(f"Invalid method: {method!r} (expected 'dogleg' or 'steihaug')")
    if not (0 < initial_radius <= max_radius):
        raise ValueError(f"Invalid initial_radius: {initial_radius!r} "
                         f"(expected 0 < initial_radius <= max_radius)")
    if not (0 <= eta < 0.25):
        raise ValueError(f"Invalid eta: {eta!r} (expected 0 <= eta < 0.25)")
    if method == "dogleg" and hess is None:
        raise ValueError("Invalid hess: None (the dogleg method needs the Hessian)")
    if method == "steihaug" and hess is None and hessp is None:
        raise ValueError("Invalid hessp: None (pass hess or hessp)")
    x = np.array(x0, dtype=float, copy=True)
    if maxiter is None:
        maxiter = 200 * x.size
    f, g = float(fun(x)), np.asarray(jac(x), dtype=float)
    radius = float(initial_radius)
    path, radii, ratios = [x.copy()], [], []
    k, success, message = 0, False, "maximum number of iterations reached"
    while True:
        if np.linalg.norm(g) < gtol:
            success, message = True, "converged: ||g|| < gtol"
            break
        if k >= maxiter:
            break
        radii.append(radius)
        if method == "dogleg":
            assert hess is not None                 # checked above
            B = np.asarray(hess(x), dtype=float)
            p, hits = dogleg_step(g, B, radius)
            Bp = B @ p
        else:
            if hessp is not None:
                hv = lambda v, x=x: np.asarray(hessp(x, v), dtype=float)  # noqa: E731
            else:
                assert hess is not None             # checked above
                B = np.asarray(hess(x), dtype=float)
                hv = lambda v, B=B: B @ v  # noqa: E731
            p, hits = steihaug_cg(g, hv, radius)
            Bp = hv(p)
        predicted = -(float(g @ p) + 0.5 * float(p @ Bp))
        if predicted <= 0:
            message = "the model predicts no decrease"
            break
        x_new = x + p
        f_new = float(fun(x_new))
        ratio = (f - f_new) / predicted
        ratios.append(ratio)
        if ratio < 0.25:
            radius *= 0.25
        elif ratio > 0.75 and hits:
            radius = min(2 * radius, max_radius)
        if ratio > eta:
            x, f = x_new, f_new
            g = np.asarray(jac(x), dtype=float)
            path.append(x.copy())
        k += 1
    return OptimizeResult(x=x, fun=f, jac=g, nit=k, success=success, message=message,
                          path=np.array(path), radii=np.array(radii),
                          ratios=np.array(ratios), method=f"trust-region ({method})")
