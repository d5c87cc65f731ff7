r"""Losses with mean reduction (torch's default): mean squared error and softmax cross-entropy.

A loss is a :class:`~course_lib.nn.Module` whose ``forward(pred, target)`` returns the
scalar loss (a float) and whose ``backward(dout=1.0)`` returns
:math:`\text{dout}\cdot\partial L/\partial\,\text{pred}`, an array shaped like ``pred``.
The functional forms return ``(loss, dpred)`` in one call (CS231n style).

Cross-entropy is computed from log-probabilities by the log-sum-exp shift,

.. math:: \log\operatorname{softmax}(z)_c = (z_c - \max z) - \log\sum_k e^{z_k-\max z}

(:func:`course_lib.numerics.log_softmax`), so no exponent exceeds 0: logits of magnitude
:math:`10^4` give a finite, exact loss, where the naive
:math:`\log(e^{z_y}/\sum e^{z_k})` overflows to ``inf``/``nan``.
"""

from __future__ import annotations

import numpy as np

from ..numerics import log_softmax
from .module import Module

__all__ = ["softmax_cross_entropy", "mse_loss", "CrossEntropyLoss", "MSELoss"]


def _check_labels(logits, y) -> tuple[np.ndarray, np.ndarray]:
    logits = np.asarray(logits)
    if logits.ndim != 2:
        raise ValueError(f"cross-entropy expects logits of shape (N, C), got shape {logits.shape}")
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise ValueError(f"cross-entropy expects integer class labels, got dtype {y.dtype}")
    N, C = logits.shape
    if y.shape != (N,):
        raise ValueError(f"cross-entropy expects labels of shape ({N},), got shape {y.shape}")
    if N and (y.min() < 0 or y.max() >= C):
        bad = y[(y < 0) | (y >= C)][0]
        raise ValueError(f"Target {bad} is out of bounds for {C} classes")
    return logits, y


def softmax_cross_entropy(logits, y):
    r"""Mean cross-entropy of integer labels ``y`` (N,) under ``softmax(logits)``, logits
    (N, C); returns ``(loss, dlogits)`` with

    .. math:: L = -\frac1N\sum_i \log\operatorname{softmax}(z_i)_{y_i},\qquad
       \frac{\partial L}{\partial z_i} = \frac1N\big(\operatorname{softmax}(z_i) - e_{y_i}\big).

    Same value as ``torch.nn.functional.cross_entropy(logits, y)``.
    """
    logits, y = _check_labels(logits, y)
    N = logits.shape[0]
    logp = log_softmax(logits, axis=1)
    rows = np.arange(N)
    loss = -float(np.mean(logp[rows, y]))
    d = np.exp(logp)
    d[rows, y] -= 1
    d /= N
    if logits.dtype.kind == "f":
        d = d.astype(logits.dtype, copy=False)  # numerics computes in float64
    return loss, d


def _check_pair(pred, target):
    pred, target = np.asarray(pred), np.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"MSE expects pred and target of the same shape, got {pred.shape} "
                         f"and {target.shape}")
    return pred, target


def mse_loss(pred, target):
    r"""Mean squared error over all entries, :math:`L=\frac1n\sum (p-t)^2` (torch's
    ``mse_loss``, no factor 1/2); returns ``(loss, dpred)`` with
    :math:`\partial L/\partial p = 2(p-t)/n`. Shapes must match (torch broadcasts with a
    warning; here a mismatch is an error)."""
    pred, target = _check_pair(pred, target)
    r = pred - target
    return float(np.mean(r * r)), (2.0 / r.size) * r


class CrossEntropyLoss(Module):
    """Softmax cross-entropy with integer labels and mean reduction, as
    ``torch.nn.CrossEntropyLoss()``. ``forward(logits, y) -> float``;
    ``backward(dout=1.0) -> dlogits``; see :func:`softmax_cross_entropy`."""

    def forward(self, logits, y):
        self.loss, self._d = softmax_cross_entropy(logits, y)
        return self.loss

    def backward(self, dout=1.0):
        return self._d * dout


class MSELoss(Module):
    """Mean squared error, as ``torch.nn.MSELoss()``; ``forward(pred, target) -> float``,
    ``backward(dout=1.0) -> dpred``; see :func:`mse_loss`."""

    def forward(self, pred, target):
        self.loss, self._d = mse_loss(pred, target)
        return self.loss

    def backward(self, dout=1.0):
        return self._d * dout
