r"""Quasi-Newton methods: BFGS's inverse-Hessian update and L-BFGS's two-loop recursion.

After a step :math:`s_k = x_{k+1}-x_k` with gradient change :math:`y_k = g_{k+1}-g_k`, BFGS
(N&W §6.1) updates the inverse-Hessian approximation :math:`H_k` to the matrix closest to it
(in a weighted Frobenius norm) among the symmetric ones that satisfy the *secant equation*
:math:`H_{k+1} y_k = s_k`:

.. math:: H_{k+1} = (I-\rho_k s_k y_k^\top)\,H_k\,(I-\rho_k y_k s_k^\top)
          + \rho_k s_k s_k^\top, \qquad \rho_k = \frac{1}{y_k^\top s_k},

and the search direction is :math:`p_k = -H_k g_k` (ERRATA 29). :math:`H_{k+1}` is positive
definite whenever :math:`H_k` is and :math:`y_k^\top s_k > 0`, which the Wolfe conditions
guarantee; when :math:`y_k^\top s_k \le 0` the update must be skipped.

L-BFGS (N&W §7.2) never forms :math:`H_k`: it keeps the last :math:`m` pairs
:math:`(s_i, y_i)` and computes :math:`H_k g` by applying those :math:`m` updates to
:math:`H_k^0 = \gamma_k I`, :math:`\gamma_k = s_{k-1}^\top y_{k-1}/y_{k-1}^\top y_{k-1}`
(eq. 7.20), with the *two-loop recursion* (Algorithm 7.4) in :math:`O(mn)` operations.
With all pairs since the start (and the same :math:`H^0`) it equals BFGS; with only the last
pair (:math:`m=1`) it is *memoryless* BFGS, a different and weaker method (ERRATA 30).
"""

from __future__ import annotations

import numpy as np

__all__ = ["bfgs_inverse_update", "two_loop_recursion", "initial_scaling"]


def initial_scaling(s, y) -> float:
    r""":math:`\gamma = s^\top y / y^\top y`, the scale of :math:`H^0 = \gamma I` (N&W eq. 6.20
    and 7.20): the inverse of a Rayleigh quotient of the average Hessian along :math:`s`."""
    return float(np.dot(s, y) / np.dot(y, y))


def bfgs_inverse_update(H, s, y) -> np.ndarray:
    r"""One BFGS update of the inverse-Hessian approximation (N&W eq. 6.17):

    .. math:: H_+ = (I-\rho s y^\top) H (I-\rho y s^\top) + \rho s s^\top,
              \qquad \rho = 1/y^\top s,

    computed as :math:`H - \rho(H y s^\top + s y^\top H) + (\rho^2 y^\top H y + \rho)s s^\top`
    in :math:`O(n^2)` (``H`` symmetric). Returns a new array of shape (n, n); ``H`` is not
    modified. Raises ``ValueError`` unless :math:`y^\top s > 0` (the update would destroy
    positive definiteness).
    """
    H = np.asarray(H, dtype=float)
    s, y = np.asarray(s, dtype=float), np.asarray(y, dtype=float)
    ys = float(y @ s)
    if not ys > 0:
        raise ValueError(f"BFGS update needs y^T s > 0, got {ys!r}")
    rho = 1.0 / ys
    Hy = H @ y
    return (H - rho * (np.outer(Hy, s) + np.outer(s, Hy))
            + (rho * rho * float(y @ Hy) + rho) * np.outer(s, s))


def two_loop_recursion(g, s_list, y_list, gamma: float | None = None, *,
                       inner=None) -> np.ndarray:
    r"""L-BFGS two-loop recursion (N&W Algorithm 7.4): returns :math:`r = H_k g`, shape (n,).

    :math:`H_k` is :math:`H^0 = \gamma I` updated by BFGS with the pairs in order, oldest
    first (the book writes :math:`D_k` for it). The search direction is :math:`-r`.

    .. code-block:: text

        q = g
        for i = k-1, ..., k-m:   alpha_i = rho_i s_i^T q;   q = q - alpha_i y_i
        r = gamma q
        for i = k-m, ..., k-1:   beta_i = rho_i y_i^T r;    r = r + s_i (alpha_i - beta_i)

    This is the one implementation of the recursion in ``course_lib`` (L-BFGS's
    :class:`LBFGSMemory` calls it). The inner products it needs are expressed through the
    table :math:`(s_i^\top y_j)_{ij}`: with :math:`q` before the update of step :math:`i`,
    :math:`s_i^\top q = s_i^\top g - \sum_{j>i}\alpha_j\,s_i^\top y_j`, and with :math:`r`
    before the update of step :math:`i`,
    :math:`y_i^\top r = \gamma\,y_i^\top q_{\text{final}} + \sum_{j<i}(\alpha_j-\beta_j)\,
    s_j^\top y_i`. So the whole recursion costs four matrix-vector products
    (:math:`Sg`, :math:`Y^\top\alpha`, :math:`Yq`, :math:`S^\top(\alpha-\beta)`) plus
    :math:`O(m^2)` scalar work, the same :math:`O(mn)` as the vector loops.

    Parameters
    ----------
    g : array (n,).
    s_list, y_list : sequences of arrays (n,) (or arrays (m, n)), oldest first, with
        :math:`y_i^\top s_i > 0`.
    gamma : scale of :math:`H^0`; default :func:`initial_scaling` of the newest pair
        (1 when there are no pairs).
    inner : optional ``(SY, rho)`` precomputed by the caller: ``SY[i][j]`` :math:`=
        s_i^\top y_j` (an (m, m) array or nested lists) and ``rho[i]`` :math:`= 1/y_i^\top
        s_i`. When omitted they are computed here (:math:`O(m^2 n)`); L-BFGS keeps them
        up to date with :math:`O(mn)` work per new pair.
    """
    g = np.asarray(g, dtype=float)
    m = len(s_list)
    if m != len(y_list):
        raise ValueError(f"s_list and y_list differ in length: {m} vs {len(y_list)}")
    if m == 0:
        return (1.0 if gamma is None else gamma) * g.copy()
    S = np.asarray(s_list, dtype=float).reshape(m, -1)
    Y = np.asarray(y_list, dtype=float).reshape(m, -1)
    if inner is None:
        SY = (S @ Y.T).tolist()
        rho = [1.0 / SY[i][i] for i in range(m)]
    else:
        SY, rho = inner
    if gamma is None:
        gamma = SY[m - 1][m - 1] / float(Y[m - 1] @ Y[m - 1])
    # first loop, newest to oldest: alpha_i = rho_i s_i^T q
    sg = (S @ g).tolist()
    alpha = [0.0] * m
    for i in range(m - 1, -1, -1):
        row, acc = SY[i], sg[i]
        for j in range(i + 1, m):
            acc -= alpha[j] * row[j]
        alpha[i] = rho[i] * acc
    q = g - np.dot(alpha, Y)
    # second loop, oldest to newest: beta_i = rho_i y_i^T r, coef_i = alpha_i - beta_i
    qy = (Y @ q).tolist()
    coef = [0.0] * m
    for i in range(m):
        acc = gamma * qy[i]
        for j in range(i):
            acc += coef[j] * SY[j][i]
        coef[i] = alpha[i] - rho[i] * acc
    return gamma * q + np.dot(coef, S)


class LBFGSMemory:
    r"""The last ``m`` curvature pairs of L-BFGS, oldest first (the memory of
    ``minimize(..., method="lbfgs")``).

    :meth:`apply` computes :math:`H_k g` with :func:`two_loop_recursion`, passing the table
    :math:`s_i^\top y_j` (kept up to date with two matrix-vector products per new pair) and
    the :math:`\rho_i`, so that no inner product among the pairs is recomputed.
    """

    def __init__(self, m: int):
        self.m = m
        self.k = 0
        self.S = self.Y = None
        self.rho: list = []
        self.gamma = 1.0

    def __len__(self):
        return self.k

    def push(self, s, y):
        r"""Append the pair :math:`(s, y)` (:math:`y^\top s > 0`), dropping the oldest if full."""
        if self.S is None:
            self.S, self.Y = np.zeros((self.m, s.size)), np.zeros((self.m, s.size))
            self._sy = []
        S, Y, sy = self.S, self.Y, self._sy
        if self.k == self.m:
            S[:-1], Y[:-1] = S[1:], Y[1:]
            sy = self._sy = [row[1:] for row in sy[1:]]
            self.rho.pop(0)
            self.k -= 1
        k = self.k
        S[k], Y[k] = s, y
        col = (S[:k] @ y).tolist()  # s_i^T y_new
        for i in range(k):
            sy[i].append(col[i])
        sy.append((Y[: k + 1] @ s).tolist())  # s_new^T y_j, the last one s^T y
        ys = sy[k][k]
        self.rho.append(1.0 / ys)
        self.gamma = ys / float(y @ y)
        self.k = k + 1

    def clear(self):
        """Forget all pairs (:math:`H^0 = I` again)."""
        self.k = 0
        self.rho = []
        self._sy = []
        self.gamma = 1.0

    @property
    def pairs(self):
        """The stored ``(s_list, y_list)``, oldest first (copies)."""
        if self.k == 0:
            return [], []
        return list(self.S[: self.k].copy()), list(self.Y[: self.k].copy())

    def apply(self, g) -> np.ndarray:
        r""":math:`H_k g` by :func:`two_loop_recursion` with the stored pairs and inner
        products (:math:`H^0 = \gamma I`, :math:`\gamma` of the newest pair)."""
        k = self.k
        if k == 0:
            return np.array(g, dtype=float, copy=True)
        return two_loop_recursion(g, self.S[:k], self.Y[:k], self.gamma,
                                  inner=(self._sy, self.rho))
