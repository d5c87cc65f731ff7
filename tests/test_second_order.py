"""course_lib.second_order (and course_lib.second_order.coordinate): convergence on the Moré-Garbow-
Hillstrom suite, evaluation counts against scipy.optimize, line-search guarantees on random
1-D problems, the chapter's starred claims (ERRATA 28-30, 32, 36; demonstrations 12-14), the
building blocks against explicit formulas, and every error message."""

import numpy as np
import pytest
import scipy.optimize as so
from scipy.optimize import root
from sklearn.linear_model import Lasso
from threadpoolctl import threadpool_limits

from course_lib.objectives import (
    Beale,
    HelicalValley,
    PowellSingular,
    Quadratic,
    Rosenbrock,
    Saddle,
    Wood,
)
from course_lib.second_order import (
    CG_BETAS,
    BFGSDirection,
    CGDirection,
    DirectionError,
    DirectionStrategy,
    LBFGSDirection,
    NewtonDirection,
    OptimizeResult,
    SteepestDescentDirection,
    armijo_holds,
    backtracking_line_search,
    beta_fletcher_reeves,
    beta_polak_ribiere,
    beta_polak_ribiere_plus,
    bfgs_inverse_update,
    cholesky_with_added_identity,
    eigenvalue_modification,
    exact_step_quadratic,
    linear_cg,
    minimize,
    newton_step,
    quadratic_exact_line_search,
    strong_wolfe_holds,
    strong_wolfe_line_search,
    two_loop_recursion,
    wolfe_holds,
)
from course_lib.second_order.coordinate import (
    coordinate_descent,
    kinked_valley,
    kinked_valley_argmin,
    lasso_argmin,
    lasso_coordinate_descent,
    lasso_objective,
    soft_threshold,
)
from course_lib.second_order.quasi_newton import LBFGSMemory

GTOL = 1e-5


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Tiny matrix-vector products (scipy's L-BFGS-B above all) run 10-100x slower when BLAS
    starts threads on a loaded machine; one thread keeps this file well under its time budget."""
    with threadpool_limits(limits=1):
        yield


PROBLEMS = {
    "rosenbrock-2": Rosenbrock(2),
    "rosenbrock-10": Rosenbrock(10),
    "rosenbrock-100": Rosenbrock(100),
    "beale": Beale(),
    "wood": Wood(),
    "powell-singular": PowellSingular(),
    "helical-valley": HelicalValley(),
}


def _chained_rosenbrock_local_minimizer(n):
    """The chained Rosenbrock function has, for n >= 4, a second local minimizer near
    (-1, 1, ..., 1) with f = 3.9866 (Kok & Sandrock 2009); found here by scipy's root."""
    obj = Rosenbrock(n)
    x = np.ones(n)
    x[0] = -1.0
    sol = root(obj.grad, x, jac=obj.hess, tol=1e-14)
    assert np.max(np.abs(obj.grad(sol.x))) < 1e-10
    assert np.linalg.eigvalsh(obj.hess(sol.x)).min() > 0.4
    return sol.x


# Newton's method from the standard start ends at that local minimizer (a correct outcome for
# a local method, asserted as such); every other (method, problem) ends at the global one.
ENDS_AT_LOCAL = {("newton", "rosenbrock-10"), ("newton", "rosenbrock-100")}
# Steepest descent is slow (linear rate ~ (1 - 1/kappa)), so it is run with maxiter=20000 and
# excluded where that is not enough: Rosenbrock-100 (max|g| ~ 8e-4 after 20000 iterations)
# and Powell singular (singular Hessian at x*: sublinear, max|g| ~ 7e-5 after 20000).
GD_EXCLUDED = {"rosenbrock-100", "powell-singular"}
GD_MAXITER = 20000
CASES = [(m, p) for m in ("newton", "cg", "bfgs", "lbfgs", "gd") for p in PROBLEMS
         if not (m == "gd" and p in GD_EXCLUDED)]


def _distance_tolerance(obj, xstar):
    r"""How close max|g_i| <= gtol puts x to x*: to first order x - x* = H*^{-1} g, so
    ||x - x*||_2 <= sqrt(n) gtol / lambda_min(H*); we allow twice that for the second-order
    term. Rosenbrock-2/10/100: 7.1e-5, 1.3e-4, 4.0e-4; Beale 9.4e-5; Wood 5.6e-5; helical
    valley 2.4e-5. Powell singular has lambda_min(H*) = 0: there |g| ~ |x - x*|^3, so only
    ||x - x*||_inf <= 0.02 ~ (gtol/4)^(1/3) * 1.5 is promised, and f <= 1e-7."""
    lam = np.linalg.eigvalsh(obj.hess(xstar))[0]
    return 2 * np.sqrt(obj.dim) * GTOL / lam


def _run(obj, method, **options):
    maxiter = GD_MAXITER if method == "gd" else None
    return minimize(obj.value, obj.x0, obj.grad, obj.hess, method=method, gtol=GTOL,
                    maxiter=maxiter, **options)


# ------------------------------------------------------------------ convergence on the suite

@pytest.mark.parametrize("method, name", CASES, ids=[f"{m}-{p}" for m, p in CASES])
def test_converges_to_known_minimizer(method, name):
    obj = PROBLEMS[name]
    r = _run(obj, method)
    assert r.success and r.status == 0, r.message
    assert np.max(np.abs(r.jac)) <= GTOL
    np.testing.assert_allclose(r.jac, obj.grad(r.x), rtol=0, atol=0)
    assert r.fun == obj.value(r.x)
    if name == "powell-singular":
        assert np.max(np.abs(r.x)) <= 0.02 and r.fun <= 1e-7
        return
    if (method, name) in ENDS_AT_LOCAL:
        xstar = _chained_rosenbrock_local_minimizer(obj.dim)
        assert r.fun == pytest.approx(3.9866, abs=1e-4)
    else:
        xstar = obj.minimizers[0]
    assert np.linalg.norm(r.x - xstar) <= _distance_tolerance(obj, xstar)


@pytest.mark.parametrize("method", ["lbfgs", "bfgs", "cg", "gd"])
def test_every_accepted_step_satisfies_strong_wolfe(method):
    """Checked from the path alone: with s = x_{k+1} - x_k (a positive multiple of p_k) the
    conditions read f(x_{k+1}) <= f(x_k) + c1 g_k^T s and |g_{k+1}^T s| <= c2 |g_k^T s|."""
    obj = Beale() if method == "gd" else Rosenbrock(2)
    r = _run(obj, method)
    c2 = 0.1 if method == "cg" else 0.9
    for xa, xb in zip(r.path[:-1], r.path[1:]):
        s = xb - xa
        assert strong_wolfe_holds(obj.value(xa), obj.grad(xa) @ s, 1.0, obj.value(xb),
                                  obj.grad(xb) @ s, c1=1e-4, c2=c2)
    np.testing.assert_array_equal(r.fun_path, obj.value(r.path))


def test_newton_backtracking_steps_satisfy_armijo():
    obj = Wood()
    r = _run(obj, "newton")
    for xa, xb in zip(r.path[:-1], r.path[1:]):
        s = xb - xa
        assert armijo_holds(obj.value(xa), obj.grad(xa) @ s, 1.0, obj.value(xb), c1=1e-4)
    assert r.nmodified > 0  # Wood's Hessian is indefinite along the way: Alg. 3.3 was used


# ------------------------------------------------------------------ evaluations vs scipy

# Recorded at the time of writing (scipy 1.17, numpy 2.4), nfev ours / scipy:
#                     lbfgs/L-BFGS-B(ftol=0)  bfgs/BFGS   cg/CG
#   rosenbrock-2          47 / 45             45 / 39      95 / 78
#   rosenbrock-10         91 / 92             97 / 83     291 / 458
#   rosenbrock-100       621 / 625           657 / 650   1356 / 1925
#   beale                 16 / 16             17 / 17      35 / 41
#   wood                 120 / 116            43 / 105    119 / 126
#   powell-singular       31 / 31             41 / 40     137 / 112
#   helical-valley        28 / 33             31 / 35     140 / 88
# Worst ratios: 1.04 (L-BFGS, Rosenbrock-2), 1.17 (BFGS, Rosenbrock-10), 1.59 (CG, helical
# valley). The factors below leave room for runs that round differently (long runs such as
# Rosenbrock-100 move by +-15 evaluations with the last bit of x0).
NFEV_FACTOR = {"lbfgs": 1.3, "bfgs": 1.3, "cg": 1.8}
SCIPY = {"lbfgs": ("L-BFGS-B", {"ftol": 0.0}), "bfgs": ("BFGS", {}), "cg": ("CG", {})}


@pytest.mark.parametrize("method", list(SCIPY))
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_function_evaluations_within_factor_of_scipy(method, name):
    """Same gtol (max|g_i|). L-BFGS-B also stops on a relative decrease of f (ftol); it is
    turned off so that both stop on the gradient test alone (with it, L-BFGS-B stops on Wood
    at the saddle, f = 7.88, after 20 evaluations)."""
    obj = PROBLEMS[name]
    ours = _run(obj, method)
    sp, extra = SCIPY[method]
    ref = so.minimize(obj.value, obj.x0, jac=obj.grad, method=sp,
                      options=dict(gtol=GTOL, **extra))
    assert ours.success and ref.success
    assert ours.nfev <= NFEV_FACTOR[method] * ref.nfev, (ours.nfev, ref.nfev)


def test_lbfgs_evaluations_on_rosenbrock_100_match_lbfgsb():
    """The issue's goal: no more evaluations than L-BFGS-B (defaults, same gtol) on
    Rosenbrock-100. Both counts are chaotic in the last bit: perturbing x0 by 1e-15
    (relative) moves ours over 607..629 and L-BFGS-B's over 600..630 (recorded over 20 starts:
    means 615.7 and 611.8; at x0 itself 621 and 618). So a single start decides nothing, and
    the assertion is on the mean over x0 and 9 perturbed starts: ours <= 1.03 x L-BFGS-B's
    (recorded 616.0 vs 612.0). L-BFGS-B stops on ftol at max|g_i| ~ 2e-4; ours goes on to
    max|g_i| <= 1e-5."""
    obj = PROBLEMS["rosenbrock-100"]
    rng = np.random.default_rng(0)
    ours, ref = [], []
    for i in range(10):
        x0 = obj.x0 * (1 + 1e-15 * rng.standard_normal(100)) if i else obj.x0
        r = minimize(obj.value, x0, obj.grad, method="lbfgs", gtol=GTOL)
        assert r.success and np.max(np.abs(r.x - 1)) < 1e-4
        ours.append(r.nfev)
        ref.append(so.minimize(obj.value, x0, jac=obj.grad, method="L-BFGS-B",
                               options=dict(gtol=GTOL)).nfev)
    assert np.mean(ours) <= 1.03 * np.mean(ref), (ours, ref)


# ------------------------------------------------------------------ line searches

def _random_1d(rng):
    """phi(t) = a t^2 + sum_k b_k sin(w_k t + c_k) + d t: smooth, bounded below (a > 0),
    with up to several local minima."""
    a = rng.uniform(0.05, 2)
    b, w, c = rng.uniform(0, 3, 3), rng.uniform(0.5, 8, 3), rng.uniform(0, 2 * np.pi, 3)
    d = rng.uniform(-5, 5)

    def f(x):
        t = x[0]
        return float(a * t * t + np.sum(b * np.sin(w * t + c)) + d * t)

    def g(x):
        t = x[0]
        return np.array([2 * a * t + np.sum(b * w * np.cos(w * t + c)) + d])

    return f, g


N_RANDOM = 300


def _random_starts(rng):
    for _ in range(N_RANDOM):
        f, g = _random_1d(rng)
        x = rng.uniform(-3, 3, 1)
        p = -np.sign(g(x)) * 10 ** rng.uniform(-2, 1, 1)  # descent, of random length
        yield f, g, x, p


@pytest.mark.parametrize("lazy", [False, True], ids=["eager", "lazy"])
def test_strong_wolfe_search_satisfies_strong_wolfe_on_random_1d_problems(lazy):
    rng = np.random.default_rng(12)
    shrunk = grown = 0
    for f, g, x, p in _random_starts(rng):
        c1, c2 = 1e-4, [0.1, 0.5, 0.9][rng.integers(3)]
        r = strong_wolfe_line_search(f, g, x, p, f(x), g(x), c1=c1, c2=c2, lazy_gradient=lazy)
        assert r.success, r.message
        xa = x + r.step * p
        assert r.fun == f(xa) and r.slope == pytest.approx(float(g(xa) @ p), rel=1e-15)
        np.testing.assert_array_equal(r.grad, g(xa))
        assert strong_wolfe_holds(f(x), float(g(x) @ p), r.step, f(xa), float(g(xa) @ p),
                                  c1, c2)
        assert r.nfev >= r.njev >= 1 and (lazy or r.nfev == r.njev)
        shrunk += r.step < 1
        grown += r.step > 1
    # both phases of the search were exercised, not only the first trial
    assert shrunk > N_RANDOM // 5 and grown > N_RANDOM // 5


def test_backtracking_search_satisfies_armijo_on_random_1d_problems():
    rng = np.random.default_rng(13)
    shrunk = 0
    for f, g, x, p in _random_starts(rng):
        c1 = [1e-4, 0.1, 0.4][rng.integers(3)]
        r = backtracking_line_search(f, x, p, f(x), g(x), c1=c1, rho=0.5)
        assert r.success, r.message
        assert r.fun == f(x + r.step * p) and r.grad is None and r.njev == 0
        assert armijo_holds(f(x), float(g(x) @ p), r.step, f(x + r.step * p), c1)
        # the step before (twice as long) failed Armijo: backtracking stops at the first one
        if r.step < 1:
            assert not armijo_holds(f(x), float(g(x) @ p), 2 * r.step,
                                    f(x + 2 * r.step * p), c1)
            shrunk += 1
    assert shrunk > N_RANDOM // 5


def test_predicates_reject_what_they_should():
    # phi(t) = (t - 1)^2: phi(0) = 1, phi'(0) = -2
    phi, dphi = (lambda t: (t - 1) ** 2), (lambda t: 2 * (t - 1))
    assert armijo_holds(1.0, -2.0, 1.0, phi(1.0)) and not armijo_holds(1.0, -2.0, 2.0, phi(2.0))
    assert not armijo_holds(1.0, -2.0, 1.0, np.nan)
    assert not strong_wolfe_holds(1.0, -2.0, 0.01, phi(0.01), dphi(0.01))  # too short
    assert strong_wolfe_holds(1.0, -2.0, 1.0, phi(1.0), dphi(1.0))
    # past the minimizer: weak Wolfe holds, strong rejects a large positive slope
    assert wolfe_holds(1.0, -2.0, 1.95, phi(1.95), dphi(1.95))
    assert not strong_wolfe_holds(1.0, -2.0, 1.95, phi(1.95), dphi(1.95))


def test_line_searches_report_failures():
    f, g = (lambda x: float(x @ x)), (lambda x: 2 * x)
    x = np.array([1.0])
    for r in (strong_wolfe_line_search(f, g, x, np.array([1.0])),
              backtracking_line_search(f, x, np.array([1.0]), g0=g(x))):
        assert not r.success and r.message.startswith("not a descent direction")
    def lin(x):
        return float(-x[0])  # unbounded below along p

    r = strong_wolfe_line_search(lin, lambda x: np.array([-1.0]), x, np.array([1.0]))
    assert not r.success and "step_max" in r.message
    r = backtracking_line_search(lambda x: np.nan, x, np.array([-1.0]), 1.0, g(x), maxiter=5)
    assert not r.success and "no step satisfied the Armijo condition in 5 trials" in r.message


def test_exact_step_on_quadratic_minimizes_along_the_line(rng):
    q = Quadratic.with_condition(6, 50.0, rng=rng)
    x, p = rng.standard_normal(6), rng.standard_normal(6)
    a = exact_step_quadratic(q.A, q.grad(x), p)
    assert abs(q.grad(x + a * p) @ p) <= 1e-12 * np.linalg.norm(q.grad(x)) * np.linalg.norm(p)
    h = 1e-4
    assert q.value(x + a * p) < min(q.value(x + (a + h) * p), q.value(x + (a - h) * p))


# ------------------------------------------------------------------ starred claims: Newton

@pytest.fixture
def spd10():
    """The chapter's SPD quadratic: n = 10, eigenvalues log-spaced 1..100 (cond 100), random
    eigenvectors, minimizer b-dependent, start x0."""
    rng = np.random.default_rng(0)
    q = Quadratic.with_condition(10, 100.0, rng=rng)
    q = Quadratic(q.A, b=rng.standard_normal(10))
    return q, rng.standard_normal(10)


def test_one_newton_step_on_spd_quadratic_is_exact(spd10):
    q, x0 = spd10
    xstar = np.linalg.solve(q.A, q.b)
    x1 = x0 + newton_step(q.grad(x0), q.A)
    assert np.linalg.norm(x1 - xstar) / np.linalg.norm(x0 - xstar) < 1e-12
    r = minimize(q.value, x0, q.grad, lambda x: q.A, method="newton", gtol=1e-10)
    assert r.success and r.nit == 1 and r.nmodified == 0


def test_damped_newton_step_tends_to_scaled_gradient(spd10):
    """(A + alpha I)^{-1} g = g/alpha - A g/alpha^2 + ..., so the relative deviation from
    -g/alpha is at most lambda_max/alpha (= 1e-4 here), at least lambda_min/(alpha+lambda_min)."""
    q, x0 = spd10
    g, alpha = q.grad(x0), 1e6
    p = newton_step(g, q.A, damping=alpha)
    dev = np.linalg.norm(p + g / alpha) / np.linalg.norm(g / alpha)
    lam = q.eigenvalues
    assert lam[0] / (alpha + lam[0]) <= dev <= lam[-1] / alpha


def test_unmodified_newton_lands_on_the_saddle():
    """ERRATA 28: f = (x^2 - y^2)/2, H = diag(1, -1); p = -H^{-1}g = -(x, y) from any point, so
    one step lands on (0, 0) -- and the gradient test reports 'converged' at a saddle."""
    s = Saddle()
    rng = np.random.default_rng(5)
    for x0 in rng.uniform(-2, 2, (20, 2)):
        np.testing.assert_allclose(x0 + newton_step(s.grad(x0), s.hess(x0)), 0, atol=1e-15)
    r = minimize(s.value, [1.0, 0.5], s.grad, s.hess, method="newton", modification="none",
                 line_search=None)
    assert r.success and r.nit == 1 and np.all(r.x == 0)
    assert np.linalg.eigvalsh(s.hess(r.x))[0] < 0  # a saddle, not a minimizer
    # with a line search the same direction is rejected where it points uphill (|y| > |x|)
    r = minimize(s.value, [0.5, 1.0], s.grad, s.hess, method="newton", modification="none")
    assert not r.success and r.status == 2 and "not a descent direction" in r.message
    # the modifications escape along -y's negative curvature instead
    for mod in ("abs", "eig", "cholesky"):
        r = minimize(s.value, [1.0, 0.5], s.grad, s.hess, method="newton", modification=mod,
                     maxiter=3)
        assert r.fun_path[1] < r.fun_path[0] and abs(r.path[1, 1]) > 0.5, mod


# ------------------------------------------------------------------ starred claims: CG

def test_linear_cg_terminates_in_n_steps(spd10):
    q, x0 = spd10
    r = linear_cg(q.A, q.b, x0)
    assert r.nit == 10 and r.residual_norms[-1] / r.residual_norms[0] < 1e-6
    P = r.directions
    C = P @ q.A @ P.T
    off = np.abs(C - np.diag(np.diag(C))) / np.sqrt(np.outer(np.diag(C), np.diag(C)))
    # A-conjugate up to rounding, which erodes conjugacy between early and late directions
    # (recorded max 1.5e-5, between p_0 and p_9)
    assert off.max() < 1e-4


@pytest.mark.parametrize("beta", ["fr", "pr", "pr+"])
def test_nonlinear_cg_with_exact_line_search_terminates_in_n_steps(spd10, beta):
    """Demonstration 13: ||grad f|| cut by more than 1e6 in n = 10 iterations (recorded:
    ~2e-7 of the start; rounding erodes conjugacy, so not to 1e-15); on a quadratic with exact
    line searches every beta formula equals linear CG's, so the iterates are linear CG's."""
    q, x0 = spd10
    r = minimize(q.value, x0, q.grad, method="cg", beta=beta, maxiter=10, gtol=1e-300,
                 line_search=quadratic_exact_line_search(q.A))
    assert r.nit == 10 and r.status == 1
    assert np.linalg.norm(r.jac) / np.linalg.norm(q.grad(x0)) < 1e-6
    lin = linear_cg(q.A, q.b, x0)
    # equal up to rounding, amplified in the last step (recorded 9e-8)
    np.testing.assert_allclose(r.path, lin.path, rtol=0, atol=1e-6)


def test_steepest_descent_with_exact_line_search_zigzags(spd10):
    """Same quadratic, 10 exact steps: ||grad f|| only falls to ~0.04 of its start
    (demonstration 13 records 0.040), and consecutive steps are orthogonal."""
    q, x0 = spd10
    r = minimize(q.value, x0, q.grad, method="gd", maxiter=10, gtol=1e-300,
                 line_search=quadratic_exact_line_search(q.A))
    ratio = np.linalg.norm(r.jac) / np.linalg.norm(q.grad(x0))
    assert 0.01 < ratio < 0.1
    S = np.diff(r.path, axis=0)
    cos = np.sum(S[1:] * S[:-1], axis=1) / np.linalg.norm(S[1:], axis=1) / np.linalg.norm(
        S[:-1], axis=1)
    assert np.max(np.abs(cos)) < 1e-10


# ------------------------------------------------------------------ starred claims: BFGS

def _bfgs_exact(q, x0, **options):
    return minimize(q.value, x0, q.grad, method="bfgs", maxiter=q.dim, gtol=1e-300,
                    line_search=quadratic_exact_line_search(q.A), **options)


def test_bfgs_after_n_exact_steps_recovers_inverse_hessian(spd10):
    """Demonstration 14. With H0 = I the recovery is exact to rounding (recorded 1.2e-15).
    With N&W's scaling H0 = (y^T s / y^T y) I ~ I/lambda_max it is exact in exact arithmetic
    too, but rounding costs digits (recorded 2.6e-10 here, up to 1e-7 for other seeds)."""
    q, x0 = spd10
    Ainv = np.linalg.inv(q.A)
    r = _bfgs_exact(q, x0, scale_H0=False)
    assert r.nit == 10 and r.nskipped == 0
    assert np.linalg.norm(r.hess_inv - Ainv) / np.linalg.norm(Ainv) < 1e-10
    scaled = _bfgs_exact(q, x0)
    assert np.linalg.norm(scaled.hess_inv - Ainv) / np.linalg.norm(Ainv) < 1e-6


def test_two_loop_with_all_pairs_equals_bfgs_and_memoryless_differs(spd10):
    """ERRATA 30, demonstration 14: the two-loop recursion with all n pairs of the BFGS run
    gives A^{-1} (1e-10); with the last pair only (memoryless BFGS) the relative error is
    large (recorded 0.83; > 0.5 asserted)."""
    q, x0 = spd10
    Ainv = np.linalg.inv(q.A)
    r = _bfgs_exact(q, x0, scale_H0=False)
    S = list(np.diff(r.path, axis=0))
    Y = [q.A @ s for s in S]  # y = A s on a quadratic
    full = np.column_stack([two_loop_recursion(e, S, Y) for e in np.eye(10)])
    assert np.linalg.norm(full - Ainv) / np.linalg.norm(Ainv) < 1e-10
    assert np.linalg.norm(full - r.hess_inv) / np.linalg.norm(Ainv) < 1e-10
    last = np.column_stack([two_loop_recursion(e, S[-1:], Y[-1:]) for e in np.eye(10)])
    assert np.linalg.norm(last - Ainv) / np.linalg.norm(Ainv) > 0.5


# ------------------------------------------------------------------ building blocks

def _bfgs_product_form(H, s, y):
    rho = 1 / (y @ s)
    V = np.eye(len(s)) - rho * np.outer(y, s)
    return V.T @ H @ V + rho * np.outer(s, s)


def _random_pairs(rng, n, k):
    M = rng.standard_normal((n, n))
    A = M @ M.T + n * np.eye(n)  # SPD, so y = A s has y^T s > 0
    S = [rng.standard_normal(n) for _ in range(k)]
    return S, [A @ s for s in S]


def test_bfgs_inverse_update_is_the_product_form_and_satisfies_secant(rng):
    S, Y = _random_pairs(rng, 7, 5)
    H = np.eye(7)
    for s, y in zip(S, Y):
        H_new = bfgs_inverse_update(H, s, y)
        np.testing.assert_allclose(H_new, _bfgs_product_form(H, s, y), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(H_new @ y, s, rtol=1e-12, atol=1e-14)  # secant equation
        assert np.linalg.eigvalsh(H_new).min() > 0
        H = H_new


@pytest.mark.parametrize("k", [0, 1, 3, 12])
def test_two_loop_recursion_equals_explicit_bfgs_matrix(rng, k):
    S, Y = _random_pairs(rng, 9, k)
    gamma = (S[-1] @ Y[-1]) / (Y[-1] @ Y[-1]) if k else 1.0
    H = gamma * np.eye(9)
    for s, y in zip(S, Y):
        H = _bfgs_product_form(H, s, y)
    g = rng.standard_normal(9)
    np.testing.assert_allclose(two_loop_recursion(g, S, Y), H @ g, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(two_loop_recursion(g, S, Y, gamma=0.3),
                               _explicit(S, Y, 0.3) @ g, rtol=1e-10, atol=1e-12)


def _explicit(S, Y, gamma):
    H = gamma * np.eye(len(S[0]) if S else 9)
    for s, y in zip(S, Y):
        H = _bfgs_product_form(H, s, y)
    return H


def test_lbfgs_memory_is_the_two_loop_recursion_with_the_last_m_pairs(rng):
    S, Y = _random_pairs(rng, 30, 17)
    mem = LBFGSMemory(5)
    for i, (s, y) in enumerate(zip(S, Y)):
        mem.push(s, y)
        g = rng.standard_normal(30)
        lo = max(0, i + 1 - 5)
        ref = two_loop_recursion(g, S[lo:i + 1], Y[lo:i + 1])
        np.testing.assert_allclose(mem.apply(g), ref, rtol=1e-12, atol=1e-14)
    assert len(mem) == 5
    mem.clear()  # as after a failed line search: H^0 = I, then new pairs
    g = rng.standard_normal(30)
    np.testing.assert_array_equal(mem.apply(g), g)
    for i in range(3):
        mem.push(S[i], Y[i])
        ref = two_loop_recursion(g, S[: i + 1], Y[: i + 1])
        np.testing.assert_allclose(mem.apply(g), ref, rtol=1e-12, atol=1e-14)


def test_cg_beta_formulas():
    g0, g1 = np.array([3.0, 4.0]), np.array([1.0, 2.0])  # |g0|^2 = 25, |g1|^2 = 5
    assert beta_fletcher_reeves(g1, g0) == pytest.approx(5 / 25, rel=1e-15)
    assert beta_polak_ribiere(g1, g0) == pytest.approx((5 - 11) / 25, rel=1e-15)
    assert beta_polak_ribiere_plus(g1, g0) == 0.0
    assert beta_polak_ribiere_plus(g0, g1) == pytest.approx((25 - 11) / 5, rel=1e-15)
    assert set(CG_BETAS) == {"fr", "pr", "pr+"}


def test_hessian_modifications(rng):
    Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    lam = np.array([-3.0, -1e-3, 0.0, 2.0, 7.0])
    H = (Q * lam) @ Q.T
    np.testing.assert_allclose(np.linalg.eigvalsh(eigenvalue_modification(H, 1e-2)),
                               [0.07, 0.07, 0.07, 2.0, 7.0], rtol=1e-12)
    mirrored = eigenvalue_modification(H, 1e-2, mirror=True)
    np.testing.assert_allclose(np.linalg.eigvalsh(mirrored), [0.07, 0.07, 2.0, 3.0, 7.0],
                               rtol=1e-12)
    L, tau = cholesky_with_added_identity(H)
    np.testing.assert_allclose(L @ L.T, H + tau * np.eye(5), rtol=1e-12, atol=1e-12)
    assert 3.0 < tau <= 2 * (3.0 + 1e-3) + 1e-3 + max(0, -np.diag(H).min())
    spd = (Q * np.array([1.0, 2, 3, 4, 5])) @ Q.T
    assert cholesky_with_added_identity(spd)[1] == 0.0
    np.testing.assert_allclose(eigenvalue_modification(spd), spd, rtol=0, atol=1e-13)


# ------------------------------------------------------------------ minimize's contract

def test_result_fields_counts_and_path():
    obj = Beale()
    calls = {"f": 0, "g": 0}

    def f(x):
        calls["f"] += 1
        return obj.value(x)

    def g(x):
        calls["g"] += 1
        return obj.grad(x)

    x0 = obj.x0.copy()
    seen = []
    r = minimize(f, x0, g, method="lbfgs", callback=seen.append)
    assert isinstance(r, so.OptimizeResult) and isinstance(r, OptimizeResult)
    assert (r.nfev, r.njev) == (calls["f"], calls["g"])
    assert r.path.shape == (r.nit + 1, 2) and np.all(r.path[0] == obj.x0)
    assert np.all(r.path[-1] == r.x) and np.all(x0 == obj.x0)
    np.testing.assert_array_equal(np.array(seen), r.path[1:])
    assert r.fun_path.shape == (r.nit + 1,) and r.fun_path[-1] == r.fun
    assert np.all(np.diff(r.fun_path) < 0)  # Armijo: every step decreases f
    assert r.message.startswith("converged: max|g_i| <= gtol (lbfgs)")
    for key in ("x", "fun", "jac", "nit", "nfev", "njev", "success", "status", "message"):
        assert key in r


def test_never_fails_silently():
    s = Saddle()
    obj = Rosenbrock(2)
    # maxiter
    r = minimize(obj.value, obj.x0, obj.grad, method="bfgs", maxiter=5)
    assert not r.success and r.status == 1 and "maxiter = 5" in r.message and r.nit == 5
    # non-finite value at x0, and a non-finite gradient after an unchecked step
    r = minimize(lambda x: np.nan, [1.0], lambda x: np.ones(1))
    assert not r.success and r.status == 3 and "not finite" in r.message
    r = minimize(lambda x: float(x @ x), [1.0],
                 lambda x: 2 * x if x[0] > 0.5 else np.full(1, np.nan),
                 method="gd", line_search=None)
    assert not r.success and r.status == 3 and "gradient not finite" in r.message
    # f unbounded below: the Wolfe search cannot bracket, even along -g after the reset
    r = minimize(lambda x: -float(x.sum()), [0.0, 0.0], lambda x: -np.ones(2), method="lbfgs")
    assert not r.success and r.status == 2 and "step_max" in r.message
    # singular Newton system
    r = minimize(obj.value, obj.x0, obj.grad, lambda x: np.zeros((2, 2)), method="newton",
                 modification="none")
    assert not r.success and r.status == 5 and "could not be solved" in r.message
    # callback
    r = minimize(obj.value, obj.x0, obj.grad, callback=lambda x: True)
    assert not r.success and r.status == 4 and r.nit == 1
    # a successful run on a saddle is still reported: success means only max|g_i| <= gtol
    r = minimize(s.value, [1.0, 0.0], s.grad, method="bfgs")
    assert r.success and np.allclose(r.x, 0, atol=1e-5)


# ------------------------------------------------------------------ direction strategies

STRATEGIES = {
    "gd": lambda n: SteepestDescentDirection(),
    "newton": lambda n: NewtonDirection(Rosenbrock(2).hess, n),
    "cg": lambda n: CGDirection(restart=n),
    "bfgs": lambda n: BFGSDirection(n),
    "lbfgs": lambda n: LBFGSDirection(m=10),
}


@pytest.mark.parametrize("method", list(STRATEGIES))
def test_each_method_is_a_direction_strategy_driven_by_the_one_loop(method):
    """minimize(method="bfgs") and minimize(method=BFGSDirection(n)) are the same run: the
    string picks the strategy object and the method's default line-search options (a strategy
    object gets strong Wolfe with c2 = 0.9, so Newton's and CG's defaults are passed here)."""
    obj = Rosenbrock(2)
    strategy = STRATEGIES[method](2)
    assert isinstance(strategy, DirectionStrategy) and strategy.name == method
    defaults = {"newton": {"line_search": "armijo"}, "cg": {"c2": 0.1}}.get(method, {})
    by_name = _run(obj, method)
    by_object = minimize(obj.value, obj.x0, obj.grad, method=strategy, gtol=GTOL,
                         maxiter=GD_MAXITER if method == "gd" else None, **defaults)
    np.testing.assert_array_equal(by_object.path, by_name.path)
    assert by_object.method == method and by_object.message == by_name.message
    assert {k: by_object[k] for k in by_object if k not in ("path", "fun_path", "x", "jac",
                                                            "hess_inv")} == {
        k: by_name[k] for k in by_name if k not in ("path", "fun_path", "x", "jac",
                                                    "hess_inv")}


class DiagonalScaling:
    """A strategy written outside course_lib: p = -D^{-1} g with D the Hessian's diagonal at
    x0 (Jacobi preconditioning), fixed."""

    name = "jacobi"

    def __init__(self, d):
        self.d = d

    def direction(self, x, f, g):
        return -g / self.d

    def step0(self, g, p):
        return 1.0

    def update(self, step, p, g_old, g_new):
        pass

    def reset(self):
        return False

    def extras(self):
        return {"diagonal": self.d}


def test_minimize_runs_any_direction_strategy():
    q = Quadratic.from_spectrum([1.0, 100.0])          # axis-aligned: Jacobi is exact
    strategy = DiagonalScaling(np.diag(q.A).copy())
    assert isinstance(strategy, DirectionStrategy)
    r = minimize(q.value, [1.0, 1.0], q.grad, method=strategy)
    assert r.success and r.nit == 1 and r.method == "jacobi"
    np.testing.assert_allclose(r.x, q.minimizers[0], atol=1e-14)
    assert r.message.startswith("converged: max|g_i| <= gtol (jacobi)")
    np.testing.assert_array_equal(r.diagonal, strategy.d)
    with pytest.raises(ValueError, match=r"^Unknown option for method 'jacobi': 'm'$"):
        minimize(q.value, [1.0, 1.0], q.grad, method=strategy, m=3)
    assert not isinstance(object(), DirectionStrategy)


def test_newton_direction_errors_are_direction_errors():
    strategy = NewtonDirection(lambda x: np.ones((3, 3)), 2)
    with pytest.raises(DirectionError, match=r"hess returned shape \(3, 3\)"):
        strategy.direction(np.zeros(2), 0.0, np.ones(2))
    with pytest.raises(ValueError, match=r"^Invalid modification: 'x'"):
        NewtonDirection(np.eye, 2, modification="x")
    with pytest.raises(ValueError, match=r"^Invalid beta: 'hs'"):
        CGDirection(beta="hs")


def test_eigenvalue_modification_reports_whether_it_changed_anything():
    H = np.diag([2.0, -1.0])
    Hm, changed = eigenvalue_modification(H, 1e-3, full_output=True)
    assert changed and np.allclose(Hm, np.diag([2.0, 2e-3]), rtol=1e-12)
    Hm, changed = eigenvalue_modification(np.diag([2.0, 1.0]), full_output=True)
    assert not changed and np.array_equal(Hm, np.diag([2.0, 1.0]))
    s = Saddle(c=1.0)  # f = (x^2 - y^2)/2 + y^4/4: negative curvature along y for |y| < 0.58
    r = minimize(s.value, [1.0, 0.5], s.grad, s.hess, method="newton", modification="abs")
    assert r.success and r.nmodified >= 1 and np.allclose(np.abs(r.x), [0, 1], atol=1e-6)


# ------------------------------------------------------------------ coordinate descent

def test_coordinate_descent_stalls_on_kinked_valley():
    """ERRATA 32: from (1, 1) exact coordinate minimization cannot move, f stays 4, while
    min f = 0 at the origin (and f decreases along -(1, 1))."""
    r = coordinate_descent(kinked_valley, [1.0, 1.0], kinked_valley_argmin, max_sweeps=50)
    assert r.success and np.all(r.x == 1.0) and r.fun == 4.0 and np.all(r.fun_path == 4.0)
    assert kinked_valley(np.zeros(2)) == 0.0 and kinked_valley([0.9, 0.9]) < 4.0
    # the coordinate minimizer is exact: no grid point along either coordinate is lower
    t = np.linspace(-5, 5, 100001)
    for c in (-3.0, -1.0, 0.2, 1.0, 2.5):
        for i in (0, 1):
            x = np.array([c, c])
            pts = np.tile(x, (t.size, 1))
            pts[:, i] = t
            x[i] = kinked_valley_argmin(np.array([c, c]), i)
            assert kinked_valley(x) <= kinked_valley(pts).min() + 1e-12
    # from elsewhere it also gets stuck on the diagonal, at f = 4 c^2 > 0
    r = coordinate_descent(kinked_valley, [3.0, -1.0], kinked_valley_argmin, max_sweeps=50)
    assert r.success and r.x[0] == r.x[1] and r.fun > 0.1


def test_lasso_coordinate_descent_matches_sklearn_and_kkt(rng):
    X = rng.standard_normal((60, 15))
    w_true = np.zeros(15)
    w_true[:4] = [3.0, -2.0, 1.5, 1.0]
    y = X @ w_true + 0.1 * rng.standard_normal(60)
    alpha = 0.1
    r = lasso_coordinate_descent(X, y, alpha, tol=1e-12)
    sk = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(r.x, sk.coef_, rtol=0, atol=1e-9)
    # KKT: X_j^T (y - Xw)/N = alpha sign(w_j) where w_j != 0, and |.| <= alpha where w_j = 0
    c = X.T @ (y - X @ r.x) / len(y)
    nz = r.x != 0
    np.testing.assert_allclose(c[nz], alpha * np.sign(r.x[nz]), rtol=0, atol=1e-9)
    assert np.all(np.abs(c[~nz]) <= alpha + 1e-9) and (~nz).any()
    assert np.all(np.diff(r.fun_path) <= 1e-15)
    assert r.fun == pytest.approx(lasso_objective(X, y, r.x, alpha), rel=1e-14)
    # the generic driver with the exact coordinate minimizer follows the same path
    g = coordinate_descent(lambda w: lasso_objective(X, y, w, alpha), np.zeros(15),
                           lasso_argmin(X, y, alpha), max_sweeps=r.nit)
    np.testing.assert_allclose(g.x, r.x, rtol=0, atol=1e-12)


def test_soft_threshold():
    np.testing.assert_array_equal(soft_threshold([-3.0, -0.5, 0.0, 0.5, 3.0], 1.0),
                                  [-2.0, 0.0, 0.0, 0.0, 2.0])


# ------------------------------------------------------------------ ERRATA 36

def test_condition_number_is_not_an_eigenvalue_ratio_for_nonnormal_matrices():
    """[[1, 100], [0, 1]]: both eigenvalues are 1 (ratio 1), but kappa = sigma_max/sigma_min =
    (50 + sqrt(2501))^2 = 1.0002e4 (singular values of [[1, a], [0, 1]]: a/2 +- sqrt(1+a^2/4))."""
    A = np.array([[1.0, 100.0], [0.0, 1.0]])
    lam = np.linalg.eigvals(A)
    assert np.max(np.abs(lam)) / np.min(np.abs(lam)) == 1.0
    assert np.linalg.cond(A) == pytest.approx((50 + np.sqrt(2501)) ** 2, rel=1e-10)
    assert np.linalg.cond(A) == pytest.approx(1.0002e4, rel=1e-4)


# ------------------------------------------------------------------ errors

OBJ = Rosenbrock(2)
X0, G0 = OBJ.x0, OBJ.grad(OBJ.x0)


def _min(**kw):
    args = dict(fun=OBJ.value, x0=X0, jac=OBJ.grad)
    args.update(kw)
    return minimize(**args)


def _newton(**kw):
    return _min(method="newton", hess=OBJ.hess, **kw)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: _min(method="foo"), r"^Unknown method: 'foo'$"),
        (lambda: _min(x0=np.zeros((2, 2))), r"^x0 must be 1-D, got shape \(2, 2\)$"),
        (lambda: _min(x0=[]), r"^x0 must not be empty$"),
        (lambda: _min(x0=[np.nan, 1.0]),
         r"^x0 must be finite, got non-finite entries at indices \[0\]$"),
        (lambda: _min(gtol=0), r"^Invalid gtol: 0$"),
        (lambda: _min(gtol=-1e-3), r"^Invalid gtol: -0\.001$"),
        (lambda: _min(maxiter=-1), r"^Invalid maxiter: -1$"),
        (lambda: _min(method="lbfgs", m=0), r"^Invalid m: 0$"),
        (lambda: _min(method="bfgs", m=5), r"^Unknown option for method 'bfgs': 'm'$"),
        (lambda: _min(method="lbfgs", foo=1), r"^Unknown option for method 'lbfgs': 'foo'$"),
        (lambda: _min(method="cg", beta="hs"),
         r"^Invalid beta: 'hs'; expected one of 'fr', 'pr', 'pr\+'$"),
        (lambda: _min(method="cg", restart=0), r"^Invalid restart: 0$"),
        (lambda: _min(c1=0.5, c2=0.1),
         r"^Invalid c1, c2: need 0 < c1 < c2 < 1, got c1=0\.5, c2=0\.1$"),
        (lambda: _min(line_search="exact"),
         r"^Invalid line_search: 'exact'; expected 'wolfe', 'armijo', None or a callable$"),
        (lambda: _min(line_search="armijo", rho=1.0), r"^Invalid rho: 1\.0; need 0 < rho < 1$"),
        (lambda: _min(maxls=0), r"^Invalid maxls: 0$"),
        (lambda: _min(method="newton"),
         r"^method 'newton' needs hess, a callable returning the Hessian$"),
        (lambda: _newton(damping=-1.0), r"^Invalid damping: -1\.0$"),
        (lambda: _newton(modification="x"),
         r"^Invalid modification: 'x'; expected one of 'cholesky', 'eig', 'abs', 'none'$"),
        (lambda: _min(jac=None), r"^jac must be callable \(the gradient\), got None$"),
        (lambda: _min(callback=3), r"^callback must be callable, got 3$"),
        (lambda: _min(jac=lambda x: np.zeros(3)),
         r"^jac must return an array of shape \(2,\), got \(3,\)$"),
        (lambda: newton_step(np.ones(2), np.eye(2), damping=-1), r"^Invalid damping: -1$"),
        (lambda: bfgs_inverse_update(np.eye(2), np.array([1.0, 0]), np.array([-1.0, 0])),
         r"^BFGS update needs y\^T s > 0, got -1\.0$"),
        (lambda: strong_wolfe_line_search(OBJ.value, OBJ.grad, X0, -G0, c1=0.9, c2=0.5),
         r"^Invalid c1, c2: need 0 < c1 < c2 < 1, got c1=0\.9, c2=0\.5$"),
        (lambda: strong_wolfe_line_search(OBJ.value, OBJ.grad, X0, -G0, step0=0),
         r"^Invalid step0: 0$"),
        (lambda: backtracking_line_search(OBJ.value, X0, -G0, g0=G0, rho=0),
         r"^Invalid rho: 0; need 0 < rho < 1$"),
        (lambda: backtracking_line_search(OBJ.value, X0, -G0),
         r"^backtracking_line_search needs g0, the gradient at x$"),
        (lambda: exact_step_quadratic(-np.eye(2), np.ones(2), np.ones(2)),
         r"^exact_step_quadratic needs p\^T A p > 0, got -2\.0$"),
        (lambda: linear_cg(np.eye(2), np.ones((2, 1))), r"^b must be 1-D, got shape \(2, 1\)$"),
        (lambda: eigenvalue_modification(np.eye(2), delta=0), r"^Invalid delta: 0$"),
        (lambda: coordinate_descent(kinked_valley, np.ones((1, 2)), kinked_valley_argmin),
         r"^x0 must be 1-D, got shape \(1, 2\)$"),
        (lambda: lasso_coordinate_descent(np.ones((3, 2)), np.ones(3), -1.0),
         r"^Invalid alpha: -1\.0$"),
        (lambda: soft_threshold(1.0, -1.0), r"^Invalid threshold: -1\.0$"),
    ],
)
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()
