r"""``minimize``: one driver, five ways to choose the search direction.

The five methods are :class:`~course_lib.second_order.directions.DirectionStrategy` objects,
each next to its mathematics (:class:`~.directions.SteepestDescentDirection`,
:class:`~.newton.NewtonDirection`, :class:`~.cg.CGDirection`,
:class:`~.quasi_newton.BFGSDirection`, :class:`~.quasi_newton.LBFGSDirection`); this module
holds the one loop that drives them, their options and their validation. ``method`` may
also be any object implementing the protocol.

Every method iterates :math:`x_{k+1} = x_k + \alpha_k p_k` with a descent direction
:math:`p_k` and a step :math:`\alpha_k` from a line search, and stops when
:math:`\max_i |g_i| \le` ``gtol`` (the infinity norm of the gradient: scipy's meaning of
``gtol`` for BFGS, CG and L-BFGS-B) or after ``maxiter`` iterations.

============  =====================================================  ==================
``method``    direction :math:`p_k`                                  default line search
============  =====================================================  ==================
``"gd"``      :math:`-g_k` (steepest descent)                         strong Wolfe
``"newton"``  :math:`-(\tilde H_k)^{-1} g_k`, :math:`\tilde H_k` the   backtracking from 1
              Hessian, damped and/or modified to be SPD
``"cg"``      :math:`-g_k + \beta_k p_{k-1}` (FR, PR, PR+)            strong Wolfe, c2=0.1
``"bfgs"``    :math:`-H_k g_k`, :math:`H_k` the BFGS inverse update   strong Wolfe
``"lbfgs"``   :math:`-H_k g_k` by the two-loop recursion, m pairs     strong Wolfe
============  =====================================================  ==================

Options (``**options``), all methods:

* ``line_search`` -- ``"wolfe"`` (:func:`~.line_search.strong_wolfe_line_search`),
  ``"armijo"`` (:func:`~.line_search.backtracking_line_search`), ``None`` (take
  :math:`\alpha = 1` unchecked: pure Newton / quasi-Newton) or a callable
  ``search(fun, jac, x, p, f0, g0, *, step0) -> LineSearchResult`` such as
  :func:`~.line_search.quadratic_exact_line_search` or
  ``functools.partial(strong_wolfe_line_search, lazy_gradient=True)``;
* ``c1`` (1e-4), ``c2`` (0.9; 0.1 for ``"cg"``), ``rho`` (0.5, backtracking's contraction),
  ``maxls`` (40, trials per line search phase).

Method options:

* ``"newton"``: ``modification`` -- ``"cholesky"`` (default; :math:`H+\tau I`, N&W Algorithm
  3.3), ``"eig"`` (eigenvalues raised to :math:`\ge\delta`), ``"abs"`` (eigenvalues mirrored:
  saddle-free Newton) or ``"none"`` (plain Newton, attracted by saddles);
  ``damping`` :math:`\alpha \ge 0` (solve :math:`(H+\alpha I)p=-g`, default 0);
  ``delta`` (relative eigenvalue floor of ``"eig"``/``"abs"``, default 1e-8).
* ``"cg"``: ``beta`` -- ``"pr+"`` (default), ``"pr"`` or ``"fr"``; ``restart`` -- restart with
  :math:`-g` every ``restart`` iterations (default :math:`n`; ``None``: never). It also
  restarts whenever :math:`p_k` is not a descent direction.
* ``"bfgs"``: ``scale_H0`` -- before the first update replace :math:`H_0 = I` by
  :math:`\gamma I`, :math:`\gamma = y^\top s / y^\top y` (N&W eq. 6.20; default True).
* ``"lbfgs"``: ``m`` -- number of stored pairs (default 10); :math:`H^0_k = \gamma_k I` with
  :math:`\gamma_k = s_{k-1}^\top y_{k-1}/y_{k-1}^\top y_{k-1}`.

Quasi-Newton updates are skipped when :math:`y^\top s \le 10^{-10}\lVert y\rVert\lVert
s\rVert` (:func:`~.quasi_newton.curvature_condition`; counted in ``nskipped``). The first
iteration (and any restart) of ``gd``, ``cg``, ``bfgs`` and ``lbfgs`` tries
:math:`\alpha_0 = \min(1, 1/\lVert g\rVert)`; later ones try 1 (Newton, quasi-Newton) or
:math:`\alpha_{k-1} g_{k-1}^\top p_{k-1} / g_k^\top p_k` (``gd``, ``cg``; N&W §3.5).
When the line search fails along a quasi-Newton or CG direction, the memory is discarded and
the search is retried once along :math:`-g_k` (as L-BFGS-B does); a failure along
:math:`-g_k` ends the run with ``success=False``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from .cg import CG_BETAS, CGDirection
from .directions import DirectionError, DirectionStrategy, SteepestDescentDirection
from .line_search import backtracking_line_search, strong_wolfe_line_search
from .newton import MODIFICATIONS, NewtonDirection
from .quasi_newton import BFGSDirection, LBFGSDirection
from .result import STATUS, LineSearchResult, OptimizeResult

__all__ = ["minimize", "METHODS"]

#: The methods of :func:`minimize`.
METHODS = ("gd", "newton", "cg", "bfgs", "lbfgs")

_COMMON = {"line_search", "c1", "c2", "rho", "maxls"}
_METHOD_OPTIONS: dict[str | None, set[str]] = {   # looked up with None for a strategy
    "gd": set(),
    "newton": {"modification", "damping", "delta"},
    "cg": {"beta", "restart"},
    "bfgs": {"scale_H0"},
    "lbfgs": {"m"},
}


def _make_direction(method: str, n: int, opts: dict,
                    hess: Callable | None = None) -> DirectionStrategy:
    """The :class:`~.directions.DirectionStrategy` of ``method`` for ``n`` variables, with
    its options taken from the validated ``opts``."""
    if method == "gd":
        return SteepestDescentDirection()
    if method == "newton":
        if not callable(hess):
            raise ValueError("method 'newton' needs hess, a callable returning the Hessian")
        return NewtonDirection(hess, n, modification=opts["modification"],
                               damping=opts["damping"], delta=opts["delta"])
    if method == "cg":
        return CGDirection(beta=opts["beta"], restart=opts["restart"])
    if method == "bfgs":
        return BFGSDirection(n, scale_H0=opts["scale_H0"])
    if method == "lbfgs":
        return LBFGSDirection(m=opts["m"])
    raise ValueError(f"Unknown method: {method!r}")


# ---------------------------------------------------------------------------- validation

def _parse_options(method: str | None, n: int, options: dict, label: str) -> dict:
    allowed = _COMMON | _METHOD_OPTIONS.get(method, set())
    for key in options:
        if key not in allowed:
            raise ValueError(f"Unknown option for method {label!r}: {key!r}")
    opts = dict(line_search="armijo" if method == "newton" else "wolfe", c1=1e-4,
                c2=0.1 if method == "cg" else 0.9, rho=0.5, maxls=40, modification="cholesky",
                damping=0.0, delta=1e-8, beta="pr+", restart=n, scale_H0=True, m=10)
    opts.update(options)
    ls = opts["line_search"]
    if not (ls in ("wolfe", "armijo") or ls is None or callable(ls)):
        raise ValueError(f"Invalid line_search: {ls!r}; expected 'wolfe', 'armijo', None "
                         f"or a callable")
    if ls == "armijo" or ls is None:
        if not 0 < opts["c1"] < 1:
            raise ValueError(f"Invalid c1: {opts['c1']!r}; need 0 < c1 < 1")
    elif not 0 < opts["c1"] < opts["c2"] < 1:
        raise ValueError(f"Invalid c1, c2: need 0 < c1 < c2 < 1, got c1={opts['c1']!r}, "
                         f"c2={opts['c2']!r}")
    if not 0 < opts["rho"] < 1:
        raise ValueError(f"Invalid rho: {opts['rho']!r}; need 0 < rho < 1")
    if not _is_int(opts["maxls"]) or opts["maxls"] < 1:
        raise ValueError(f"Invalid maxls: {opts['maxls']!r}")
    if opts["modification"] not in MODIFICATIONS:
        raise ValueError(f"Invalid modification: {opts['modification']!r}; expected one of "
                         + ", ".join(map(repr, MODIFICATIONS)))
    if not (_is_real(opts["damping"]) and 0 <= opts["damping"] < math.inf):
        raise ValueError(f"Invalid damping: {opts['damping']!r}")
    if not (_is_real(opts["delta"]) and 0 < opts["delta"] < math.inf):
        raise ValueError(f"Invalid delta: {opts['delta']!r}")
    if opts["beta"] not in CG_BETAS:
        raise ValueError(f"Invalid beta: {opts['beta']!r}; expected one of "
                         + ", ".join(map(repr, CG_BETAS)))
    r = opts["restart"]
    if r is not None and (not _is_int(r) or r < 1):
        raise ValueError(f"Invalid restart: {r!r}")
    if not _is_int(opts["m"]) or opts["m"] < 1:
        raise ValueError(f"Invalid m: {opts['m']!r}")
    return opts


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _make_search(opts) -> Callable:
    ls, c1, c2, rho, maxls = (opts[k] for k in ("line_search", "c1", "c2", "rho", "maxls"))
    if ls == "wolfe":
        def search(fun, jac, x, p, f0, g0, step0):
            return strong_wolfe_line_search(fun, jac, x, p, f0, g0, step0=step0, c1=c1, c2=c2,
                                            maxiter=maxls)
    elif ls == "armijo":
        def search(fun, jac, x, p, f0, g0, step0):
            return backtracking_line_search(fun, x, p, f0, g0, step0=step0, c1=c1, rho=rho,
                                            maxiter=maxls)
    elif ls is None:
        def search(fun, jac, x, p, f0, g0, step0):
            return LineSearchResult(1.0, float(fun(x + p)), None, None, 1, 0, True,
                                    "unit step taken without a line search")
    else:
        search = ls
    return search


# ---------------------------------------------------------------------------- the driver

def minimize(fun: Callable, x0: ArrayLike, jac: Callable, hess: Callable | None = None,
             method: str | DirectionStrategy = "lbfgs", *, gtol: float = 1e-5,
             maxiter: int | None = None, callback: Callable | None = None,
             **options) -> OptimizeResult:
    r"""Minimize a smooth :math:`f:\mathbb{R}^n\to\mathbb{R}` from ``x0``.

    Parameters
    ----------
    fun : ``f(x) -> float`` for ``x`` of shape (n,).
    x0 : array (n,), finite; not modified.
    jac : ``grad(x) -> array (n,)``.
    hess : ``hess(x) -> array (n, n)``; needed by ``"newton"`` only.
    method : ``"gd"``, ``"newton"``, ``"cg"``, ``"bfgs"`` or ``"lbfgs"`` (see the module
        docstring for what each does and for ``**options``), or a fresh object implementing
        :class:`~.directions.DirectionStrategy` (then only the line-search options apply;
        default line search strong Wolfe).
    gtol : stop with ``success=True`` when :math:`\max_i |g_i| \le` ``gtol`` (> 0).
    maxiter : largest number of iterations, default :math:`200n`.
    callback : called as ``callback(x_k)`` (a copy) after every iteration; returning True
        stops the run (``status=4``).

    Returns
    -------
    :class:`~course_lib.second_order.result.OptimizeResult` with ``x``, ``fun``, ``jac``,
    ``nit``, ``nfev``, ``njev``, ``success``, ``status``, ``message``, ``path``,
    ``fun_path`` and ``method``, plus ``nhev``/``nmodified`` (newton), ``nrestarts`` (cg),
    ``hess_inv`` (bfgs) and ``nskipped`` (bfgs, lbfgs). ``success`` is True only when the
    gradient test passed; a failed line search, a non-finite value, an unsolvable Newton
    system or ``maxiter`` end the run with ``success=False`` and a ``message`` saying which.

    Raises
    ------
    ValueError
        On an unknown method or option, ``x0`` not 1-D or not finite, ``gtol <= 0``, an
        invalid option value (``m < 1``, ``c1 >= c2``, ...), or ``"newton"`` without ``hess``.
    """
    strategy: DirectionStrategy | None
    key: str | None                                 # the method's name, None for a strategy
    if isinstance(method, DirectionStrategy):
        strategy, key = method, None
    elif not isinstance(method, str) or method.lower() not in METHODS:
        raise ValueError(f"Unknown method: {method!r}")
    else:
        strategy, key = None, method.lower()
    x = np.array(x0, dtype=float, copy=True)
    if x.ndim != 1:
        raise ValueError(f"x0 must be 1-D, got shape {x.shape}")
    if x.size == 0:
        raise ValueError("x0 must not be empty")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x0 must be finite, got non-finite entries at indices "
                         f"{np.flatnonzero(~np.isfinite(x)).tolist()}")
    n = x.size
    if not callable(fun):
        raise ValueError(f"fun must be callable, got {fun!r}")
    if not callable(jac):
        raise ValueError(f"jac must be callable (the gradient), got {jac!r}")
    if not (_is_real(gtol) and 0 < gtol < math.inf):
        raise ValueError(f"Invalid gtol: {gtol!r}")
    if maxiter is None:
        maxiter = 200 * n
    if not _is_int(maxiter) or maxiter < 0:
        raise ValueError(f"Invalid maxiter: {maxiter!r}")
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be callable, got {callback!r}")
    label = strategy.name if strategy is not None else key
    assert label is not None                        # a name, or a strategy
    opts = _parse_options(key, n, options, label)
    if strategy is None:
        assert key is not None
        strategy = _make_direction(key, n, opts, hess)
    name = strategy.name
    search = _make_search(opts)

    counts = [0, 0]

    def f_(z):
        counts[0] += 1
        return float(fun(z))

    def g_(z):
        counts[1] += 1
        g = np.asarray(jac(z), dtype=float)
        if g.shape != (n,):
            raise ValueError(f"jac must return an array of shape ({n},), got {g.shape}")
        return g

    f, g = f_(x), g_(x)
    gmax = float(np.abs(g).max())  # NaN if g has a NaN
    path, fun_path = [x.copy()], [f]
    k, status, detail = 0, None, ""
    if not (math.isfinite(f) and math.isfinite(gmax)):
        status, detail = 3, f"f(x0) = {f!r} or its gradient is not finite"
    while status is None:
        if gmax <= gtol:
            status, detail = 0, f"max|g_i| = {gmax:.3e} <= gtol = {gtol:.3e}"
            break
        if k >= maxiter:
            status, detail = 1, f"maxiter = {maxiter}; max|g_i| = {gmax:.3e} > gtol = {gtol:.3e}"
            break
        try:
            p = strategy.direction(x, f, g)
            ls = search(f_, g_, x, p, f, g, step0=strategy.step0(g, p))
            if not ls.success and strategy.reset():
                p = strategy.direction(x, f, g)
                ls = search(f_, g_, x, p, f, g, step0=strategy.step0(g, p))
        except DirectionError as err:
            status, detail = 5, f"at iteration {k}: {err}"
            break
        if not ls.success:
            status, detail = 2, f"at iteration {k}: {ls.message}"
            break
        x_new = x + ls.step * p
        f_new = float(ls.fun)
        if not (math.isfinite(f_new) and np.isfinite(x_new).all()):
            status, detail = 3, f"at iteration {k}: f = {f_new!r} after a step of {ls.step:.3e}"
            break
        g_new = ls.grad if ls.grad is not None else g_(x_new)
        gmax = float(np.abs(g_new).max())
        if not math.isfinite(gmax):
            status, detail = 3, f"at iteration {k}: gradient not finite (f = {f_new!r})"
            break
        strategy.update(ls.step, p, g, g_new)
        x, f, g = x_new, f_new, g_new
        k += 1
        path.append(x.copy())
        fun_path.append(f)
        if callback is not None and callback(x.copy()) is True:
            status, detail = 4, f"at iteration {k}"
    return OptimizeResult(
        x=x, fun=f, jac=g, nit=k, nfev=counts[0], njev=counts[1], success=status == 0,
        status=status, message=f"{STATUS[status]} ({name}): {detail}", path=np.array(path),
        fun_path=np.array(fun_path), method=name, **strategy.extras())
