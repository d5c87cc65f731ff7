"""The few array operations an update rule needs beyond arithmetic operators.

Update rules are written once and run on three kinds of arrays:

* **torch tensors** -- the helpers call torch's in-place methods (``lerp_``, ``addcmul_``,
  ``addcdiv_``, ``add_(..., alpha=)``), so a rule written in ``torch.optim``'s order of
  operations gives ``torch.optim``'s bits;
* :class:`TensorList` -- a list of tensors treated as one array, each operation one
  ``torch._foreach_*`` call (the ``foreach=True`` path of the classes);
* **NumPy arrays** -- the same arithmetic, unfused: torch's CPU kernels round
  ``out + alpha * x`` or ``out + w * (end - out)`` once (a fused multiply-add), NumPy twice,
  so the two paths agree to rounding (about 1e-16 relative per operation in float64), not
  bit for bit. The NumPy helpers work through C-contiguous arrays in chunks of 32768
  elements, so their temporaries stay small (at most 256 KiB in float64).

Python's operators (``+ - * / **`` and ``+=``, ``*=``, ``/=``) work on all three.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["TensorList", "is_tensor", "clone", "zeros_like", "full_like", "sqrt", "sqrt_", "abs_",
           "maximum_", "div_sqrt_", "add", "add_", "lerp_", "addcmul", "addcmul_", "addcdiv_",
           "item",
           "real_view", "complex_view", "step_counter", "scalar_state", "scalar_like",
           "is_sparse"]


class TensorList:
    """A list of tensors that acts as one array: every operation is one ``torch._foreach_*``.

    Operators take a scalar, a 0-d tensor or another :class:`TensorList` of the same length.
    On the CPU each ``_foreach_*`` call applies the single-tensor kernel to every tensor, so
    a rule applied to a ``TensorList`` gives the bits of the rule applied tensor by tensor.
    """

    __slots__ = ("tensors",)

    def __init__(self, tensors):
        self.tensors = list(tensors)

    def __len__(self):
        return len(self.tensors)

    def __iter__(self):
        return iter(self.tensors)

    def __repr__(self):
        return f"TensorList({self.tensors!r})"

    def __neg__(self):
        return TensorList(torch._foreach_neg(self.tensors))

    def __abs__(self):
        return TensorList(torch._foreach_abs(self.tensors))

    def __add__(self, other):
        return TensorList(torch._foreach_add(self.tensors, _items(other)))

    __radd__ = __add__

    def __sub__(self, other):
        return TensorList(torch._foreach_sub(self.tensors, _items(other)))

    def __mul__(self, other):
        return TensorList(torch._foreach_mul(self.tensors, _items(other)))

    __rmul__ = __mul__

    def __truediv__(self, other):
        return TensorList(torch._foreach_div(self.tensors, _items(other)))

    def __iadd__(self, other):
        torch._foreach_add_(self.tensors, _items(other))
        return self

    def __isub__(self, other):
        torch._foreach_sub_(self.tensors, _items(other))
        return self

    def __imul__(self, other):
        torch._foreach_mul_(self.tensors, _items(other))
        return self

    def __itruediv__(self, other):
        torch._foreach_div_(self.tensors, _items(other))
        return self


def _items(x):
    return x.tensors if isinstance(x, TensorList) else x


def is_tensor(x) -> bool:
    """True for a torch tensor or a :class:`TensorList`."""
    return isinstance(x, (torch.Tensor, TensorList))


def is_sparse(x) -> bool:
    """True for a sparse torch tensor."""
    return isinstance(x, torch.Tensor) and x.is_sparse


def clone(x):
    """A copy of ``x`` with its own memory (``detach().clone()`` for tensors)."""
    if isinstance(x, TensorList):
        return TensorList(t.detach().clone() for t in x.tensors)
    return x.detach().clone() if isinstance(x, torch.Tensor) else np.array(x, copy=True)


def zeros_like(x):
    """Zeros of ``x``'s shape and dtype (memory format preserved for tensors)."""
    return full_like(x, 0)


def full_like(x, value):
    """An array of ``x``'s shape and dtype filled with ``value`` (for a complex ``x``,
    ``value + value*1j``, as ``torch.optim.Adagrad`` fills its accumulator)."""
    if isinstance(x, TensorList):
        return TensorList(full_like(t, value) for t in x.tensors)
    if isinstance(x, torch.Tensor):
        fill = complex(value, value) if x.is_complex() and value != 0 else value
        return torch.full_like(x, fill, memory_format=torch.preserve_format)
    fill = complex(value, value) if np.iscomplexobj(x) and value != 0 else value
    return np.full_like(x, fill)


def sqrt(x):
    """Element-wise square root, returning a new array."""
    if isinstance(x, TensorList):
        return TensorList(torch._foreach_sqrt(x.tensors))
    return x.sqrt() if isinstance(x, torch.Tensor) else np.sqrt(x)


def sqrt_(x):
    """In-place element-wise square root; returns ``x``."""
    if isinstance(x, TensorList):
        torch._foreach_sqrt_(x.tensors)
        return x
    return x.sqrt_() if isinstance(x, torch.Tensor) else np.sqrt(x, out=x)


def abs_(x):
    """In-place element-wise absolute value; returns ``x``."""
    if isinstance(x, TensorList):
        torch._foreach_abs_(x.tensors)
        return x
    return x.abs_() if isinstance(x, torch.Tensor) else np.abs(x, out=x)


def maximum_(out, other):
    """In-place element-wise maximum: ``out <- max(out, other)``; returns ``out``."""
    if isinstance(out, torch.Tensor):
        return torch.maximum(out, other, out=out)
    if isinstance(out, TensorList):
        torch._foreach_maximum_(out.tensors, other.tensors)
        return out
    return np.maximum(out, other, out=out)


_CHUNK = 1 << 15  # elements per NumPy temporary in the helpers below


def _chunked(out, *operands):
    """Pairs of slices of flat views, ``_CHUNK`` long, when ``out`` is larger than one chunk
    and it and the operands are C-contiguous arrays of one shape; else a single pair covering
    the whole arrays (element-wise operations give the same numbers either way)."""
    if out.size <= _CHUNK:
        yield [out, *operands]
    elif out.flags.c_contiguous and all(
            isinstance(a, np.ndarray) and a.shape == out.shape and a.flags.c_contiguous
            for a in operands):
        flat = [a.reshape(-1) for a in (out, *operands)]
        for start in range(0, out.size, _CHUNK):
            yield [a[start:start + _CHUNK] for a in flat]
    else:
        yield [out, *operands]


def add_(out, x, alpha=1):
    """In place ``out <- out + alpha * x`` (torch's ``out.add_(x, alpha=alpha)``); returns
    ``out``. NumPy: ``alpha * x`` is formed in chunks (no temporary when ``alpha`` is 1)."""
    if isinstance(out, torch.Tensor):
        return out.add_(x, alpha=alpha)
    if isinstance(out, TensorList):
        torch._foreach_add_(out.tensors, x.tensors, alpha=alpha)
        return out
    if alpha == 1:
        out += x
    elif alpha == -1:
        out -= x
    else:
        for o, a in _chunked(out, x):
            o += alpha * a
    return out


def add(x, y, alpha=1):
    """A new array ``x + alpha * y`` (torch's ``x.add(y, alpha=alpha)``)."""
    if isinstance(x, torch.Tensor):
        return x.add(y, alpha=alpha)
    if isinstance(x, TensorList):
        return TensorList(torch._foreach_add(x.tensors, y.tensors, alpha=alpha))
    out = y * alpha
    out += x
    return out


def lerp_(out, end, weight):
    """In place ``out <- out + weight * (end - out)`` (torch's ``out.lerp_(end, weight)``, the
    exponential moving average ``(1 - weight) out + weight end``); returns ``out``.

    NumPy uses torch's two formulas: ``out + w (end - out)`` for ``|w| < 1/2`` and
    ``end - (end - out)(1 - w)`` otherwise, each rounded twice where torch fuses them.
    """
    if isinstance(out, torch.Tensor):
        return out.lerp_(end, weight)
    if isinstance(out, TensorList):
        torch._foreach_lerp_(out.tensors, end.tensors, weight)
        return out
    for o, e in _chunked(out, end):
        d = e - o
        if abs(weight) < 0.5:
            d *= weight
            o += d
        else:
            d *= 1 - weight
            np.subtract(e, d, out=o)
    return out


def addcmul_(out, x, y, value=1):
    """In place ``out <- out + value * x * y`` (torch's ``out.addcmul_(x, y, value=value)``);
    returns ``out``."""
    if isinstance(out, torch.Tensor):
        return out.addcmul_(x, y, value=value)
    if isinstance(out, TensorList):
        torch._foreach_addcmul_(out.tensors, x.tensors, y.tensors, value=value)
        return out
    for o, a, b in _chunked(out, x, y):
        tmp = value * a
        tmp *= b
        o += tmp
    return out


def addcmul(z, x, y, value=1):
    """A new array ``z + value * x * y`` (torch's ``z.addcmul(x, y, value=value)``)."""
    if isinstance(z, torch.Tensor):
        return z.addcmul(x, y, value=value)
    if isinstance(z, TensorList):
        return TensorList(torch._foreach_addcmul(z.tensors, x.tensors, y.tensors,
                                                 value=value))
    out = value * x
    out *= y
    out += z
    return out


def addcdiv_(out, x, y, value=1):
    """In place ``out <- out + (value * x) / y`` (torch's ``out.addcdiv_(x, y, value=value)``);
    returns ``out``."""
    if isinstance(out, torch.Tensor):
        return out.addcdiv_(x, y, value=value)
    if isinstance(out, TensorList):
        torch._foreach_addcdiv_(out.tensors, x.tensors, y.tensors, value=value)
        return out
    for o, a, b in _chunked(out, x, y):
        tmp = value * a
        tmp /= b
        o += tmp
    return out


def div_sqrt_(out, x, eps):
    """In place ``out <- out / sqrt(x + eps)``, as torch's ``out.div_(x.add(eps).sqrt_())``;
    returns ``out``. NumPy: the root is formed in chunks, so no parameter-sized temporary."""
    if isinstance(out, (torch.Tensor, TensorList)):
        out /= sqrt_(x + eps)
        return out
    for o, a in _chunked(out, x):
        tmp = a + eps
        o /= np.sqrt(tmp, out=tmp)
    return out


def item(x):
    """The Python number held by a 0-d tensor (or NumPy scalar); the first tensor's for a
    :class:`TensorList` (the classes group tensors whose scalar state agrees)."""
    if isinstance(x, TensorList):
        x = x.tensors[0]
    return x.item() if hasattr(x, "item") else x


def real_view(x):
    """``x`` itself, or for a complex ``x`` a real view with the real and imaginary parts
    side by side (``torch.view_as_real``; NumPy: ``x.view(float)``). Update rules apply
    element-wise operations to it, so that ``g * g`` is :math:`\\mathrm{Re}(g)^2`,
    :math:`\\mathrm{Im}(g)^2` -- as ``torch.optim`` does -- rather than the complex square."""
    if isinstance(x, torch.Tensor):
        return torch.view_as_real(x) if x.is_complex() else x
    if isinstance(x, TensorList):
        return TensorList(real_view(t) for t in x.tensors)
    if isinstance(x, np.ndarray) and np.iscomplexobj(x):
        return x.view(x.real.dtype)
    return x


def complex_view(x, like):
    """Undo :func:`real_view`: ``x`` seen with the dtype of ``like`` when ``like`` is
    complex, else ``x`` itself."""
    if isinstance(x, torch.Tensor):
        return torch.view_as_complex(x) if like.is_complex() else x
    if isinstance(x, TensorList):
        return TensorList(complex_view(t, s) for t, s in zip(x.tensors, like.tensors))
    if isinstance(like, np.ndarray) and np.iscomplexobj(like):
        return x.view(like.dtype)
    return x


def _scalar_dtype():
    """torch.optim's dtype for scalar state: float64 if it is torch's default, else float32."""
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


def scalar_state(value, like):
    """A scalar state entry as ``torch.optim`` keeps it: a 0-d tensor of torch's scalar dtype
    (float32 unless torch's default dtype is float64) for tensor parameters; for NumPy
    parameters a NumPy scalar of the same dtype, so it rounds as torch's does."""
    if isinstance(like, torch.Tensor):
        return torch.tensor(value, dtype=_scalar_dtype())
    if isinstance(like, TensorList):
        return TensorList(scalar_state(value, t) for t in like.tensors)
    return np.dtype(str(_scalar_dtype()).split(".")[1]).type(value)


def step_counter(like):
    """The step count before the first step: ``torch.optim``'s 0-d float tensor for tensor
    parameters, the integer 0 for NumPy arrays (an exact count either way)."""
    if isinstance(like, np.ndarray):
        return 0
    return scalar_state(0.0, like)


def scalar_like(x, array):
    """A tensor hyperparameter converted to the (real) dtype of ``array``, as torch does
    before using a tensor ``beta1`` as a ``lerp_`` weight; anything else unchanged."""
    if isinstance(x, torch.Tensor):
        target = array.tensors[0] if isinstance(array, TensorList) else array
        return x.to(device=target.device, dtype=target.dtype)
    return x
