r"""Numerically stable softmax, log-softmax and log-sum-exp.

The naive :math:`\operatorname{softmax}(z)_i = e^{z_i}/\sum_j e^{z_j}` overflows once some
:math:`z_j > 709` (float64) and underflows to 0/0 when every :math:`z_j < -745`. Subtracting
:math:`c = \max_j z_j` changes nothing mathematically,

.. math:: \frac{e^{z_i}}{\sum_j e^{z_j}} = \frac{e^{z_i - c}}{\sum_j e^{z_j - c}},

but makes the largest exponent :math:`e^0 = 1`: no overflow, and the denominator is at
least 1, so no division by zero.
"""

from __future__ import annotations

import numpy as np

__all__ = ["logsumexp", "log_softmax", "softmax", "naive_softmax"]


def logsumexp(z, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    r""":math:`\log\sum_j e^{z_j}` along ``axis``, computed as :math:`c + \log\sum_j e^{z_j-c}`."""
    z = np.asarray(z, dtype=float)
    c = np.max(z, axis=axis, keepdims=True)
    c = np.where(np.isfinite(c), c, 0.0)
    out = c + np.log(np.sum(np.exp(z - c), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def log_softmax(z, axis: int = -1) -> np.ndarray:
    """:math:`z_i - \\operatorname{logsumexp}(z)`; finite for any finite logits."""
    z = np.asarray(z, dtype=float)
    shifted = z - np.max(z, axis=axis, keepdims=True)  # exact: no rounding of large logits
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(z, axis: int = -1) -> np.ndarray:
    """Stable softmax along ``axis``."""
    z = np.asarray(z, dtype=float)
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def naive_softmax(z, axis: int = -1) -> np.ndarray:
    """The textbook formula without the shift -- kept only to show how it fails."""
    z = np.asarray(z, dtype=float)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(z)
        return e / np.sum(e, axis=axis, keepdims=True)
