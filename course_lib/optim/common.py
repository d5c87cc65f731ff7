r"""What every update rule repeats, written once, in ``torch.optim``'s order of operations.

These functions work on NumPy arrays, torch tensors and :class:`course_lib.arrays.TensorList`
alike (they only use :mod:`course_lib.arrays` and Python operators), and they import no torch:
the NumPy path of the book needs nothing else.

=====================================  ===================================================
:func:`coupled_gradient`               :math:`g_t = \pm\nabla f + \lambda\theta` (or the
                                       decoupled shrink :math:`\theta \leftarrow
                                       (1-\eta\lambda)\theta`)
:func:`moving_average_`                :math:`m \leftarrow \beta m + (1-\beta) g`
                                       (``m.lerp_(g, 1 - beta)``)
:func:`moving_average_of_squares_`     :math:`v \leftarrow \beta v + (1-\beta) g^2`
                                       (``v.mul_(beta).addcmul_(g, g, value=1 - beta)``)
:func:`bias_correction`                :math:`1-\beta^t`
=====================================  ===================================================
"""

from __future__ import annotations

from ..arrays import add, add_, addcmul_, item, lerp_, real_view

__all__ = ["coupled_gradient", "moving_average_", "moving_average_of_squares_",
           "bias_correction", "adam_moments_"]


def coupled_gradient(grad, param, weight_decay=0.0, maximize: bool = False, *,
                     decoupled: bool = False, lr=None):
    r"""The gradient a rule uses: :math:`g_t = \pm\nabla f(\theta_{t-1}) + \lambda\theta_{t-1}`.

    The sign is flipped when maximizing (``-grad``), then weight decay is applied:

    * coupled (default, an L2 term as in ``torch.optim``): ``g = g.add(param, alpha=weight_decay)``;
    * ``decoupled=True`` (AdamW, NAdamW): the parameters shrink in place,
      ``param *= 1 - lr * weight_decay``, and ``g`` is returned without the term.

    Returns ``grad`` itself, not a copy, when neither applies, so rules never write into it;
    otherwise a new array the rule may overwrite.
    """
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled:
            param *= 1 - lr * weight_decay
        elif maximize:                  # g is already a copy: add in place (same bits)
            add_(g, param, alpha=weight_decay)
        else:
            g = add(g, param, alpha=weight_decay)
    return g


def moving_average_(avg, g, beta):
    r"""In place :math:`m \leftarrow \beta m + (1-\beta) g`, as torch writes it:
    ``avg.lerp_(g, 1 - beta)``; returns ``avg``."""
    return lerp_(avg, g, 1 - beta)


def moving_average_of_squares_(avg, g, beta):
    r"""In place :math:`v \leftarrow \beta v + (1-\beta) g^2`, as torch writes it:
    ``avg.mul_(beta).addcmul_(g, g, value=1 - beta)``; returns ``avg``."""
    avg *= beta
    return addcmul_(avg, g, g, value=1 - beta)


def bias_correction(beta, step):
    r""":math:`1-\beta^t`, the total weight of an exponential moving average after ``step``
    steps from zero (the factor Adam divides by)."""
    return 1 - beta**step


def adam_moments_(param, grad, state: dict, betas, *, lr, weight_decay=0.0,
                  maximize: bool = False, decoupled: bool = False):
    r"""The opening of RAdam's and NAdam's steps, in torch's order: count the step, form
    :math:`g_t` (:func:`coupled_gradient`), then update both moments in place,
    :math:`m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t` and
    :math:`v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2`.

    ``state`` holds ``"step"``, ``"exp_avg"`` and ``"exp_avg_sq"``. Returns
    ``(param, g, exp_avg, exp_avg_sq, step)``: the real views (complex parameters are updated
    as pairs of reals, as torch does) and the step count as a number.
    """
    beta1, beta2 = betas
    param, grad = real_view(param), real_view(grad)
    exp_avg, exp_avg_sq = real_view(state["exp_avg"]), real_view(state["exp_avg_sq"])
    state["step"] += 1
    step = item(state["step"])
    g = coupled_gradient(grad, param, weight_decay, maximize, decoupled=decoupled, lr=lr)
    moving_average_(exp_avg, g, beta1)                 # m <- b1 m + (1 - b1) g
    moving_average_of_squares_(exp_avg_sq, g, beta2)   # v <- b2 v + (1 - b2) g^2
    return param, g, exp_avg, exp_avg_sq, step
