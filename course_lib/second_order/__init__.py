r"""Second-order and quasi-Newton optimization (chapter 8).

* :mod:`~course_lib.second_order.line_search` -- Armijo backtracking and strong Wolfe line
  searches, the predicates they promise, exact steps on quadratics;
* :mod:`~course_lib.second_order.newton` -- the Newton step, damping, Hessian modifications;
* :mod:`~course_lib.second_order.cg` -- linear CG and the nonlinear CG :math:`\beta` formulas;
* :mod:`~course_lib.second_order.quasi_newton` -- the BFGS inverse update and the L-BFGS
  two-loop recursion (the one definition, also used by the torch twin
  ``course_lib.optim.LBFGS``), the initial scaling and the curvature test they share;
* :mod:`~course_lib.second_order.directions` -- the :class:`DirectionStrategy` protocol that
  every method of :func:`minimize` implements next to its mathematics (steepest descent here,
  :class:`NewtonDirection`, :class:`CGDirection`, :class:`BFGSDirection`,
  :class:`LBFGSDirection` in their modules);
* :mod:`~course_lib.second_order.methods` -- :func:`minimize`, the one loop, with methods
  ``"gd"``, ``"newton"``, ``"cg"``, ``"bfgs"``, ``"lbfgs"``;
* :mod:`~course_lib.second_order.trust_region` -- dogleg and Steihaug-CG steps, the
  trust-region driver (as scipy's ``"dogleg"`` and ``"trust-ncg"``);
* :mod:`~course_lib.second_order.curvature` -- Gauss--Newton / Levenberg--Marquardt,
  Hessian-free steps (CG on curvature-vector products), K-FAC for a softmax layer;
* :mod:`~course_lib.second_order.result` -- :class:`OptimizeResult`, :class:`LineSearchResult`.

Conventions follow Nocedal & Wright, *Numerical Optimization* (2nd ed., 2006): :math:`g` is the
gradient, :math:`H` the Hessian in Newton's method but the *inverse*-Hessian approximation in
BFGS/L-BFGS (the book writes :math:`D_k` for it, keeping :math:`H` for the Hessian),
:math:`s_k = x_{k+1}-x_k`, :math:`y_k = g_{k+1}-g_k`, :math:`\rho_k = 1/y_k^\top s_k`.
``gtol`` bounds :math:`\max_i|g_i|`, as in ``scipy.optimize.minimize``.
"""

from .cg import (
    CG_BETAS,
    CGDirection,
    beta_fletcher_reeves,
    beta_polak_ribiere,
    beta_polak_ribiere_plus,
    linear_cg,
)
from .curvature import (
    gauss_newton,
    gauss_newton_step,
    hessian_free_step,
    kfac_direction,
    kfac_factors,
    softmax_layer_fisher,
)
from .directions import DirectionError, DirectionStrategy, SteepestDescentDirection
from .line_search import (
    armijo_holds,
    backtracking_line_search,
    exact_step_quadratic,
    quadratic_exact_line_search,
    strong_wolfe_holds,
    strong_wolfe_line_search,
    wolfe_holds,
)
from .methods import METHODS, minimize
from .newton import (
    NewtonDirection,
    cholesky_with_added_identity,
    eigenvalue_modification,
    newton_step,
)
from .quasi_newton import (
    CURVATURE_TOL,
    BFGSDirection,
    LBFGSDirection,
    bfgs_inverse_update,
    curvature_condition,
    initial_scaling,
    two_loop_recursion,
)
from .result import STATUS, LineSearchResult, OptimizeResult
from .trust_region import boundary_intersections, dogleg_step, steihaug_cg, trust_region

__all__ = [
    "minimize", "METHODS", "OptimizeResult", "LineSearchResult", "STATUS",
    "armijo_holds", "wolfe_holds", "strong_wolfe_holds", "backtracking_line_search",
    "strong_wolfe_line_search", "exact_step_quadratic", "quadratic_exact_line_search",
    "newton_step", "eigenvalue_modification", "cholesky_with_added_identity",
    "beta_fletcher_reeves", "beta_polak_ribiere", "beta_polak_ribiere_plus", "CG_BETAS",
    "linear_cg", "bfgs_inverse_update", "two_loop_recursion", "initial_scaling",
    "trust_region", "dogleg_step", "steihaug_cg", "boundary_intersections",
    "gauss_newton", "gauss_newton_step", "hessian_free_step", "softmax_layer_fisher",
    "kfac_factors", "kfac_direction",
    "DirectionStrategy", "DirectionError", "SteepestDescentDirection", "NewtonDirection",
    "CGDirection", "BFGSDirection", "LBFGSDirection", "curvature_condition", "CURVATURE_TOL",
]
