r"""Filter-normalized loss-landscape slices (Li et al., 2018).

A 2-D slice through weight space around trained weights :math:`\theta^\star`,

.. math:: L(\alpha, \beta) = \mathcal{L}(\theta^\star + \alpha\,\delta + \beta\,\eta),

is only comparable between networks if the directions are scaled like the weights they
perturb: networks with ReLUs are invariant to rescaling a filter's weights, so a raw
Gaussian direction looks "sharp" for small weights and "flat" for large ones. Li et al.
therefore draw :math:`d \sim \mathcal N(0, I)` and rescale every *filter* (here: every output
row of a weight matrix) to the norm of the corresponding filter of :math:`\theta^\star`,

.. math:: d_{i} \leftarrow \frac{d_{i}}{\lVert d_{i}\rVert}\,\lVert\theta^\star_{i}\rVert,

and set the direction to zero for biases and normalization parameters (1-D tensors).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

__all__ = ["filter_normalized_direction", "loss_surface"]


def filter_normalized_direction(model: nn.Module,
                                generator: torch.Generator) -> dict[str, torch.Tensor]:
    """A random direction, one tensor per named parameter, filter-normalized as above."""
    direction = {}
    for name, p in model.named_parameters():
        if p.dim() <= 1:
            direction[name] = torch.zeros_like(p)
            continue
        d = torch.randn(p.shape, generator=generator, dtype=p.dtype)
        d_rows, p_rows = d.reshape(len(d), -1), p.detach().reshape(len(p), -1)
        scale = p_rows.norm(dim=1, keepdim=True) / d_rows.norm(dim=1, keepdim=True).clamp_min(1e-12)
        direction[name] = (d_rows * scale).reshape(p.shape)
    return direction


@torch.no_grad()
def loss_surface(model: nn.Module, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                 X: torch.Tensor, y: torch.Tensor, d1: dict[str, torch.Tensor],
                 d2: dict[str, torch.Tensor], alphas: Sequence[float] | np.ndarray,
                 betas: Sequence[float] | np.ndarray) -> np.ndarray:
    """:math:`L(\\alpha, \\beta)` on the grid ``alphas x betas``; array of shape
    ``(len(betas), len(alphas))`` (rows follow ``betas``, as ``plt.contour`` expects).

    The model is evaluated in evaluation mode (BatchNorm uses its running statistics) with
    :math:`\\theta^\\star + \\alpha d_1 + \\beta d_2` passed through
    ``torch.func.functional_call``; its parameters and mode are left as they were."""
    was_training = model.training
    model.eval()
    base = {name: p.detach().clone() for name, p in model.named_parameters()}
    Z = np.empty((len(betas), len(alphas)))
    for i, b in enumerate(betas):
        for j, a in enumerate(alphas):
            params = {n: base[n] + float(a) * d1[n] + float(b) * d2[n] for n in base}
            Z[i, j] = float(loss_fn(functional_call(model, params, (X,)), y))
    model.train(was_training)
    return Z
