r"""Linear convergence rates of gradient descent, heavy ball and Nesterov on quadratics.

On :math:`f(x) = \tfrac12 x^\top A x` with :math:`A = Q\Lambda Q^\top` symmetric positive
definite, every method of this module acts on each eigen-coordinate
:math:`z_i = q_i^\top x` separately, as a linear recursion whose coefficients depend only on
the eigenvalue :math:`\lambda_i`:

* gradient descent, :math:`z_{k+1} = (1-\eta\lambda)\,z_k`;
* heavy ball (Polyak 1964; ``course_lib.optim.sgd`` with ``momentum=mu``),
  :math:`z_{k+1} = (1+\mu-\eta\lambda)\,z_k - \mu\,z_{k-1}`;
* Nesterov (``nesterov=True``, whose iterates are the look-ahead points),
  :math:`z_{k+1} = (1+\mu)(1-\eta\lambda)\,z_k - \mu(1-\eta\lambda)\,z_{k-1}`.

The two-term recursions are written as :math:`(z_{k+1}, z_k)^\top = T\,(z_k, z_{k-1})^\top`
with a :math:`2\times2` matrix :math:`T`, and the asymptotic rate of the method on the whole
quadratic is :math:`\max_i \rho(T(\lambda_i))`, the largest spectral radius over the
eigenvalues: the error shrinks like :math:`\rho^k` (times a polynomial in :math:`k` when
:math:`T` has a repeated eigenvalue).

All rate functions broadcast over array-valued ``eta`` and ``mu`` (to colour the
:math:`(\eta,\mu)` plane in one call) and take the maximum over the last axis of
``eigenvalues``.

Beyond quadratics, for an :math:`L`-smooth function (gradient :math:`L`-Lipschitz):

* :func:`descent_coefficient` -- the guaranteed decrease of one gradient step (the descent
  lemma), :math:`f(\theta-\eta g) \le f(\theta) - \eta(1-L\eta/2)\lVert g\rVert^2`;
* :func:`pl_rate` -- the linear rate of gradient descent on a function that also satisfies
  the Polyak--Lojasiewicz inequality with constant :math:`\alpha` (e.g. an
  :math:`\alpha`-strongly convex one);
* :func:`nesterov_accelerated` and :func:`nesterov_convex_bound` -- Nesterov's method for
  convex :math:`L`-smooth functions and its :math:`O(1/t^2)` guarantee.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..result import OptimizeResult

__all__ = [
    "gd_rate",
    "optimal_gd",
    "momentum_matrix",
    "momentum_rate",
    "optimal_heavy_ball",
    "nesterov_matrix",
    "nesterov_rate",
    "nesterov_parameters",
    "observed_rate",
    "descent_coefficient",
    "pl_rate",
    "nesterov_momentum_schedule",
    "nesterov_accelerated",
    "nesterov_convex_bound",
    "AcceleratedRun",
]


def _check_spectrum(L: float, m: float) -> None:
    if not (np.isfinite(L) and np.isfinite(m) and 0 < m <= L):
        raise ValueError(f"Invalid spectrum bounds: need 0 < m <= L, got m={m}, L={L}")


def _root_radius(s, c):
    r"""Largest modulus of the roots of :math:`z^2 - s z + c` (real ``s``, ``c``, broadcast).

    Complex roots (discriminant :math:`s^2-4c<0`) are a conjugate pair with
    :math:`|z|^2 = z\bar z = c`; real roots have the larger modulus
    :math:`(|s| + \sqrt{s^2-4c})/2`.
    """
    s, c = np.broadcast_arrays(np.asarray(s, dtype=float), np.asarray(c, dtype=float))
    disc = s * s - 4.0 * c
    real = (np.abs(s) + np.sqrt(np.maximum(disc, 0.0))) / 2.0
    return np.where(disc >= 0, real, np.sqrt(np.abs(c)))


def _eigs(eigenvalues) -> np.ndarray:
    lam = np.asarray(eigenvalues, dtype=float)
    return lam.reshape(1) if lam.ndim == 0 else lam


def gd_rate(eta, eigenvalues):
    r"""Rate of gradient descent, :math:`\max_i |1-\eta\lambda_i|`.

    Each eigen-coordinate is multiplied by :math:`1-\eta\lambda_i` per step, so this is the
    spectral radius of :math:`I-\eta A`. ``eta`` may be an array (broadcast).
    """
    lam = _eigs(eigenvalues)
    eta = np.asarray(eta, dtype=float)[..., None]
    return np.max(np.abs(1.0 - eta * lam), axis=-1)


def optimal_gd(L: float, m: float) -> tuple[float, float]:
    r"""The step :math:`\eta^\star = 2/(L+m)` minimizing :math:`\max(|1-\eta m|, |1-\eta L|)`,
    and its rate :math:`(\kappa-1)/(\kappa+1)` with :math:`\kappa = L/m`."""
    _check_spectrum(L, m)
    kappa = L / m
    return 2.0 / (L + m), (kappa - 1.0) / (kappa + 1.0)


def momentum_matrix(eta: float, mu: float, lam: float) -> np.ndarray:
    r"""Heavy ball's iteration matrix for one eigenvalue :math:`\lambda`,

    .. math:: T = \begin{pmatrix} 1+\mu-\eta\lambda & -\mu \\ 1 & 0 \end{pmatrix},
       \qquad \begin{pmatrix} z_{k+1}\\ z_k\end{pmatrix}
       = T \begin{pmatrix} z_k\\ z_{k-1}\end{pmatrix},

    from :math:`x_{k+1} = x_k - \eta\nabla f(x_k) + \mu(x_k - x_{k-1})`. Its characteristic
    polynomial is :math:`r^2 - (1+\mu-\eta\lambda)\,r + \mu`.
    """
    return np.array([[1.0 + mu - eta * lam, -mu], [1.0, 0.0]])


def momentum_rate(eta, mu, eigenvalues):
    r"""Rate of heavy-ball momentum, :math:`\max_i \rho(T(\lambda_i))` (see
    :func:`momentum_matrix`), from the roots of :math:`r^2-(1+\mu-\eta\lambda)r+\mu`:

    .. math:: \rho(T(\lambda)) = \begin{cases} \sqrt{\mu} &
       (1+\mu-\eta\lambda)^2 < 4\mu \ \text{(complex pair)}\\
       \tfrac12\bigl(|1+\mu-\eta\lambda| + \sqrt{(1+\mu-\eta\lambda)^2-4\mu}\bigr) &
       \text{otherwise.} \end{cases}

    ``eta`` and ``mu`` broadcast against each other; the maximum is over ``eigenvalues``.
    """
    lam = _eigs(eigenvalues)
    eta = np.asarray(eta, dtype=float)[..., None]
    mu = np.asarray(mu, dtype=float)[..., None]
    return np.max(_root_radius(1.0 + mu - eta * lam, mu), axis=-1)


def optimal_heavy_ball(L: float, m: float) -> tuple[float, float, float]:
    r"""Polyak's optimal heavy-ball parameters for eigenvalues in :math:`[m, L]`,

    .. math:: \eta^\star = \Bigl(\frac{2}{\sqrt L+\sqrt m}\Bigr)^2,\qquad
       \mu^\star = \Bigl(\frac{\sqrt\kappa-1}{\sqrt\kappa+1}\Bigr)^2,\qquad
       \rho^\star = \frac{\sqrt\kappa-1}{\sqrt\kappa+1},

    returned as ``(eta, mu, rate)``. They put both :math:`\eta m` and :math:`\eta L` on the
    edges :math:`(1\mp\sqrt\mu)^2` of the band where :math:`\rho(T(\lambda)) = \sqrt\mu`.
    """
    _check_spectrum(L, m)
    q = np.sqrt(L / m)
    rate = (q - 1.0) / (q + 1.0)
    return (2.0 / (np.sqrt(L) + np.sqrt(m))) ** 2, rate**2, rate


def nesterov_matrix(eta: float, mu: float, lam: float) -> np.ndarray:
    r"""Nesterov's iteration matrix for one eigenvalue :math:`\lambda`,

    .. math:: T = \begin{pmatrix} (1+\mu)(1-\eta\lambda) & -\mu(1-\eta\lambda) \\ 1 & 0
       \end{pmatrix},

    from :math:`y_{k+1} = (1+\mu)(y_k-\eta\nabla f(y_k)) - \mu(y_{k-1}-\eta\nabla f(y_{k-1}))`
    for the look-ahead points :math:`y_k` (PyTorch's iterates with ``nesterov=True``). It equals
    :func:`momentum_matrix` with the curvature-dependent momentum :math:`\mu(1-\eta\lambda)`.
    """
    a = 1.0 - eta * lam
    return np.array([[(1.0 + mu) * a, -mu * a], [1.0, 0.0]])


def nesterov_rate(eta, mu, eigenvalues):
    r"""Rate of Nesterov momentum, :math:`\max_i \rho(T(\lambda_i))` for
    :func:`nesterov_matrix`, from the roots of
    :math:`r^2 - (1+\mu)(1-\eta\lambda)\,r + \mu(1-\eta\lambda)`. Broadcasts like
    :func:`momentum_rate`."""
    lam = _eigs(eigenvalues)
    eta = np.asarray(eta, dtype=float)[..., None]
    mu = np.asarray(mu, dtype=float)[..., None]
    a = 1.0 - eta * lam
    return np.max(_root_radius((1.0 + mu) * a, mu * a), axis=-1)


def nesterov_parameters(L: float, m: float) -> tuple[float, float, float]:
    r"""Nesterov's constant-momentum choice for an :math:`m`-strongly convex, :math:`L`-smooth
    function, :math:`\eta = 1/L`, :math:`\mu = (\sqrt\kappa-1)/(\sqrt\kappa+1)`, and its rate
    on a quadratic with eigenvalues in :math:`[m, L]`, :math:`1 - 1/\sqrt\kappa`; returned as
    ``(eta, mu, rate)``."""
    _check_spectrum(L, m)
    q = np.sqrt(L / m)
    return 1.0 / L, (q - 1.0) / (q + 1.0), 1.0 - 1.0 / q


def observed_rate(errors, start: int, stop: int | None = None) -> float:
    r"""The average contraction per step of a sequence of error norms between two indices,
    :math:`(e_{\text{stop}}/e_{\text{start}})^{1/(\text{stop}-\text{start})}`
    (``stop`` defaults to the last index)."""
    e = np.asarray(errors, dtype=float)
    stop = len(e) - 1 if stop is None else stop
    if not 0 <= start < stop < len(e):
        raise ValueError(f"Invalid window: start={start}, stop={stop} for {len(e)} errors")
    return float((e[stop] / e[start]) ** (1.0 / (stop - start)))


def _check_positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"Invalid {name}: {value!r} (expected a positive finite number)")
    return value


def descent_coefficient(eta, L):
    r"""The coefficient :math:`c(\eta) = \eta\,(1 - L\eta/2)` of the descent lemma.

    If :math:`\nabla f` is :math:`L`-Lipschitz, then for every :math:`\theta` and
    :math:`g = \nabla f(\theta)`

    .. math::

        f(\theta - \eta g) \le f(\theta) - \eta\Bigl(1 - \frac{L\eta}{2}\Bigr)\lVert g\rVert^2,

    so a gradient step decreases :math:`f` whenever :math:`0 < \eta < 2/L`
    (:math:`c > 0`); the guaranteed decrease is largest, :math:`\lVert g\rVert^2/(2L)`, at
    :math:`\eta = 1/L`. ``eta`` may be an array; ``L > 0``. Negative values mean that the
    lemma guarantees nothing (the bound then allows an increase).
    """
    L = _check_positive("L", L)
    eta = np.asarray(eta, dtype=float)
    if np.any(eta <= 0):
        raise ValueError(f"Invalid eta: {eta!r} (expected positive learning rates)")
    return eta * (1.0 - 0.5 * L * eta)


def pl_rate(eta, L, alpha):
    r"""Per-step contraction of :math:`f(\theta_t) - f^\star` for gradient descent on an
    :math:`L`-smooth function that satisfies the Polyak--Lojasiewicz inequality
    :math:`\tfrac12\lVert\nabla f(\theta)\rVert^2 \ge \alpha\,(f(\theta)-f^\star)`:

    .. math:: f(\theta_t) - f^\star \le \rho^t\,\bigl(f(\theta_0)-f^\star\bigr),\qquad
       \rho = 1 - 2\alpha\,\eta\Bigl(1-\frac{L\eta}2\Bigr),

    valid for :math:`0 < \eta < 2/L` (Polyak 1963; Karimi, Nutini & Schmidt 2016). An
    :math:`\alpha`-strongly convex function satisfies the inequality with the same
    :math:`\alpha`, and :math:`\alpha \le L`. At :math:`\eta = 1/L` the rate is
    :math:`1 - \alpha/L = 1 - 1/\kappa`. ``eta`` may be an array.
    """
    L = _check_positive("L", L)
    alpha = _check_positive("alpha", alpha)
    if alpha > L:
        raise ValueError(f"Invalid alpha: {alpha!r} (expected alpha <= L = {L!r})")
    eta = np.asarray(eta, dtype=float)
    if np.any((eta <= 0) | (eta >= 2.0 / L)):
        raise ValueError(f"Invalid eta: {eta!r} (expected 0 < eta < 2/L = {2.0 / L!r})")
    return 1.0 - 2.0 * alpha * descent_coefficient(eta, L)


def nesterov_momentum_schedule(steps: int) -> np.ndarray:
    r"""Momenta :math:`\mu_1,\dots,\mu_{\text{steps}}` of Nesterov's method for convex
    functions (the sequence of Nesterov 1983 and Beck & Teboulle 2009):

    .. math:: a_1 = 1,\qquad a_{t+1} = \frac{1+\sqrt{1+4a_t^2}}{2},\qquad
       \mu_t = \frac{a_t - 1}{a_{t+1}},

    so :math:`\mu_1 = 0`, :math:`\mu_t` increases towards 1, and
    :math:`\mu_t \approx (t-1)/(t+2)`. Returned as an array of shape ``(steps,)``.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"steps must be an integer, got {type(steps).__name__}")
    if steps < 0:
        raise ValueError(f"Invalid steps: {steps!r} (expected a non-negative integer)")
    a = np.empty(steps + 1)
    a[0] = 1.0
    for t in range(steps):
        a[t + 1] = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * a[t] ** 2))
    return (a[:-1] - 1.0) / a[1:]


class AcceleratedRun(OptimizeResult):
    r"""What :func:`nesterov_accelerated` returns: an :class:`~course_lib.result.OptimizeResult`
    (scipy's field names) with the two sequences of the method.

    Attributes
    ----------
    x : array (n,) -- :math:`x_T`, the last gradient-step point.
    nit : int -- :math:`T`; njev : int -- gradient evaluations (:math:`T`).
    status : int -- 1 (all steps taken); success : True; message : str.
    path : array (T + 1, n) -- :math:`x_0, \dots, x_T`, the gradient-step points.
    ys : array (T + 1, n) -- :math:`y_0, \dots, y_T`, the extrapolated points at which the
        gradients are taken (PyTorch's iterates with ``nesterov=True``).
    momenta : array (T,) -- :math:`\mu_1, \dots, \mu_T` used in the extrapolations.

    ``xs`` is a read-only alias of ``path`` (the name of course_lib 0.1).
    """

    @property
    def xs(self) -> np.ndarray:
        """:math:`x_0, \\dots, x_T` (alias of ``path``)."""
        return self["path"]

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "xs":
            raise AttributeError("AcceleratedRun.xs is a read-only alias of path")
        super().__setattr__(name, value)


def nesterov_accelerated(grad: Callable, x0, steps: int, lr: float,
                         momentum: float | None = None) -> AcceleratedRun:
    r"""Nesterov's accelerated gradient method in its two-sequence form.

    .. math:: y_0 = x_0,\qquad x_{t} = y_{t-1} - \eta\,\nabla f(y_{t-1}),\qquad
       y_{t} = x_{t} + \mu_t\,(x_{t} - x_{t-1}),\qquad t = 1, 2, \dots

    With ``momentum=None`` the momenta are :func:`nesterov_momentum_schedule`, the choice for
    convex functions: with :math:`\eta = 1/L` on a convex :math:`L`-smooth :math:`f`,
    :math:`f(x_t) - f^\star \le 2L\lVert x_0-x^\star\rVert^2/(t+1)^2`
    (:func:`nesterov_convex_bound`; Beck & Teboulle 2009, Thm 4.4). With a constant
    ``momentum`` :math:`\mu` the :math:`y_t` are the iterates of ``torch.optim.SGD`` (and
    ``course_lib.optim.sgd``) with ``nesterov=True``, ``momentum=mu``, ``lr=eta``.

    Parameters
    ----------
    grad : callable ``grad(x) -> array (n,)``.
    x0 : array (n,), the start (not modified).
    steps : number of gradient evaluations :math:`T`.
    lr : the step :math:`\eta > 0` (constant).
    momentum : a constant :math:`0 \le \mu < 1`, or None for the convex schedule.
    """
    lr = _check_positive("lr", lr)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"steps must be an integer, got {type(steps).__name__}")
    if steps < 0:
        raise ValueError(f"Invalid steps: {steps!r} (expected a non-negative integer)")
    if momentum is None:
        momenta = nesterov_momentum_schedule(steps)
    else:
        if not 0.0 <= float(momentum) < 1.0:
            raise ValueError(f"Invalid momentum: {momentum!r} (expected 0 <= momentum < 1)")
        momenta = np.full(steps, float(momentum))
    x = np.array(x0, dtype=float, copy=True)
    if x.ndim != 1:
        raise ValueError(f"x0 must be 1-D, got shape {x.shape}")
    y = x.copy()
    xs, ys = [x.copy()], [y.copy()]
    for t in range(steps):
        x_new = y - lr * np.asarray(grad(y), dtype=float)
        y = x_new + momenta[t] * (x_new - x)
        x = x_new
        xs.append(x.copy())
        ys.append(y.copy())
    path = np.array(xs)
    return AcceleratedRun(x=path[-1].copy(), nit=steps, njev=steps, status=1, success=True,
                          message=f"completed {steps} steps", path=path, ys=np.array(ys),
                          momenta=momenta, method="nesterov_accelerated")


def nesterov_convex_bound(t, L: float, distance: float):
    r"""Nesterov's guarantee for convex :math:`L`-smooth functions,
    :math:`f(x_t) - f^\star \le 2L\,\lVert x_0 - x^\star\rVert^2/(t+1)^2`, for the iterates of
    :func:`nesterov_accelerated` with ``lr = 1/L`` and the convex schedule. ``t`` may be an
    array (``t >= 1``); ``distance`` is :math:`\lVert x_0 - x^\star\rVert`."""
    L = _check_positive("L", L)
    t = np.asarray(t, dtype=float)
    if np.any(t < 1):
        raise ValueError(f"Invalid t: {t!r} (expected t >= 1)")
    return 2.0 * L * float(distance) ** 2 / (t + 1.0) ** 2
