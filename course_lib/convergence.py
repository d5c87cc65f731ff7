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
"""

from __future__ import annotations

import numpy as np

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
