"""Hyperparameter checks, worded as ``torch.optim`` words them.

``torch.optim.SGD`` tests ``lr < 0`` (so a NaN passes), while the adaptive optimizers
(Adagrad, RMSprop, Adadelta, Adam, AdamW, Adamax, NAdam) test ``not 0 <= lr`` (so a NaN is
rejected); ``reject_nan=True`` selects the second form.
"""

from __future__ import annotations

import torch

__all__ = ["check_lr", "check_nonnegative", "check_eps", "check_betas", "check_adam_like",
           "check_flags"]


def check_lr(lr, *, reject_nan: bool = False) -> None:
    """Reject a negative learning rate (or a tensor learning rate with more than one element)."""
    if isinstance(lr, torch.Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if (not 0.0 <= lr) if reject_nan else lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")


def check_nonnegative(value, name: str, *, reject_nan: bool = False) -> None:
    """Reject ``value < 0`` with torch's message ``Invalid <name> value: <value>``."""
    if (not 0.0 <= value) if reject_nan else value < 0.0:
        raise ValueError(f"Invalid {name} value: {value}")


def check_eps(eps) -> None:
    """Reject ``eps`` outside ``[0, inf)`` (NaN included): ``Invalid epsilon value: <eps>``."""
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")


def check_betas(betas) -> None:
    """Reject averaging coefficients outside ``[0, 1)``, as Adam, Adamax and NAdam do."""
    for index in (0, 1):
        if not 0.0 <= betas[index] < 1.0:
            raise ValueError(f"Invalid beta parameter at index {index}: {betas[index]}")


_FLAG_SUPPORT = {
    "foreach": ((None, False, True), "None, False or True"),
    "fused": ((None, False), "None or False: course_lib.optim has no fused kernels"),
    "capturable": ((False,), "False: course_lib.optim does not support CUDA graph capture"),
    "differentiable": ((False,), "False: course_lib.optim steps run under torch.no_grad"),
}


def check_adam_like(lr, betas, eps, weight_decay, **_) -> None:
    """The checks torch's Adam-family classes share (Adam, AdamW, Adamax, NAdam, RAdam), in
    their order and wording: ``lr``, ``eps``, ``betas``, ``weight_decay``."""
    check_lr(lr, reject_nan=True)
    check_eps(eps)
    check_betas(betas)
    check_nonnegative(weight_decay, "weight_decay", reject_nan=True)


def check_flags(**flags) -> None:
    """Accept torch.optim's implementation switches where they change nothing here.

    ``foreach`` may be None/False (one tensor at a time, torch's CPU default) or True (the
    same rule on lists of tensors, torch's ``_foreach_*`` kernels); ``fused`` None/False;
    ``capturable`` and ``differentiable`` False. Anything else raises ``TypeError`` (not a
    bool or None) or ``ValueError`` saying what is supported.
    """
    for name, value in flags.items():
        allowed, words = _FLAG_SUPPORT[name]
        if value is not None and not isinstance(value, bool):
            raise TypeError(f"Invalid {name}: {value!r} (expected {words.split(':')[0]})")
        if value not in allowed:
            raise ValueError(f"Invalid {name}: {value!r} (expected {words})")
