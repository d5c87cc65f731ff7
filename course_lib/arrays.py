"""The few array operations an update rule needs beyond arithmetic operators.

Update rules are written once and run on both NumPy arrays and torch tensors. Python's
operators (``+ - * / **`` and their in-place forms) already work on both; the functions
here cover the rest, dispatching on the array's type.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["clone", "sqrt", "maximum_", "zeros_like", "is_tensor"]


def is_tensor(x) -> bool:
    return isinstance(x, torch.Tensor)


def clone(x):
    """A copy of ``x`` with its own memory."""
    return x.clone() if is_tensor(x) else np.array(x, copy=True)


def zeros_like(x):
    """Zeros of ``x``'s shape and dtype (memory format preserved for tensors)."""
    return torch.zeros_like(x, memory_format=torch.preserve_format) if is_tensor(x) else np.zeros_like(x)


def sqrt(x):
    """Element-wise square root, returning a new array."""
    return x.sqrt() if is_tensor(x) else np.sqrt(x)


def maximum_(out, other):
    """In-place element-wise maximum: ``out <- max(out, other)``; returns ``out``."""
    if is_tensor(out):
        return torch.maximum(out, other, out=out)
    return np.maximum(out, other, out=out)
