r"""Regularizers that are a step of their own, not a term of the gradient (chapter 7).

All functions work in place on NumPy arrays (the parameters of :mod:`course_lib.nn`) and
are meant to be called right after the optimizer step, as the projection or proximal part
of a *projected* / *proximal* gradient method:

* :func:`l1_prox_` -- the proximal step of the L1 penalty :math:`\lambda\lVert\theta\rVert_1`
  (soft-thresholding by :math:`\eta\lambda`), which sets small weights *exactly* to zero;
* :func:`max_norm_` -- the Euclidean projection of every unit's incoming weight vector onto
  the ball :math:`\lVert w\rVert_2\le c` (the max-norm constraint of Srivastava et al. 2014);
* :class:`GaussianNoise` -- a layer that adds :math:`\mathcal N(0,\sigma^2)` noise in training
  mode (noise injection; for a linear model with squared error it is an L2 penalty in
  expectation, Bishop 1995);
* :func:`ensemble_probabilities` -- the arithmetic mean of the members' softmax outputs
  (the prediction of an ensemble, GBC §7.11).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..numerics import log_softmax
from .module import Module

__all__ = ["GaussianNoise", "ensemble_probabilities", "l1_prox_", "max_norm_"]


def _check_nonneg(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not value >= 0 or not np.isfinite(value):
        raise ValueError(f"Invalid {name}: {value!r} (expected a finite number >= 0)")
    return float(value)


def l1_prox_(params: Iterable[np.ndarray], threshold: float) -> None:
    r"""Soft-threshold every entry in place: :math:`\theta \leftarrow
    \operatorname{sign}(\theta)\max(\lvert\theta\rvert - \tau, 0)`, :math:`\tau` = ``threshold``.

    This is the proximal operator of :math:`\tau\lVert\theta\rVert_1`,

    .. math:: \operatorname{prox}_{\tau\lVert\cdot\rVert_1}(u)
       = \operatorname*{arg\,min}_\theta \tfrac12\lVert\theta-u\rVert^2 + \tau\lVert\theta\rVert_1 ,

    so a gradient step on the loss followed by ``l1_prox_(params, lr * lam)`` is one step of
    proximal gradient descent (ISTA) on :math:`f(\theta) + \lambda\lVert\theta\rVert_1`. It is
    the same formula as :func:`course_lib.second_order.coordinate.soft_threshold`. Every entry with
    :math:`\lvert\theta\rvert\le\tau` becomes exactly 0, which a subgradient step
    :math:`\theta \leftarrow \theta - \eta\lambda\operatorname{sign}(\theta)` never achieves.

    ``params``: arrays (any shapes, floating point), modified in place.
    """
    tau = _check_nonneg(threshold, "threshold")
    for p in params:
        if not isinstance(p, np.ndarray):
            raise TypeError(f"l1_prox_ expects NumPy arrays, got {type(p).__name__}")
        np.copysign(np.maximum(np.abs(p) - tau, 0.0), p, out=p)
        p[p == 0] = 0.0                                   # no negative zeros


def max_norm_(W: np.ndarray, max_norm: float, axis: int = 0) -> np.ndarray:
    r"""Project in place every slice of ``W`` along ``axis`` onto the L2 ball of radius
    ``max_norm`` :math:`c`, and return the norms before the projection.

    For a :class:`course_lib.nn.Linear` weight ``W`` of shape (in, out), ``axis=0`` takes the
    norm of each column :math:`w_j = W[:, j]`, the incoming weights of output unit :math:`j`:

    .. math:: w_j \leftarrow w_j\,\min\!\Big(1, \frac{c}{\lVert w_j\rVert_2}\Big).

    This is the Euclidean projection onto :math:`\{W: \lVert w_j\rVert_2\le c\ \forall j\}`
    (Srivastava et al. 2014 use it with dropout). torch's equivalent for
    ``nn.Linear.weight`` (out, in) is ``torch.renorm(weight, 2, 0, c)``, which divides by
    :math:`\lVert w_j\rVert + 10^{-7}`.
    """
    if not isinstance(W, np.ndarray):
        raise TypeError(f"max_norm_ expects a NumPy array, got {type(W).__name__}")
    c = _check_nonneg(max_norm, "max_norm")
    norms = np.sqrt(np.sum(W * W, axis=axis, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(norms > c, c / norms, 1.0)
    W *= scale
    return np.squeeze(norms, axis=axis)


class GaussianNoise(Module):
    r"""Additive Gaussian noise: :math:`y = x + \sigma\epsilon`,
    :math:`\epsilon\sim\mathcal N(0, I)` fresh for every call in training mode; the identity
    in evaluation mode.

    Any shape. ``backward(dout)`` returns ``dout`` (the noise does not depend on ``x``).
    ``rng``: a :class:`numpy.random.Generator` or an int seed. For a linear model
    :math:`\hat y = xw` with squared error, averaging the loss over the noise gives
    :math:`\mathbb E\,(y - (x+\sigma\epsilon)w)^2 = (y - xw)^2 + \sigma^2\lVert w\rVert^2`:
    input noise acts as an L2 penalty in expectation (Bishop 1995).
    """

    def __init__(self, sigma: float, rng=None):
        super().__init__()
        self.sigma = _check_nonneg(sigma, "sigma")
        self.rng = np.random.default_rng(rng)

    def forward(self, x):
        x = np.asarray(x)
        if not self.training or self.sigma == 0.0:
            return x
        return x + self.sigma * self.rng.standard_normal(x.shape)

    def backward(self, dout):
        return dout

    def __repr__(self) -> str:
        return f"GaussianNoise(sigma={self.sigma})"


def ensemble_probabilities(logits: Iterable[np.ndarray]) -> np.ndarray:
    r"""The ensemble's predicted class probabilities: the arithmetic mean over the members
    :math:`k = 1..K` of :math:`\operatorname{softmax}(z^{(k)})`.

    ``logits``: K arrays of shape (N, C) (one per member, same examples); returns (N, C).
    Because :math:`-\log` is convex, the ensemble's cross-entropy is never larger than the
    members' average cross-entropy (Jensen's inequality).
    """
    logits = [np.asarray(z, dtype=float) for z in logits]
    if not logits:
        raise ValueError("ensemble_probabilities needs at least one member")
    shape = logits[0].shape
    if len(shape) != 2 or any(z.shape != shape for z in logits):
        raise ValueError(f"ensemble_probabilities expects arrays of one shape (N, C), got "
                         f"{[z.shape for z in logits]}")
    return np.mean([np.exp(log_softmax(z, axis=1)) for z in logits], axis=0)
