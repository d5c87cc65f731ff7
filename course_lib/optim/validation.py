"""Hyperparameter checks, worded as ``torch.optim`` words them."""

from __future__ import annotations

import torch

__all__ = ["check_lr", "check_nonnegative"]


def check_lr(lr) -> None:
    """Reject a negative learning rate (or a tensor learning rate with more than one element)."""
    if isinstance(lr, torch.Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")


def check_nonnegative(value, name: str) -> None:
    """Reject ``value < 0`` with torch's message ``Invalid <name> value: <value>``."""
    if value < 0.0:
        raise ValueError(f"Invalid {name} value: {value}")
