r"""Test objectives: small functions whose geometry we understand exactly.

Every objective :math:`f:\mathbb{R}^n\to\mathbb{R}` exposes

* ``value(x)``     -- :math:`f(x)`, a float, for ``x`` of shape ``(n,)``;
* ``grad(x)``      -- :math:`\nabla f(x)`, shape ``(n,)``;
* ``hess(x)``      -- :math:`\nabla^2 f(x)`, shape ``(n, n)``;
* ``minimizers``   -- the known minimizers, shape ``(k, n)`` (``k = 0`` when ``f`` is
  unbounded below);
* ``minimum``      -- :math:`\min f` (``-inf`` when unbounded below);
* ``x0``           -- a customary starting point, shape ``(n,)``;
* ``bounds``       -- ``((xmin, xmax), (ymin, ymax))``, a window for contour plots (2-D only).

``value`` and ``grad`` also accept a stack of points of shape ``(..., n)`` for 2-D
objectives, so a contour grid is evaluated in one vectorized call.

The surfaces are the ones the course uses to show each pathology of descent methods:
ill-conditioning (:class:`Quadratic`), curved valleys (:class:`Rosenbrock`, :class:`Beale`),
saddle points (:class:`Saddle`), plateaus (:class:`Plateau`), cliffs (:class:`Cliff`) and
local minima (:class:`MultiMinimum`). :class:`Wood`, :class:`PowellSingular` and
:class:`HelicalValley` complete the standard suite of Moré, Garbow & Hillstrom (1981) on which
the methods of :mod:`course_lib.second_order` are compared. :class:`NesterovWorstCase` is
the quadratic behind the lower bound for first-order methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

__all__ = [
    "as_point",
    "Objective",
    "Quadratic",
    "Rosenbrock",
    "Beale",
    "Saddle",
    "Plateau",
    "Cliff",
    "MultiMinimum",
    "Wood",
    "PowellSingular",
    "HelicalValley",
    "NesterovWorstCase",
]


def as_point(x, n: int) -> np.ndarray:
    r"""``x`` as a float array of points in :math:`\mathbb{R}^n`: shape ``(n,)`` or ``(..., n)``
    (a batch of points, for vectorized evaluation); ``ValueError`` otherwise."""
    x = np.asarray(x, dtype=float)
    if x.shape[-1:] != (n,):
        raise ValueError(f"Invalid x: array of shape {x.shape} (expected last dimension {n})")
    return x


class Objective:
    """Base class: subclasses implement ``_value``, ``_grad`` and ``_hess`` on valid points."""

    name = "objective"
    dim: int
    minimizers: np.ndarray
    minimum: float
    x0: np.ndarray
    bounds: tuple | None = None

    if TYPE_CHECKING:                               # what subclasses implement
        def _value(self, x: np.ndarray) -> float | np.ndarray: ...
        def _grad(self, x: np.ndarray) -> np.ndarray: ...
        def _hess(self, x: np.ndarray) -> np.ndarray: ...

    def value(self, x) -> float | np.ndarray:
        return self._value(as_point(x, self.dim))

    def grad(self, x) -> np.ndarray:
        return self._grad(as_point(x, self.dim))

    def hess(self, x) -> np.ndarray:
        x = as_point(x, self.dim)
        if x.ndim != 1:
            raise ValueError(f"hess expects a single point of shape ({self.dim},), got {x.shape}")
        return self._hess(x)

    __call__ = value

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim})"


class Quadratic(Objective):
    r"""Quadratic :math:`f(x) = \tfrac12 x^\top A x - b^\top x + c` with symmetric ``A``.

    ``A`` need not be positive definite: an indefinite ``A`` gives a saddle
    (``minimizers`` is then empty and ``minimum`` is ``-inf``).  For SPD ``A`` the minimizer
    is :math:`x^\star = A^{-1}b` and the condition number is
    :math:`\kappa = \lambda_{\max}/\lambda_{\min}`.

    Parameters
    ----------
    A : array (n, n), symmetric.
    b : array (n,), default zeros.
    c : float, default 0.
    """

    name = "quadratic"

    def __init__(self, A, b=None, c: float = 0.0, x0=None):
        A = np.asarray(A, dtype=float)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be a square matrix, got shape {A.shape}")
        if not np.allclose(A, A.T, rtol=1e-12, atol=1e-12):
            raise ValueError("A must be symmetric")
        self.A = A
        self.dim = A.shape[0]
        self.b = np.zeros(self.dim) if b is None else np.asarray(b, dtype=float).reshape(self.dim)
        self.c = float(c)
        self.eigenvalues = np.linalg.eigvalsh(A)
        if self.eigenvalues[0] > 0:
            xstar = np.linalg.solve(A, self.b)
            self.minimizers = xstar[None, :]
            self.minimum = float(self._value(xstar))
        else:
            self.minimizers = np.empty((0, self.dim))
            self.minimum = -np.inf
        self.x0 = np.ones(self.dim) if x0 is None else np.asarray(x0, dtype=float)
        if self.dim == 2:
            centre = self.minimizers[0] if len(self.minimizers) else np.zeros(2)
            r = 1.3 * max(1.0, float(np.max(np.abs(self.x0 - centre))))
            self.bounds = ((centre[0] - r, centre[0] + r), (centre[1] - r, centre[1] + r))

    @classmethod
    def from_spectrum(cls, eigenvalues, rng=None, x0=None) -> Quadratic:
        r"""SPD (or indefinite) quadratic :math:`\tfrac12 x^\top Q\Lambda Q^\top x` with a random
        orthogonal ``Q`` (identity when ``rng`` is None, so the axes are the eigenvectors)."""
        lam = np.asarray(eigenvalues, dtype=float)
        if rng is None:
            Q = np.eye(lam.size)
        else:
            Q, R = np.linalg.qr(rng.standard_normal((lam.size, lam.size)))
            Q = Q * np.sign(np.diag(R))
        A = (Q * lam) @ Q.T
        return cls((A + A.T) / 2, x0=x0)

    @classmethod
    def with_condition(cls, n: int, kappa: float, rng=None, x0=None) -> Quadratic:
        """SPD quadratic in ``n`` dimensions with eigenvalues log-spaced from 1 to ``kappa``."""
        if kappa < 1:
            raise ValueError(f"Invalid condition number: {kappa}")
        return cls.from_spectrum(np.geomspace(1.0, kappa, n), rng=rng, x0=x0)

    @property
    def condition_number(self) -> float:
        lam = np.abs(self.eigenvalues)
        return float(lam.max() / lam.min())

    def _value(self, x):
        return 0.5 * np.einsum("...i,ij,...j->...", x, self.A, x) - x @ self.b + self.c

    def _grad(self, x):
        return x @ self.A - self.b

    def _hess(self, x):
        return self.A.copy()


class Rosenbrock(Objective):
    r"""Rosenbrock's function in :math:`n\ge2` dimensions,

    .. math:: f(x) = \sum_{i=1}^{n-1} b\,(x_{i+1}-x_i^2)^2 + (1-x_i)^2,

    with the unique global minimizer :math:`x^\star = (1,\dots,1)`, :math:`f^\star = 0`.
    Customary start :math:`(-1.2, 1, -1.2, 1, \dots)` (Moré, Garbow & Hillstrom 1981).
    """

    name = "rosenbrock"

    def __init__(self, n: int = 2, b: float = 100.0):
        if n < 2:
            raise ValueError(f"Rosenbrock needs n >= 2, got {n}")
        self.dim, self.a, self.b = int(n), 1.0, float(b)
        self.minimizers = np.ones((1, self.dim))
        self.minimum = 0.0
        self.x0 = np.where(np.arange(self.dim) % 2 == 0, -1.2, 1.0)
        if self.dim == 2:
            self.bounds = ((-2.0, 2.0), (-1.0, 3.0))

    def _value(self, x):
        xi, xn = x[..., :-1], x[..., 1:]
        return np.sum(self.b * (xn - xi**2) ** 2 + (self.a - xi) ** 2, axis=-1)

    def _grad(self, x):
        xi, xn = x[..., :-1], x[..., 1:]
        r = xn - xi**2
        g = np.zeros_like(x)
        g[..., :-1] += -4.0 * self.b * xi * r - 2.0 * (self.a - xi)
        g[..., 1:] += 2.0 * self.b * r
        return g

    def _hess(self, x):
        n, b = self.dim, self.b
        H = np.zeros((n, n))
        xi, xn = x[:-1], x[1:]
        d = np.zeros(n)
        d[:-1] += 12.0 * b * xi**2 - 4.0 * b * xn + 2.0
        d[1:] += 2.0 * b
        H[np.arange(n), np.arange(n)] = d
        off = -4.0 * b * xi
        H[np.arange(n - 1), np.arange(1, n)] = off
        H[np.arange(1, n), np.arange(n - 1)] = off
        return H


class Beale(Objective):
    r"""Beale's function, :math:`f(x,y)=\sum_{k=1}^{3}(c_k - x + x y^k)^2` with
    :math:`c=(1.5, 2.25, 2.625)`; minimizer :math:`(3, 0.5)`, :math:`f^\star=0`. Its flat
    arms and steep walls make it a hard 2-D test (Moré et al. 1981)."""

    name = "beale"
    dim = 2
    _c = np.array([1.5, 2.25, 2.625])

    def __init__(self):
        self.minimizers = np.array([[3.0, 0.5]])
        self.minimum = 0.0
        self.x0 = np.array([1.0, 1.0])
        self.bounds = ((-4.5, 4.5), (-4.5, 4.5))

    def _residuals(self, x):
        X, Y = x[..., 0:1], x[..., 1:2]
        k = np.arange(1, 4)
        return self._c - X + X * Y**k, k, X, Y

    def _value(self, x):
        r, *_ = self._residuals(x)
        return np.sum(r**2, axis=-1)

    def _grad(self, x):
        r, k, X, Y = self._residuals(x)
        dx = np.sum(2 * r * (Y**k - 1), axis=-1)
        dy = np.sum(2 * r * X * k * Y ** (k - 1), axis=-1)
        return np.stack([dx, dy], axis=-1)

    def _hess(self, x):
        r, k, X, Y = self._residuals(x)
        X, Y = X[0], Y[0]
        jx = Y**k - 1  # dr/dx
        jy = X * k * Y ** (k - 1)  # dr/dy
        hxy = k * Y ** (k - 1)  # d2r/dxdy
        hyy = X * k * (k - 1) * Y ** np.maximum(k - 2, 0)  # d2r/dy2
        Hxx = 2 * np.sum(jx * jx)
        Hxy = 2 * np.sum(jx * jy + r * hxy)
        Hyy = 2 * np.sum(jy * jy + r * hyy)
        return np.array([[Hxx, Hxy], [Hxy, Hyy]])


class Saddle(Objective):
    r"""A saddle at the origin, optionally bounded by a quartic wall:

    .. math:: f(x, y) = \tfrac12\,(a x^2 - b y^2) + \tfrac{c}{4} y^4 .

    With ``c = 0`` it is the pure saddle (unbounded below, no minimizer); with ``c > 0`` the
    origin is still a saddle and the minimizers are :math:`(0, \pm\sqrt{b/c})` with
    :math:`f^\star = -b^2/(4c)`. ``a, b > 0`` are the curvatures along :math:`x` and
    :math:`-y` at the saddle.
    """

    name = "saddle"
    dim = 2

    def __init__(self, a: float = 1.0, b: float = 1.0, c: float = 0.0):
        if a <= 0 or b <= 0 or c < 0:
            raise ValueError(f"Saddle needs a > 0, b > 0, c >= 0, got a={a}, b={b}, c={c}")
        self.a, self.b, self.c = float(a), float(b), float(c)
        if c > 0:
            y = np.sqrt(b / c)
            self.minimizers = np.array([[0.0, y], [0.0, -y]])
            self.minimum = -(b**2) / (4 * c)
            r = 1.5 * y
            self.bounds = ((-r, r), (-r, r))
        else:
            self.minimizers = np.empty((0, 2))
            self.minimum = -np.inf
            self.bounds = ((-1.5, 1.5), (-1.5, 1.5))
        self.x0 = np.array([1.0, 1e-3])

    def _value(self, x):
        X, Y = x[..., 0], x[..., 1]
        return 0.5 * (self.a * X**2 - self.b * Y**2) + 0.25 * self.c * Y**4

    def _grad(self, x):
        X, Y = x[..., 0], x[..., 1]
        return np.stack([self.a * X, -self.b * Y + self.c * Y**3], axis=-1)

    def _hess(self, x):
        return np.array([[self.a, 0.0], [0.0, -self.b + 3 * self.c * x[1] ** 2]])


class Plateau(Objective):
    r"""A Gaussian well in a flat plain:

    .. math:: f(x) = h\,\bigl(1 - \exp(-\lVert x\rVert^2 / (2 s^2))\bigr).

    Far from the origin the gradient decays like :math:`\exp(-r^2/2s^2)`: a plateau on which
    gradient descent barely moves. Minimizer the origin, :math:`f^\star = 0`.
    """

    name = "plateau"
    dim = 2

    def __init__(self, height: float = 1.0, width: float = 1.0):
        if height <= 0 or width <= 0:
            raise ValueError(f"Plateau needs height > 0 and width > 0, got {height}, {width}")
        self.h, self.s = float(height), float(width)
        self.minimizers = np.zeros((1, 2))
        self.minimum = 0.0
        self.x0 = np.array([2.5 * self.s, 1.5 * self.s])
        r = 3.5 * self.s
        self.bounds = ((-r, r), (-r, r))

    def _bump(self, x):
        return np.exp(-np.sum(x**2, axis=-1) / (2 * self.s**2))

    def _value(self, x):
        return self.h * (1.0 - self._bump(x))

    def _grad(self, x):
        return (self.h / self.s**2) * self._bump(x)[..., None] * x

    def _hess(self, x):
        e = self._bump(x)
        return (self.h / self.s**2) * e * (np.eye(2) - np.outer(x, x) / self.s**2)


class Cliff(Objective):
    r"""A terrace that ends in a cliff, above a shallow bowl:

    .. math:: f(x, y) = h\,\bigl(1-\sigma(k x)\bigr) + \tfrac{q}{2}(x - x^\star)^2
              + \tfrac12 y^2, \qquad \sigma(u) = 1/(1+e^{-u}).

    On the cliff face near :math:`x=0` the gradient reaches about :math:`hk/4` (250 for the
    defaults), so an ordinary gradient step launches the iterate far away; clipping the
    gradient norm keeps the step bounded. The minimizer is :math:`(x^\star, 0)` up to the
    sigmoid's tail, :math:`hk\,e^{-k x^\star}/q`, which is below :math:`10^{-20}` for the
    defaults; ``minimizers`` holds the exact stationary point, refined by Newton's method.
    """

    name = "cliff"
    dim = 2

    def __init__(self, height: float = 50.0, steepness: float = 20.0, q: float = 0.5,
                 x_star: float = 3.0):
        if height <= 0 or steepness <= 0 or q <= 0:
            raise ValueError("Cliff needs height, steepness and q > 0")
        self.h, self.k, self.q, self.xs = float(height), float(steepness), float(q), float(x_star)
        x = np.array([self.xs, 0.0])
        for _ in range(5):  # Newton polish on the (separable) stationarity condition
            x[0] -= self._grad(x)[0] / self._hess(x)[0, 0]
        self.minimizers = x[None, :]
        self.minimum = float(self._value(x))
        self.x0 = np.array([-2.0, 1.0])
        self.bounds = ((-3.0, 4.5), (-2.0, 2.0))

    def _sig(self, u):
        return 0.5 * (1.0 + np.tanh(0.5 * u))  # overflow-free logistic

    def _value(self, x):
        X, Y = x[..., 0], x[..., 1]
        return self.h * (1 - self._sig(self.k * X)) + 0.5 * self.q * (X - self.xs) ** 2 + 0.5 * Y**2

    def _grad(self, x):
        X, Y = x[..., 0], x[..., 1]
        s = self._sig(self.k * X)
        return np.stack([-self.h * self.k * s * (1 - s) + self.q * (X - self.xs), Y], axis=-1)

    def _hess(self, x):
        s = self._sig(self.k * x[0])
        dxx = -self.h * self.k**2 * s * (1 - s) * (1 - 2 * s) + self.q
        return np.array([[dxx, 0.0], [0.0, 1.0]])


class MultiMinimum(Objective):
    r"""Two tilted double wells, four minima of different depths:

    .. math:: f(x, y) = (x^2-1)^2 + (y^2-1)^2 + p\,x + r\,y .

    For :math:`|p|, |r| < 8/(3\sqrt3)\approx1.54` each coordinate has two minima, so ``f``
    has four local minima; the tilts make exactly one of them global. The minimizers are the
    products of the roots of :math:`4t^3 - 4t + p = 0` at which :math:`12t^2 - 4 > 0`.
    """

    name = "multi-minimum"
    dim = 2

    def __init__(self, p: float = 0.3, r: float = 0.2):
        bound = 8 / (3 * np.sqrt(3))
        if abs(p) >= bound or abs(r) >= bound:
            raise ValueError(f"MultiMinimum needs |p|, |r| < {bound:.4f}, got p={p}, r={r}")
        self.p, self.r = float(p), float(r)
        xs, ys = self._wells(self.p), self._wells(self.r)
        pts = np.array([[a, b] for a in xs for b in ys])
        vals = self._value(pts)
        order = np.argsort(vals)
        self.minimizers = pts[order]  # global first
        self.local_minima_values = vals[order]
        self.minimum = float(vals[order[0]])
        self.x0 = np.array([0.1, 0.05])
        self.bounds = ((-1.8, 1.8), (-1.8, 1.8))

    @staticmethod
    def _wells(tilt):
        roots = np.roots([4.0, 0.0, -4.0, tilt])
        roots = np.sort(roots[np.abs(roots.imag) < 1e-12].real)
        return roots[12 * roots**2 - 4 > 0]

    def _value(self, x):
        X, Y = x[..., 0], x[..., 1]
        return (X**2 - 1) ** 2 + (Y**2 - 1) ** 2 + self.p * X + self.r * Y

    def _grad(self, x):
        X, Y = x[..., 0], x[..., 1]
        return np.stack([4 * X * (X**2 - 1) + self.p, 4 * Y * (Y**2 - 1) + self.r], axis=-1)

    def _hess(self, x):
        return np.diag([12 * x[0] ** 2 - 4, 12 * x[1] ** 2 - 4])


# ---------------------------------------------------------------------------------------------
# Further standard test problems of Moré, Garbow & Hillstrom (1981), "Testing unconstrained
# optimization software", ACM TOMS 7(1), problems 14, 13 and 7, with their standard starts.
# They are the hard cases on which second-order and quasi-Newton methods are compared
# (course_lib.second_order).
# ---------------------------------------------------------------------------------------------

class Wood(Objective):
    r"""Wood's function (Moré, Garbow & Hillstrom 1981, problem 14), :math:`n = 4`:

    .. math:: f(x) = 100(x_2-x_1^2)^2 + (1-x_1)^2 + 90(x_4-x_3^2)^2 + (1-x_3)^2
              + 10.1\bigl[(x_2-1)^2 + (x_4-1)^2\bigr] + 19.8\,(x_2-1)(x_4-1).

    Two Rosenbrock valleys coupled through :math:`x_2` and :math:`x_4`. Minimizer
    :math:`x^\star = (1,1,1,1)`, :math:`f^\star = 0`; standard start :math:`(-3,-1,-3,-1)`,
    :math:`f(x_0) = 19192`. It also has a saddle point near
    :math:`(-0.968, 0.947, -0.970, 0.951)`, :math:`f \approx 7.877` (one negative Hessian
    eigenvalue, :math:`\approx -0.12`), on whose flat region methods can stall.
    ``value`` and ``grad`` accept points of shape ``(..., 4)``.
    """

    name = "wood"
    dim = 4

    def __init__(self):
        self.minimizers = np.ones((1, 4))
        self.minimum = 0.0
        self.x0 = np.array([-3.0, -1.0, -3.0, -1.0])

    def _value(self, x):
        x1, x2, x3, x4 = (x[..., i] for i in range(4))
        return (100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2 + 90 * (x4 - x3**2) ** 2 + (1 - x3) ** 2
                + 10.1 * ((x2 - 1) ** 2 + (x4 - 1) ** 2) + 19.8 * (x2 - 1) * (x4 - 1))

    def _grad(self, x):
        x1, x2, x3, x4 = (x[..., i] for i in range(4))
        r1, r3 = x2 - x1**2, x4 - x3**2
        return np.stack([
            -400 * x1 * r1 - 2 * (1 - x1),
            200 * r1 + 20.2 * (x2 - 1) + 19.8 * (x4 - 1),
            -360 * x3 * r3 - 2 * (1 - x3),
            180 * r3 + 20.2 * (x4 - 1) + 19.8 * (x2 - 1),
        ], axis=-1)

    def _hess(self, x):
        x1, x2, x3, x4 = x
        return np.array([
            [1200 * x1**2 - 400 * x2 + 2, -400 * x1, 0.0, 0.0],
            [-400 * x1, 220.2, 0.0, 19.8],
            [0.0, 0.0, 1080 * x3**2 - 360 * x4 + 2, -360 * x3],
            [0.0, 19.8, -360 * x3, 200.2],
        ])


class PowellSingular(Objective):
    r"""Powell's singular function (Moré, Garbow & Hillstrom 1981, problem 13), :math:`n = 4`:

    .. math:: f(x) = (x_1+10x_2)^2 + 5(x_3-x_4)^2 + (x_2-2x_3)^4 + 10(x_1-x_4)^4 .

    Minimizer :math:`x^\star = 0`, :math:`f^\star = 0`; standard start :math:`(3,-1,0,1)`,
    :math:`f(x_0) = 215`. The Hessian at the minimizer is **singular** (rank 2: the quartic
    terms contribute nothing there), so Newton's method converges only linearly and the
    distance to :math:`x^\star` scales like :math:`\lVert\nabla f\rVert^{1/3}`, not like
    :math:`\lVert\nabla f\rVert`. ``value`` and ``grad`` accept points of shape ``(..., 4)``.
    """

    name = "powell-singular"
    dim = 4

    def __init__(self):
        self.minimizers = np.zeros((1, 4))
        self.minimum = 0.0
        self.x0 = np.array([3.0, -1.0, 0.0, 1.0])

    def _value(self, x):
        x1, x2, x3, x4 = (x[..., i] for i in range(4))
        return (x1 + 10 * x2) ** 2 + 5 * (x3 - x4) ** 2 + (x2 - 2 * x3) ** 4 + 10 * (x1 - x4) ** 4

    def _grad(self, x):
        x1, x2, x3, x4 = (x[..., i] for i in range(4))
        a, b, c, d = x1 + 10 * x2, x3 - x4, x2 - 2 * x3, x1 - x4
        return np.stack([
            2 * a + 40 * d**3,
            20 * a + 4 * c**3,
            10 * b - 8 * c**3,
            -10 * b - 40 * d**3,
        ], axis=-1)

    def _hess(self, x):
        x1, x2, x3, x4 = x
        c2, d2 = 12 * (x2 - 2 * x3) ** 2, 120 * (x1 - x4) ** 2
        return np.array([
            [2 + d2, 20.0, 0.0, -d2],
            [20.0, 200 + c2, -2 * c2, 0.0],
            [0.0, -2 * c2, 10 + 4 * c2, -10.0],
            [-d2, 0.0, -10.0, 10 + d2],
        ])


class HelicalValley(Objective):
    r"""Fletcher and Powell's helical valley (Moré, Garbow & Hillstrom 1981, problem 7),
    :math:`n = 3`:

    .. math:: f(x) = 100\bigl[(x_3 - 10\theta)^2 + (r-1)^2\bigr] + x_3^2, \qquad
              r = \sqrt{x_1^2+x_2^2},

    with :math:`2\pi\theta = \arctan(x_2/x_1)` for :math:`x_1 > 0` and
    :math:`\arctan(x_2/x_1) + \pi` for :math:`x_1 < 0`, i.e. :math:`\theta` is the polar angle
    divided by :math:`2\pi`, taken in :math:`(-\tfrac14, \tfrac34]`. The valley floor is the
    helix :math:`r = 1, x_3 = 10\theta`. Minimizer :math:`(1, 0, 0)`, :math:`f^\star = 0`;
    standard start :math:`(-1, 0, 0)`, :math:`f(x_0) = 2500`.

    ``f`` is smooth except on the branch cut :math:`\{x_1 = 0, x_2 < 0\}` (where
    :math:`\theta` jumps from :math:`-\tfrac14` to :math:`\tfrac34`) and the axis
    :math:`r = 0`. ``value`` and ``grad`` accept points of shape ``(..., 3)``.
    """

    name = "helical-valley"
    dim = 3

    def __init__(self):
        self.minimizers = np.array([[1.0, 0.0, 0.0]])
        self.minimum = 0.0
        self.x0 = np.array([-1.0, 0.0, 0.0])

    @staticmethod
    def theta(x) -> np.ndarray:
        r"""The angle :math:`\theta\in(-\tfrac14, \tfrac34]` of MGH's definition, shape
        ``(...)``."""
        x = np.asarray(x, dtype=float)
        t = np.arctan2(x[..., 1], x[..., 0]) / (2 * np.pi)  # in (-1/2, 1/2]
        return np.where(t < -0.25, t + 1.0, t)

    def _value(self, x):
        r = np.hypot(x[..., 0], x[..., 1])
        x3 = x[..., 2]
        return 100 * ((x3 - 10 * self.theta(x)) ** 2 + (r - 1) ** 2) + x3**2

    def _grad(self, x):
        x1, x2, x3 = x[..., 0], x[..., 1], x[..., 2]
        r2 = x1**2 + x2**2
        r = np.sqrt(r2)
        u = x3 - 10 * self.theta(x)
        # d(theta)/d(x1, x2) = (-x2, x1) / (2 pi r^2)
        t1, t2 = -x2 / (2 * np.pi * r2), x1 / (2 * np.pi * r2)
        return np.stack([
            -2000 * u * t1 + 200 * (r - 1) * x1 / r,
            -2000 * u * t2 + 200 * (r - 1) * x2 / r,
            200 * u + 2 * x3,
        ], axis=-1)

    def _hess(self, x):
        x1, x2, x3 = x
        r2 = x1**2 + x2**2
        r = np.sqrt(r2)
        u = x3 - 10 * float(self.theta(x))
        a = np.array([-x2, x1]) / (2 * np.pi * r2)  # grad theta
        # Hessian of theta (harmonic: trace zero)
        D = np.array([[2 * x1 * x2, x2**2 - x1**2], [x2**2 - x1**2, -2 * x1 * x2]])
        D /= 2 * np.pi * r2**2
        p = np.array([x1, x2])
        H = np.empty((3, 3))
        H[:2, :2] = (20000 * np.outer(a, a) - 2000 * u * D
                     + 200 * ((1 - 1 / r) * np.eye(2) + np.outer(p, p) / r**3))
        H[:2, 2] = H[2, :2] = -2000 * a
        H[2, 2] = 202.0
        return H


class NesterovWorstCase(Quadratic):
    r"""Nesterov's "worst function in the world" for first-order methods (Nesterov 2004, §2.1.2),

    .. math:: f(x) = \frac L4\Bigl(\tfrac12\bigl[x_1^2 + \textstyle\sum_{i=1}^{n-1}(x_i-x_{i+1})^2
       + x_n^2\bigr] - x_1\Bigr) = \tfrac12 x^\top A x - b^\top x,

    with :math:`A = \frac L4\,\mathrm{tridiag}(-1, 2, -1)` (shape ``(n, n)``) and
    :math:`b = \frac L4 e_1`. It is convex and :math:`L`-smooth: the eigenvalues of :math:`A`
    are :math:`\frac L2(1-\cos\frac{i\pi}{n+1}) \in (0, L)`. The minimizer is
    :math:`x^\star_i = 1 - i/(n+1)` and :math:`f^\star = \frac L8\bigl(-1 + \frac1{n+1}\bigr)`;
    the customary start is :math:`x_0 = 0`.

    **Why it is hard.** Because :math:`A` is tridiagonal and :math:`b` is a multiple of
    :math:`e_1`, a gradient at a point supported on the first :math:`k` coordinates is
    supported on the first :math:`k+1`. A method whose iterates satisfy
    :math:`x_t \in x_0 + \mathrm{span}\{\nabla f(x_0),\dots,\nabla f(x_{t-1})\}` (gradient
    descent, heavy ball, Nesterov, any fixed or adaptive combination of past gradients with
    scalar coefficients) started at 0 therefore has :math:`x_t` supported on the first
    :math:`t` coordinates, and :math:`f(x_t) \ge` :meth:`span_minimum` ``(t)``. With
    :math:`n = 2t+1` this gives Nesterov's lower bound (Thm 2.1.7)

    .. math:: f(x_t) - f^\star \ge \frac{3L\,\lVert x_0 - x^\star\rVert^2}{32\,(t+1)^2},

    returned by :meth:`lower_bound`.

    Parameters
    ----------
    n : dimension, ``n >= 1``.
    L : the smoothness constant, ``L > 0`` (default 1).
    """

    name = "nesterov-worst-case"

    def __init__(self, n: int, L: float = 1.0):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"n must be an integer, got {type(n).__name__}")
        if n < 1:
            raise ValueError(f"Invalid n: {n!r} (expected a positive integer)")
        if isinstance(L, bool) or not isinstance(L, (int, float, np.integer, np.floating)):
            raise TypeError(f"L must be a real number, got {type(L).__name__}")
        if not (np.isfinite(L) and L > 0):
            raise ValueError(f"Invalid L: {L!r} (expected a positive finite number)")
        n, L = int(n), float(L)
        A = 2.0 * np.eye(n) - np.eye(n, k=1) - np.eye(n, k=-1)
        b = np.zeros(n)
        b[0] = 1.0
        super().__init__(0.25 * L * A, 0.25 * L * b, x0=np.zeros(n))
        self.L = L
        # closed forms (the constructor's numerical solve agrees to rounding error)
        self.minimizers = (1.0 - np.arange(1, n + 1) / (n + 1.0))[None, :]
        self.minimum = L / 8.0 * (-1.0 + 1.0 / (n + 1.0))

    def span_minimum(self, t: int) -> float:
        r"""Minimum of :math:`f` over points supported on the first ``t`` coordinates,
        :math:`\frac L8\bigl(-1 + \frac1{t+1}\bigr)` (``0 <= t <= n``): the function restricted
        to them is the same construction in dimension ``t``."""
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)):
            raise TypeError(f"t must be an integer, got {type(t).__name__}")
        if not 0 <= t <= self.dim:
            raise ValueError(f"Invalid t: {t!r} (expected 0 <= t <= n = {self.dim})")
        return self.L / 8.0 * (-1.0 + 1.0 / (t + 1.0))

    @staticmethod
    def lower_bound(t, L: float, distance: float):
        r"""Nesterov's lower bound :math:`3L\,d^2/(32(t+1)^2)` on :math:`f(x_t)-f^\star`, with
        :math:`d = \lVert x_0 - x^\star\rVert`, for any first-order method in the span of past
        gradients after ``t`` steps on the worst case of dimension :math:`n \ge 2t+1`.
        ``t`` may be an array."""
        t = np.asarray(t, dtype=float)
        return 3.0 * float(L) * float(distance) ** 2 / (32.0 * (t + 1.0) ** 2)
