r"""Small NumPy neural-network layers with hand-written forward and backward passes.

The chapters on initialization, normalization and regularization derive each backward pass
and check it with :mod:`course_lib.nn.gradcheck` and against torch autograd; these are the
checked versions. Conventions (details in :mod:`course_lib.nn.module`):

* batches are ``(N, D)`` arrays, one example per row; float64 unless you choose otherwise;
* ``forward(x)`` caches, ``backward(dout)`` returns ``dx`` and *overwrites* the parameter
  gradients (``W``/``dW``, ``b``/``db``, ``gamma``/``dgamma``, ``beta``/``dbeta``);
* :class:`Linear` stores ``W`` input-major, shape ``(in, out)`` (``y = x @ W + b``), the
  transpose of ``torch.nn.Linear.weight``; ``from_torch``/``to_torch`` convert;
* every module has a ``training`` flag and ``train()``/``eval()``;
* :func:`step` applies any update rule of :mod:`course_lib.optim` to all parameters;
* :func:`fit` is the training loop (minibatch epochs, callbacks) and :func:`evaluate` the
  evaluation; they return and use the :class:`History` and :class:`Callback` of
  :mod:`course_lib.nn.history`, shared with the torch loop :func:`course_lib.training.train`.

Example::

    model = nn.Sequential(nn.Linear(64, 128, rng), nn.ReLU(), nn.Linear(128, 10, rng))
    history = nn.fit(model, course_lib.optim.sgd, X, y, lr=0.1, momentum=0.9, epochs=10,
                     batch_size=32, rng=rng, X_val=X_val, y_val=y_val)

which runs, epoch after epoch, the loop::

    loss_fn, states = nn.CrossEntropyLoss(), []
    for idx in course_lib.objectives.data.minibatches(len(X), 32, rng):   # one epoch
        loss = loss_fn(model(X[idx]), y[idx])
        model.backward(loss_fn.backward())
        nn.step(model, course_lib.optim.sgd, states, lr=0.1, momentum=0.9)
"""

from .history import Callback, History, LoopState
from .layers import Dropout, Linear, ReLU, Residual, Sigmoid, Tanh, WeightNormLinear
from .loop import evaluate, fit
from .losses import CrossEntropyLoss, MSELoss, mse_loss, softmax_cross_entropy
from .module import Module, NumpyOptimizer, Sequential, clip_grad_norm_, clip_grad_value_, step
from .normalization import (
                     BatchNorm1d,
                     BatchNorm2d,
                     LayerNorm,
                     NormCache,
                     batchnorm_backward,
                     batchnorm_backward_three_terms,
                     batchnorm_forward,
                     layernorm_backward,
                     layernorm_forward,
)

__all__ = [
                     "BatchNorm1d",
                     "BatchNorm2d",
                     "Callback",
                     "CrossEntropyLoss",
                     "Dropout",
                     "History",
                     "LayerNorm",
                     "Linear",
                     "LoopState",
                     "MSELoss",
                     "Module",
                     "NormCache",
                     "NumpyOptimizer",
                     "ReLU",
                     "Residual",
                     "Sequential",
                     "Sigmoid",
                     "Tanh",
                     "WeightNormLinear",
                     "batchnorm_backward",
                     "batchnorm_backward_three_terms",
                     "batchnorm_forward",
                     "clip_grad_norm_",
                     "clip_grad_value_",
                     "evaluate",
                     "fit",
                     "layernorm_backward",
                     "layernorm_forward",
                     "mse_loss",
                     "softmax_cross_entropy",
                     "step",
]
