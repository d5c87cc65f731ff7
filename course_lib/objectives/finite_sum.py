r"""Finite-sum objectives: an average of per-example losses, with per-example gradients.

Training a model on :math:`N` examples minimizes the *empirical risk*

.. math:: f(w) = \frac1N \sum_{i=1}^{N} f_i(w), \qquad w\in\mathbb{R}^d,

where :math:`f_i` is the loss on example :math:`i`. Batch gradient descent uses
:math:`\nabla f`; stochastic and minibatch gradient descent use the mean of
:math:`\nabla f_i` over a random minibatch :math:`B` of size :math:`m`,

.. math:: \hat g_B(w) = \frac1m \sum_{i\in B} \nabla f_i(w),

which is an unbiased estimate of :math:`\nabla f(w)` when :math:`B` is drawn uniformly.
The classes here expose, besides the :class:`~course_lib.objectives.Objective` interface
(``value``, ``grad``, ``hess``, ``minimizers``, ``minimum``, ``x0``, ``bounds``):

* ``losses(w)``               -- the :math:`N` per-example losses, shape ``(N,)``;
* ``per_example_grads(w)``    -- :math:`\nabla f_i(w)` stacked, shape ``(N, d)`` (or
  ``(len(idx), d)`` for a subset ``idx``);
* ``minibatch_grad(w, idx)``  -- :math:`\hat g_B(w)` for the index array ``idx``;
* ``minibatch_oracle(batch_size, rng)`` -- a gradient oracle ``grad(x, t)`` for
  :func:`course_lib.optim.descent.run` that draws a fresh minibatch at every call;
* ``gradient_variance(w, batch_size)`` -- the exact :math:`\mathbb{E}\lVert\hat g_B-\nabla
  f\rVert^2` of that estimate;
* ``smoothness`` and ``strong_convexity`` -- global constants :math:`L` and :math:`\alpha`
  with :math:`\alpha I \preceq \nabla^2 f(w) \preceq L I` for every :math:`w`, the inputs of
  the convergence guarantees of :mod:`course_lib.optim.convergence`.

Two models are provided: :class:`LeastSquares` (linear regression with the squared error)
and :class:`LogisticRegression` (the Bernoulli negative log-likelihood of a linear model).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .data import minibatches
from .surfaces import Objective, as_point

__all__ = ["SAMPLINGS", "FiniteSum", "LeastSquares", "LogisticRegression"]

#: How ``minibatch_oracle`` draws minibatches (see :meth:`FiniteSum.minibatch_oracle`).
SAMPLINGS = ("shuffle", "subset", "replacement")


def _window(centre: np.ndarray, x0: np.ndarray) -> tuple:
    r = 1.3 * max(1.0, float(np.max(np.abs(x0 - centre))))
    return ((centre[0] - r, centre[0] + r), (centre[1] - r, centre[1] + r))


class FiniteSum(Objective):
    r"""Base class of :math:`f(w)=\frac1N\sum_i f_i(w)` on data ``X`` (N, d), targets ``y`` (N,).

    Subclasses implement three methods: ``_losses(w)`` (shape ``(..., N)`` for ``w`` of
    shape ``(..., d)``), ``_example_grads(w, idx)`` (shape ``(len(idx), d)``) and ``_hess(w)``.
    """

    X: np.ndarray
    y: np.ndarray

    def _losses(self, w: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _example_grads(self, w: np.ndarray, idx: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _init_data(self, X, y, x0) -> None:
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        if X.ndim != 2:
            raise ValueError(f"X must have shape (N, d), got {X.shape}")
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
        if X.shape[0] < 1:
            raise ValueError("A finite sum needs at least one example")
        self.X, self.y = X, y
        self.n_examples, self.dim = X.shape
        self.x0 = np.zeros(self.dim) if x0 is None else as_point(x0, self.dim).copy()

    # ----------------------------------------------------------------- per-example API
    def losses(self, w) -> np.ndarray:
        """Per-example losses :math:`f_i(w)`, shape ``(N,)`` (``(..., N)`` for a stack)."""
        return self._losses(as_point(w, self.dim))

    def _indices(self, idx) -> np.ndarray:
        if idx is None:
            return np.arange(self.n_examples)
        idx = np.asarray(idx)
        if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"idx must be a non-empty 1-D integer array, got {idx!r}")
        if idx.min() < 0 or idx.max() >= self.n_examples:
            raise ValueError(f"idx out of range for {self.n_examples} examples")
        return idx

    def per_example_grads(self, w, idx=None) -> np.ndarray:
        r"""Stacked :math:`\nabla f_i(w)` for ``i`` in ``idx`` (all examples by default),
        shape ``(len(idx), d)``."""
        w = as_point(w, self.dim)
        if w.ndim != 1:
            raise ValueError(f"per_example_grads expects one point of shape ({self.dim},)")
        return self._example_grads(w, self._indices(idx))

    def minibatch_grad(self, w, idx) -> np.ndarray:
        r""":math:`\hat g_B(w)=\frac1m\sum_{i\in B}\nabla f_i(w)` for the indices ``idx``
        (repeats count as often as they occur), shape ``(d,)``."""
        return self.per_example_grads(w, idx).mean(axis=0)

    def _value(self, w):
        return self._losses(w).mean(axis=-1)

    def _grad(self, w):
        if w.ndim == 1:
            return self._example_grads(w, np.arange(self.n_examples)).mean(axis=0)
        flat = w.reshape(-1, self.dim)
        out = np.stack([self._grad(p) for p in flat])
        return out.reshape(w.shape)

    # ----------------------------------------------------------------- minibatches
    def minibatch_oracle(self, batch_size: int, rng: np.random.Generator,
                         sampling: str = "shuffle") -> Callable:
        r"""A gradient oracle ``grad(x, t)`` returning :math:`\hat g_B(x)` for a fresh ``B``.

        Parameters
        ----------
        batch_size : m, the minibatch size (``1 <= m <= N`` unless ``sampling="replacement"``).
        rng : the ``numpy.random.Generator`` that draws the minibatches.
        sampling :
            ``"shuffle"`` -- random reshuffling: every epoch is a fresh permutation of the
            N examples cut into consecutive minibatches, the last one smaller when m does
            not divide N (what ``torch.utils.data.DataLoader(shuffle=True)`` does);
            ``"subset"`` -- every call draws an independent uniformly random m-subset
            (sampling without replacement within the minibatch);
            ``"replacement"`` -- every call draws m indices i.i.d. uniform on {0, ..., N-1}.

        Every scheme gives :math:`\mathbb{E}[\hat g_B]=\nabla f` (for ``"shuffle"``, over the
        random permutation, when m divides N).  ``t`` is ignored: the oracle keeps its own
        position, so call it once per step, as :func:`course_lib.optim.descent.run` does.
        """
        N = self.n_examples
        if sampling not in SAMPLINGS:
            raise ValueError(f"Invalid sampling: {sampling!r} (expected one of {SAMPLINGS})")
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"Invalid batch_size: {batch_size}")
        if sampling != "replacement" and batch_size > N:
            raise ValueError(f"Invalid batch_size: {batch_size} > number of examples {N}")
        if not isinstance(rng, np.random.Generator):
            raise TypeError("rng must be a numpy.random.Generator")
        m = int(batch_size)

        if sampling == "subset":
            def oracle(x, t=0):
                return self.minibatch_grad(x, rng.choice(N, size=m, replace=False))
        elif sampling == "replacement":
            def oracle(x, t=0):
                return self.minibatch_grad(x, rng.integers(0, N, size=m))
        else:
            queue: list = []

            def oracle(x, t=0):
                if not queue:  # a new epoch: the one shuffle of the package
                    queue.extend(minibatches(N, m, rng))
                return self.minibatch_grad(x, queue.pop(0))
        return oracle

    def gradient_variance(self, w, batch_size: int, replace: bool = False) -> float:
        r"""Exact :math:`\mathbb{E}\lVert\hat g_B(w)-\nabla f(w)\rVert^2` for a uniformly
        random minibatch of size m:

        .. math:: \frac{\sigma^2}{m}\,\frac{N-m}{N-1} \quad\text{(without replacement)},
                  \qquad \frac{\sigma^2}{m} \quad\text{(with replacement)},

        where :math:`\sigma^2=\frac1N\sum_i\lVert\nabla f_i(w)-\nabla f(w)\rVert^2` is the
        population variance of the per-example gradients.
        """
        N = self.n_examples
        if batch_size < 1 or (not replace and batch_size > N):
            raise ValueError(f"Invalid batch_size: {batch_size}")
        G = self.per_example_grads(w)
        sigma2 = float(np.mean(np.sum((G - G.mean(axis=0)) ** 2, axis=1)))
        if replace:
            return sigma2 / batch_size
        if N == 1:
            return 0.0
        return sigma2 / batch_size * (N - batch_size) / (N - 1)


class LeastSquares(FiniteSum):
    r"""Linear least squares, :math:`f_i(w)=\tfrac12(x_i^\top w-y_i)^2`.

    .. math:: f(w)=\frac1{2N}\lVert Xw-y\rVert^2,\quad \nabla f_i(w)=(x_i^\top w-y_i)\,x_i,
              \quad \nabla^2 f = \frac1N X^\top X .

    Parameters
    ----------
    X : array (N, d), one example per row.
    y : array (N,), the targets.
    x0 : starting point (d,), default zeros.

    When :math:`X^\top X` is nonsingular the minimizer is the least-squares solution
    (``minimizers`` has one row); otherwise the minimizers form an affine subspace and
    ``minimizers`` holds its minimum-norm point.
    """

    name = "least-squares"

    def __init__(self, X, y, x0=None):
        self._init_data(X, y, x0)
        wstar = np.linalg.lstsq(self.X, self.y, rcond=None)[0]
        self.minimizers = wstar[None, :]
        self.minimum = float(self._value(wstar))
        if self.dim == 2:
            self.bounds = _window(wstar, self.x0)

    def residuals(self, w) -> np.ndarray:
        r""":math:`r_i = x_i^\top w - y_i`, shape ``(..., N)``."""
        return as_point(w, self.dim) @ self.X.T - self.y

    def _losses(self, w):
        return 0.5 * (w @ self.X.T - self.y) ** 2

    def _example_grads(self, w, idx):
        Xb = self.X[idx]
        return (Xb @ w - self.y[idx])[:, None] * Xb

    def _grad(self, w):
        return (w @ self.X.T - self.y) @ self.X / self.n_examples

    def _hess(self, w):
        return self.X.T @ self.X / self.n_examples

    @property
    def smoothness(self) -> float:
        r""":math:`L = \lambda_{\max}(X^\top X/N)`: the Hessian is constant, so this is exact."""
        return float(np.linalg.eigvalsh(self._hess(None))[-1])

    @property
    def strong_convexity(self) -> float:
        r""":math:`\alpha = \lambda_{\min}(X^\top X/N)` (0 when :math:`X` has dependent
        columns; clipped at 0 against rounding)."""
        return max(float(np.linalg.eigvalsh(self._hess(None))[0]), 0.0)


class LogisticRegression(FiniteSum):
    r"""Logistic regression: the negative log-likelihood of :math:`p(y=1\mid x)=\sigma(x^\top w)`,

    .. math:: f_i(w) = \log\bigl(1+e^{x_i^\top w}\bigr) - y_i\,x_i^\top w
              + \tfrac{\lambda}{2}\lVert w\rVert^2, \qquad y_i\in\{0,1\},

    .. math:: \nabla f_i(w) = \bigl(\sigma(x_i^\top w)-y_i\bigr)\,x_i + \lambda w, \qquad
              \nabla^2 f = \frac1N X^\top \operatorname{diag}\bigl(\sigma(1-\sigma)\bigr) X
              + \lambda I .

    The loss is evaluated as ``logaddexp(0, z) - y z`` so it is finite for any logit.

    Parameters
    ----------
    X : array (N, d); add a column of ones for an intercept.
    y : array (N,) of 0/1 labels.
    l2 : :math:`\lambda\ge0`, an L2 penalty included in every :math:`f_i`.
    x0 : starting point (d,), default zeros.

    ``minimizers`` is found by Newton's method. Without a penalty and with linearly
    separable data there is no minimizer (the loss decreases towards 0 as
    :math:`\lVert w\rVert\to\infty`); then ``minimizers`` is empty and ``minimum`` is 0.0,
    the infimum.
    """

    name = "logistic-regression"

    def __init__(self, X, y, l2: float = 0.0, x0=None):
        self._init_data(X, y, x0)
        if not np.all((self.y == 0) | (self.y == 1)):
            raise ValueError("LogisticRegression needs labels in {0, 1}")
        if l2 < 0:
            raise ValueError(f"Invalid l2 value: {l2}")
        self.l2 = float(l2)
        wstar = self._newton()
        if wstar is None:
            self.minimizers = np.empty((0, self.dim))
            self.minimum = 0.0
        else:
            self.minimizers = wstar[None, :]
            self.minimum = float(self._value(wstar))
        if self.dim == 2:
            centre = self.minimizers[0] if len(self.minimizers) else np.zeros(2)
            self.bounds = _window(centre, self.x0)

    @staticmethod
    def sigmoid(z):
        """The logistic function, written with tanh so it never overflows."""
        return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))

    def _newton(self, iterations: int = 100):
        """Damped Newton from 0; None when it does not converge (no minimizer).

        Convergence is judged by the Newton step, not the gradient: on separable data the
        gradient decays exponentially along the separating direction while the Newton
        step stays of order one, so a small gradient alone does not signal a minimizer."""
        w = np.zeros(self.dim)
        f = self._value(w)
        for _ in range(iterations):
            g = self._grad(w)
            try:
                step = np.linalg.solve(self._hess(w), g)
            except np.linalg.LinAlgError:
                return None
            if np.linalg.norm(step) <= 1e-12 * (1.0 + np.linalg.norm(w)):
                return w
            t = 1.0
            # the Armijo test allows for the rounding error of f itself: near the
            # minimizer the predicted decrease falls below it, and the full step
            # must still be accepted
            slack = 8 * np.finfo(float).eps * abs(f)
            while (self._value(w - t * step) > f - 1e-4 * t * (g @ step) + slack
                   and t > 1e-10):
                t *= 0.5
            w = w - t * step
            f = self._value(w)
            if np.linalg.norm(w) > 1e6:
                return None
        return None

    def logits(self, w) -> np.ndarray:
        r""":math:`z_i = x_i^\top w`, shape ``(..., N)``."""
        return as_point(w, self.dim) @ self.X.T

    def _losses(self, w):
        z = w @ self.X.T
        penalty = 0.5 * self.l2 * np.sum(w * w, axis=-1, keepdims=True)
        return np.logaddexp(0.0, z) - self.y * z + penalty

    def _example_grads(self, w, idx):
        Xb = self.X[idx]
        return (self.sigmoid(Xb @ w) - self.y[idx])[:, None] * Xb + self.l2 * w

    def _grad(self, w):
        if w.ndim != 1:
            return super()._grad(w)
        return (self.sigmoid(self.X @ w) - self.y) @ self.X / self.n_examples + self.l2 * w

    def _hess(self, w):
        s = self.sigmoid(self.X @ w)
        return (self.X.T * (s * (1 - s))) @ self.X / self.n_examples + self.l2 * np.eye(self.dim)

    @property
    def smoothness(self) -> float:
        r"""Global smoothness constant :math:`L = \lambda_{\max}(X^\top X)/(4N) + \lambda`.

        Since :math:`\sigma(1-\sigma)\le\frac14` with equality at logit 0, every Hessian is
        :math:`\preceq \frac1{4N}X^\top X + \lambda I`, and the bound is attained at
        :math:`w = 0`: it is the smallest valid :math:`L`."""
        top = np.linalg.eigvalsh(self.X.T @ self.X)[-1]
        return float(top / (4.0 * self.n_examples) + self.l2)

    @property
    def strong_convexity(self) -> float:
        r"""Global strong-convexity constant :math:`\alpha = \lambda` (the L2 penalty): far from
        the origin :math:`\sigma(1-\sigma)\to0`, so no larger constant holds everywhere."""
        return self.l2
