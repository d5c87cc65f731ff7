r"""Curvature matrices for learning: Gauss--Newton, Hessian-free steps, K-FAC.

* **Gauss--Newton / Levenberg--Marquardt** (N&W §10.3). For
  :math:`f(x) = \tfrac12\lVert r(x)\rVert^2` with residuals :math:`r:\R^n\to\R^N` and Jacobian
  :math:`J`, :math:`\nabla f = J^\top r` and
  :math:`\nabla^2 f = J^\top J + \sum_i r_i\nabla^2 r_i`. Gauss--Newton drops the second term:
  the step solves :math:`(J^\top J + \delta I)\,p = -J^\top r` (:math:`\delta = 0`: Gauss--Newton;
  :math:`\delta > 0`: Levenberg--Marquardt damping). See :func:`gauss_newton_step`,
  :func:`gauss_newton`.
* **Hessian-free** (Martens 2010): solve the damped Newton (or Gauss--Newton) system
  :math:`(C + \delta I)p = -g` by linear CG with products :math:`Cv` only -- never forming
  :math:`C` (:func:`hessian_free_step`).
* **K-FAC** (Martens & Grosse 2015) for a linear layer :math:`z = W a`, :math:`W` of shape
  (out, in). The per-example gradient is :math:`\nabla_W\ell = \delta a^\top` with
  :math:`\delta = \partial\ell/\partial z`; flattening :math:`W` row by row (as
  ``W.reshape(-1)`` does), :math:`\operatorname{vec}(\delta a^\top) = \delta\otimes a`, so the
  Fisher matrix of the layer is :math:`F = \E[(\delta\delta^\top)\otimes(aa^\top)]`. K-FAC
  replaces it by :math:`G\otimes A` with :math:`G = \E[\delta\delta^\top]`,
  :math:`A = \E[aa^\top]` (exact when :math:`a` and :math:`\delta` are independent), whose
  inverse applied to a gradient :math:`V` is :math:`G^{-1}VA^{-1}`: two small inverses
  instead of one of size :math:`(\text{out}\cdot\text{in})^2`. For softmax outputs with labels
  drawn from the model, :math:`\E_y[\delta\delta^\top] = \operatorname{diag}(p) - pp^\top`,
  and the Fisher equals the Gauss--Newton matrix of the cross-entropy. See
  :func:`softmax_layer_fisher`, :func:`kfac_factors`, :func:`kfac_direction`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from .cg import linear_cg
from .result import OptimizeResult

__all__ = ["gauss_newton_step", "gauss_newton", "hessian_free_step",
           "softmax_layer_fisher", "kfac_factors", "kfac_direction"]


def _check_damping(damping):
    if isinstance(damping, bool) or not isinstance(damping, (int, float, np.floating)):
        raise TypeError(f"damping must be a number, got {type(damping).__name__}")
    if not damping >= 0:
        raise ValueError(f"Invalid damping: {damping!r} (expected a number >= 0)")


def gauss_newton_step(J: ArrayLike, r: ArrayLike, damping: float = 0.0) -> np.ndarray:
    r"""The (damped) Gauss--Newton step :math:`p = -(J^\top J + \delta I)^{-1}J^\top r`.

    ``J`` shape (N, n), ``r`` shape (N,); returns shape (n,). Computed by least squares on
    the stacked system :math:`\begin{pmatrix}J\\ \sqrt\delta I\end{pmatrix}p \approx
    -\begin{pmatrix}r\\ 0\end{pmatrix}`, which avoids squaring the condition number.
    """
    _check_damping(damping)
    J, r = np.asarray(J, dtype=float), np.asarray(r, dtype=float)
    if J.ndim != 2 or r.shape != (J.shape[0],):
        raise ValueError(f"Invalid shapes: J {J.shape}, r {r.shape} (expected (N, n), (N,))")
    n = J.shape[1]
    if damping > 0:
        J = np.vstack([J, np.sqrt(damping) * np.eye(n)])
        r = np.concatenate([r, np.zeros(n)])
    return -np.linalg.lstsq(J, r, rcond=None)[0]


def gauss_newton(residual: Callable, jacobian: Callable, x0: ArrayLike, *, damping: float = 0.0,
                 gtol: float = 1e-10, maxiter: int = 100) -> OptimizeResult:
    r"""Undamped (``damping=0``) or fixed-damping Gauss--Newton iteration with unit steps
    for :math:`\min\tfrac12\lVert r(x)\rVert^2`; stops when
    :math:`\max_i |(J^\top r)_i| \le` ``gtol``. Returns an :class:`OptimizeResult` with
    ``x``, ``fun`` (:math:`\tfrac12\lVert r\rVert^2`), ``jac`` (:math:`J^\top r`), ``nit``,
    ``success``, ``path``."""
    _check_damping(damping)
    x = np.array(x0, dtype=float, copy=True)
    path = [x.copy()]
    success = False
    for k in range(maxiter + 1):
        r, J = np.asarray(residual(x), dtype=float), np.asarray(jacobian(x), dtype=float)
        grad = J.T @ r
        if np.max(np.abs(grad)) <= gtol:
            success = True
            break
        if k == maxiter:
            break
        x = x + gauss_newton_step(J, r, damping)
        path.append(x.copy())
    return OptimizeResult(x=x, fun=0.5 * float(r @ r), jac=grad, nit=len(path) - 1,
                          success=success, path=np.array(path), method="gauss-newton")


def hessian_free_step(g: ArrayLike, curvature_product: Callable, damping: float = 0.0, *,
                      maxiter: int | None = None, rtol: float = 1e-10) -> OptimizeResult:
    r"""Solve :math:`(C + \delta I)\,p = -g` by linear CG using only ``curvature_product(v)``
    :math:`= Cv` (a Hessian- or Gauss--Newton-vector product), as in Hessian-free
    optimization. ``g`` shape (n,). Returns :func:`~course_lib.second_order.linear_cg`'s
    result: the step is ``.x``, ``.nit`` the number of products. :math:`C + \delta I` must be
    positive definite (CG stops with ``success=False`` on a direction of non-positive
    curvature)."""
    _check_damping(damping)
    g = np.asarray(g, dtype=float)
    return linear_cg(lambda v: np.asarray(curvature_product(v), dtype=float) + damping * v,
                     -g, np.zeros_like(g), rtol=rtol, maxiter=maxiter)


def softmax_layer_fisher(a: ArrayLike, probs: ArrayLike) -> np.ndarray:
    r"""Exact Fisher matrix of a linear softmax layer :math:`z = Wa`, averaged over the rows:

    .. math:: F = \frac1N\sum_i \bigl(\operatorname{diag}(p_i) - p_ip_i^\top\bigr)\otimes
              a_ia_i^\top ,

    shape :math:`(cd, cd)` for ``a`` of shape (N, d) and ``probs`` (N, c), parameters ordered
    as ``W.reshape(-1)`` (row-major, W of shape (c, d)). It equals the Hessian of the mean
    cross-entropy with respect to :math:`W` (whatever the labels)."""
    a, probs = np.asarray(a, dtype=float), np.asarray(probs, dtype=float)
    if a.ndim != 2 or probs.ndim != 2 or a.shape[0] != probs.shape[0]:
        raise ValueError(f"Invalid shapes: a {a.shape}, probs {probs.shape} "
                         "(expected (N, d) and (N, c))")
    N, d = a.shape
    c = probs.shape[1]
    cov = probs[:, :, None] * np.eye(c) - probs[:, :, None] * probs[:, None, :]  # (N, c, c)
    F = np.einsum("ncC,nd,nD->cdCD", cov, a, a, optimize=True) / N
    return F.reshape(c * d, c * d)


def kfac_factors(a: ArrayLike, delta_cov: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    r"""K-FAC's factors :math:`A = \frac1N\sum_i a_ia_i^\top` (shape (d, d)) and
    :math:`G = \frac1N\sum_i \Sigma_i` (shape (c, c)), where ``delta_cov`` holds per-example
    :math:`\Sigma_i = \E[\delta_i\delta_i^\top]`, shape (N, c, c) -- or sampled output
    gradients :math:`\delta_i`, shape (N, c), in which case :math:`\Sigma_i =
    \delta_i\delta_i^\top`. The Fisher is approximated by :math:`G\otimes A`."""
    a = np.asarray(a, dtype=float)
    delta_cov = np.asarray(delta_cov, dtype=float)
    N = a.shape[0]
    if delta_cov.ndim == 2:
        G = delta_cov.T @ delta_cov / N
    elif delta_cov.ndim == 3:
        G = delta_cov.mean(axis=0)
    else:
        raise ValueError(f"Invalid delta_cov shape: {delta_cov.shape} (expected (N, c) or "
                         "(N, c, c))")
    if delta_cov.shape[0] != N:
        raise ValueError(f"Invalid shapes: a {a.shape}, delta_cov {delta_cov.shape}")
    return a.T @ a / N, G


def kfac_direction(grad_W: ArrayLike, A: ArrayLike, G: ArrayLike,
                   damping: float = 0.0) -> np.ndarray:
    r""":math:`(G_\delta \otimes A_\delta)^{-1}\operatorname{vec}(V)` as the matrix
    :math:`G_\delta^{-1} V A_\delta^{-1}`, with :math:`V` = ``grad_W`` shape (c, d),
    :math:`A_\delta = A + \sqrt\delta I`, :math:`G_\delta = G + \sqrt\delta I` (K-FAC's
    factored Tikhonov damping with :math:`\pi = 1`). Returns shape (c, d); the natural-gradient
    step is minus this times the learning rate."""
    _check_damping(damping)
    V = np.asarray(grad_W, dtype=float)
    A_d: np.ndarray = np.asarray(A, dtype=float)
    A_d = A_d + np.sqrt(damping) * np.eye(len(A_d))
    G_d: np.ndarray = np.asarray(G, dtype=float)
    G_d = G_d + np.sqrt(damping) * np.eye(len(G_d))
    return np.linalg.solve(G_d, np.linalg.solve(A_d, V.T).T)
