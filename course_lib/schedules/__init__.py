"""Learning-rate schedules: closed forms of the step, the plateau rule, and the torch bridge.

* :mod:`~course_lib.schedules.closed_form` -- ``f(t) -> lr`` for every closed-form scheduler
  of ``torch.optim.lr_scheduler`` (and the Transformer's inverse-square-root warm-up);
* :mod:`~course_lib.schedules.plateau` -- :class:`ReduceLROnPlateau`, torch's rule without an
  optimizer;
* :mod:`~course_lib.schedules.torch_bridge` -- :class:`ScheduledLR`, any schedule driving a
  ``torch.optim.Optimizer``.
"""

from .closed_form import *  # noqa: F403
from .closed_form import __all__ as _closed_form
from .plateau import ReduceLROnPlateau
from .torch_bridge import ScheduledLR

__all__ = [*_closed_form, "ReduceLROnPlateau", "ScheduledLR"]


def __getattr__(name):
    # EarlyStopping moved to course_lib.training (a layer above); the old name still works.
    if name == "EarlyStopping":
        from ..training.early_stopping import EarlyStopping

        return EarlyStopping
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
