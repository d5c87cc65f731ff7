r"""Weight initializers: each returns a fresh weight matrix of shape ``(fan_in, fan_out)``.

Convention: ``W[i, j]`` connects input unit ``i`` to output unit ``j``, so a layer computes
``x @ W + b`` for a batch ``x`` of shape ``(N, fan_in)`` -- the layout of
:class:`course_lib.nn.Linear`. ``torch.nn.Linear.weight`` is the transpose, shape
``(fan_out, fan_in)``; ``torch.nn.init``'s "fan_in" is its ``weight.shape[1]``, the same
number as our ``fan_in``. Every function has the signature ``(fan_in, fan_out, rng, ...)``
with ``rng`` a :class:`numpy.random.Generator` (or an int seed), and a ``dtype`` keyword.

Variances (the derivations the initialization chapter asserts). For :math:`W\sim U(-a, a)`,
:math:`\operatorname{Var} W = a^2/3`; a unit with :math:`m` inputs of variance :math:`v`
has pre-activation variance :math:`m\,\operatorname{Var}(W)\,v`.

* :func:`uniform_fan_in`: :math:`U(\pm 1/\sqrt m)`, variance :math:`1/(3m)`
  (std :math:`1/\sqrt{3m}`);
* :func:`glorot_uniform`: :math:`U(\pm g\sqrt{6/(m+n)})`, variance :math:`2g^2/(m+n)`;
* :func:`glorot_normal`: :math:`N(0, 2g^2/(m+n))`;
* :func:`he_uniform`: :math:`U(\pm g\sqrt{3/f})`, variance :math:`g^2/f`;
* :func:`he_normal`: :math:`N(0, g^2/f)`;
* :func:`sparse`: k of the m incoming weights :math:`N(0,s^2)`, the rest 0; variance
  :math:`k s^2/m`;

with :math:`m` = fan_in, :math:`n` = fan_out, :math:`f` the chosen fan and :math:`g` the gain
(:func:`calculate_gain`, torch's table). Two errors in common sources (ERRATA 25): the Glorot
bound is :math:`\sqrt{6/(m+n)}`, not :math:`\sqrt6/(m+n)` (whose variance is
:math:`2/(m+n)^2`); and :math:`U(\pm1/\sqrt m)` has standard deviation :math:`1/\sqrt{3m}`,
not :math:`1/\sqrt m`.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "calculate_gain",
    "fixup_scale",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "lsuv",
    "orthogonal",
    "orthogonal_from_gaussian",
    "sparse",
    "uniform_fan_in",
    "xavier_normal",
    "xavier_uniform",
]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
           "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""The gain :math:`g` recommended for ``nonlinearity``, as ``torch.nn.init.calculate_gain``.

    * linear, conv1d/2d/3d, conv_transpose1d/2d/3d, sigmoid: :math:`1`;
    * tanh: :math:`5/3`;
    * relu: :math:`\sqrt2` (a ReLU of a symmetric input keeps half its second moment);
    * leaky_relu: :math:`\sqrt{2/(1+a^2)}` with slope :math:`a` = ``param`` (default 0.01);
    * selu: :math:`3/4`.

    Unknown names raise ``ValueError`` with torch's message.
    """
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _check_fans(fan_in, fan_out) -> tuple[int, int]:
    for name, value in (("fan_in", fan_in), ("fan_out", fan_out)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(fan_in), int(fan_out)


def _uniform(fan_in, fan_out, rng, bound, dtype) -> np.ndarray:
    rng = np.random.default_rng(rng)
    return rng.uniform(-bound, bound, size=(fan_in, fan_out)).astype(dtype, copy=False)


def _normal(fan_in, fan_out, rng, std, dtype) -> np.ndarray:
    rng = np.random.default_rng(rng)
    return (std * rng.standard_normal((fan_in, fan_out))).astype(dtype, copy=False)


def uniform_fan_in(fan_in: int, fan_out: int, rng, *, dtype=np.float64) -> np.ndarray:
    r""":math:`W_{ij}\sim U(-1/\sqrt m, 1/\sqrt m)`, :math:`m` = ``fan_in``; shape
    ``(fan_in, fan_out)``.

    The classic heuristic (GBC §8.4) and the default of ``torch.nn.Linear``
    (``kaiming_uniform_(a=sqrt(5))``: gain :math:`\sqrt{2/6}`, bound
    :math:`\sqrt{1/3}\,\sqrt{3/m} = 1/\sqrt m`). Variance :math:`(1/\sqrt m)^2/3 = 1/(3m)`, so
    the standard deviation is :math:`1/\sqrt{3m}` -- not :math:`1/\sqrt m` (ERRATA 25) -- and
    a unit with :math:`m` unit-variance inputs starts with pre-activation variance 1/3.
    """
    fan_in, fan_out = _check_fans(fan_in, fan_out)
    return _uniform(fan_in, fan_out, rng, 1.0 / math.sqrt(fan_in), dtype)


def glorot_uniform(fan_in: int, fan_out: int, rng, *, gain: float = 1.0,
                   dtype=np.float64) -> np.ndarray:
    r"""Glorot & Bengio (2010) "normalized initialization", shape ``(fan_in, fan_out)``:

    .. math:: W_{ij}\sim U\!\left(-g\sqrt{\tfrac{6}{m+n}},\; g\sqrt{\tfrac{6}{m+n}}\right).

    Derivation: keeping forward variances equal needs :math:`m\operatorname{Var}W=1`, keeping
    backward variances equal needs :math:`n\operatorname{Var}W=1`; the compromise is
    :math:`\operatorname{Var}W = 2/(m+n)`, and :math:`a^2/3 = 2/(m+n)` gives the bound
    :math:`a=\sqrt{6/(m+n)}` (GBC eq. 8.23; ``torch.nn.init.xavier_uniform_``, Keras
    ``glorot_uniform``). The square root covers the whole fraction (ERRATA 25).
    ``gain`` multiplies the bound (torch's ``gain``).
    """
    fan_in, fan_out = _check_fans(fan_in, fan_out)
    return _uniform(fan_in, fan_out, rng, gain * math.sqrt(6.0 / (fan_in + fan_out)), dtype)


def glorot_normal(fan_in: int, fan_out: int, rng, *, gain: float = 1.0,
                  dtype=np.float64) -> np.ndarray:
    r"""Glorot/Xavier normal: :math:`W_{ij}\sim N\big(0, g^2\cdot 2/(m+n)\big)` (not truncated),
    as ``torch.nn.init.xavier_normal_``; shape ``(fan_in, fan_out)``. Same variance as
    :func:`glorot_uniform`."""
    fan_in, fan_out = _check_fans(fan_in, fan_out)
    return _normal(fan_in, fan_out, rng, gain * math.sqrt(2.0 / (fan_in + fan_out)), dtype)


def _he_std(fan_in, fan_out, mode, nonlinearity, a) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def he_uniform(fan_in: int, fan_out: int, rng, *, mode: str = "fan_in",
               nonlinearity: str = "relu", a: float = 0.0, dtype=np.float64) -> np.ndarray:
    r"""He et al. (2015) / Kaiming uniform: :math:`W_{ij}\sim U(-g\sqrt{3/f}, g\sqrt{3/f})`.

    :math:`f` is ``fan_in`` (``mode="fan_in"``: preserves forward variances) or ``fan_out``
    (``mode="fan_out"``: preserves backward variances); :math:`g` =
    ``calculate_gain(nonlinearity, a)``, :math:`\sqrt2` for ReLU because a ReLU of a
    symmetric pre-activation keeps half its second moment: :math:`f\,\operatorname{Var}W
    \cdot\tfrac12 = 1` gives :math:`\operatorname{Var}W = 2/f`. ``a`` is the leaky-ReLU slope.
    Matches ``torch.nn.init.kaiming_uniform_`` (whose default ``nonlinearity="leaky_relu"``
    with ``a=0`` is the same gain :math:`\sqrt2`). Shape ``(fan_in, fan_out)``.
    """
    fan_in, fan_out = _check_fans(fan_in, fan_out)
    std = _he_std(fan_in, fan_out, mode, nonlinearity, a)
    return _uniform(fan_in, fan_out, rng, math.sqrt(3.0) * std, dtype)


def he_normal(fan_in: int, fan_out: int, rng, *, mode: str = "fan_in",
              nonlinearity: str = "relu", a: float = 0.0, dtype=np.float64) -> np.ndarray:
    r"""He/Kaiming normal: :math:`W_{ij}\sim N(0, g^2/f)` (not truncated), as
    ``torch.nn.init.kaiming_normal_``; arguments as :func:`he_uniform`. Shape
    ``(fan_in, fan_out)``."""
    fan_in, fan_out = _check_fans(fan_in, fan_out)
    return _normal(fan_in, fan_out, rng, _he_std(fan_in, fan_out, mode, nonlinearity, a), dtype)


def sparse(fan_in: int, fan_out: int, rng, *, k: int = 15, std: float = 1.0,
           dtype=np.float64) -> np.ndarray:
    r"""Sparse initialization (Martens 2010): each output unit gets exactly ``k`` non-zero
    incoming weights, at input positions chosen uniformly without replacement, drawn from
    :math:`N(0, \mathrm{std}^2)`; the rest are 0. Shape ``(fan_in, fan_out)``: every column
    has ``k`` non-zeros.

    Martens (and Sutskever et al. 2013) use ``k=15`` and unit-Gaussian weights, the defaults
    here. The total input to a unit then does not shrink as ``fan_in`` grows, while units
    still differ (GBC §8.4). Entry variance :math:`k\,\mathrm{std}^2/m`.

    Not the same as ``torch.nn.init.sparse_(w, sparsity, std=0.01)``: torch zeroes a
    *fraction* ``sparsity`` of each column of its ``(fan_out, fan_in)`` weight, i.e. of each
    input unit's *outgoing* weights, so its units do not have a fixed number of inputs.
    """
    fan_in, fan_out = _check_fans(fan_in, fan_out)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= fan_in:
        raise ValueError(f"k must be an integer with 1 <= k <= fan_in = {fan_in}, got {k!r}")
    if std < 0:
        raise ValueError(f"std must be non-negative, got {std}")
    rng = np.random.default_rng(rng)
    W = np.zeros((fan_in, fan_out), dtype=dtype)
    # k distinct rows per column: the k smallest of fan_in uniform keys, per column.
    rows = np.argpartition(rng.random((fan_in, fan_out)), k - 1, axis=0)[:k]
    cols = np.broadcast_to(np.arange(fan_out), rows.shape)
    W[rows, cols] = std * rng.standard_normal(rows.shape)
    return W


xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal


def orthogonal_from_gaussian(A, gain: float = 1.0) -> np.ndarray:
    r"""The orthogonal matrix that :func:`orthogonal` (and ``torch.nn.init.orthogonal_``)
    makes from the Gaussian matrix ``A`` of shape ``(rows, cols)``.

    Torch's recipe, for torch's layout ``(rows, cols) = (fan_out, fan_in)``: if
    ``rows < cols`` transpose ``A``; take the QR factorization :math:`A = QR`; multiply
    column :math:`j` of :math:`Q` by :math:`\operatorname{sign}R_{jj}` (this makes the result
    Haar-distributed, i.e. uniform on the orthogonal matrices, instead of depending on the
    sign convention of the QR routine); transpose back; multiply by ``gain``. The result has
    orthonormal rows (``rows <= cols``) or orthonormal columns (``rows >= cols``), times
    ``gain``.
    """
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2:
        raise ValueError(f"Only arrays with 2 dimensions are supported, got {A.ndim}")
    rows, cols = A.shape
    flat = A.T if rows < cols else A
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return gain * q


def orthogonal(fan_in: int, fan_out: int, rng, *, gain: float = 1.0,
               dtype=np.float64) -> np.ndarray:
    r"""Orthogonal initialization (Saxe et al. 2014), shape ``(fan_in, fan_out)``.

    Returns ``gain`` times a matrix :math:`W` with orthonormal columns when
    ``fan_in >= fan_out`` (:math:`W^\top W = I`) and orthonormal rows otherwise
    (:math:`WW^\top = I`), drawn from the Haar (uniform) distribution: the transpose of what
    ``torch.nn.init.orthogonal_`` writes into a ``(fan_out, fan_in)`` weight
    (:func:`orthogonal_from_gaussian` holds the recipe). Each entry has mean 0 and variance
    :math:`g^2/\max(m, n)`; for a square layer this is :math:`g^2/m`, the variance of
    :func:`he_normal` with the same gain. Unlike a Gaussian matrix, a square orthogonal
    :math:`W` preserves the norm of *every* vector, :math:`\lVert xW\rVert = g\lVert x\rVert`,
    so a product of them has all singular values equal to :math:`g^L` ("dynamical isometry"
    of a deep linear network at :math:`g = 1`).
    """
    fan_in, fan_out = _check_fans(fan_in, fan_out)
    rng = np.random.default_rng(rng)
    A = rng.standard_normal((fan_out, fan_in))  # torch's layout, then transposed
    return np.ascontiguousarray(orthogonal_from_gaussian(A, gain).T).astype(dtype, copy=False)


def lsuv(model, x, *, tol: float = 0.01, max_iter: int = 10) -> list[float]:
    r"""Layer-sequential unit-variance initialization (Mishkin & Matas 2016), in place.

    ``model`` is a :class:`course_lib.nn.Sequential` whose affine layers (modules with a
    weight ``W``) already hold an initialization (LSUV starts from :func:`orthogonal`);
    ``x`` is a batch of training inputs of shape ``(N, in_features)``. Going up the network,
    for each affine layer :math:`\ell` in turn: pass ``x`` through the layers up to and
    including it, and divide its ``W`` by the standard deviation of its outputs (over the
    batch and the units), until :math:`|\operatorname{Var} z_\ell - 1| \le` ``tol`` or
    ``max_iter`` rescalings. The biases are left alone (they are 0 at initialization). The
    last affine layer is rescaled too, as in the paper.

    Because each layer is rescaled after the layers below it are final, the data-driven
    scale replaces the gain calculation of :func:`calculate_gain`: it works for any
    nonlinearity. For a layer that is positively homogeneous in ``W`` (no bias, or bias 0)
    and followed by ReLU or nothing, one rescaling is exact.

    Returns the variance of each affine layer's output after its rescaling.
    """
    if not isinstance(tol, numbers.Real) or isinstance(tol, bool) or not tol > 0:
        raise ValueError(f"Invalid tol: {tol!r} (expected a positive number)")
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) \
            or max_iter < 1:
        raise ValueError(f"Invalid max_iter: {max_iter!r} (expected a positive integer)")
    layers = list(getattr(model, "layers", []))
    if not layers:
        raise TypeError(f"lsuv expects a course_lib.nn.Sequential, got {type(model).__name__}")
    x = np.asarray(x, dtype=np.float64)
    variances = []
    h = x
    for layer in layers:
        if hasattr(layer, "W"):
            for _ in range(max_iter):
                var = float(np.var(layer.forward(h)))
                if abs(var - 1.0) <= tol:
                    break
                if var == 0.0:
                    raise ValueError("lsuv: a layer's output has variance 0 on the batch")
                layer.W /= math.sqrt(var)
            z = layer.forward(h)
            variances.append(float(np.var(z)))
            h = z
        else:
            h = layer.forward(h)
    return variances


def fixup_scale(num_blocks: int, layers_per_branch: int) -> float:
    r"""Fixup's factor :math:`L^{-1/(2m-2)}` (Zhang, Dauphin & Ma 2019) for a residual
    network of :math:`L` = ``num_blocks`` blocks :math:`h + F(h)` whose branch :math:`F` has
    :math:`m` = ``layers_per_branch`` >= 2 affine layers.

    Fixup initializes the last layer of every branch at 0 (so each block starts as the
    identity) and multiplies the He initialization of the other :math:`m-1` layers of the
    branch by this factor. With the last layer's weights of size :math:`O(1)` after the first
    updates, a branch is then a product of :math:`m` factors whose gradient contributions
    sum to :math:`O(1)` over the :math:`L` blocks, independently of the depth.
    """
    for name, value, low in (("num_blocks", num_blocks, 1),
                             ("layers_per_branch", layers_per_branch, 2)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"Invalid {name}: {value!r} (expected an integer >= {low})")
    return float(num_blocks) ** (-1.0 / (2 * layers_per_branch - 2))
