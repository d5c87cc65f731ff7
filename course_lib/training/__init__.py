"""Training torch models: the loop, its callbacks and early stopping.

* :mod:`~course_lib.training.loop` -- :func:`train`, :func:`evaluate`, :class:`History`;
* :mod:`~course_lib.training.callbacks` -- early stopping, schedules, ReduceLROnPlateau and
  averaging as callbacks of :func:`train` and of :func:`course_lib.nn.fit`;
* :mod:`~course_lib.training.early_stopping` -- :class:`EarlyStopping`.
"""

from .callbacks import Averaging, Callback, EarlyStop, LambdaCallback, LRSchedule, Plateau
from .early_stopping import EarlyStopping
from .loop import History, evaluate, make_mlp, set_seed, train

__all__ = ["Averaging", "Callback", "EarlyStop", "EarlyStopping", "History", "LRSchedule",
           "LambdaCallback", "Plateau", "evaluate", "make_mlp", "set_seed", "train"]
