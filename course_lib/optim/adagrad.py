r"""AdaGrad (Duchi, Hazan & Singer, 2011), PyTorch's convention.

The update, for gradient :math:`g_t` at :math:`\theta_{t-1}`, learning rate :math:`\eta`,
learning-rate decay :math:`\delta`, :math:`\epsilon`, weight decay :math:`\lambda` and initial
accumulator value :math:`r_0` (default 0):

.. math::

    g_t &\leftarrow \pm\nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1}
          \qquad(\text{minus sign when maximizing})\\
    \eta_t &\leftarrow \frac{\eta}{1 + (t-1)\,\delta}\\
    r_t &\leftarrow r_{t-1} + g_t^2\\
    \theta_t &\leftarrow \theta_{t-1} - \eta_t\, \frac{g_t}{\sqrt{r_t} + \epsilon}

Conventions:

* The accumulator **includes the current gradient**: :math:`r_t = r_0 + \sum_{\tau\le t}
  g_\tau^2` (Duchi et al.; Goodfellow, Bengio & Courville, Algorithm 8.4; PyTorch). So the
  first step is :math:`-\eta\, g_1/(|g_1|+\epsilon) \approx -\eta\,\mathrm{sign}(g_1)`; an
  accumulator that stopped at :math:`t-1` would divide the first gradient by :math:`\epsilon`
  alone.
* :math:`\epsilon` sits **outside** the square root (default ``1e-10``); GBC's Algorithm 8.4
  writes :math:`\delta + \sqrt{r}` too.
* There is no bias correction and no averaging: :math:`r` only grows, so the effective step
  :math:`\eta_t/\sqrt{r_t}` of every coordinate only shrinks.
* Weight decay is coupled (an L2 term added to :math:`g_t`).

State (torch's names in brackets): ``"t"`` the step count, a Python ``int`` [``step``, a
0-d tensor], ``"r"`` the accumulator of squared gradients (GBC's :math:`r`) [``sum``]. Like
``torch.optim.Adagrad``, the class :class:`Adagrad` creates this state for every parameter
in its constructor.
"""

from __future__ import annotations

from ..arrays import addcdiv_, sqrt, zeros_like
from .base import RuleOptimizer, coupled_gradient
from .validation import check_eps, check_lr, check_nonnegative

__all__ = ["adagrad", "check_adagrad", "Adagrad"]


def initial_state(param, initial_accumulator_value: float = 0.0) -> dict:
    """The state before the first step: ``t = 0`` and ``r`` filled with the initial value."""
    return {"t": 0, "r": zeros_like(param) + initial_accumulator_value}


def adagrad(param, grad, state: dict, *, lr: float, lr_decay: float = 0.0,
            weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
            eps: float = 1e-10, maximize: bool = False) -> None:
    r"""One AdaGrad step on ``param``, in place (NumPy array or torch tensor).

    Parameters
    ----------
    param : array of any shape, updated in place.
    grad : array of the same shape, :math:`\nabla f(\theta_{t-1})`; not modified.
    state : dict for this parameter; holds ``"t"`` and ``"r"`` (created at the first step
        if empty, see :func:`initial_state`).
    lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize : as in
        ``torch.optim.Adagrad``.
    """
    g = coupled_gradient(grad, param, weight_decay, maximize)
    if not state:
        state.update(initial_state(param, initial_accumulator_value))
    t = state["t"] = state["t"] + 1
    r = state["r"]
    r += g * g
    std = sqrt(r)
    std += eps                          # eps outside the root
    addcdiv_(param, g, std, value=-lr / (1 + (t - 1) * lr_decay))


def check_adagrad(lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                  eps=1e-10, maximize=False) -> None:
    """Raise ``ValueError`` (torch's wording) for invalid Adagrad hyperparameters."""
    check_lr(lr, reject_nan=True)
    check_nonnegative(lr_decay, "lr_decay", reject_nan=True)
    check_nonnegative(weight_decay, "weight_decay", reject_nan=True)
    check_nonnegative(initial_accumulator_value, "initial_accumulator_value", reject_nan=True)
    check_eps(eps)


adagrad.check = check_adagrad


class Adagrad(RuleOptimizer):
    """``torch.optim.Adagrad`` re-implemented on the rule :func:`adagrad`.

    Same constructor, defaults (``lr=1e-2``, ``eps=1e-10``), validation messages, param
    groups, closure and state-dict behaviour as torch 2.13's class for the options ``lr``,
    ``lr_decay``, ``weight_decay``, ``initial_accumulator_value``, ``eps`` and ``maximize``.
    As in torch, the state (``"t"``, ``"r"``) of every parameter given to the constructor is
    created there, and every accumulator starts at the constructor's
    ``initial_accumulator_value``: a param group's own value is ignored (torch 2.13 does
    the same).
    """

    rule = staticmethod(adagrad)

    def __init__(self, params, lr=1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *,
                 maximize: bool = False):
        check_adagrad(lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value,
                        maximize=maximize)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = initial_state(p.detach(), initial_accumulator_value)

    def hyperparameters(self, group: dict) -> dict:
        """As the base class, except that ``initial_accumulator_value`` is the constructor's.

        ``torch.optim.Adagrad`` fills every accumulator with the constructor's value -- in the
        constructor, and at the first step of a group added later -- and ignores a value set
        in a param group; this class does the same.
        """
        return dict(super().hyperparameters(group),
                    initial_accumulator_value=self.defaults["initial_accumulator_value"])
