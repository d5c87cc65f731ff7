"""The few array operations an update rule needs beyond arithmetic operators.

Update rules are written once and run on both NumPy arrays and torch tensors. Python's
operators (``+ - * / **`` and their in-place forms) already work on both; the functions
here cover the rest, dispatching on the array's type.

The fused in-place helpers ``add_`` and ``addcdiv_`` make one pass and allocate nothing on
tensors. NumPy has no fused equivalents, so there they work through the arrays in chunks with a
small temporary. Both paths round identically, so a rule gives the same bits on either; torch's
``addcmul_`` and ``lerp_`` (and ``add_`` with ``alpha``) use fused multiply-adds that NumPy
cannot reproduce, which is why they have no helper here.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["clone", "sqrt", "maximum_", "zeros_like", "is_tensor", "add_", "addcdiv_"]


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


_CHUNK = 1 << 15  # elements per NumPy temporary in the fused helpers


def _chunked(out, *operands):
    """Pairs of slices of flat views, ``_CHUNK`` long, when ``out`` and the operands are
    C-contiguous arrays of one shape; else a single pair covering the whole arrays."""
    if out.flags.c_contiguous and all(
            isinstance(a, np.ndarray) and a.shape == out.shape and a.flags.c_contiguous
            for a in operands):
        flat = [a.reshape(-1) for a in (out, *operands)]
        for start in range(0, out.size, _CHUNK):
            yield [a[start:start + _CHUNK] for a in flat]
    else:
        yield [out, *operands]


def add_(out, x, alpha=1.0):
    """In place ``out <- out + alpha * x`` in one pass; returns ``out``.

    Tensors: computed as ``out.addcdiv_(x, 1, value=alpha)``, not ``out.add_(x, alpha=alpha)``,
    because torch turns the latter into a fused multiply-add, which NumPy cannot reproduce bit
    for bit; no temporary. NumPy: ``alpha * x`` is formed in chunks of 32768 elements, so the
    temporary is at most 256 KiB in float64 (no temporary when ``alpha`` is 1 or -1).
    """
    if is_tensor(out):
        if isinstance(alpha, torch.Tensor):
            return out.add_(alpha * x)
        return out.addcdiv_(x, out.new_ones(()), value=alpha)
    if alpha == 1:
        out += x
    elif alpha == -1:
        out -= x
    else:
        for o, a in _chunked(out, x):
            o += alpha * a
    return out


def addcdiv_(out, x, y, value=1.0):
    """In place ``out <- out + value * x / y``, rounded as ``(value * x) / y``; returns ``out``.

    Tensors: torch's ``out.addcdiv_(x, y, value=value)``, one pass, no temporary. NumPy: the
    quotient is formed in chunks of 32768 elements, so the temporary is at most 256 KiB in
    float64. The two agree bit for bit.
    """
    if is_tensor(out):
        if isinstance(value, torch.Tensor):
            return out.addcdiv_(value * x, y)
        return out.addcdiv_(x, y, value=value)
    for o, a, b in _chunked(out, x, y):
        tmp = a / b if value == 1 else value * a
        if value != 1:
            tmp /= b
        o += tmp
    return out
