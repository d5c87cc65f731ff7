r"""Losses with mean reduction (torch's default): mean squared error and softmax cross-entropy
(optionally with label smoothing).

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

__all__ = ["CrossEntropyLoss", "MSELoss", "mse_loss", "softmax_cross_entropy"]


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


def _check_smoothing(label_smoothing) -> float:
    numbers = (int, float, np.floating, np.integer)
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers):
        raise TypeError(f"label_smoothing must be a float, got {type(label_smoothing).__name__}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    return float(label_smoothing)


def softmax_cross_entropy(logits, y, label_smoothing: float = 0.0):
    r"""Mean cross-entropy of integer labels ``y`` (N,) under ``softmax(logits)``, logits
    (N, C); returns ``(loss, dlogits)``.

    With ``label_smoothing`` :math:`\varepsilon\in[0, 1]` the target of example :math:`i` is
    the mixture :math:`q_i = (1-\varepsilon)\,e_{y_i} + \varepsilon\,\mathbf 1/C` of its one-hot
    label and the uniform distribution (Szegedy et al. 2016; torch's convention), and

    .. math:: L = -\frac1N\sum_i \sum_c q_{ic}\log\operatorname{softmax}(z_i)_c,\qquad
       \frac{\partial L}{\partial z_i} = \frac1N\big(\operatorname{softmax}(z_i) - q_i\big).

    :math:`\varepsilon = 0` is the usual cross-entropy. Same value as
    ``torch.nn.functional.cross_entropy(logits, y, label_smoothing=eps)``.
    """
    logits, y = _check_labels(logits, y)
    eps = _check_smoothing(label_smoothing)
    N, C = logits.shape
    logp = log_softmax(logits, axis=1)
    rows = np.arange(N)
    if eps == 0.0:
        loss = -float(np.mean(logp[rows, y]))
    else:
        loss = -float(np.mean((1.0 - eps) * logp[rows, y] + eps * logp.mean(axis=1)))
    d = np.exp(logp)
    if eps != 0.0:
        d -= eps / C
    d[rows, y] -= 1.0 - eps
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
    ``torch.nn.CrossEntropyLoss(label_smoothing=eps)``. ``forward(logits, y) -> float``;
    ``backward(dout=1.0) -> dlogits``; see :func:`softmax_cross_entropy`."""

    def __init__(self, label_smoothing: float = 0.0):
        super().__init__()
        self.label_smoothing = _check_smoothing(label_smoothing)

    def forward(self, logits, y):
        self.loss, self._d = softmax_cross_entropy(logits, y, self.label_smoothing)
        return self.loss

    def __repr__(self) -> str:
        return f"CrossEntropyLoss(label_smoothing={self.label_smoothing})"

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
