"""Small real datasets with seeded train / validation / test splits, and minibatches.

Everything here is offline: the digits are the 1,797 8x8 images that scikit-learn ships
(UCI optical recognition of handwritten digits), so no network access is ever needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

    ArrayOrTensor = np.ndarray | torch.Tensor

__all__ = ["Split", "load_digits_split", "minibatches", "one_hot"]


@dataclass
class Split:
    """Arrays of a train / validation / test split.

    ``X_*`` have shape (N, D) (float64); ``y_*`` have shape (N,) (int64 class labels). The
    same fields hold torch tensors in the split :meth:`as_tensors` returns (``ArrayOrTensor``:
    this module imports no torch, so the annotation names both without importing it).
    """

    X_train: ArrayOrTensor
    y_train: ArrayOrTensor
    X_val: ArrayOrTensor
    y_val: ArrayOrTensor
    X_test: ArrayOrTensor
    y_test: ArrayOrTensor
    n_classes: int

    def as_tensors(self, dtype=None):
        """The same split as torch tensors (features ``dtype``, default float32; labels int64)."""
        import torch

        dtype = torch.float32 if dtype is None else dtype
        out = {}
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray):
                kind = torch.long if name.startswith("y") else dtype
                out[name] = torch.as_tensor(value, dtype=kind)
            else:
                out[name] = value
        return Split(**out)


def load_digits_split(seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2,
                      standardize: bool = True) -> Split:
    """scikit-learn's digits (1,797 images of 64 pixels, 10 classes), split and scaled.

    Parameters
    ----------
    seed : seed of the random permutation; the same seed gives the same split.
    val_fraction, test_fraction : fractions of the data held out (each in (0, 1), sum < 1).
    standardize : centre and scale every pixel with the *training* mean and standard deviation
        (pixels constant in the training set are left at scale 1), so no test information leaks.
    """
    from sklearn.datasets import load_digits

    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < value < 1:
            raise ValueError(f"Invalid {name}: {value}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"Invalid split: val_fraction + test_fraction = "
                         f"{val_fraction + test_fraction} leaves no training data")
    digits = load_digits()
    X, y = digits.data.astype(np.float64), digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(X))
    n_test, n_val = round(test_fraction * len(X)), round(val_fraction * len(X))
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    if standardize:
        mean, std = X[train].mean(axis=0), X[train].std(axis=0)
        std[std == 0] = 1.0
        X = (X - mean) / std
    return Split(X[train], y[train], X[val], y[val], X[test], y[test], n_classes=10)


def minibatches(n: int, batch_size: int, rng: np.random.Generator,
                drop_last: bool = False) -> Iterator[np.ndarray]:
    """Yield index arrays of a random partition of ``range(n)`` into minibatches: one epoch.

    Sampling *without* replacement within an epoch (``rng.permutation(n)`` drawn at the
    first ``next``, cut into consecutive pieces of ``batch_size``, the last one smaller unless
    ``drop_last``), as a torch ``DataLoader(shuffle=True)`` does. This is the one shuffle of
    the package: :func:`course_lib.nn.fit` and the ``"shuffle"`` oracle of
    :class:`~course_lib.objectives.finite_sum.FiniteSum` draw their epochs with it.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batch_size must be an integer, got {type(batch_size).__name__}")
    if batch_size < 1:
        raise ValueError(f"Invalid batch_size: {batch_size} (expected a positive integer)")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    order = rng.permutation(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start:start + batch_size]


def one_hot(y, n_classes: int, dtype=np.float64) -> np.ndarray:
    """Rows of the identity: ``one_hot(y, C)[i, c] = 1`` if ``y[i] == c`` else 0.

    ``y`` : integer labels, shape (N,), in ``range(n_classes)``; returns shape (N, n_classes)
    (as ``torch.nn.functional.one_hot``, but floating point, ready for a squared-error loss).
    """
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"one_hot expects a 1-D integer label array, got shape {y.shape} "
                         f"and dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"Class values must be in [0, {n_classes}), got range "
                         f"[{y.min()}, {y.max()}]")
    out = np.zeros((y.size, n_classes), dtype=dtype)
    out[np.arange(y.size), y] = 1
    return out
