r"""SOAP: Adam in the eigenbasis of Shampoo's preconditioner (Vyas et al., 2025).

Shampoo's statistics of an :math:`m\times n` gradient, here as moving averages,
:math:`L_t = \beta_s L_{t-1} + (1-\beta_s) G_t G_t^\top` and
:math:`R_t = \beta_s R_{t-1} + (1-\beta_s) G_t^\top G_t`, have eigenvectors :math:`Q_L`,
:math:`Q_R`. SOAP rotates the gradient into that basis, runs Adam there, and rotates the
step back:

.. math::

    G'_t &= Q_L^\top G_t Q_R, \qquad
    m_t = \beta_1 m_{t-1} + (1-\beta_1) G_t, \qquad
    v_t = \beta_2 v_{t-1} + (1-\beta_2)\, G'^{\,2}_t\\
    W_t &= W_{t-1} - \eta\,\frac{\sqrt{1-\beta_2^{t}}}{1-\beta_1^{t}}\;
          Q_L\,\frac{Q_L^\top m_t Q_R}{\sqrt{v_t} + \epsilon}\,Q_R^\top
          \;-\; \eta\lambda\, W_{t-1}

(with :math:`t` counting the steps that moved the parameters). With :math:`Q = I` this is
AdamW. Vyas et al. show that Shampoo with the exponent :math:`-1/2` (in place of
:math:`-1/4`) is Adafactor run in this eigenbasis; SOAP runs Adam there instead, keeping
a second moment per coordinate of the rotated gradient, which tracks the scales between
refreshes of the basis -- so the basis can be refreshed rarely (every
``precondition_frequency`` steps, by one step of power iteration and a QR decomposition:
:math:`Q \leftarrow \mathrm{qr}(L\,Q)`, columns sorted by the estimated eigenvalues
:math:`\mathrm{diag}(Q^\top L Q)`, and :math:`v` permuted accordingly). A tensor of any
order gets one factor per dimension; a dimension larger than ``max_precondition_dim`` (and a
vector, unless ``precondition_1d``) keeps the identity.

Conventions (the paper's Algorithm and ``pytorch_optimizer.SOAP`` 4.1.0, which follows the
authors' code and which this rule follows operation by operation):

* **The first gradient only initializes the bases**: the first step computes :math:`L_1,
  R_1` and their eigenvectors (``eigh``, columns in descending order of eigenvalue) and does
  *not* move the parameters or the Adam moments; the bias corrections then count from the
  second call. The later bases come from the power iteration + QR only.
* :math:`m_t` is kept in the *original* coordinates and rotated at every step (so a change
  of basis does not disturb it), :math:`v_t` in the rotated ones (permuted with the
  columns of :math:`Q` at a refresh, but not rotated).
* **Bias correction folded into the step size**, :math:`\eta\sqrt{1-\beta_2^t}/(1-\beta_1^t)`,
  so :math:`\epsilon` is added to :math:`\sqrt{v_t}` *before* correction (as
  ``torch.optim.Adam`` with its ``eps`` rescaled, not as Adam's Algorithm 1).
* **Decoupled weight decay, after the step**: :math:`W \leftarrow (1-\eta\lambda) W` with the
  un-corrected :math:`\eta`, applied after the Adam step (AdamW shrinks before).
* Defaults :math:`\beta_1 = \beta_2 = 0.95`, :math:`\beta_s = \beta_2`, :math:`\lambda =
  0.01`, ``precondition_frequency = 10`` (the authors').
* The reference casts the power-iteration matrix to **float32** for the QR (bfloat16 support),
  also for float64 parameters; here the QR runs in the parameter's dtype. The two agree to
  float32 rounding at every refresh of the basis, so float64 runs agree to 1e-12 only until
  the first refresh.
* **The first basis can be ill-posed**: for an :math:`m\times n` gradient with
  :math:`m > n + 1`, :math:`L_1 = (1-\beta_s) G_1 G_1^\top` has a repeated zero eigenvalue,
  and any orthonormal basis of its null space is "the" eigenbasis. Two eigensolvers (NumPy's
  and torch's) pick different ones, and the runs then differ at the percent level -- not by
  rounding. Runs on torch are reproducible (the same solver on the same bits).
* Not offered: the reference's ``merge_dims``, ``normalize_gradient``, ``data_format``.

State: ``"step"``, ``"exp_avg"`` :math:`m_t`, ``"exp_avg_sq"`` :math:`v_t` (rotated),
``"GG_<i>"`` the statistic and ``"Q_<i>"`` the eigenbasis of dimension ``i`` (only for the
preconditioned dimensions). NumPy arrays and real torch tensors.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from ..arrays import add_, item, lerp_, sqrt, step_counter, zeros_like
from ..validation import invalid, is_real
from .lion import CheckedRuleOptimizer, check_betas_open, check_lr_weight_decay
from .rule import update_rule

__all__ = ["soap", "check_soap", "init_soap_state", "SOAP"]


def _is_torch(x) -> bool:
    return isinstance(x, torch.Tensor)


def _tensordot(a, b, axes):
    return torch.tensordot(a, b, dims=axes) if _is_torch(a) else np.tensordot(a, b, axes=axes)


def _preconditioned(state: dict, ndim: int) -> list:
    """The basis of each dimension, ``None`` where the dimension is not preconditioned."""
    return [state.get(f"Q_{i}") for i in range(ndim)]


def _project(x, bases: list, back: bool = False):
    """Rotate every dimension of ``x`` into (``back=False``: :math:`Q^\\top`) or out of
    (``back=True``: :math:`Q`) the eigenbases; each contraction moves its axis last."""
    for q in bases:
        if q is None:
            x = x.permute(*range(1, x.ndim), 0) if _is_torch(x) else np.moveaxis(x, 0, -1)
        else:
            x = _tensordot(x, q, ([0], [1 if back else 0]))
    return x


def _update_statistics(state: dict, grad, shampoo_beta: float) -> None:
    """:math:`H^{(i)} \\leftarrow \\beta_s H^{(i)} + (1-\\beta_s) G_{(i)} G_{(i)}^\\top`."""
    ndim = len(grad.shape)
    for i in range(ndim):
        if f"GG_{i}" not in state:
            continue
        if ndim == 1:
            outer = (torch.outer if _is_torch(grad) else np.outer)(grad, grad)
        else:
            rest = [j for j in range(ndim) if j != i]
            outer = _tensordot(grad, grad, (rest, rest))
        lerp_(state[f"GG_{i}"], outer, 1 - shampoo_beta)


def _eigenbases(state: dict, ndim: int) -> None:
    """:math:`Q^{(i)}`: eigenvectors of :math:`H^{(i)}`, by decreasing eigenvalue."""
    for i in range(ndim):
        if f"GG_{i}" not in state:
            continue
        m = state[f"GG_{i}"]
        if _is_torch(m):
            _, q = torch.linalg.eigh(m + 1e-30 * torch.eye(m.shape[0], dtype=m.dtype,
                                                           device=m.device))
            state[f"Q_{i}"] = torch.flip(q, dims=[1])
        else:
            _, q = np.linalg.eigh(m + 1e-30 * np.eye(m.shape[0], dtype=m.dtype))
            state[f"Q_{i}"] = q[:, ::-1].copy()


def _power_iteration(state: dict, ndim: int) -> None:
    """One power-iteration step and a QR per dimension, columns sorted by the estimated
    eigenvalues :math:`\\mathrm{diag}(Q^\\top H Q)`; :math:`v` permuted alike."""
    exp_avg_sq = state["exp_avg_sq"]
    for i in range(ndim):
        if f"GG_{i}" not in state:
            continue
        m, q = state[f"GG_{i}"], state[f"Q_{i}"]
        product = m @ q
        estimate = (q * product).sum(0)
        order: torch.Tensor | np.ndarray
        if _is_torch(m):
            order = torch.argsort(estimate, descending=True)
            exp_avg_sq = exp_avg_sq.index_select(i, order)
            state[f"Q_{i}"], _ = torch.linalg.qr(product.index_select(1, order))
        else:
            order = np.argsort(-estimate, kind="stable")
            exp_avg_sq = np.take(exp_avg_sq, order, axis=i)
            state[f"Q_{i}"], _ = np.linalg.qr(product[:, order])
    state["exp_avg_sq"] = exp_avg_sq


def init_soap_state(param, state: dict, *, max_precondition_dim: int = 10000,
                    precondition_1d: bool = False, **_) -> None:
    """The state before the first step: zero moments and zero statistics for the
    preconditioned dimensions (their bases come with the first gradient)."""
    state["step"] = step_counter(param)
    state["exp_avg"] = zeros_like(param)
    state["exp_avg_sq"] = zeros_like(param)
    if len(param.shape) == 1 and not precondition_1d:
        return
    for i, n in enumerate(param.shape):
        if n <= max_precondition_dim:
            if _is_torch(param):
                state[f"GG_{i}"] = torch.zeros(n, n, dtype=param.dtype, device=param.device)
            else:
                state[f"GG_{i}"] = np.zeros((n, n), dtype=param.dtype)


def check_soap(lr, betas, shampoo_beta, eps, weight_decay, precondition_frequency,
               max_precondition_dim, **_) -> None:
    """Raise ``ValueError`` for invalid SOAP hyperparameters."""
    check_lr_weight_decay(lr, weight_decay)
    check_betas_open(betas)
    if shampoo_beta is not None and (not is_real(shampoo_beta)
                                     or not 0.0 <= shampoo_beta < 1.0):
        raise invalid("shampoo_beta", shampoo_beta, "None or a number in [0, 1)")
    if not is_real(eps) or not math.isfinite(eps) or eps < 0:
        raise invalid("eps", eps, "a finite number >= 0")
    for name, value in (("precondition_frequency", precondition_frequency),
                        ("max_precondition_dim", max_precondition_dim)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
            raise invalid(name, value, "a positive integer")


@update_rule(check=check_soap, init_state=init_soap_state)
def soap(param, grad, state: dict, *, lr: float, betas=(0.95, 0.95), shampoo_beta=None,
         eps: float = 1e-8, weight_decay: float = 0.01, precondition_frequency: int = 10,
         max_precondition_dim: int = 10000, precondition_1d: bool = False,
         correct_bias: bool = True) -> None:
    r"""One SOAP step on ``param``, in place (NumPy array or real torch tensor).

    Parameters
    ----------
    param : array of any shape, updated in place (not at the first call).
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict; ``"step"``, ``"exp_avg"``, ``"exp_avg_sq"``, ``"GG_<i>"``, ``"Q_<i>"``.
    lr, betas, eps : Adam's :math:`\eta`, :math:`(\beta_1,\beta_2)`, :math:`\epsilon`.
    shampoo_beta : :math:`\beta_s` of the statistics (None: :math:`\beta_2`).
    weight_decay : :math:`\lambda`, decoupled, after the step.
    precondition_frequency : refresh the bases every this many steps.
    max_precondition_dim : larger dimensions are not rotated.
    precondition_1d : rotate vectors too (a full :math:`n\times n` statistic).
    correct_bias : Adam's bias correction (in the step size).
    """
    beta1, beta2 = betas
    if not state:
        init_soap_state(param, state, max_precondition_dim=max_precondition_dim,
                        precondition_1d=precondition_1d)
    shampoo_beta = beta2 if shampoo_beta is None else shampoo_beta
    ndim = len(param.shape)
    state["step"] += 1
    step = int(item(state["step"])) - 1        # the steps that move the parameters
    if step == 0:                              # the first gradient sets up the bases only
        _update_statistics(state, grad, shampoo_beta)
        _eigenbases(state, ndim)
        return
    step_size = lr
    if correct_bias:
        step_size *= math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
    bases = _preconditioned(state, ndim)
    rotated = _project(grad, bases)
    lerp_(state["exp_avg"], grad, 1 - beta1)
    lerp_(state["exp_avg_sq"], rotated * rotated, 1 - beta2)
    denom = sqrt(state["exp_avg_sq"])
    denom += eps
    direction = _project(_project(state["exp_avg"], bases) / denom, bases, back=True)
    add_(param, direction, alpha=-step_size)
    if weight_decay != 0:
        param *= 1 - weight_decay * lr
    _update_statistics(state, grad, shampoo_beta)
    if step % precondition_frequency == 0:
        _power_iteration(state, ndim)


class SOAP(CheckedRuleOptimizer):
    """SOAP (Vyas et al., 2025) as a ``torch.optim.Optimizer`` on the rule :func:`soap`.

    ``SOAP(params, lr=3e-3, betas=(0.95, 0.95), shampoo_beta=None, eps=1e-8,
    weight_decay=0.01, precondition_frequency=10, max_precondition_dim=10000,
    precondition_1d=False, correct_bias=True)`` -- ``pytorch_optimizer.SOAP``'s defaults.
    """

    rule = soap
    foreach_reads = ()

    def __init__(self, params, lr: float = 3e-3, betas=(0.95, 0.95), shampoo_beta=None,
                 eps: float = 1e-8, weight_decay: float = 0.01,
                 precondition_frequency: int = 10, max_precondition_dim: int = 10000,
                 precondition_1d: bool = False, correct_bias: bool = True):
        super().__init__(params, soap.validate(
            lr=lr, betas=tuple(betas), shampoo_beta=shampoo_beta, eps=eps,
            weight_decay=weight_decay, precondition_frequency=precondition_frequency,
            max_precondition_dim=max_precondition_dim, precondition_1d=precondition_1d,
            correct_bias=correct_bias))
