r"""Muon: momentum orthogonalized by Newton–Schulz (Jordan et al., 2024), as
``torch.optim.Muon`` (torch 2.13) implements it.

For a weight *matrix* :math:`\theta\in\mathbb R^{A\times B}` with gradient
:math:`G_t = \nabla f(\theta_{t-1})`, momentum :math:`\mu`, learning rate :math:`\eta` and
weight decay :math:`\lambda`, from :math:`M_0 = 0`:

.. math::

    M_t &\leftarrow \mu M_{t-1} + (1-\mu)\, G_t \qquad(\text{an exponential average})\\
    N_t &= \begin{cases} (1-\mu)\,G_t + \mu M_t & \text{nesterov (default)}\\
                          M_t & \text{otherwise}\end{cases}\\
    O_t &= \mathrm{NS}_k^{(a,b,c)}(N_t) \;\approx\; U V^\top
        \quad\text{for the SVD } N_t = U\Sigma V^\top\\
    \theta_t &\leftarrow (1-\eta\lambda)\,\theta_{t-1} - \eta\, s(A, B)\, O_t

:math:`U V^\top` is the steepest-descent direction for the spectral norm (the matrix
:math:`O` of spectral norm 1 that maximizes :math:`\langle N, O\rangle`). Computing it by an
SVD is expensive; :math:`\mathrm{NS}_k` instead normalizes :math:`X_0 = N/\max(\|N\|_F,
\epsilon)` (so that every singular value is at most 1) and iterates the odd quintic

.. math:: X_{j+1} = a X_j + \bigl(b\, X_jX_j^\top + c\,(X_jX_j^\top)^2\bigr) X_j,

which maps each singular value :math:`\sigma` to :math:`p(\sigma) = a\sigma + b\sigma^3 +
c\sigma^5` and leaves the singular vectors alone. With torch's (Jordan's) coefficients
:math:`(a, b, c) = (3.4445, -4.7750, 2.0315)` the slope at 0 is large (:math:`a`), so small
singular values grow fast, and after :math:`k = 5` steps every singular value of :math:`X_0`
that is not tiny (above about :math:`10^{-3}`) ends roughly in :math:`[0.7, 1.2]` rather than
exactly at 1: :math:`O_t \approx U S' V^\top`, which Jordan found trains as well. A wide matrix is
iterated as is, a tall one transposed (so :math:`XX^\top` is the smaller Gram matrix).

Conventions (torch's, which differ from the descriptions in places):

* **The momentum is an exponential average** (``buf.lerp_(grad, 1 - momentum)``), and the
  Nesterov term is ``grad.lerp(buf, momentum)`` :math:`= (1-\mu)G_t + \mu M_t`. Torch's
  docstring writes :math:`B_t = \mu B_{t-1} + G_t` and :math:`G_t + \mu B_t` (Jordan's
  original, a sum); the two differ by the factor :math:`1-\mu` only, which the
  normalization inside :math:`\mathrm{NS}` removes -- up to :math:`\epsilon`.
* **Newton–Schulz runs in bfloat16** whatever the parameter's dtype (8 significant bits), as
  Jordan's code; the result is added to the parameters in their dtype. On NumPy arrays
  (no bfloat16) it runs in the array's dtype; ``ns_dtype`` chooses it explicitly.
* **Learning-rate adjustment** :math:`s(A, B)`: ``adjust_lr_fn=None`` or ``"original"``:
  :math:`\sqrt{\max(1, A/B)}` (Jordan); ``"match_rms_adamw"``: :math:`0.2\sqrt{\max(A, B)}`
  (Liu et al., 2025, Moonshot), which makes the update's RMS about AdamW's so that AdamW's
  learning rate and weight decay can be reused.
* **Weight decay** is decoupled and scaled by the *unadjusted* :math:`\eta`.
* Only 2-D parameters: vectors, embeddings and the output layer are meant for AdamW (a
  second optimizer), as torch's docstring says.

State (torch's key): ``"momentum_buffer"`` :math:`M_t` only -- no step counter.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..arrays import add_, clone, lerp_, zeros_like
from .base import RuleOptimizer, to_scalar
from .rule import update_rule

__all__ = ["muon", "check_muon", "init_muon_state", "newton_schulz", "adjust_lr",
           "NS_COEFFICIENTS", "Muon"]

#: Jordan's quintic Newton–Schulz coefficients (a, b, c), torch's defaults.
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
_EPS = 1e-7
_NS_STEPS = 5


def newton_schulz(G, coefficients=NS_COEFFICIENTS, steps: int = _NS_STEPS, eps: float = _EPS,
                  *, dtype=None):
    r""":math:`\mathrm{NS}_k^{(a,b,c)}(G)`: about :math:`UV^\top` of the matrix ``G``, by
    torch's quintic Newton–Schulz iteration (a new array; ``G`` is not modified).

    ``dtype``: the precision of the iteration -- default ``torch.bfloat16`` for a tensor
    (torch's Muon) and ``G``'s own dtype for a NumPy array. Raises torch's ``ValueError`` s
    for ``steps >= 100``, a ``G`` that is not 2-D, or not three coefficients.
    """
    if steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if len(G.shape) != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = coefficients
    tall = G.shape[0] > G.shape[1]
    X: torch.Tensor | np.ndarray
    gram: torch.Tensor | np.ndarray
    if isinstance(G, torch.Tensor):
        X = G.to(torch.bfloat16 if dtype is None else dtype, copy=True)
        if tall:
            X = X.T
        X.div_(X.norm().clamp(min=eps))                       # spectral norm <= 1
        for _ in range(steps):
            gram = X @ X.T
            poly = torch.addmm(gram, gram, gram, beta=b, alpha=c)   # b A + c A^2
            X = torch.addmm(X, poly, X, beta=a)                 # a X + (b A + c A^2) X
    else:
        X = np.array(G, dtype=G.dtype if dtype is None else dtype, copy=True)
        if tall:
            X = X.T
        X /= max(np.linalg.norm(X), eps)
        for _ in range(steps):
            gram = X @ X.T
            poly = b * gram + c * (gram @ gram)
            X = a * X + poly @ X
    return X.T if tall else X


def adjust_lr(lr, adjust_lr_fn: str | None, shape) -> float:
    r"""The learning rate Muon applies to a matrix of ``shape`` :math:`(A, B)`:
    :math:`\eta\sqrt{\max(1, A/B)}` (``None``/``"original"``) or
    :math:`0.2\,\eta\sqrt{\max(A, B)}` (``"match_rms_adamw"``), as torch computes it."""
    A, B = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, A / B))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(A, B))
    else:
        ratio = 1.0
    return lr * ratio


def init_muon_state(param, state: dict, **_) -> None:
    """The state before the first step: the momentum buffer (zeros), torch's only entry."""
    state["momentum_buffer"] = zeros_like(param)


def check_muon(lr, weight_decay, momentum, adjust_lr_fn, **_) -> None:
    """Raise ``ValueError`` (torch's wording) for invalid Muon hyperparameters."""
    if isinstance(lr, torch.Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
    if not 0.0 <= momentum:
        raise ValueError(f"momentum should be >= 0 but is: {momentum}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
    if adjust_lr_fn is not None and adjust_lr_fn not in ["original", "match_rms_adamw"]:
        raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")


@update_rule(check=check_muon, init_state=init_muon_state)
def muon(param, grad, state: dict, *, lr: float, weight_decay: float = 0.1,
         momentum: float = 0.95, nesterov: bool = True, ns_coefficients=NS_COEFFICIENTS,
         eps: float = _EPS, ns_steps: int = _NS_STEPS, adjust_lr_fn: str | None = None,
         ns_dtype=None) -> None:
    r"""One Muon step on the matrix ``param``, in place (NumPy array or torch tensor, 2-D).

    Parameters
    ----------
    param : 2-D array, updated in place.
    grad : 2-D array, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict for this parameter; holds ``"momentum_buffer"`` (created at the first step).
    lr, weight_decay, momentum, nesterov, ns_coefficients, eps, ns_steps, adjust_lr_fn : as
        in ``torch.optim.Muon``.
    ns_dtype : precision of the Newton–Schulz iteration; ``None`` is torch's bfloat16 for
        tensors and the array's dtype for NumPy (not a torch option: the class passes
        ``None``).
    """
    if grad.ndim != 2:
        raise ValueError("Param gradient must be a 2D matrix")
    if "momentum_buffer" not in state:
        init_muon_state(grad, state)
    buf = state["momentum_buffer"]
    lerp_(buf, grad, 1 - momentum)                  # M <- mu M + (1 - mu) G
    update = lerp_(clone(grad), buf, momentum) if nesterov else buf
    update = newton_schulz(update, ns_coefficients, ns_steps, eps, dtype=ns_dtype)
    adjusted_lr = adjust_lr(lr, adjust_lr_fn, param.shape)
    param *= 1 - lr * weight_decay                  # decoupled, with the unadjusted lr
    add_(param, update, alpha=-adjusted_lr)


class Muon(RuleOptimizer):
    """``torch.optim.Muon`` re-implemented on the rule :func:`muon`.

    Same constructor, defaults (``lr=1e-3``, ``weight_decay=0.1``, ``momentum=0.95``,
    ``nesterov=True``, ``ns_coefficients=(3.4445, -4.775, 2.0315)``, ``eps=1e-7``,
    ``ns_steps=5``), validation messages (2-D parameters only), param groups, closure,
    hooks and state dict (``momentum_buffer``) as torch 2.13's class, bit-identical steps.
    Like torch's, it has no ``foreach`` option.
    """

    rule = muon
    scalar_state = ()
    foreach_reads = ()
    sparse_message = "Muon does not support sparse gradients"

    def __init__(self, params, lr=1e-3, weight_decay: float = 0.1, momentum: float = 0.95,
                 nesterov: bool = True, ns_coefficients=NS_COEFFICIENTS, eps: float = _EPS,
                 ns_steps: int = _NS_STEPS, adjust_lr_fn: str | None = None):
        muon.validate(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                      ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                      adjust_lr_fn=adjust_lr_fn)
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum,
                        nesterov=nesterov, ns_coefficients=ns_coefficients, eps=eps,
                        ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")

    def hyperparameters(self, group: dict) -> dict:
        """The group's options plus ``ns_dtype=None`` (torch's bfloat16); raises torch's
        error for a complex parameter."""
        for p in group["params"]:
            if p.grad is not None and torch.is_complex(p):
                raise RuntimeError("Muon does not support complex parameters")
        hyper = {name: group[name] if name != "ns_dtype" else None for name in muon.names}
        hyper["lr"] = to_scalar(hyper["lr"])
        return hyper
