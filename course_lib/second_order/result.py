r"""What an optimizer and a line search hand back.

:class:`OptimizeResult` is :class:`scipy.optimize.OptimizeResult` (a ``dict`` with attribute
access) with the course's extra fields, so code written for ``scipy.optimize.minimize`` reads
ours unchanged. :class:`LineSearchResult` is what one line search returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import OptimizeResult as _ScipyOptimizeResult

__all__ = ["OptimizeResult", "LineSearchResult", "STATUS"]

#: ``status`` codes of :class:`OptimizeResult` and what they mean.
STATUS = {
    0: "converged: max|g_i| <= gtol",
    1: "maximum number of iterations reached",
    2: "line search failed",
    3: "non-finite value",
    4: "stopped by callback",
    5: "search direction could not be computed",
}


class OptimizeResult(_ScipyOptimizeResult):
    r"""Result of :func:`course_lib.second_order.minimize`.

    Attributes
    ----------
    x : array (n,) -- the last accepted iterate :math:`x_k`.
    fun : float -- :math:`f(x_k)`.
    jac : array (n,) -- :math:`\nabla f(x_k)`.
    nit : int -- number of iterations :math:`k` (accepted steps).
    nfev, njev, nhev : int -- calls of ``fun``, ``jac`` and ``hess`` (the initial ones included),
        counted like scipy's ``nfev``/``njev``.
    success : bool -- True only when :math:`\max_i |g_i| \le` ``gtol`` was reached.
    status : int -- a key of :data:`STATUS` (0 converged, 1 maxiter, 2 line search failed,
        3 non-finite value, 4 stopped by callback, 5 no search direction, e.g. a
        singular Newton system).
    message : str -- what ended the run, in words.
    path : array (nit + 1, n) -- the iterates :math:`x_0, \dots, x_k`.
    fun_path : array (nit + 1,) -- :math:`f(x_0), \dots, f(x_k)`.
    method : str -- the method's name.
    hess_inv : array (n, n) -- BFGS only: the final inverse-Hessian approximation :math:`H_k`.
    """


@dataclass
class LineSearchResult:
    r"""Result of one line search along a direction :math:`p` from :math:`x`, i.e. on
    :math:`\phi(\alpha) = f(x + \alpha p)`.

    Attributes
    ----------
    step : float -- the step :math:`\alpha` found (the last one tried if ``success`` is False).
    fun : float -- :math:`\phi(\alpha) = f(x + \alpha p)`.
    grad : array (n,) or None -- :math:`\nabla f(x + \alpha p)` when the search evaluated it
        (strong Wolfe always does on success; backtracking never does).
    slope : float or None -- :math:`\phi'(\alpha) = \nabla f(x+\alpha p)^\top p` when known.
    nfev, njev : int -- evaluations of ``fun`` and ``jac`` the search made.
    success : bool -- True when the promised conditions hold at ``step``.
    message : str -- what happened.
    """

    step: float
    fun: float
    grad: np.ndarray | None
    slope: float | None
    nfev: int
    njev: int
    success: bool
    message: str
