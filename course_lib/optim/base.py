"""The bridge between an update rule and ``torch.optim.Optimizer``.

An *update rule* in course_lib is a plain function

    rule(param, grad, state, **hyperparameters) -> None

that updates ``param`` (and the arrays in the dict ``state``) in place. It is written with
array operators only, so the same function runs on NumPy arrays (the toy problems of the
book, see :func:`course_lib.descent.run`) and on torch tensors (the classes below, used to
train networks). That is the course's rule of *one definition per method*.

:class:`RuleOptimizer` turns a rule into a ``torch.optim.Optimizer``: param groups,
``step(closure)``, ``zero_grad()``, ``state_dict()``/``load_state_dict()`` and hooks are all
inherited from torch, and ``step`` calls the rule once per parameter with that parameter's
group hyperparameters and its state dict.
"""

from __future__ import annotations

import functools
import inspect

import torch

__all__ = ["RuleOptimizer", "coupled_gradient"]


def coupled_gradient(grad, param, weight_decay: float = 0.0, maximize: bool = False):
    r"""The gradient a rule uses: :math:`g_t = \pm\nabla f(\theta_{t-1}) + \lambda\theta_{t-1}`.

    The sign is flipped when maximizing, and *coupled* weight decay (an L2 term, as in
    ``torch.optim``) is added. Returns ``grad`` itself, not a copy, when neither applies, so
    rules never write into it.
    """
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    return g


class RuleOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` whose step applies ``self.rule`` to every parameter.

    Subclasses set ``rule`` (a staticmethod) and call ``super().__init__(params, defaults)``
    after validating ``defaults``. The rule receives, from each param group, the entries named
    by its keyword-only parameters.
    """

    rule = None

    def hyperparameters(self, group: dict) -> dict:
        """The keyword arguments the rule receives for one param group."""
        hyper = {k: group[k] for k in _keyword_only(type(self).rule)}
        lr = hyper.get("lr")
        if isinstance(lr, torch.Tensor):
            hyper["lr"] = lr.item()
        return hyper

    @torch.no_grad()
    def step(self, closure=None):
        """Perform one optimization step; ``closure`` re-evaluates the loss and returns it."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            hyper = self.hyperparameters(group)
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                type(self).rule(p, p.grad, self.state[p], **hyper)
        return loss


@functools.cache
def _keyword_only(rule) -> tuple[str, ...]:
    return tuple(name for name, p in inspect.signature(rule).parameters.items()
                 if p.kind is inspect.Parameter.KEYWORD_ONLY)
