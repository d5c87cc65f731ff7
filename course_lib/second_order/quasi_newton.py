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

One definition of each piece, shared by ``minimize``'s BFGS and L-BFGS and by the torch twin
``course_lib.optim.LBFGS``: :func:`initial_scaling` (:math:`\gamma`), :func:`curvature_condition`
(when a pair is skipped) and :func:`two_loop_recursion`, which runs on NumPy arrays and, in
``torch.optim.LBFGS``'s order of operations, on torch tensors. :class:`BFGSDirection` and
:class:`LBFGSDirection` are the two methods as
:class:`~course_lib.second_order.directions.DirectionStrategy` objects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

import numpy as np
from numpy.typing import ArrayLike

from .directions import scaled_first_step

if TYPE_CHECKING:
    import torch

    Vector = np.ndarray | torch.Tensor
    #: two vectors of one kind (both arrays or both tensors)
    _V = TypeVar("_V", np.ndarray, torch.Tensor)

__all__ = ["bfgs_inverse_update", "two_loop_recursion", "initial_scaling",
           "curvature_condition", "CURVATURE_TOL", "LBFGSMemory", "BFGSDirection",
           "LBFGSDirection"]

#: :func:`curvature_condition`'s default ``tol`` (torch.optim.LBFGS's threshold on
#: :math:`y^\top s`, and minimize's relative one).
CURVATURE_TOL = 1e-10


def _vector(v: Any) -> Any:
    """A torch tensor as it is; anything else as a float64 NumPy array."""
    if isinstance(v, np.ndarray) and v.dtype == np.float64:
        return v
    return v if hasattr(v, "add_") else np.asarray(v, dtype=float)


def _add_(out: Any, x: Any, alpha: Any) -> None:
    """``out += alpha * x`` in place: torch's ``out.add_(x, alpha=alpha)`` on a tensor (one
    rounding, torch.optim.LBFGS's bits), two roundings on a NumPy array. (Not
    :func:`course_lib.arrays.add_`, whose generality costs microseconds per call on the
    short vectors of ``minimize``.)"""
    if isinstance(out, np.ndarray):
        out += alpha * x
    else:
        out.add_(x, alpha=alpha)


def initial_scaling(s: _V, y: _V, ys: Any = None) -> Any:
    r""":math:`\gamma = s^\top y / y^\top y`, the scale of :math:`H^0 = \gamma I` (N&W eq. 6.20
    and 7.20): the inverse of a Rayleigh quotient of the average Hessian along :math:`s`.

    Computed as ``ys / y.dot(y)`` with ``ys = y.dot(s)`` unless given: torch.optim.LBFGS's
    ``H_diag``. A float for NumPy vectors, a 0-d tensor for tensors."""
    s, y = _vector(s), _vector(y)
    if ys is None:
        ys = y.dot(s)
    return ys / y.dot(y)


def curvature_condition(ys: Any, yy: Any = None, ss: Any = None, *,
                        tol: float = CURVATURE_TOL) -> bool:
    r"""Whether a quasi-Newton update with the pair :math:`(s, y)` is made: the curvature
    condition :math:`y^\top s > 0` (which keeps :math:`H` positive definite) with a margin.

    * ``curvature_condition(ys)``: :math:`y^\top s >` ``tol`` -- torch.optim.LBFGS's test;
    * ``curvature_condition(ys, yy, ss)``: :math:`y^\top s > \text{tol}\,\lVert y\rVert
      \lVert s\rVert` (with :math:`y^\top y`, :math:`s^\top s`) -- scale-invariant, the test of
      ``minimize``'s BFGS and L-BFGS, which count the skipped pairs in ``nskipped``.
    """
    if yy is None and ss is None:
        return bool(ys > tol)
    if yy is None or ss is None:
        raise TypeError("curvature_condition needs both yy and ss, or neither")
    return bool(ys > tol * math.sqrt(float(yy) * float(ss)))


def bfgs_inverse_update(H: ArrayLike, s: ArrayLike, y: ArrayLike) -> np.ndarray:
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


def two_loop_recursion(g: Vector, s_list: Sequence, y_list: Sequence, gamma: Any = None, *,
                       rho: Sequence | None = None, alpha: list | None = None,
                       overwrite_g: bool = False) -> Vector:
    r"""L-BFGS two-loop recursion (N&W Algorithm 7.4): returns :math:`r = H_k g`, shape (n,).

    :math:`H_k` is :math:`H^0 = \gamma I` updated by BFGS with the pairs in order, oldest
    first (the book writes :math:`D_k` for it). The search direction is :math:`-r`.

    .. code-block:: text

        q = g
        for i = k-1, ..., k-m:   alpha_i = (s_i^T q) rho_i;   q = q - alpha_i y_i
        r = q gamma
        for i = k-m, ..., k-1:   beta_i = (y_i^T r) rho_i;    r = r + (alpha_i - beta_i) s_i

    This is the one implementation of the recursion in ``course_lib``: ``minimize``'s L-BFGS
    (through :class:`LBFGSMemory`) and the torch twin ``course_lib.optim.LBFGS`` call it. It
    runs on 1-D NumPy arrays and on 1-D torch tensors, with ``torch.optim.LBFGS``'s operations
    in its order (``s.dot(q) * rho``, ``q.add_(y, alpha=-alpha_i)``, ``torch.mul(q, gamma)``,
    ``y.dot(r) * rho``, ``r.add_(s, alpha=alpha_i - beta_i)``), so on tensors it gives
    torch's bits. In torch's names: ``s_list`` = ``old_stps``, ``y_list`` = ``old_dirs``,
    ``rho`` = ``ro``, ``gamma`` = ``H_diag``, ``alpha`` = ``state["al"]``, and torch's
    direction is ``two_loop_recursion(flat_grad.neg(), ..., overwrite_g=True)``.

    Parameters
    ----------
    g : array or tensor (n,).
    s_list, y_list : sequences of vectors (n,) (or arrays (m, n)), oldest first, with
        :math:`y_i^\top s_i > 0`.
    gamma : scale of :math:`H^0`; default :func:`initial_scaling` of the newest pair
        (1 when there are no pairs).
    rho : the :math:`\rho_i = 1/y_i^\top s_i` (as ``1.0 / y.dot(s)``), computed when omitted.
    alpha : a list of length :math:`\ge m` that receives :math:`\alpha_i` in entry ``i``
        (torch keeps them in ``state["al"]``).
    overwrite_g : use ``g`` itself as the buffer :math:`q` (it is overwritten) instead of a
        copy.

    The cost is :math:`4mn` multiply-adds; with all pairs since the start it equals the
    dense BFGS matrix (:func:`bfgs_inverse_update`) applied to ``g``.
    """
    m = len(s_list)
    if m != len(y_list):
        raise ValueError(f"s_list and y_list differ in length: {m} vs {len(y_list)}")
    tensor = not isinstance(g, np.ndarray) and hasattr(g, "add_")
    q: Vector
    if tensor:
        assert not isinstance(g, np.ndarray)
        q = g if overwrite_g else g.clone()
        S, Y = s_list, y_list
    else:
        q = np.asarray(g, dtype=float) if overwrite_g else np.array(g, dtype=float)
        if q.ndim != 1:
            raise ValueError(f"Invalid g: shape {q.shape} (expected a vector)")
        S = [_vector(s) for s in s_list]
        Y = [_vector(y) for y in y_list]
    if rho is None:
        rho = [1.0 / y.dot(s) for s, y in zip(S, Y)]
    elif len(rho) != m:
        raise ValueError(f"Invalid rho: {len(rho)} values for {m} pairs")
    if gamma is None:
        gamma = initial_scaling(S[-1], Y[-1]) if m else 1.0
    al = [None] * m if alpha is None else alpha
    if len(al) < m:
        raise ValueError(f"Invalid alpha: a list of length {len(al)} for {m} pairs")
    # first loop, newest to oldest: alpha_i = rho_i s_i^T q,  q <- q - alpha_i y_i
    for i in range(m - 1, -1, -1):
        al[i] = S[i].dot(q) * rho[i]
        _add_(q, Y[i], -al[i])
    # H^0 = gamma I, then the second loop, oldest to newest
    r = q * gamma
    for i in range(m):
        be_i = Y[i].dot(r) * rho[i]
        _add_(r, S[i], al[i] - be_i)
    return r


class LBFGSMemory:
    r"""The last ``m`` curvature pairs of L-BFGS, oldest first, with their :math:`\rho_i` and
    the scale :math:`\gamma` of the newest pair (the memory of
    ``minimize(..., method="lbfgs")``; kept as torch.optim.LBFGS keeps its lists).

    :meth:`apply` is :func:`two_loop_recursion` with the stored pairs. The pairs are stored
    as given (not copied); the caller must not modify them afterwards.
    """

    def __init__(self, m: int):
        self.m = m
        self.s: list = []
        self.y: list = []
        self.rho: list = []
        self.gamma: Any = 1.0

    def __len__(self) -> int:
        return len(self.s)

    def push(self, s: _V, y: _V, ys: Any = None) -> None:
        r"""Append the pair :math:`(s, y)` (:math:`y^\top s > 0`; ``ys`` = ``y.dot(s)`` if
        known), dropping the oldest when ``m`` are stored, as torch.optim.LBFGS does."""
        if ys is None:
            ys = y.dot(s)
        if len(self.s) == self.m:
            self.s.pop(0)
            self.y.pop(0)
            self.rho.pop(0)
        self.s.append(s)
        self.y.append(y)
        self.rho.append(1.0 / ys)
        self.gamma = initial_scaling(s, y, ys)

    def clear(self) -> None:
        """Forget all pairs (:math:`H^0 = I` again)."""
        self.s, self.y, self.rho = [], [], []
        self.gamma = 1.0

    @property
    def pairs(self) -> tuple[list, list]:
        """The stored ``(s_list, y_list)``, oldest first (copies)."""
        def copy(v):
            return v.clone() if hasattr(v, "clone") else v.copy()

        return [copy(s) for s in self.s], [copy(y) for y in self.y]

    @overload
    def apply(self, g: np.ndarray) -> np.ndarray: ...
    @overload
    def apply(self, g: torch.Tensor) -> torch.Tensor: ...

    def apply(self, g: Vector) -> Vector:
        r""":math:`H_k g` by :func:`two_loop_recursion` with the stored pairs
        (:math:`H^0 = \gamma I`, :math:`\gamma` of the newest pair)."""
        return two_loop_recursion(g, self.s, self.y, self.gamma, rho=self.rho)


class BFGSDirection:
    r"""BFGS (``method="bfgs"``): :math:`p_k = -H_k g_k` with the dense inverse-Hessian
    approximation of :func:`bfgs_inverse_update`.

    :math:`H_0 = I`; with ``scale_H0`` it is replaced by :math:`\gamma I`
    (:func:`initial_scaling` of the first pair, N&W eq. 6.20) before the first update. Pairs
    failing :func:`curvature_condition` (relative form) are skipped and counted. First trial
    step :func:`~.directions.scaled_first_step` while :math:`H = I`, then 1.
    """

    name = "bfgs"

    def __init__(self, n: int, *, scale_H0: bool = True):
        self.n, self.scale = n, scale_H0
        self.H: np.ndarray | None = None  # None: the identity, not yet scaled
        self.nskipped = 0

    def direction(self, x: np.ndarray, f: float, g: np.ndarray) -> np.ndarray:
        return -g if self.H is None else -(self.H @ g)

    def step0(self, g: np.ndarray, p: np.ndarray) -> float:
        return scaled_first_step(g) if self.H is None else 1.0

    def update(self, step: float, p: np.ndarray, g_old: np.ndarray,
               g_new: np.ndarray) -> None:
        s, y = step * p, g_new - g_old
        ys = y.dot(s)
        if not curvature_condition(ys, y.dot(y), s.dot(s)):
            self.nskipped += 1
            return
        if self.H is None:
            gamma = float(initial_scaling(s, y, ys)) if self.scale else 1.0
            self.H = gamma * np.eye(self.n)
        self.H = bfgs_inverse_update(self.H, s, y)

    def reset(self) -> bool:
        if self.H is None:
            return False
        self.H = None
        return True

    def extras(self) -> dict:
        return {"hess_inv": np.eye(self.n) if self.H is None else self.H,
                "nskipped": self.nskipped}


class LBFGSDirection:
    r"""L-BFGS (``method="lbfgs"``): :math:`p_k = -H_k g_k` by :func:`two_loop_recursion` on
    the last ``m`` pairs (:class:`LBFGSMemory`), :math:`H^0_k = \gamma_k I`. Pairs failing
    :func:`curvature_condition` (relative form) are skipped and counted. First trial step
    :func:`~.directions.scaled_first_step` with an empty memory, then 1.
    """

    name = "lbfgs"

    def __init__(self, *, m: int = 10):
        self.memory = LBFGSMemory(m)
        self.nskipped = 0

    def direction(self, x: np.ndarray, f: float, g: np.ndarray) -> np.ndarray:
        return -self.memory.apply(g) if len(self.memory) else -g

    def step0(self, g: np.ndarray, p: np.ndarray) -> float:
        return 1.0 if len(self.memory) else scaled_first_step(g)

    def update(self, step: float, p: np.ndarray, g_old: np.ndarray,
               g_new: np.ndarray) -> None:
        s, y = step * p, g_new - g_old
        ys = y.dot(s)
        if curvature_condition(ys, y.dot(y), s.dot(s)):
            self.memory.push(s, y, ys)
        else:
            self.nskipped += 1

    def reset(self) -> bool:
        if not len(self.memory):
            return False
        self.memory.clear()
        return True

    def extras(self) -> dict:
        return {"nskipped": self.nskipped}
