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
"""

from __future__ import annotations

import numpy as np

__all__ = ["newton_step", "eigenvalue_modification", "cholesky_with_added_identity"]


def newton_step(g, H, damping: float = 0.0) -> np.ndarray:
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


def eigenvalue_modification(H, delta: float = 1e-8, *, mirror: bool = False) -> np.ndarray:
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
    :math:`\lambda_{\min} \ge \delta'` is returned as it is (up to rounding).
    """
    return _eigenvalue_modification(H, delta, mirror)[0]


def _eigenvalue_modification(H, delta, mirror):
    """:func:`eigenvalue_modification` and whether any eigenvalue was changed."""
    H = np.asarray(H, dtype=float)
    if not delta > 0:
        raise ValueError(f"Invalid delta: {delta!r}")
    lam, Q = np.linalg.eigh((H + H.T) / 2)
    floor = delta * max(1.0, float(np.max(np.abs(lam))))
    new = np.maximum(np.abs(lam) if mirror else lam, floor)
    return (Q * new) @ Q.T, bool(np.any(new != lam))


def cholesky_with_added_identity(H, beta: float = 1e-3, max_tries: int = 100):
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
