r"""Batch normalization and layer normalization: functional forms and layers.

Both standardize :math:`x` of shape ``(N, D)`` and then apply a learnable per-feature gain
:math:`\gamma` and shift :math:`\beta` (shape ``(D,)``):

.. math:: \hat x = \frac{x-\mu}{\sqrt{\sigma^2+\varepsilon}},\qquad y = \gamma\hat x + \beta,

with the *biased* variance :math:`\sigma^2 = \frac1K\sum(x-\mu)^2`. They differ in the axis:

* **BatchNorm** (Ioffe & Szegedy 2015): statistics per feature :math:`j`, over the batch,
  :math:`\mu_j = \frac1B\sum_i x_{ij}` (K = B = N). The batch mean of :math:`y_{\cdot j}` is
  exactly :math:`\beta_j` -- it is set by :math:`\beta` alone, whatever :math:`xW` was
  (ERRATA 31). BN standardizes only the first two moments; it does not make a unit normal
  (ERRATA 9).
* **LayerNorm** (Ba et al. 2016): statistics per example :math:`i`, over its features,
  :math:`\mu_i = \frac1H\sum_j x_{ij}` (K = H = D), so it is the same in training and
  evaluation and needs no running averages (ERRATA 11).

Backward pass (:func:`batchnorm_backward`): with :math:`\delta_i = \partial L/\partial y_i`,

.. math::

    \frac{\partial L}{\partial\beta} = \sum_i \delta_i,\qquad
    \frac{\partial L}{\partial\gamma} = \sum_i \delta_i\hat x_i,\qquad
    \frac{\partial L}{\partial x_i} = \frac{\gamma}{B\sqrt{\sigma^2+\varepsilon}}
      \Big[B\delta_i - \sum_k\delta_k - \hat x_i\sum_k\delta_k\hat x_k\Big],

the compact form of the three-term chain rule through :math:`\hat x_i`, :math:`\sigma^2` and
:math:`\mu` (:func:`batchnorm_backward_three_terms`). Both parameter gradients are sums over
the batch (ERRATA 10). LayerNorm's backward is the same formula with the roles of the axes
exchanged.

Both are written once: :func:`standardize` (forward) and :func:`standardize_backward` (the
compact formula, in terms of :math:`g = \partial L/\partial\hat x`) take the axis of the
statistics -- 0 for BatchNorm, 1 for LayerNorm; the four functional forms and the layers only
add the affine map and its gradients.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .module import Module

__all__ = [
    "standardize",
    "standardize_backward",
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "NormCache",
    "batchnorm_backward",
    "batchnorm_backward_three_terms",
    "batchnorm_forward",
    "layernorm_backward",
    "layernorm_forward",
]


class NormCache(NamedTuple):
    """What the backward passes need. Shapes for BatchNorm (LayerNorm: ``mu``, ``var``,
    ``std`` are (N, 1)).

    x : (N, D) input; xhat : (N, D) normalized input; mu, var : (1, D) batch mean and
    biased variance; std : (1, D) :math:`\\sqrt{\\sigma^2+\\varepsilon}`; gamma : (D,);
    eps : float.
    """

    x: np.ndarray
    xhat: np.ndarray
    mu: np.ndarray
    var: np.ndarray
    std: np.ndarray
    gamma: np.ndarray
    eps: float


def _check_norm_args(x, gamma, beta, name):
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name} expects x of shape (N, D), got shape {x.shape}")
    D = x.shape[1]
    gamma, beta = np.asarray(gamma), np.asarray(beta)
    if gamma.shape != (D,):
        raise ValueError(f"{name}: gamma must have shape ({D},), got {gamma.shape}")
    if beta.shape != (D,):
        raise ValueError(f"{name}: beta must have shape ({D},), got {beta.shape}")
    return x, gamma, beta


def _check_batch(x):
    if x.shape[0] < 2:
        raise ValueError("Expected more than 1 value per channel when training, got input "
                         f"size {x.shape}")


def standardize(x, axis: int, eps: float = 1e-5):
    r"""Standardize ``x`` along ``axis`` with the mean and *biased* variance over that axis:
    returns ``(xhat, mu, var, std)`` with :math:`\hat x = (x-\mu)/\sqrt{\sigma^2+\varepsilon}`,
    ``std`` :math:`=\sqrt{\sigma^2+\varepsilon}`; ``mu``, ``var``, ``std`` keep the axis (size 1).
    ``axis=0``: BatchNorm's statistics per feature; ``axis=1``: LayerNorm's per example."""
    mu = x.mean(axis=axis, keepdims=True)
    xc = x - mu
    var = np.mean(xc * xc, axis=axis, keepdims=True)
    std = np.sqrt(var + eps)
    return xc / std, mu, var, std


def standardize_backward(g, xhat, std, axis: int):
    r"""Backward of :func:`standardize` along ``axis`` (K values per group): given
    :math:`g = \partial L/\partial\hat x`,

    .. math:: \frac{\partial L}{\partial x} = \frac{1}{K\sqrt{\sigma^2+\varepsilon}}
       \Big[K g - \textstyle\sum g - \hat x\sum g\,\hat x\Big]

    (sums along ``axis``): the gradient :math:`g` with its mean and its component along
    :math:`\hat x` removed, divided by the standard deviation."""
    K = xhat.shape[axis]
    return (K * g - g.sum(axis=axis, keepdims=True)
            - xhat * np.sum(g * xhat, axis=axis, keepdims=True)) / (K * std)


def _affine_grads(dout, xhat):
    """``(dgamma, dbeta)``: the per-feature sums over the batch (ERRATA 10)."""
    return np.sum(dout * xhat, axis=0), dout.sum(axis=0)


def batchnorm_forward(x, gamma, beta, eps: float = 1e-5):
    r"""Training-mode batch normalization of ``x`` (N, D) with the batch's mean and *biased*
    variance; returns ``(out, cache)``, ``out`` of shape (N, D), ``cache`` a
    :class:`NormCache`. Raises ``ValueError`` for a batch of one (its variance is 0 and its
    output would be ``beta`` whatever ``x`` is), as torch does."""
    x, gamma, beta = _check_norm_args(x, gamma, beta, "batchnorm_forward")
    _check_batch(x)
    xhat, mu, var, std = standardize(x, 0, eps)
    return gamma * xhat + beta, NormCache(x, xhat, mu, var, std, gamma, eps)


def batchnorm_backward(dout, cache: NormCache):
    r"""Backward of :func:`batchnorm_forward`: ``(dx, dgamma, dbeta)`` in the compact form

    .. math:: \frac{\partial L}{\partial x} = \frac{\gamma}{B\sqrt{\sigma^2+\varepsilon}}
       \Big[B\,\delta - \textstyle\sum_i\delta_i - \hat x\sum_i\delta_i\hat x_i\Big],

    where the two sums are ``dbeta`` and ``dgamma`` (:func:`standardize_backward` along the
    batch with :math:`g = \gamma\delta`). ``dout`` (N, D) is
    :math:`\delta=\partial L/\partial y`."""
    dx = standardize_backward(dout * cache.gamma, cache.xhat, cache.std, 0)
    return (dx, *_affine_grads(dout, cache.xhat))


def batchnorm_backward_three_terms(dout, cache: NormCache):
    r"""The same gradients by the step-by-step chain rule of Ioffe & Szegedy (2015, §3):

    .. math::

        \frac{\partial L}{\partial\hat x_i} &= \delta_i\gamma,\\
        \frac{\partial L}{\partial\sigma^2} &= \sum_i\frac{\partial L}{\partial\hat x_i}
            (x_i-\mu)\cdot\Big(-\tfrac12\Big)(\sigma^2+\varepsilon)^{-3/2},\\
        \frac{\partial L}{\partial\mu} &= -\sum_i\frac{\partial L}{\partial\hat x_i}
            \frac{1}{\sqrt{\sigma^2+\varepsilon}}
            + \frac{\partial L}{\partial\sigma^2}\,\frac{-2}{B}\sum_i(x_i-\mu),\\
        \frac{\partial L}{\partial x_i} &= \underbrace{\frac{\partial L}{\partial\hat x_i}
            \frac{1}{\sqrt{\sigma^2+\varepsilon}}}_{\text{through }\hat x_i}
          + \underbrace{\frac{\partial L}{\partial\sigma^2}
            \frac{2(x_i-\mu)}{B}}_{\text{through }\sigma^2}
          + \underbrace{\frac{\partial L}{\partial\mu}\frac1B}_{\text{through }\mu}.

    Returns ``(dx, dgamma, dbeta)``; equal to :func:`batchnorm_backward` up to rounding.
    """
    x, xhat, mu, var, std, gamma, eps = cache
    B = x.shape[0]
    xc = x - mu
    dxhat = dout * gamma
    dvar = np.sum(dxhat * xc, axis=0) * -0.5 * (var + eps) ** -1.5
    dmu = -np.sum(dxhat, axis=0) / std + dvar * (-2.0 / B) * np.sum(xc, axis=0)
    dx = dxhat / std + dvar * 2.0 * xc / B + dmu / B
    return (dx, *_affine_grads(dout, xhat))


def layernorm_forward(x, gamma, beta, eps: float = 1e-5):
    r"""Layer normalization of each row of ``x`` (N, D) over its D features (biased
    variance, as ``torch.nn.LayerNorm``); ``gamma``, ``beta`` of shape (D,). Returns
    ``(out, cache)``."""
    x, gamma, beta = _check_norm_args(x, gamma, beta, "layernorm_forward")
    xhat, mu, var, std = standardize(x, 1, eps)
    return gamma * xhat + beta, NormCache(x, xhat, mu, var, std, gamma, eps)


def layernorm_backward(dout, cache: NormCache):
    r"""Backward of :func:`layernorm_forward`: ``(dx, dgamma, dbeta)``. With
    :math:`g = \delta\odot\gamma` (the gradient w.r.t. :math:`\hat x`), per row,

    .. math:: \frac{\partial L}{\partial x} = \frac{1}{H\sqrt{\sigma^2+\varepsilon}}
       \Big[H g - \textstyle\sum_j g_j - \hat x\sum_j g_j\hat x_j\Big]

    (:func:`standardize_backward` along the features);
    :math:`\partial L/\partial\gamma = \sum_i\delta_i\odot\hat x_i`,
    :math:`\partial L/\partial\beta = \sum_i\delta_i` (sums over the batch)."""
    dx = standardize_backward(dout * cache.gamma, cache.xhat, cache.std, 1)
    return (dx, *_affine_grads(dout, cache.xhat))


class BatchNorm1d(Module):
    r"""Batch normalization of ``(N, num_features)`` inputs, following ``torch.nn.BatchNorm1d``.

    * **Training** (``training=True``): normalize with the batch mean and biased variance
      (:func:`batchnorm_forward`) and update the running statistics with torch's momentum
      convention, the *unbiased* batch variance :math:`s^2 = \frac{B}{B-1}\sigma^2_B`:

      .. math:: \hat\mu \leftarrow (1-m)\,\hat\mu + m\,\mu_B,\qquad
                \hat\sigma^2 \leftarrow (1-m)\,\hat\sigma^2 + m\,s^2 .

      ``momentum`` :math:`m` = 0.1 weighs the *new* batch. Keras/TensorFlow's
      ``momentum=0.99`` weighs the *old* average: it is torch's ``momentum=0.01``.
      ``momentum=None`` uses the cumulative average, :math:`m = 1/t` at the t-th batch.
      A batch of one raises ``ValueError`` (torch's message).
    * **Evaluation**: normalize with ``running_mean`` and ``running_var`` (start: 0 and 1),
      which turns BN into a fixed affine map.

    The B/(B−1) factor makes :math:`\hat\sigma^2` an unbiased estimate of the population
    variance: :math:`\mathbb E[\sigma^2_B] = \frac{B-1}{B}\sigma^2`.

    Attributes
    ----------
    gamma, beta : (num_features,) parameters, initialized to 1 and 0 (torch: ``weight``,
        ``bias``; aliases ``weight`` and ``bias`` are provided). ``dgamma``, ``dbeta``:
        their gradients. With ``affine=False`` there are no parameters.
    running_mean, running_var : (num_features,); ``num_batches_tracked`` : int.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, *, dtype=np.float64):
        super().__init__()
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)) \
                or num_features < 1:
            raise ValueError(f"num_features must be a positive integer, got {num_features!r}")
        if eps < 0:
            raise ValueError(f"eps must be non-negative, got {eps}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1] or None, got {momentum}")
        self.num_features, self.eps, self.momentum, self.affine = (
            int(num_features), float(eps), momentum, affine)
        self.gamma = np.ones(num_features, dtype=dtype)
        self.beta = np.zeros(num_features, dtype=dtype)
        self.dgamma = np.zeros_like(self.gamma)
        self.dbeta = np.zeros_like(self.beta)
        self._params = ("gamma", "beta") if affine else ()
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)
        self.num_batches_tracked = 0
        self._cache = None

    _torch_name = "BatchNorm1d"
    weight = property(lambda self: self.gamma)
    bias = property(lambda self: self.beta)

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d expects input of shape (N, {self.num_features}), "
                             f"got shape {x.shape}")
        if self.training:
            out, cache = batchnorm_forward(x, self.gamma, self.beta, self.eps)
            self._cache = ("train", cache)
            self.num_batches_tracked += 1
            m = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
            B = x.shape[0]
            self.running_mean *= 1 - m
            self.running_mean += m * cache.mu[0]
            self.running_var *= 1 - m
            self.running_var += (m * B / (B - 1)) * cache.var[0]
            return out
        std = np.sqrt(self.running_var + self.eps)
        xhat = (x - self.running_mean) / std
        self._cache = ("eval", (xhat, std))
        return self.gamma * xhat + self.beta

    def backward(self, dout):
        if self._cache is None:
            raise ValueError("BatchNorm1d.backward called before forward")
        kind, cache = self._cache
        if kind == "train":
            dx, dgamma, dbeta = batchnorm_backward(dout, cache)
        else:
            xhat, std = cache
            dx = dout * (self.gamma / std)
            dgamma, dbeta = _affine_grads(dout, xhat)
        self.dgamma[...] = dgamma
        self.dbeta[...] = dbeta
        return dx

    @classmethod
    def from_torch(cls, module) -> BatchNorm1d:
        """A copy of a ``torch.nn.BatchNorm1d`` (parameters and running statistics)."""
        w = module.weight
        dtype = module.running_mean.detach().numpy().dtype
        layer = cls(module.num_features, module.eps, module.momentum, module.affine, dtype=dtype)
        if w is not None:
            layer.gamma[...] = w.detach().numpy()
            layer.beta[...] = module.bias.detach().numpy()
        layer.running_mean[...] = module.running_mean.detach().numpy()
        layer.running_var[...] = module.running_var.detach().numpy()
        layer.num_batches_tracked = int(module.num_batches_tracked)
        layer.train(module.training)
        return layer

    def to_torch(self, dtype=None):
        """A ``torch.nn.BatchNorm1d`` (``BatchNorm2d`` for :class:`BatchNorm2d`) with the same
        parameters, running statistics and mode."""
        import torch

        dtype = torch.from_numpy(self.gamma).dtype if dtype is None else dtype
        m = getattr(torch.nn, type(self)._torch_name)(self.num_features, self.eps,
                                                      self.momentum, self.affine, dtype=dtype)
        with torch.no_grad():
            if self.affine:
                m.weight.copy_(torch.from_numpy(self.gamma))
                m.bias.copy_(torch.from_numpy(self.beta))
            m.running_mean.copy_(torch.from_numpy(self.running_mean))
            m.running_var.copy_(torch.from_numpy(self.running_var))
            m.num_batches_tracked.fill_(self.num_batches_tracked)
        return m.train(self.training)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.num_features}, eps={self.eps}, "
                f"momentum={self.momentum}, affine={self.affine})")


class BatchNorm2d(BatchNorm1d):
    r"""Batch normalization for convolutional feature maps ``(N, C, H, W)``, following
    ``torch.nn.BatchNorm2d``: one mean, variance, :math:`\gamma` and :math:`\beta` per
    **channel** :math:`c`, the statistics taken over the batch *and* the spatial positions,

    .. math:: \mu_c = \frac{1}{NHW}\sum_{n,h,w} x_{nchw},\qquad
        \sigma_c^2 = \frac{1}{NHW}\sum_{n,h,w}(x_{nchw}-\mu_c)^2 .

    A convolution applies the same filter at every position, so all :math:`H W` positions of
    a channel are values of one "unit"; normalizing each position separately would give
    different affine maps at different positions and break the translation equivariance
    (Ioffe & Szegedy 2015, §3.2). Implementation: move the channel axis last and reshape to
    ``(N*H*W, C)``; then everything is :class:`BatchNorm1d` with a batch of :math:`B = NHW`
    values per channel -- forward, the compact backward pass (the sums run over
    :math:`n, h, w`), and the running variance with the unbiased factor
    :math:`NHW/(NHW-1)`, as torch.
    """

    _torch_name = "BatchNorm2d"

    def _to_rows(self, x):
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(f"expected 4D input (got {x.ndim}D input)")
        if x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d expects input of shape (N, {self.num_features}, H, "
                             f"W), got shape {x.shape}")
        return x.transpose(0, 2, 3, 1).reshape(-1, self.num_features)

    def _from_rows(self, rows, shape):
        N, C, H, W = shape
        return rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)

    def forward(self, x):
        rows = self._to_rows(x)
        if self.training and rows.shape[0] < 2:
            raise ValueError("Expected more than 1 value per channel when training, got "
                             f"input size {tuple(np.shape(x))}")
        self._shape = np.shape(x)
        return self._from_rows(super().forward(rows), self._shape)

    def backward(self, dout):
        if self._cache is None:
            raise ValueError("BatchNorm2d.backward called before forward")
        dout = np.asarray(dout)
        if dout.shape != tuple(self._shape):
            raise ValueError(f"dout has shape {dout.shape}, expected {tuple(self._shape)}")
        rows = dout.transpose(0, 2, 3, 1).reshape(-1, self.num_features)
        return self._from_rows(super().backward(rows), self._shape)


class LayerNorm(Module):
    r"""Layer normalization over the last dimension of ``(N, normalized_shape)`` inputs, as
    ``torch.nn.LayerNorm(normalized_shape)``: per example, :math:`\mu_i` and biased
    :math:`\sigma_i^2` over its features, then per-feature ``gamma`` (init 1) and ``beta``
    (init 0). Identical in training and evaluation. Aliases ``weight``/``bias`` as torch."""

    def __init__(self, normalized_shape: int, eps: float = 1e-5,
                 elementwise_affine: bool = True, *, dtype=np.float64):
        super().__init__()
        if isinstance(normalized_shape, (tuple, list)):
            if len(normalized_shape) != 1:
                raise ValueError("LayerNorm here normalizes over the last dimension only; "
                                 f"got normalized_shape {tuple(normalized_shape)}")
            normalized_shape = normalized_shape[0]
        if isinstance(normalized_shape, bool) or \
                not isinstance(normalized_shape, (int, np.integer)) or normalized_shape < 1:
            raise ValueError("normalized_shape must be a positive integer, got "
                             f"{normalized_shape!r}")
        if eps < 0:
            raise ValueError(f"eps must be non-negative, got {eps}")
        self.normalized_shape, self.eps = int(normalized_shape), float(eps)
        self.elementwise_affine = elementwise_affine
        self.gamma = np.ones(normalized_shape, dtype=dtype)
        self.beta = np.zeros(normalized_shape, dtype=dtype)
        self.dgamma = np.zeros_like(self.gamma)
        self.dbeta = np.zeros_like(self.beta)
        self._params = ("gamma", "beta") if elementwise_affine else ()
        self._cache = None

    weight = property(lambda self: self.gamma)
    bias = property(lambda self: self.beta)

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.normalized_shape:
            raise ValueError(f"LayerNorm expects input of shape (N, {self.normalized_shape}), "
                             f"got shape {x.shape}")
        out, self._cache = layernorm_forward(x, self.gamma, self.beta, self.eps)
        return out

    def backward(self, dout):
        if self._cache is None:
            raise ValueError("LayerNorm.backward called before forward")
        dx, dgamma, dbeta = layernorm_backward(dout, self._cache)
        self.dgamma[...] = dgamma
        self.dbeta[...] = dbeta
        return dx

    @classmethod
    def from_torch(cls, module) -> LayerNorm:
        (d,) = module.normalized_shape
        affine = module.weight is not None
        dtype = module.weight.detach().numpy().dtype if affine else np.float64
        layer = cls(d, module.eps, affine, dtype=dtype)
        if affine:
            layer.gamma[...] = module.weight.detach().numpy()
            layer.beta[...] = module.bias.detach().numpy()
        return layer

    def to_torch(self, dtype=None):
        import torch

        dtype = torch.from_numpy(self.gamma).dtype if dtype is None else dtype
        m = torch.nn.LayerNorm(self.normalized_shape, self.eps, self.elementwise_affine,
                               dtype=dtype)
        if self.elementwise_affine:
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(self.gamma))
                m.bias.copy_(torch.from_numpy(self.beta))
        return m

    def __repr__(self) -> str:
        return f"LayerNorm({self.normalized_shape}, eps={self.eps})"
