r"""Affine layer, element-wise nonlinearities and dropout, with forward and backward.

Shapes: inputs are batches ``x`` of shape ``(N, D)`` (``N`` examples in rows); the
element-wise layers accept any shape. Arrays keep the dtype they are given; the course
uses float64 throughout (the parameter default).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import expit

from . import init as _init
from .module import Module

__all__ = ["Dropout", "Linear", "ReLU", "Residual", "Sigmoid", "Tanh", "WeightNormLinear"]


def _as_batch(x, features: int, layer: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != features:
        raise ValueError(f"{layer} expects input of shape (N, {features}), got shape {x.shape}")
    return x


class Linear(Module):
    r"""Affine map :math:`y = xW + b`.

    Parameters
    ----------
    in_features, out_features : sizes :math:`m` and :math:`n`.
    rng : :class:`numpy.random.Generator` or int seed for the initializer (``None``: fresh
        OS entropy -- pass one for reproducible runs).
    init : ``init(fan_in, fan_out, rng) -> array (fan_in, fan_out)``, any function of
        :mod:`course_lib.nn.init`; default :func:`course_lib.nn.init.uniform_fan_in`,
        :math:`U(\pm1/\sqrt m)`, which is also torch's default for ``nn.Linear``.
    bias : whether to add :math:`b`. It starts at 0 (torch draws it from
        :math:`U(\pm1/\sqrt m)`; zero is the usual choice, GBC §8.4).
    dtype : of ``W`` and ``b``.

    Attributes
    ----------
    W : array (in_features, out_features) -- **input-major**, ``W[i, j]`` connects input
        ``i`` to output ``j``. ``torch.nn.Linear.weight`` is ``W.T``, shape (out, in);
        :meth:`from_torch` and :meth:`to_torch` do the transposition.
    b : array (out_features,).
    dW, db : their gradients, set by :meth:`backward`.

    Backward, for a batch :math:`x` (N, m) and upstream :math:`\delta = \partial L/\partial y`
    (N, n): :math:`\partial L/\partial W = x^\top\delta`, :math:`\partial L/\partial b =
    \sum_i \delta_i`, :math:`\partial L/\partial x = \delta W^\top`.
    """

    def __init__(self, in_features: int, out_features: int, rng=None, *,
                 init: Callable | None = None, bias: bool = True, dtype=np.float64):
        super().__init__()
        rng = np.random.default_rng(rng)
        init = _init.uniform_fan_in if init is None else init
        W = np.asarray(init(in_features, out_features, rng), dtype=dtype)
        if W.shape != (in_features, out_features):
            raise ValueError(f"init returned shape {W.shape}, expected "
                             f"({in_features}, {out_features})")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.W = np.ascontiguousarray(W)
        self.dW = np.zeros_like(self.W)
        self._params = ("W", "b") if bias else ("W",)
        self.b = np.zeros(out_features, dtype=dtype) if bias else None
        self.db = np.zeros_like(self.b) if bias else None
        self._x = None

    def forward(self, x):
        x = _as_batch(x, self.in_features, "Linear")
        self._x = x
        out = x @ self.W
        if self.b is not None:
            out += self.b
        return out

    def backward(self, dout):
        if self._x is None:
            raise ValueError("Linear.backward called before forward")
        self.dW[...] = self._x.T @ dout
        if self.b is not None:
            self.db[...] = dout.sum(axis=0)
        return dout @ self.W.T

    @classmethod
    def from_torch(cls, module) -> Linear:
        """A copy of a ``torch.nn.Linear`` (``W = weight.T``), in the module's dtype."""
        layer = cls.__new__(cls)
        Module.__init__(layer)
        layer.in_features, layer.out_features = module.in_features, module.out_features
        layer.W = np.ascontiguousarray(module.weight.detach().cpu().numpy().T)
        layer.dW = np.zeros_like(layer.W)
        has_bias = module.bias is not None
        layer._params = ("W", "b") if has_bias else ("W",)
        layer.b = module.bias.detach().cpu().numpy().copy() if has_bias else None
        layer.db = np.zeros_like(layer.b) if has_bias else None
        layer._x = None
        return layer

    def to_torch(self, dtype=None):
        """A ``torch.nn.Linear`` with ``weight = W.T`` and ``bias = b`` (dtype of ``W`` unless
        ``dtype`` is given)."""
        import torch

        t = torch.from_numpy(self.W.T.copy())
        dtype = t.dtype if dtype is None else dtype
        module = torch.nn.Linear(self.in_features, self.out_features, bias=self.b is not None,
                                 dtype=dtype)
        with torch.no_grad():
            module.weight.copy_(t)
            if self.b is not None:
                module.bias.copy_(torch.from_numpy(self.b))
        return module

    def __repr__(self) -> str:
        return (f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.b is not None})")


class ReLU(Module):
    r""":math:`\max(x, 0)`; backward passes :math:`\delta` where :math:`x>0` (subgradient 0 at 0,
    as torch)."""

    def forward(self, x):
        x = np.asarray(x)
        self._mask = x > 0
        return x * self._mask

    def backward(self, dout):
        return dout * self._mask

    def to_torch(self, dtype=None):
        import torch

        return torch.nn.ReLU()


class Tanh(Module):
    r""":math:`\tanh x`; backward :math:`\delta\,(1-y^2)` with the cached output :math:`y`."""

    def forward(self, x):
        self._y = np.tanh(x)
        return self._y

    def backward(self, dout):
        return dout * (1 - self._y**2)

    def to_torch(self, dtype=None):
        import torch

        return torch.nn.Tanh()


class Sigmoid(Module):
    r""":math:`\sigma(x)=1/(1+e^{-x})` (``scipy.special.expit``: no overflow, full relative
    precision for large negative :math:`x`); backward :math:`\delta\,y(1-y)`."""

    def forward(self, x):
        self._y = expit(x)
        return self._y

    def backward(self, dout):
        return dout * self._y * (1 - self._y)

    def to_torch(self, dtype=None):
        import torch

        return torch.nn.Sigmoid()


class Dropout(Module):
    r"""Dropout with ``p`` the probability of *dropping* a unit (torch's convention).

    Older sources (Srivastava et al. 2014, GBC §7.12, Hinton's slides) use the *keep*
    probability :math:`\alpha = 1-p` (written :math:`p` or :math:`\alpha` there): "p = 0.8" in
    those sources is ``p=0.2`` here.

    In training each entry is kept independently with probability :math:`1-p`, with the mask
    :math:`m_{ij}\sim\text{Bernoulli}(1-p)` drawn from ``rng``:

    * ``mode="inverted"`` (default, torch's ``nn.Dropout``): :math:`y = m\odot x/(1-p)` in
      training and :math:`y = x` in evaluation. :math:`\mathbb E[y] = x` in training.
    * ``mode="classic"`` (Srivastava et al.): :math:`y = m\odot x` in training and
      :math:`y = (1-p)\,x` in evaluation -- the test-time weight scaling
      :math:`W_\text{test} = \alpha W_\text{train}` applied to the outputs.

    Both give the same expected output for a *linear* unit; through a nonlinearity the
    scaled network only approximates the average over masks (GBC §7.12).
    ``p = 1`` drops everything (output 0 in training, as torch).
    ``mask`` holds the last training mask times its scale (:math:`m/(1-p)` or :math:`m`);
    backward multiplies ``dout`` by it (by the evaluation scale in eval mode).
    """

    def __init__(self, p: float = 0.5, mode: str = "inverted", rng=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        if mode not in ("inverted", "classic"):
            raise ValueError(f"Dropout mode must be 'inverted' or 'classic', got {mode!r}")
        self.p, self.mode = float(p), mode
        self.rng = np.random.default_rng(rng)
        self.mask = None

    def _scale(self) -> float:
        if self.training:
            if self.mode == "classic":
                return 1.0
            return 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)
        return 1.0 if self.mode == "inverted" else 1.0 - self.p

    def forward(self, x):
        x = np.asarray(x)
        if self.training:
            dtype = x.dtype if x.dtype.kind == "f" else np.float64
            self.mask = (self.rng.random(x.shape) >= self.p).astype(dtype)
            self.mask *= self._scale()
            return x * self.mask
        self.mask = None
        return x * self._scale() if self.mode == "classic" else x

    def backward(self, dout):
        if self.training:
            return dout * self.mask
        return dout * self._scale() if self.mode == "classic" else dout

    def to_torch(self, dtype=None):
        import torch

        if self.mode != "inverted":
            raise ValueError("torch.nn.Dropout is inverted dropout; classic mode has no "
                             "torch equivalent")
        return torch.nn.Dropout(self.p)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p}, mode={self.mode!r})"


class WeightNormLinear(Module):
    r"""Affine map with weight normalization (Salimans & Kingma 2016): :math:`y = xW + b` with
    the weights of unit :math:`j` (column :math:`j` of :math:`W`) written as

    .. math:: w_j = g_j\,\frac{v_j}{\lVert v_j\rVert},

    so that the length :math:`g_j` and the direction :math:`v_j/\lVert v_j\rVert` are separate
    parameters. This is ``torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(m, n))``
    (``dim=0``: one norm per output unit, i.e. per row of torch's ``(n, m)`` weight), whose
    ``original0`` is ``g`` (shape ``(n, 1)``) and ``original1`` is ``v.T``.

    Parameters ``v`` (in_features, out_features), ``g`` (out_features,), ``b``
    (out_features,), with gradients ``dv``, ``dg``, ``db``. At construction ``v`` is drawn by
    ``init`` (as :class:`Linear`) and ``g`` is set to :math:`\lVert v_j\rVert`, so the layer
    starts with :math:`W = v`, as torch does.

    Backward, with :math:`\nabla_{w_j}L` the gradient a plain layer would give
    (:math:`x^\top\delta`, column :math:`j`) and :math:`\hat v_j = v_j/\lVert v_j\rVert`:

    .. math:: \frac{\partial L}{\partial g_j} = \hat v_j^\top\nabla_{w_j}L,\qquad
        \frac{\partial L}{\partial v_j} = \frac{g_j}{\lVert v_j\rVert}
        \big(I - \hat v_j\hat v_j^\top\big)\nabla_{w_j}L .

    The gradient in :math:`v` is orthogonal to :math:`v` and scaled by
    :math:`g/\lVert v\rVert`, so a step of size :math:`\eta` turns the direction by about
    :math:`\eta g\lVert(I-\hat v\hat v^\top)\nabla_w L\rVert/\lVert v\rVert^2`: as for
    the weights below a BatchNorm layer, the direction's effective learning rate falls as
    :math:`\lVert v\rVert` grows.
    """

    def __init__(self, in_features: int, out_features: int, rng=None, *,
                 init: Callable | None = None, bias: bool = True, dtype=np.float64):
        super().__init__()
        # The affine map, its bias and its backward are Linear's: this layer only keeps
        # Linear.W equal to g v/||v|| and turns Linear's dW into dg and dv.
        self._linear = Linear(in_features, out_features, rng, init=init, bias=bias,
                              dtype=dtype)
        self.in_features, self.out_features = in_features, out_features
        self.v = self._linear.W.copy()
        self.g = np.linalg.norm(self.v, axis=0)
        if np.any(self.g == 0):
            raise ValueError("WeightNormLinear: init returned a unit with all-zero weights")
        self.b, self.db = self._linear.b, self._linear.db
        self.dv, self.dg = np.zeros_like(self.v), np.zeros_like(self.g)
        self._params = ("g", "v", "b") if bias else ("g", "v")

    @property
    def W(self) -> np.ndarray:
        """The effective weight :math:`g_j v_j/\\lVert v_j\\rVert`, shape (in, out)."""
        return self.v * (self.g / np.linalg.norm(self.v, axis=0))

    def forward(self, x):
        self._linear.W[...] = self.W
        return self._linear.forward(_as_batch(x, self.in_features, "WeightNormLinear"))

    def backward(self, dout):
        if self._linear._x is None:
            raise ValueError("WeightNormLinear.backward called before forward")
        dx = self._linear.backward(dout)  # sets dW = x^T dout and db
        dW, norm = self._linear.dW, np.linalg.norm(self.v, axis=0)
        self.dg[...] = np.sum(dW * self.v, axis=0) / norm
        self.dv[...] = (self.g / norm) * (dW - self.v * (self.dg / norm))
        return dx

    def to_torch(self, dtype=None):
        """``weight_norm(torch.nn.Linear(...))`` with the same ``g``, ``v`` and ``b``."""
        import torch
        from torch.nn.utils.parametrizations import weight_norm

        dtype = torch.from_numpy(self.v).dtype if dtype is None else dtype
        lin = torch.nn.Linear(self.in_features, self.out_features, bias=self.b is not None,
                              dtype=dtype)
        module = weight_norm(lin)
        with torch.no_grad():
            module.parametrizations.weight.original0.copy_(
                torch.from_numpy(self.g.reshape(-1, 1)))
            module.parametrizations.weight.original1.copy_(torch.from_numpy(self.v.T.copy()))
            if self.b is not None:
                module.bias.copy_(torch.from_numpy(self.b))
        return module

    def __repr__(self) -> str:
        return (f"WeightNormLinear(in_features={self.in_features}, "
                f"out_features={self.out_features}, bias={self.b is not None})")


class Residual(Module):
    r"""Residual block :math:`y = x + F(x)` with the branch :math:`F` = ``Sequential(*layers)``
    (He et al. 2016); the output must have the input's shape.

    Backward: :math:`\partial L/\partial x = \delta + J_F^\top\delta` -- the identity path
    carries the upstream gradient :math:`\delta` unchanged to the layers below, whatever the
    branch does. Parameters are those of the branch, named ``"<i>.<name>"`` by their index
    in ``layers`` (``branch`` holds the :class:`~course_lib.nn.Sequential`).

    Zero-initializing the last layer of the branch (Goyal et al. 2017 for the last BN's
    :math:`\gamma`; Fixup, :func:`course_lib.nn.init.fixup_scale`) makes the block start as the
    identity.
    """

    def __init__(self, *layers: Module):
        super().__init__()
        from .module import Sequential

        if not layers:
            raise ValueError("Residual needs at least one layer in its branch")
        self.branch = Sequential(*layers)

    def forward(self, x):
        x = np.asarray(x)
        out = self.branch.forward(x)
        if out.shape != x.shape:
            raise ValueError(f"Residual branch maps shape {x.shape} to {out.shape}; "
                             "they must be equal")
        return x + out

    def backward(self, dout):
        return dout + self.branch.backward(dout)

    def train(self, mode: bool = True) -> Residual:
        self.training = bool(mode)
        self.branch.train(mode)
        return self

    def named_parameters(self):
        return self.branch.named_parameters()

    def grads(self):
        return self.branch.grads()

    def __repr__(self) -> str:
        inner = "\n".join(f"    ({i}): {layer!r}" for i, layer in enumerate(self.branch))
        return f"Residual(\n{inner}\n  )"
