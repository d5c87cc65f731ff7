r"""Sharpness-aware minimization, SAM (Foret et al., 2021), and its adaptive variant ASAM
(Kwon et al., 2021).

SAM minimizes :math:`\max_{\lVert\varepsilon\rVert\le\rho} f(\theta + \varepsilon)`, the
worst loss in a ball around :math:`\theta`. Solving the inner maximization to first order,
:math:`f(\theta+\varepsilon) \approx f(\theta) + \varepsilon^\top g`, gives the dual-norm
solution

.. math::

    \hat\varepsilon(\theta) = \rho\,\frac{g}{\lVert g\rVert_2},
    \qquad g = \nabla f(\theta),

and the step is the base optimizer's step with the gradient taken at the perturbed point,
:math:`\nabla f(\theta + \hat\varepsilon)` (the dependence of :math:`\hat\varepsilon` on
:math:`\theta` is dropped, as in the paper). One step therefore costs **two** gradient
evaluations: :meth:`SAM.step` calls the closure twice.

ASAM (``adaptive=True``) measures the ball in the parameter-scaled coordinates
:math:`T_\theta^{-1}\varepsilon` with :math:`T_\theta = \mathrm{diag}(|\theta|)`, which gives
:math:`\hat\varepsilon = \rho\, T_\theta^2 g / \lVert T_\theta g\rVert`: a perturbation that
is invariant to rescaling the weights.

Conventions (paper; ``optax.contrib.sam`` 0.2.8; ``pytorch_optimizer.SAM`` 4.1.0, which is the
widely used implementation of D. Samuel):

* **One norm for the whole model**: :math:`\lVert g\rVert` is the norm of the concatenation
  of all gradients (paper, optax's ``normalize()``, ``pytorch_optimizer``), not a norm per
  tensor.
* **A guard in the denominator**: :math:`\rho/(\lVert g\rVert + \epsilon)` with
  :math:`\epsilon = 10^{-12}` (``pytorch_optimizer``'s ``perturb_eps``, default here);
  optax divides by :math:`\lVert g\rVert` alone (``perturb_eps=0`` reproduces it).
* **Exact return to** :math:`\theta`: the parameters are copied before the perturbation and
  copied back (optax: the outer update starts from a cached copy), not computed as
  :math:`(\theta+\varepsilon)-\varepsilon`, which would round.
* **ASAM's** :math:`T_\theta`: Kwon et al. use :math:`|\theta| + \eta` with a small
  :math:`\eta` (0.01 for biases in their code); ``pytorch_optimizer`` and this module use
  :math:`|\theta|` (:math:`\eta = 0`).
* **The closure**: here ``step(closure)`` evaluates the closure twice (at :math:`\theta`
  and at :math:`\theta+\hat\varepsilon`) and returns the first loss; ``pytorch_optimizer``
  expects the first backward pass done *before* ``step`` and calls the closure once. The
  two halves are also available as :meth:`SAM.first_step` and :meth:`SAM.second_step`.
* optax writes SAM as two alternating calls of one ``update`` (``sync_period=2``), the
  adversarial step being "normalized SGD with learning rate :math:`-\rho`"; it also has an
  ``opaque_mode`` for models whose BatchNorm statistics must not see the perturbed pass.
  With BatchNorm, the second forward pass here updates the running statistics at
  :math:`\theta+\hat\varepsilon` too (as in ``pytorch_optimizer``); the usual remedy is to
  put the BatchNorm layers in eval mode (or momentum 0) for the second pass.
* m-sharpness (the paper's per-device perturbations over sub-batches) is not implemented.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..arrays import clone
from ..validation import invalid, is_real
from .lars import l2_norm

__all__ = ["sam_perturbation", "sam_scaled_gradient_norm", "sam_step", "check_sam", "SAM"]


def sam_scaled_gradient_norm(params, grads, *, adaptive: bool = False) -> float:
    r""":math:`\lVert T_\theta g\rVert` over all the tensors together (:math:`T_\theta = I`,
    or :math:`\mathrm{diag}|\theta|` when ``adaptive``)."""
    total = 0.0
    for p, g in zip(params, grads, strict=True):
        total += l2_norm(abs(p) * g if adaptive else g) ** 2
    return math.sqrt(total)


def sam_perturbation(param, grad, *, rho: float, norm: float, adaptive: bool = False,
                     eps: float = 1e-12):
    r"""The perturbation :math:`\hat\varepsilon = \rho\, T_\theta^2 g / (\lVert T_\theta
    g\rVert + \epsilon)` of one tensor (a new array), given the global ``norm`` from
    :func:`sam_scaled_gradient_norm`."""
    scale = rho / (norm + eps)
    e = param * param * grad if adaptive else clone(grad)
    e *= scale
    return e


def check_sam(rho, adaptive, perturb_eps, **_) -> None:
    """Raise ``ValueError`` for an invalid ``rho`` or ``perturb_eps`` (``TypeError`` for a
    non-bool ``adaptive``)."""
    for name, value in (("rho", rho), ("perturb_eps", perturb_eps)):
        if not is_real(value) or not math.isfinite(value) or value < 0:
            raise invalid(name, value, "a finite number >= 0")
    if not isinstance(adaptive, bool):
        raise TypeError(f"adaptive must be a bool, got {type(adaptive).__name__}")


def sam_step(rule, param, grad_fn, state: dict, *, rho: float = 0.05, adaptive: bool = False,
             perturb_eps: float = 1e-12, **hyper):
    r"""One SAM step on a NumPy array (or tensor) ``param``, in place: the gradient at
    :math:`\theta`, the perturbation, the gradient at :math:`\theta+\hat\varepsilon`, then
    ``rule(param, that gradient, state, **hyper)``. ``grad_fn(x)`` returns
    :math:`\nabla f(x)`. Returns the gradient at :math:`\theta` (for recording norms)."""
    check_sam(rho, adaptive, perturb_eps)
    g = np.asarray(grad_fn(param)) if isinstance(param, np.ndarray) else grad_fn(param)
    e = sam_perturbation(param, g, rho=rho, adaptive=adaptive, eps=perturb_eps,
                         norm=sam_scaled_gradient_norm([param], [g], adaptive=adaptive))
    g_adv = grad_fn(param + e)
    rule(param, g_adv, state, **hyper)
    return g


class SAM(torch.optim.Optimizer):
    """SAM wrapped around a base optimizer: ``SAM(params, base_optimizer, rho=0.05,
    adaptive=False, perturb_eps=1e-12, **base_kwargs)``.

    ``base_optimizer`` is an optimizer *class* (e.g. ``course_lib.optim.SGD``); it is built
    on the same param groups with ``base_kwargs`` (``lr=0.1, momentum=0.9``). Param groups
    may set their own ``rho``/``adaptive``/``perturb_eps`` (named so as not to collide with
    the base optimizer's ``eps``). ``step(closure)`` needs a closure that
    zeroes the gradients, computes the loss, calls ``backward`` and returns the loss; it is
    called twice per step. The state (and ``state_dict``) is the base optimizer's.
    """

    def __init__(self, params, base_optimizer, rho: float = 0.05, adaptive: bool = False,
                 perturb_eps: float = 1e-12, **base_kwargs):
        if not (isinstance(base_optimizer, type)
                and issubclass(base_optimizer, torch.optim.Optimizer)):
            raise TypeError("base_optimizer must be a torch.optim.Optimizer class, got "
                            f"{type(base_optimizer).__name__}")
        check_sam(rho, adaptive, perturb_eps)
        super().__init__(params, dict(rho=rho, adaptive=adaptive, perturb_eps=perturb_eps,
                                      **base_kwargs))
        self.base_optimizer = base_optimizer(self.param_groups, **base_kwargs)
        self.param_groups = self.base_optimizer.param_groups
        self.state = self.base_optimizer.state

    def add_param_group(self, param_group: dict) -> None:
        check_sam(**{k: param_group.get(k, self.defaults[k])
                     for k in ("rho", "adaptive", "perturb_eps")})
        super().add_param_group(param_group)

    @torch.no_grad()
    def first_step(self, zero_grad: bool = True) -> None:
        r"""Move every parameter with a gradient to :math:`\theta + \hat\varepsilon` (keeping
        :math:`\theta`), then zero the gradients. The norm is over all groups together;
        each group's ``rho`` scales its own tensors."""
        groups = [(group, [p for p in group["params"] if p.grad is not None])
                  for group in self.param_groups]
        norm = math.sqrt(sum(sam_scaled_gradient_norm(params, [p.grad for p in params],
                                                      adaptive=group["adaptive"]) ** 2
                             for group, params in groups))
        for group, params in groups:
            for p in params:
                self.state[p]["sam_theta"] = p.detach().clone()
                p.add_(sam_perturbation(p, p.grad, rho=group["rho"], norm=norm,
                                        adaptive=group["adaptive"],
                                        eps=group["perturb_eps"]))
        if zero_grad:
            self.zero_grad()

    @torch.no_grad()
    def second_step(self, zero_grad: bool = False) -> None:
        r"""Restore :math:`\theta` exactly and take the base optimizer's step with the
        gradients now stored (those at :math:`\theta + \hat\varepsilon`)."""
        for group in self.param_groups:
            for p in group["params"]:
                if "sam_theta" in self.state[p]:
                    p.copy_(self.state[p].pop("sam_theta"))
        self.base_optimizer.step()
        if zero_grad:
            self.zero_grad()

    def step(self, closure=None):
        """One SAM step: two closure evaluations; returns the loss at :math:`\\theta`."""
        if closure is None:
            raise RuntimeError("SAM.step needs a closure that zeroes the gradients, computes "
                               "the loss, calls backward() and returns the loss (it is "
                               "evaluated twice per step)")
        with torch.enable_grad():
            loss = closure()
        self.first_step(zero_grad=True)
        with torch.enable_grad():
            closure()
        self.second_step()
        return loss

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state dict saved by :meth:`state_dict` (the base optimizer's)."""
        self.base_optimizer.load_state_dict(state_dict)
        self.param_groups = self.base_optimizer.param_groups
        self.state = self.base_optimizer.state
