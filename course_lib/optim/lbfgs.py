r"""L-BFGS as ``torch.optim.LBFGS`` implements it (a port of Schmidt's minFunc), on NumPy
vectors and as a torch class.

One call (:func:`lbfgs` on a flat NumPy vector, or ``LBFGS.step(closure)``) runs up to
``max_iter`` quasi-Newton iterations. With :math:`g_k` the gradient at :math:`x_k` and the
last :math:`m` (``history_size``) pairs :math:`s_i = x_{i+1}-x_i`, :math:`y_i = g_{i+1}-g_i`:

.. math::

    d_k &= -H_k\, g_k \qquad(\text{the two-loop recursion, } H^0_k = \gamma_k I,\;
           \gamma_k = s_{k-1}^\top y_{k-1} / y_{k-1}^\top y_{k-1};\; d_0 = -g_0)\\
    x_{k+1} &= x_k + t_k\, d_k, \qquad
    t_k = \begin{cases}\eta\,\min\bigl(1, 1/\|g_0\|_1\bigr) & \text{first iteration ever}\\
                       \eta & \text{otherwise, or the strong-Wolfe step from there}
          \end{cases}

The direction is :func:`course_lib.second_order.quasi_newton.two_loop_recursion` -- the one
definition of the recursion, which chapter 8 derives -- called with torch's lists
(``old_stps`` :math:`s_i`, ``old_dirs`` :math:`y_i`, ``ro`` :math:`\rho_i = 1/y_i^\top s_i`,
``H_diag`` :math:`\gamma_k`, ``al`` :math:`\alpha_i`), so on tensors it has torch's bits.

Conventions (torch's, and where they differ from Nocedal & Wright's Algorithm 7.5):

* A pair is stored only if :math:`y^\top s > 10^{-10}` (an absolute threshold:
  :func:`~course_lib.second_order.quasi_newton.curvature_condition`), by
  :meth:`~course_lib.second_order.quasi_newton.LBFGSMemory.push` on torch's lists (the oldest
  pair dropped when ``history_size`` are stored); otherwise the memory and :math:`\gamma`
  stay as they were.
* Without a line search the step is the fixed :math:`t_k = \eta` (``lr``, default 1), except
  the very first, which is scaled down to :math:`\eta/\|g_0\|_1` if that is smaller; the
  function is re-evaluated after each step except the last of a call.
* ``line_search_fn="strong_wolfe"`` is minFunc's bracketing-and-zoom search
  (:func:`strong_wolfe`, :math:`c_1 = 10^{-4}`, :math:`c_2 = 0.9`) with cubic interpolation
  (:func:`cubic_interpolate`) and at most ``max_eval`` evaluations per call in total -- not
  the textbook search of :func:`course_lib.second_order.line_search.strong_wolfe_line_search`
  (N&W Algorithms 3.5-3.6), whose trial steps differ.
* A call stops after ``max_iter`` iterations, ``max_eval`` evaluations, when
  :math:`\|g\|_\infty \le` ``tolerance_grad``, when :math:`g^\top d > -` ``tolerance_change``,
  or when the step :math:`\|t d\|_\infty` or the change of the loss is below
  ``tolerance_change``. The memory carries over to the next call.

State (torch's keys, kept on the first parameter in the class): ``func_evals``, ``n_iter``
(totals over all calls), ``d`` :math:`d_k`, ``t`` :math:`t_k`, ``old_dirs`` (the
:math:`y_i`), ``old_stps`` (the :math:`s_i`), ``ro`` (the :math:`\rho_i`), ``H_diag``
:math:`\gamma`, ``prev_flat_grad``, ``prev_loss``, ``al`` (the :math:`\alpha_i` of the last
recursion, ``history_size`` entries).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from ..arrays import add_
from ..second_order.quasi_newton import LBFGSMemory, curvature_condition, two_loop_recursion

__all__ = ["lbfgs", "strong_wolfe", "cubic_interpolate", "LBFGS"]


# --- scalars and vectors: torch's method calls, NumPy's functions ------------------------

def _abs_max(x):
    return x.abs().max() if isinstance(x, torch.Tensor) else np.abs(x).max()


def _abs_sum(x):
    return x.abs().sum() if isinstance(x, torch.Tensor) else np.abs(x).sum()


def _clone(x):
    return x.clone(memory_format=torch.contiguous_format) if isinstance(x, torch.Tensor) \
        else np.array(x, copy=True)


def _copy_(out, x):
    if isinstance(out, torch.Tensor):
        out.copy_(x)
    else:
        out[...] = x
    return out


def _sqrt(x):
    return x.sqrt() if isinstance(x, torch.Tensor) else math.sqrt(x)


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    r"""The minimizer of the cubic through :math:`(x_1, f_1, g_1)` and :math:`(x_2, f_2,
    g_2)` (values and slopes), clipped to ``bounds`` (default the interval between
    :math:`x_1` and :math:`x_2`); the midpoint of ``bounds`` when the cubic has no minimizer.
    torch's ``_cubic_interpolate`` (minFunc's ``polyinterp``), operation for operation:

    .. math:: d_1 = g_1 + g_2 - 3\frac{f_1-f_2}{x_1-x_2},\quad d_2 = \sqrt{d_1^2-g_1g_2},
              \quad x^\star = x_2 - (x_2-x_1)\frac{g_2+d_2-d_1}{g_2-g_1+2d_2}.
    """
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = _sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def strong_wolfe(obj_func: Callable, x, t, d, f, g, gtd, c1: float = 1e-4, c2: float = 0.9,
                 tolerance_change: float = 1e-9, max_ls: int = 25):
    r"""torch's (minFunc's) strong-Wolfe line search along ``d`` from ``x``.

    ``obj_func(x, t, d)`` returns the loss and the flat gradient at :math:`x + t d`; ``f``,
    ``g``, ``gtd`` are the loss, gradient and slope :math:`g^\top d` at ``x``; ``t`` the first
    trial step. Brackets a step that satisfies the strong Wolfe conditions
    :math:`f(x+td) \le f + c_1 t\, g^\top d` and :math:`|\nabla f(x+td)^\top d| \le
    c_2|g^\top d|` (extrapolating by cubic interpolation within :math:`[t + 0.01(t -
    t_{\text{prev}}), 10t]`), then zooms in (cubic interpolation, kept at least 10% of the
    bracket away from its ends when progress stalls). At most ``max_ls`` evaluations.
    Returns ``(f_new, g_new, t, evaluations)``.
    """
    d_norm = _abs_max(d)
    g = _clone(g)
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    bracket = bracket_f = bracket_g = bracket_gtd = None
    while ls_iter < max_ls:                         # bracketing phase
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, _clone(g_new)], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, _clone(g_new)], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)          # extrapolate
        max_step = t * 10
        tmp = t
        t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                              bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, _clone(g_new), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]
    # every exit of the bracketing phase above sets these
    assert bracket is not None and bracket_f is not None and bracket_g is not None

    insuf_progress = False                          # zoom phase
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        assert bracket_gtd is not None              # set whenever the zoom phase runs
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                              bracket[1], bracket_f[1], bracket_gtd[1])
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            # interpolation close to the boundary: move 10% of the bracket inside if the
            # last step made insufficient progress or t is on the boundary
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # Armijo fails or no lower than the lowest point: new high end
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = _clone(g_new), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True                         # strong Wolfe holds
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = _clone(g_new), gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


def _lbfgs_call(problem, state: dict, *, lr, max_iter: int, max_eval: int,
                tolerance_grad: float, tolerance_change: float, history_size: int,
                line_search_fn: str | None):
    """One ``step(closure)`` of torch's LBFGS on ``problem`` (an object with ``closure()``,
    ``flat_grad()``, ``add_grad(t, d)``, ``clone_param()`` and ``directional_evaluate(x, t,
    d)``); ``state`` is torch's dict. Returns the loss at the start."""
    state.setdefault("func_evals", 0)
    state.setdefault("n_iter", 0)
    orig_loss = problem.closure()
    loss = float(orig_loss)
    current_evals = 1
    state["func_evals"] += 1
    flat_grad = problem.flat_grad()
    opt_cond = _abs_max(flat_grad) <= tolerance_grad
    if opt_cond:
        return orig_loss

    d, t = state.get("d"), state.get("t")
    old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
    H_diag = state.get("H_diag")
    prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        state["n_iter"] += 1
        # ---- direction
        if state["n_iter"] == 1:
            d = -flat_grad
            old_dirs, old_stps, ro = [], [], []
            H_diag = 1
        else:
            # kept in ``state`` since the first iteration
            assert old_dirs is not None and old_stps is not None and ro is not None
            y = flat_grad - prev_flat_grad
            s = d * t
            ys = y.dot(s)
            if curvature_condition(ys):             # y^T s > 1e-10: store the pair
                # the memory's push on torch's own lists: drop the oldest pair when full,
                # append s, y, rho = 1 / y^T s, and gamma = y^T s / y^T y
                memory = LBFGSMemory(history_size)
                memory.s, memory.y, memory.rho = old_stps, old_dirs, ro
                memory.push(s, y, ys)
                H_diag = memory.gamma
            if "al" not in state:
                state["al"] = [None] * history_size
            d = two_loop_recursion(-flat_grad, old_stps, old_dirs, H_diag, rho=ro,
                                   alpha=state["al"], overwrite_g=True)   # -H g
        if prev_flat_grad is None:
            prev_flat_grad = _clone(flat_grad)
        else:
            _copy_(prev_flat_grad, flat_grad)
        prev_loss = loss
        # ---- step length
        if state["n_iter"] == 1:
            t = min(1.0, 1.0 / _abs_sum(flat_grad)) * lr
        else:
            t = lr
        gtd = flat_grad.dot(d)
        if gtd > -tolerance_change:                 # not a descent direction (any more)
            break
        ls_func_evals = 0
        if line_search_fn is not None:
            if line_search_fn != "strong_wolfe":
                raise RuntimeError("only 'strong_wolfe' is supported")
            x_init = problem.clone_param()
            loss, flat_grad, t, ls_func_evals = strong_wolfe(
                problem.directional_evaluate, x_init, t, d, loss, flat_grad, gtd,
                max_ls=max_eval - current_evals)
            problem.add_grad(t, d)
            opt_cond = _abs_max(flat_grad) <= tolerance_grad
        else:
            problem.add_grad(t, d)
            if n_iter != max_iter:                  # no evaluation after the last step
                loss = float(problem.closure())
                flat_grad = problem.flat_grad()
                opt_cond = _abs_max(flat_grad) <= tolerance_grad
                ls_func_evals = 1
        current_evals += ls_func_evals
        state["func_evals"] += ls_func_evals
        # ---- stopping tests
        if n_iter == max_iter or current_evals >= max_eval or opt_cond:
            break
        if _abs_max(d * t) <= tolerance_change:
            break
        if abs(loss - prev_loss) < tolerance_change:
            break

    state["d"], state["t"] = d, t
    state["old_dirs"], state["old_stps"], state["ro"] = old_dirs, old_stps, ro
    state["H_diag"] = H_diag
    state["prev_flat_grad"], state["prev_loss"] = prev_flat_grad, prev_loss
    return orig_loss


class _FlatVector:
    """A flat NumPy vector ``x`` and ``fun(x) -> (loss, grad)`` as :func:`_lbfgs_call`
    sees the parameters of torch's class."""

    def __init__(self, x: np.ndarray, fun: Callable):
        self.x, self.fun, self.grad = x, fun, None

    def closure(self):
        loss, grad = self.fun(self.x)
        self.grad = np.array(grad, dtype=self.x.dtype, copy=True).reshape(-1)
        return loss

    def flat_grad(self):
        return self.grad

    def add_grad(self, t, d) -> None:
        add_(self.x, d, alpha=t)

    def clone_param(self):
        return self.x.copy()

    def directional_evaluate(self, x, t, d):
        self.add_grad(t, d)
        loss = float(self.closure())
        flat_grad = self.flat_grad()
        self.x[...] = x
        return loss, flat_grad


def lbfgs(x: np.ndarray, fun: Callable, state: dict, *, lr: float = 1, max_iter: int = 20,
          max_eval: int | None = None, tolerance_grad: float = 1e-7,
          tolerance_change: float = 1e-9, history_size: int = 100,
          line_search_fn: str | None = None) -> float:
    r"""One ``torch.optim.LBFGS.step(closure)`` on a flat NumPy vector, in place.

    ``x`` is a 1-D float array (updated in place), ``fun(x)`` returns ``(loss, gradient)``,
    ``state`` a dict that carries the memory between calls (torch's keys). The other
    arguments are torch's; ``max_eval`` defaults to ``max_iter * 5 // 4``. Returns the loss
    at the start of the call, as torch's ``step`` does.

    Not an update rule of :mod:`course_lib.optim.rule`: L-BFGS needs the function, not one
    gradient, and works on the whole parameter vector at once.
    """
    if max_eval is None:
        max_eval = max_iter * 5 // 4
    if x.ndim != 1:
        raise ValueError(f"Invalid x: shape {x.shape} (expected a flat vector)")
    return _lbfgs_call(_FlatVector(x, fun), state, lr=lr, max_iter=max_iter,
                       max_eval=max_eval, tolerance_grad=tolerance_grad,
                       tolerance_change=tolerance_change, history_size=history_size,
                       line_search_fn=line_search_fn)


class LBFGS(torch.optim.Optimizer):
    """``torch.optim.LBFGS`` re-implemented on :func:`_lbfgs_call` (shared with :func:`lbfgs`)
    and :func:`~course_lib.second_order.quasi_newton.two_loop_recursion`.

    Same constructor, defaults (``lr=1``, ``max_iter=20``, ``max_eval=max_iter * 5 // 4``,
    ``tolerance_grad=1e-7``, ``tolerance_change=1e-9``, ``history_size=100``), validation
    messages, single param group, ``step(closure)`` and state dict (torch's keys on the first
    parameter) as torch 2.13's class, bit-identical steps (complex parameters and sparse
    gradients as torch: viewed as real, densified).
    """

    def __init__(self, params, lr=1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None):
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        self._numel_cache: int | None = None
        self._closure = None

    # -- the parameters as one flat vector (torch's helpers) ----------------------------
    def _numel(self) -> int:
        if self._numel_cache is None:
            self._numel_cache = sum(2 * p.numel() if torch.is_complex(p) else p.numel()
                                    for p in self._params)
        return self._numel_cache

    def flat_grad(self):
        """The gradients of all parameters as one real vector (zeros for a missing one)."""
        views = []
        for p in self._params:
            if p.grad is None:
                view = p.new(p.numel()).zero_()
            elif p.grad.is_sparse:
                view = p.grad.to_dense().view(-1)
            else:
                view = p.grad.view(-1)
            if torch.is_complex(view):
                view = torch.view_as_real(view).view(-1)
            views.append(view)
        return torch.cat(views, 0)

    def add_grad(self, step_size, update) -> None:
        """Parameters ``+= step_size * update`` (``update`` flat and real)."""
        offset = 0
        for p in self._params:
            if torch.is_complex(p):
                p = torch.view_as_real(p)
            numel = p.numel()
            p.add_(update[offset:offset + numel].view_as(p), alpha=step_size)
            offset += numel
        if offset != self._numel():
            raise AssertionError(f"Expected offset {offset} to equal {self._numel()}")

    def clone_param(self):
        return [p.clone(memory_format=torch.contiguous_format) for p in self._params]

    def set_param(self, params_data) -> None:
        for p, pdata in zip(self._params, params_data, strict=True):
            p.copy_(pdata)

    def closure(self):
        return self._closure()

    def directional_evaluate(self, x, t, d):
        self.add_grad(t, d)
        loss = float(self._closure())
        flat_grad = self.flat_grad()
        self.set_param(x)
        return loss, flat_grad

    @torch.no_grad()
    def step(self, closure):
        """Up to ``max_iter`` L-BFGS iterations; ``closure`` re-evaluates the loss and its
        gradients and returns the loss. Returns the loss at the start."""
        if len(self.param_groups) != 1:
            raise AssertionError(
                f"Expected exactly one param_group, but got {len(self.param_groups)}")
        self._closure = torch.enable_grad()(closure)
        group = self.param_groups[0]
        lr = group["lr"].squeeze() if isinstance(group["lr"], torch.Tensor) \
            and group["lr"].dim() != 0 else group["lr"]
        try:
            return _lbfgs_call(self, self.state[self._params[0]], lr=lr,
                               max_iter=group["max_iter"], max_eval=group["max_eval"],
                               tolerance_grad=group["tolerance_grad"],
                               tolerance_change=group["tolerance_change"],
                               history_size=group["history_size"],
                               line_search_fn=group["line_search_fn"])
        finally:
            self._closure = None
