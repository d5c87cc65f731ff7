r"""Newton's method: minimize the local quadratic (Taylor) model.

At :math:`x_k` with gradient :math:`g` and Hessian :math:`H`,

.. math:: m_k(p) = f(x_k) + g^\top p + \tfrac12 p^\top H p, \qquad
          \nabla m_k(p) = 0 \iff H p = -g .

* If :math:`H \succ 0` the Newton step :math:`p = -H^{-1}g` minimizes the model and is a
  descent direction; on a quadratic with SPD Hessian one step lands on the minimizer.
* If :math:`H` is indefinite the model has no minimizer; :math:`p = -H^{-1}g` solves
  :math:`\nabla m = 0`, i.e. goes to the model's *stationary point*. On
  :math:`f = \tfrac12(x^2-y^2)` one Newton step from anywhere lands exactly on the saddle
  :math:`(0,0)` -- Newton is *attracted* by saddles (ERRATA 28).
* The remedies make the matrix positive definite before solving:
  :func:`eigenvalue_modification` (raise or mirror small/negative eigenvalues, N&W §3.4; the
  mirrored one is the "saddle-free Newton" of Dauphin et al. 2014),
  :func:`cholesky_with_added_identity` (:math:`H + \tau I` with the smallest
  :math:`\tau` found by doubling, N&W Algorithm 3.3), and *damping*
  :math:`(H + \alpha I)p = -g` (:func:`newton_step` with ``damping``), which interpolates
  between Newton (:math:`\alpha \to 0`) and a short gradient step :math:`-g/\alpha`
  (:math:`\alpha\to\infty`, relative deviation at most :math:`\lambda_{\max}/\alpha` for
  :math:`H \succeq 0`).

:class:`NewtonDirection` is the method ``minimize(..., method="newton")`` as a
:class:`~course_lib.second_order.directions.DirectionStrategy`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import cho_solve

from .directions import DirectionError

__all__ = ["newton_step", "eigenvalue_modification", "cholesky_with_added_identity",
           "NewtonDirection", "MODIFICATIONS"]

#: The ``modification`` options of :class:`NewtonDirection`.
MODIFICATIONS = ("cholesky", "eig", "abs", "none")


def newton_step(g: ArrayLike, H: ArrayLike, damping: float = 0.0) -> np.ndarray:
    r"""The (damped) Newton step :math:`p = -(H + \alpha I)^{-1} g`, shape (n,).

    ``g`` : gradient, shape (n,); ``H`` : Hessian (or its modification), shape (n, n);
    ``damping`` : :math:`\alpha \ge 0`. Solved with :func:`numpy.linalg.solve` (raises
    :class:`numpy.linalg.LinAlgError` when :math:`H+\alpha I` is singular). Whether the step is
    a descent direction is *not* checked: with an indefinite matrix it need not be.
    """
    g, H = np.asarray(g, dtype=float), np.asarray(H, dtype=float)
    if not damping >= 0:
        raise ValueError(f"Invalid damping: {damping!r}")
    if H.shape != (g.size, g.size):
        raise ValueError(f"H must have shape ({g.size}, {g.size}), got {H.shape}")
    if damping:
        H = H + damping * np.eye(g.size)
    return -np.linalg.solve(H, g)


def eigenvalue_modification(H: ArrayLike, delta: float = 1e-8, *, mirror: bool = False,
                            full_output: bool = False) -> np.ndarray | tuple[np.ndarray, bool]:
    r"""Symmetric positive definite modification of ``H`` by its eigendecomposition.

    With :math:`H = Q\Lambda Q^\top` and :math:`\delta' = \delta\max(1, \max_i|\lambda_i|)`
    returns :math:`Q\tilde\Lambda Q^\top` with

    * ``mirror=False`` (N&W eq. 3.41): :math:`\tilde\lambda_i = \max(\lambda_i, \delta')` --
      negative curvature is replaced by a tiny positive one, so the step along it is huge and
      the line search decides;
    * ``mirror=True`` ("saddle-free", Dauphin et al. 2014):
      :math:`\tilde\lambda_i = \max(|\lambda_i|, \delta')` -- the step goes *down* negative
      curvature directions with length :math:`|g_i/\lambda_i|`.

    Eigenvalues already :math:`\ge \delta'` are unchanged, so an SPD ``H`` with
    :math:`\lambda_{\min} \ge \delta'` is returned as it is (up to rounding). With
    ``full_output=True`` returns ``(matrix, changed)``, ``changed`` True when an eigenvalue
    was raised or mirrored.
    """
    H = np.asarray(H, dtype=float)
    if not delta > 0:
        raise ValueError(f"Invalid delta: {delta!r}")
    lam, Q = np.linalg.eigh((H + H.T) / 2)
    floor = delta * max(1.0, float(np.max(np.abs(lam))))
    new = np.maximum(np.abs(lam) if mirror else lam, floor)
    modified = (Q * new) @ Q.T
    return (modified, bool(np.any(new != lam))) if full_output else modified


def cholesky_with_added_identity(H: ArrayLike, beta: float = 1e-3,
                                 max_tries: int = 100) -> tuple[np.ndarray, float]:
    r"""Cholesky factor of :math:`H + \tau I` for a :math:`\tau \ge 0` that makes it SPD
    (Nocedal & Wright, Algorithm 3.3).

    :math:`\tau_0 = 0` if :math:`\min_i H_{ii} > 0`, else :math:`\beta - \min_i H_{ii}`; then
    try a Cholesky factorization of :math:`H+\tau_k I` and on failure set
    :math:`\tau_{k+1} = \max(2\tau_k, \beta)`.

    Returns ``(L, tau)`` with ``L`` lower triangular, :math:`LL^\top = H + \tau I`.
    """
    H = np.asarray(H, dtype=float)
    if not beta > 0:
        raise ValueError(f"Invalid beta: {beta!r}")
    n = H.shape[0]
    dmin = float(np.min(np.diag(H)))
    tau = 0.0 if dmin > 0 else beta - dmin
    eye = np.eye(n)
    for _ in range(max_tries):
        try:
            return np.linalg.cholesky(H + tau * eye), tau
        except np.linalg.LinAlgError:
            tau = max(2.0 * tau, beta)
    raise np.linalg.LinAlgError(f"no SPD shift found in {max_tries} tries (last tau={tau:.3e})")


class NewtonDirection:
    r"""Newton's method (``method="newton"``): :math:`p_k = -\tilde H_k^{-1} g_k`.

    :math:`\tilde H_k` is the Hessian ``hess(x)``, plus ``damping`` :math:`\cdot I`, made
    positive definite by ``modification``: ``"cholesky"`` (:func:`cholesky_with_added_identity`),
    ``"eig"`` / ``"abs"`` (:func:`eigenvalue_modification`, raised or mirrored eigenvalues with
    relative floor ``delta``) or ``"none"`` (plain Newton). Counts the Hessian evaluations
    (``nhev``) and the iterations whose matrix was modified (``nmodified``). The first trial
    step is always 1 (the Newton step). A Hessian of the wrong shape, not finite, or a system
    that cannot be solved raises :class:`~.directions.DirectionError`.
    """

    name = "newton"

    def __init__(self, hess: Callable, n: int, *, modification: str = "cholesky",
                 damping: float = 0.0, delta: float = 1e-8):
        if modification not in MODIFICATIONS:
            raise ValueError(f"Invalid modification: {modification!r}; expected one of "
                             + ", ".join(map(repr, MODIFICATIONS)))
        self.n, self.hess = n, hess
        self.modification, self.damping, self.delta = modification, damping, delta
        self.nhev = 0
        self.nmodified = 0

    def direction(self, x: np.ndarray, f: float, g: np.ndarray) -> np.ndarray:
        H = np.asarray(self.hess(x), dtype=float)
        self.nhev += 1
        if H.shape != (self.n, self.n):
            raise DirectionError(f"hess returned shape {H.shape}, expected "
                                 f"({self.n}, {self.n})")
        if not np.all(np.isfinite(H)):
            raise DirectionError("Hessian is not finite")
        if self.damping:
            H = H + self.damping * np.eye(self.n)
        try:
            if self.modification == "cholesky":
                L, tau = cholesky_with_added_identity(H)
                self.nmodified += tau > 0
                return -cho_solve((L, True), g)
            if self.modification in ("eig", "abs"):
                Hm, changed = eigenvalue_modification(H, self.delta,
                                                      mirror=self.modification == "abs",
                                                      full_output=True)
                self.nmodified += changed
                return -np.linalg.solve(Hm, g)
            return -np.linalg.solve(H, g)
        except np.linalg.LinAlgError as err:
            raise DirectionError(f"Newton system could not be solved ({err})") from None

    def step0(self, g: np.ndarray, p: np.ndarray) -> float:
        return 1.0

    def update(self, step: float, p: np.ndarray, g_old: np.ndarray,
               g_new: np.ndarray) -> None:
        pass

    def reset(self) -> bool:
        return False

    def extras(self) -> dict:
        return {"nhev": self.nhev, "nmodified": self.nmodified}
