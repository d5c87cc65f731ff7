r"""What an optimizer and a line search hand back.

:class:`OptimizeResult` (and its :data:`STATUS` codes) live in :mod:`course_lib.result`, one
layer down, so that every iterative method of the package returns the same type; they are
re-exported here. :class:`LineSearchResult` is what one line search returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..result import STATUS, OptimizeResult

__all__ = ["OptimizeResult", "LineSearchResult", "STATUS"]


@dataclass
class LineSearchResult:
    r"""Result of one line search along a direction :math:`p` from :math:`x`, i.e. on
    :math:`\phi(\alpha) = f(x + \alpha p)`.

    Attributes
    ----------
    step : float -- the step :math:`\alpha` found (the last one tried if ``success`` is False).
    fun : float -- :math:`\phi(\alpha) = f(x + \alpha p)`.
    grad : array (n,) or None -- :math:`\nabla f(x + \alpha p)` when the search evaluated it
        (strong Wolfe always does on success; backtracking never does).
    slope : float or None -- :math:`\phi'(\alpha) = \nabla f(x+\alpha p)^\top p` when known.
    nfev, njev : int -- evaluations of ``fun`` and ``jac`` the search made.
    success : bool -- True when the promised conditions hold at ``step``.
    message : str -- what happened.
    """

    step: float
    fun: float
    grad: np.ndarray | None
    slope: float | None
    nfev: int
    njev: int
    success: bool
    message: str
