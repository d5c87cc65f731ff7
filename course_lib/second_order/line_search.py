r"""Line searches: how far to go along a descent direction.

Along a direction :math:`p` from :math:`x` the objective is the 1-D function

.. math:: \phi(\alpha) = f(x + \alpha p), \qquad \phi'(\alpha) = \nabla f(x+\alpha p)^\top p,

and :math:`p` is a *descent direction* when :math:`\phi'(0) = \nabla f(x)^\top p < 0`.
With :math:`0 < c_1 < c_2 < 1` (Nocedal & Wright 2006, §3.1):

* **sufficient decrease (Armijo)**: :math:`\phi(\alpha) \le \phi(0) + c_1\alpha\,\phi'(0)`
  -- :func:`armijo_holds`;
* **curvature (Wolfe)**: :math:`\phi'(\alpha) \ge c_2\,\phi'(0)` -- with Armijo,
  :func:`wolfe_holds`;
* **strong curvature**: :math:`|\phi'(\alpha)| \le c_2\,|\phi'(0)|` -- with Armijo,
  :func:`strong_wolfe_holds`.

The searches return a :class:`~course_lib.second_order.result.LineSearchResult` and promise
exactly the predicate of the same name when ``success`` is True:

* :func:`backtracking_line_search` -- :math:`\alpha_0, \rho\alpha_0, \rho^2\alpha_0, \dots`
  until Armijo holds (N&W Algorithm 3.1);
* :func:`strong_wolfe_line_search` -- bracketing then ``zoom`` with cubic/quadratic
  interpolation (N&W Algorithms 3.5 and 3.6); it guarantees :math:`y^\top s > 0` for the
  quasi-Newton updates (:math:`y^\top s = \alpha(\phi'(\alpha)-\phi'(0)) \ge
  \alpha(1-c_2)|\phi'(0)| > 0`);
* :func:`exact_step_quadratic` and :func:`quadratic_exact_line_search` -- the exact minimizer
  :math:`\alpha^\star = -g^\top p / p^\top A p` on a quadratic with Hessian :math:`A`.

Defaults :math:`c_1 = 10^{-4}`, :math:`c_2 = 0.9` are N&W's for Newton and quasi-Newton
directions (and scipy's); nonlinear CG wants :math:`c_2 = 0.1`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from .result import LineSearchResult

__all__ = [
    "armijo_holds",
    "wolfe_holds",
    "strong_wolfe_holds",
    "backtracking_line_search",
    "strong_wolfe_line_search",
    "exact_step_quadratic",
    "quadratic_exact_line_search",
]


# ------------------------------------------------------------------------------ predicates

def armijo_holds(phi0: float, slope0: float, step: float, phi_step: float,
                 c1: float = 1e-4) -> bool:
    r"""Sufficient decrease :math:`\phi(\alpha) \le \phi(0) + c_1\alpha\phi'(0)`.

    ``phi0`` = :math:`\phi(0)`, ``slope0`` = :math:`\phi'(0)`, ``phi_step`` =
    :math:`\phi(\alpha)` at ``step`` = :math:`\alpha`. A NaN value never satisfies it.
    """
    return bool(phi_step <= phi0 + c1 * step * slope0)


def wolfe_holds(phi0: float, slope0: float, step: float, phi_step: float, slope_step: float,
                c1: float = 1e-4, c2: float = 0.9) -> bool:
    r"""Weak Wolfe conditions: Armijo and :math:`\phi'(\alpha) \ge c_2\phi'(0)`."""
    return armijo_holds(phi0, slope0, step, phi_step, c1) and bool(slope_step >= c2 * slope0)


def strong_wolfe_holds(phi0: float, slope0: float, step: float, phi_step: float,
                       slope_step: float, c1: float = 1e-4, c2: float = 0.9) -> bool:
    r"""Strong Wolfe conditions: Armijo and :math:`|\phi'(\alpha)| \le c_2|\phi'(0)|`."""
    return (armijo_holds(phi0, slope0, step, phi_step, c1)
            and bool(abs(slope_step) <= c2 * abs(slope0)))


# ------------------------------------------------------------------------------ validation

def _check_armijo(c1, rho, step0, maxiter):
    if not 0 < c1 < 1:
        raise ValueError(f"Invalid c1: {c1!r}; need 0 < c1 < 1")
    if not 0 < rho < 1:
        raise ValueError(f"Invalid rho: {rho!r}; need 0 < rho < 1")
    _check_common(step0, maxiter)


def _check_wolfe(c1, c2, step0, maxiter):
    if not 0 < c1 < c2 < 1:
        raise ValueError(f"Invalid c1, c2: need 0 < c1 < c2 < 1, got c1={c1!r}, c2={c2!r}")
    _check_common(step0, maxiter)


def _check_common(step0, maxiter):
    if not (step0 > 0 and math.isfinite(step0)):
        raise ValueError(f"Invalid step0: {step0!r}")
    if int(maxiter) != maxiter or maxiter < 1:
        raise ValueError(f"Invalid maxiter: {maxiter!r}")


def _start(fun, jac, x, p, f0, g0):
    """phi(0), phi'(0) and the evaluations spent on them."""
    nfev = njev = 0
    if f0 is None:
        f0, nfev = float(fun(x)), 1
    if g0 is None:
        g0, njev = np.asarray(jac(x), dtype=float), 1
    return float(f0), float(np.dot(g0, p)), nfev, njev


def _not_descent(f0, slope0, nfev, njev):
    return LineSearchResult(0.0, f0, None, slope0, nfev, njev, False,
                            f"not a descent direction: phi'(0) = {slope0:.6g} >= 0")


# ------------------------------------------------------------------------------ backtracking

def backtracking_line_search(fun: Callable, x: ArrayLike, p: ArrayLike, f0: float | None = None,
                             g0: ArrayLike | None = None, *, step0: float = 1.0, c1: float = 1e-4,
                             rho: float = 0.5, maxiter: int = 60) -> LineSearchResult:
    r"""Backtracking (Armijo) line search, N&W Algorithm 3.1.

    Tries :math:`\alpha = \alpha_0, \rho\alpha_0, \rho^2\alpha_0, \dots` and returns the first
    at which :func:`armijo_holds`. Evaluates only ``fun`` (``grad`` and ``slope`` of the result
    are None); non-finite values count as failures of Armijo, so an overflow just shrinks the
    step.

    Parameters
    ----------
    fun : ``f(x) -> float`` for ``x`` of shape (n,).
    x, p : arrays (n,) -- the point and a descent direction (:math:`g_0^\top p < 0`).
    f0, g0 : :math:`f(x)` and :math:`\nabla f(x)` (``g0`` is needed for :math:`\phi'(0)`;
        ``f0`` is evaluated when None).
    step0 : first trial :math:`\alpha_0 > 0` (1 for Newton and quasi-Newton directions).
    c1 : Armijo constant, :math:`0 < c_1 < 1`.
    rho : contraction factor, :math:`0 < \rho < 1`.
    maxiter : trials before giving up (``success=False``).
    """
    _check_armijo(c1, rho, step0, maxiter)
    if g0 is None:
        raise ValueError("backtracking_line_search needs g0, the gradient at x")
    x, p = np.asarray(x, dtype=float), np.asarray(p, dtype=float)
    f0, slope0, nfev, njev = _start(fun, None, x, p, f0, g0)
    if not slope0 < 0:
        return _not_descent(f0, slope0, nfev, njev)
    step = float(step0)
    for _ in range(int(maxiter)):
        f = float(fun(x + step * p))
        nfev += 1
        if armijo_holds(f0, slope0, step, f, c1):
            return LineSearchResult(step, f, None, None, nfev, njev, True,
                                    "sufficient decrease (Armijo) holds")
        step *= rho
    return LineSearchResult(step / rho, f, None, None, nfev, njev, False,
                            f"no step satisfied the Armijo condition in {maxiter} trials "
                            f"(last step {step / rho:.3e})")


# ------------------------------------------------------------------------------ strong Wolfe

def _cubic_hermite_min(a, fa, da, b, fb, db):
    r"""Minimizer of the cubic interpolating :math:`\phi, \phi'` at ``a`` and ``b``
    (N&W eq. 3.59); None when it does not exist."""
    d1 = da + db - 3.0 * (fa - fb) / (a - b)
    rad = d1 * d1 - da * db
    if not (rad >= 0 and math.isfinite(rad)):
        return None
    d2 = math.copysign(math.sqrt(rad), b - a)
    den = db - da + 2.0 * d2
    if den == 0:
        return None
    return b - (b - a) * (db + d2 - d1) / den


def _cubic_three_point_min(a, fa, da, b, fb, c, fc):
    r"""Minimizer of the cubic through :math:`(a, \phi_a)` with slope ``da``,
    :math:`(b,\phi_b)` and :math:`(c,\phi_c)`; None when it does not exist."""
    db, dc = b - a, c - a
    denom = (db * dc) ** 2 * (db - dc)
    if denom == 0:
        return None
    rb, rc = fb - fa - da * db, fc - fa - da * dc
    A = (dc**2 * rb - db**2 * rc) / denom
    B = (-(dc**3) * rb + db**3 * rc) / denom
    rad = B * B - 3.0 * A * da
    if A == 0 or not (rad >= 0 and math.isfinite(rad)):
        return None
    return a + (-B + math.sqrt(rad)) / (3.0 * A)


def _quadratic_min(a, fa, da, b, fb):
    r"""Minimizer of the parabola through :math:`(a,\phi_a)` with slope ``da`` and
    :math:`(b,\phi_b)`; None when it is not convex."""
    db = b - a
    curv = (fb - fa - da * db) / (db * db)
    if not (curv > 0 and math.isfinite(curv)):
        return None
    return a - da / (2.0 * curv)


def _inside(t, lo, hi, margin):
    if t is None or not math.isfinite(t):
        return False
    left, right = min(lo, hi), max(lo, hi)
    pad = margin * (right - left)
    return left + pad <= t <= right - pad


def strong_wolfe_line_search(fun: Callable, jac: Callable, x: ArrayLike, p: ArrayLike,
                             f0: float | None = None, g0: ArrayLike | None = None, *,
                             step0: float = 1.0, c1: float = 1e-4, c2: float = 0.9,
                             step_max: float = 1e10, maxiter: int = 30,
                             lazy_gradient: bool = False) -> LineSearchResult:
    r"""Strong Wolfe line search: bracketing (N&W Algorithm 3.5) then ``zoom`` (Algorithm 3.6).

    *Bracketing* tries :math:`\alpha_1 = \alpha_0` and then longer steps (at most
    ``step_max``) until a trial either violates sufficient decrease or does not decrease
    :math:`\phi` (then a step satisfying strong Wolfe lies between the previous and this trial),
    satisfies strong Wolfe (done), or has :math:`\phi'(\alpha_i) \ge 0` (bracket
    :math:`[\alpha_i, \alpha_{i-1}]`). The next trial is the minimizer of the cubic through
    the last two trials' values and slopes, kept in
    :math:`[\alpha_i + 1.1(\alpha_i-\alpha_{i-1}), \alpha_i + 4(\alpha_i-\alpha_{i-1})]`
    (the extrapolation rule of Moré & Thuente 1994; N&W only ask for growth). *Zoom* keeps an
    interval :math:`(\alpha_{lo}, \alpha_{hi})` in which :math:`\alpha_{lo}` has the lowest
    Armijo-satisfying value and :math:`\phi'(\alpha_{lo})(\alpha_{hi}-\alpha_{lo}) < 0`, and
    shrinks it at the minimizer of the cubic interpolating :math:`\phi, \phi'` at both ends
    (N&W eq. 3.59), or of the cubic through three values and :math:`\phi'(\alpha_{lo})`, or of
    a parabola, each accepted only when it falls inside the interval away from its ends (20%,
    20%, 10% margins); otherwise it bisects.

    By default every trial evaluates both :math:`\phi` and :math:`\phi'` (``nfev == njev``), as
    MINPACK's line search in scipy's BFGS and CG and L-BFGS-B's do, so that ``zoom`` can use
    the cubic through both ends' values and slopes. With ``lazy_gradient=True``,
    :math:`\phi'` is evaluated only at trials that pass sufficient decrease, as Algorithm 3.5
    is written (``njev <= nfev``; cheaper when a gradient costs much more than a value, but
    zoom then interpolates with less information). On success the result carries
    ``grad`` = :math:`\nabla f(x+\alpha p)` and ``slope`` = :math:`\phi'(\alpha)`, and
    :func:`strong_wolfe_holds` is True for them.

    Parameters
    ----------
    fun, jac : ``f(x) -> float`` and ``grad(x) -> array (n,)``.
    x, p : arrays (n,) -- the point and a descent direction.
    f0, g0 : :math:`f(x)`, :math:`\nabla f(x)`; evaluated (and counted) when None.
    step0 : first trial step (1 for Newton/quasi-Newton directions).
    c1, c2 : :math:`0 < c_1 < c_2 < 1`.
    step_max : largest step tried while bracketing.
    maxiter : trials in each of the two phases before giving up (``success=False``).
    lazy_gradient : evaluate :math:`\phi'` only where sufficient decrease holds.
    """
    _check_wolfe(c1, c2, step0, maxiter)
    x, p = np.asarray(x, dtype=float), np.asarray(p, dtype=float)
    f0, slope0, nfev, njev = _start(fun, jac, x, p, f0, g0)
    if not slope0 < 0:
        return _not_descent(f0, slope0, nfev, njev)
    count = [nfev, njev]
    trial = {}

    def phi(a):
        xa = x + a * p
        fa = float(fun(xa))
        count[0] += 1
        trial["x"] = xa
        return fa

    def dphi():
        ga = np.asarray(jac(trial["x"]), dtype=float)
        count[1] += 1
        trial["g"] = ga
        return float(np.dot(ga, p))

    def slope_if_eager(fa):
        # phi' at a trial that failed sufficient decrease: only for the interpolation
        return dphi() if not lazy_gradient and math.isfinite(fa) else None

    def done(a, fa, da, ok, message):
        return LineSearchResult(a, fa, trial.get("g") if ok else None, da, count[0], count[1],
                                ok, message)

    def armijo_fails(a, fa, f_prev, first):
        return not armijo_holds(f0, slope0, a, fa, c1) or (not first and fa >= f_prev)

    curvature_bound = c2 * abs(slope0)
    ok_message = "strong Wolfe conditions hold"

    def zoom(lo, f_lo, d_lo, hi, f_hi, d_hi):
        rec = None  # (alpha, phi) of the previous hi end, for the 3-point cubic
        for _ in range(int(maxiter)):
            a = None
            if math.isfinite(f_hi):
                if d_hi is not None:
                    a = _cubic_hermite_min(lo, f_lo, d_lo, hi, f_hi, d_hi)
                elif rec is not None:
                    a = _cubic_three_point_min(lo, f_lo, d_lo, hi, f_hi, *rec)
                if not _inside(a, lo, hi, 0.2):
                    a = _quadratic_min(lo, f_lo, d_lo, hi, f_hi)
                    if not _inside(a, lo, hi, 0.1):
                        a = None
            if a is None:
                a = lo + 0.5 * (hi - lo)
            if a == lo or a == hi:
                return done(lo, f_lo, d_lo, False,
                            f"zoom interval [{min(lo, hi):.6g}, {max(lo, hi):.6g}] below "
                            f"floating-point resolution (rounding errors prevent progress)")
            fa = phi(a)
            if not math.isfinite(fa) or armijo_fails(a, fa, f_lo, False):
                rec = (hi, f_hi) if math.isfinite(f_hi) else None
                hi, f_hi, d_hi = a, fa, slope_if_eager(fa)
                continue
            da = dphi()
            if not math.isfinite(da):
                return done(a, fa, da, False, f"gradient not finite at step {a:.6g}")
            if abs(da) <= curvature_bound:
                return done(a, fa, da, True, ok_message)
            if da * (hi - lo) >= 0:
                rec = (hi, f_hi) if math.isfinite(f_hi) else None
                hi, f_hi, d_hi = lo, f_lo, d_lo
            else:
                rec = (lo, f_lo)
            lo, f_lo, d_lo = a, fa, da
        return done(lo, f_lo, d_lo, False,
                    f"zoom found no strong Wolfe step in {maxiter} trials")

    a_prev, f_prev, d_prev = 0.0, f0, slope0
    a = min(float(step0), step_max)
    for i in range(int(maxiter)):
        fa = phi(a)
        if not math.isfinite(fa) or armijo_fails(a, fa, f_prev, i == 0):
            return zoom(a_prev, f_prev, d_prev, a, fa, slope_if_eager(fa))
        da = dphi()
        if not math.isfinite(da):
            return done(a, fa, da, False, f"gradient not finite at step {a:.6g}")
        if abs(da) <= curvature_bound:
            return done(a, fa, da, True, ok_message)
        if da >= 0:
            return zoom(a, fa, da, a_prev, f_prev, d_prev)
        if a >= step_max:
            return done(a, fa, da, False,
                        f"step_max = {step_max:.3g} reached with phi still decreasing "
                        f"(is f unbounded below along p?)")
        # extrapolate: minimizer of the cubic through both trials, kept in
        # [a + 1.1 (a - a_prev), a + 4 (a - a_prev)] (as Moré & Thuente 1994 do)
        lo_x, hi_x = a + 1.1 * (a - a_prev), a + 4.0 * (a - a_prev)
        a_next = _cubic_hermite_min(a_prev, f_prev, d_prev, a, fa, da)
        a_next = hi_x if a_next is None else min(max(a_next, lo_x), hi_x)
        a_prev, f_prev, d_prev = a, fa, da
        a = min(a_next, step_max)
    return done(a_prev, f_prev, d_prev, False,
                f"bracketing found no interval in {maxiter} trials")


# ------------------------------------------------------------------------------ quadratics

def exact_step_quadratic(A: ArrayLike, g: ArrayLike, p: ArrayLike) -> float:
    r"""Exact line-search step on a quadratic with Hessian ``A``:

    .. math:: \alpha^\star = \arg\min_\alpha f(x+\alpha p) = -\frac{g^\top p}{p^\top A p},

    where ``g`` = :math:`\nabla f(x)`. Needs :math:`p^\top A p > 0`.
    """
    A, g, p = (np.asarray(v, dtype=float) for v in (A, g, p))
    curv = float(p @ A @ p)
    if not curv > 0:
        raise ValueError(f"exact_step_quadratic needs p^T A p > 0, got {curv!r}")
    return -float(g @ p) / curv


def quadratic_exact_line_search(A: ArrayLike) -> Callable:
    r"""A line search for :func:`~course_lib.second_order.minimize` (``line_search=...``) that
    takes the exact step :func:`exact_step_quadratic` on a quadratic with Hessian ``A``.

    The returned callable has the signature every line search option has,
    ``search(fun, jac, x, p, f0, g0, *, step0) -> LineSearchResult``; it evaluates ``fun`` and
    ``jac`` once at :math:`x+\alpha^\star p` and ignores ``step0``.
    """
    A = np.asarray(A, dtype=float)

    def search(fun, jac, x, p, f0, g0, *, step0=1.0):
        slope0 = float(np.dot(g0, p))
        if not slope0 < 0:
            return _not_descent(f0, slope0, 0, 0)
        step = exact_step_quadratic(A, g0, p)
        xa = x + step * p
        fa, ga = float(fun(xa)), np.asarray(jac(xa), dtype=float)
        return LineSearchResult(step, fa, ga, float(ga @ p), 1, 1, True,
                                "exact step on a quadratic")

    return search
