r"""One result type for every iterative method: :class:`OptimizeResult`, scipy's fields.

:class:`OptimizeResult` is :class:`scipy.optimize.OptimizeResult` (a ``dict`` with attribute
access), so code written for ``scipy.optimize.minimize`` reads the course's results unchanged.
:func:`course_lib.second_order.minimize` returns it, and :func:`course_lib.optim.descent.run`
returns its subclass :class:`~course_lib.optim.descent.Trajectory`; the figures of
:mod:`course_lib.viz.plotting` draw either. It sits with the foundations so that every layer can
return it without importing the layer that defines a solver.

=============  ==========================================================================
field          meaning
=============  ==========================================================================
``x``          the last iterate :math:`x_k`
``fun``        :math:`f(x_k)`
``nit``        iterations :math:`k` (accepted steps)
``nfev``       evaluations of :math:`f` (``njev``, ``nhev``: gradient, Hessian)
``status``     a key of :data:`STATUS`; ``message`` says the same in words
``success``    the run ended as the method intends (see each method)
``path``       the iterates :math:`x_0, \dots, x_k`, an array (k + 1, n)
``fun_path``   :math:`f(x_0), \dots, f(x_k)`, an array (k + 1,)
=============  ==========================================================================
"""

from __future__ import annotations

from scipy.optimize import OptimizeResult as _ScipyOptimizeResult

__all__ = ["OptimizeResult", "STATUS"]

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
    r"""The result of an iterative method, with scipy's field names.

    Attributes
    ----------
    x : array (n,) -- the last accepted iterate :math:`x_k`.
    fun : float -- :math:`f(x_k)`.
    jac : array (n,) -- :math:`\nabla f(x_k)` (methods that compute it).
    nit : int -- number of iterations :math:`k` (accepted steps).
    nfev, njev, nhev : int -- calls of ``fun``, ``jac`` and ``hess`` (the initial ones included),
        counted like scipy's ``nfev``/``njev``.
    success : bool -- for :func:`~course_lib.second_order.minimize`, True only when
        :math:`\max_i |g_i| \le` ``gtol`` was reached; for
        :func:`~course_lib.optim.descent.run` (a fixed number of steps, no stopping test), True
        when the run did not diverge.
    status : int -- a key of :data:`STATUS` (0 converged, 1 maxiter -- for ``descent.run``
        the normal end --, 2 line search failed, 3 non-finite value, 4 stopped by callback,
        5 no search direction, e.g. a singular Newton system).
    message : str -- what ended the run, in words.
    path : array (nit + 1, n) -- the iterates :math:`x_0, \dots, x_k`.
    fun_path : array (nit + 1,) -- :math:`f(x_0), \dots, f(x_k)`.
    method : str -- the method's name.
    hess_inv : array (n, n) -- BFGS only: the final inverse-Hessian approximation :math:`H_k`.
    """
