r"""An update rule as a small typed object, and the one loop that applies it.

A method of :mod:`course_lib.optim` is written once, as a function

.. code-block:: python

    @update_rule(check=check_sgd)
    def sgd(param, grad, state, *, lr, momentum=0.0, ..., maximize=False) -> None: ...

that updates ``param`` and the arrays of the dict ``state`` in place (NumPy arrays, torch
tensors or :class:`~course_lib.arrays.TensorList` s). :func:`update_rule` turns it into a
frozen :class:`Rule`: calling it still runs the function (``sgd(x, g, state, lr=0.1)``), and it
knows its hyperparameters from the signature -- the keyword-only parameters, with their
defaults (:attr:`Rule.defaults`) or without (:attr:`Rule.required`, e.g. ``("lr",)``) -- so
:meth:`Rule.validate` can reject unknown or missing names, fill in the defaults and run the
rule's ``check`` (torch's messages) in one place.

:func:`apply` is the loop every driver shares: :class:`course_lib.optim.base.RuleOptimizer`
(torch), :func:`course_lib.nn.step` (NumPy layers) and :func:`course_lib.optim.descent.run`
(test objectives).
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, overload

__all__ = ["Rule", "update_rule", "as_rule", "apply"]

_KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY
_EMPTY = inspect.Parameter.empty
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
               inspect.Parameter.VAR_POSITIONAL)


@dataclass(frozen=True, eq=False, repr=False)
class Rule:
    """An update rule: the function, what it needs and how its hyperparameters are checked.

    Made by :func:`update_rule`; frozen (its fields cannot be reassigned) and compared by
    identity.

    Attributes
    ----------
    name : the function's name (``"sgd"``), used in error messages.
    update : the function ``update(param, grad, state, *, <hyperparameters>) -> None``.
    check : ``check(**hyper)`` raising ``ValueError`` for invalid values (torch's wording),
        called by :meth:`validate` with every hyperparameter; or ``None``.
    init_state : ``init_state(param, state, **hyper)`` filling an empty ``state`` as torch
        creates it (the ``foreach`` path calls it before grouping tensors); or ``None``.
    defaults : read-only mapping of the keyword-only parameters that have a default.
    required : the keyword-only parameters without a default, e.g. ``("lr",)``.
    names : every keyword-only parameter, in the signature's order.
    var_keyword : the function also takes ``**kwargs`` (then :meth:`validate` lets any other
        name through).
    """

    name: str
    update: Callable[..., Any]
    check: Callable[..., Any] | None = None
    init_state: Callable[..., Any] | None = None
    defaults: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    required: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    var_keyword: bool = False

    def __post_init__(self) -> None:
        # help(sgd), inspect.signature(sgd) and Sphinx see the function (instance attributes,
        # not fields: set past the frozen dataclass's __setattr__)
        for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
            if hasattr(self.update, attr):
                object.__setattr__(self, attr, getattr(self.update, attr))
        object.__setattr__(self, "__wrapped__", self.update)

    def __call__(self, param: Any, grad: Any, state: Any, /, **hyper: Any) -> Any:
        """One step: ``self.update(param, grad, state, **hyper)``, in place."""
        return self.update(param, grad, state, **hyper)

    def validate(self, **hyper: Any) -> dict[str, Any]:
        """The complete hyperparameters for ``hyper``: checked, with the defaults filled in.

        Raises ``TypeError`` for a name the rule does not take or a required name that is
        missing (worded as Python words a bad call), then whatever :attr:`check` raises
        (``ValueError`` with torch's message). Returns a new dict in the signature's order
        (names the rule takes through ``**kwargs`` last).
        """
        if not self.var_keyword:
            for key in hyper:
                if key not in self.defaults and key not in self.required:
                    raise TypeError(f"{self.name}() got an unexpected keyword argument "
                                    f"'{key}'")
        missing = [key for key in self.required if key not in hyper]
        if missing:
            quoted = [f"'{key}'" for key in missing]
            listed = quoted[0] if len(quoted) == 1 else (
                f"{quoted[0]} and {quoted[1]}" if len(quoted) == 2
                else ", ".join(quoted[:-1]) + f", and {quoted[-1]}")
            plural = "s" if len(missing) > 1 else ""
            raise TypeError(f"{self.name}() missing {len(missing)} required keyword-only "
                            f"argument{plural}: {listed}")
        full = {key: hyper[key] if key in hyper else self.defaults[key] for key in self.names}
        full.update((key, value) for key, value in hyper.items() if key not in full)
        if self.check is not None:
            self.check(**full)
        return full

    def __reduce__(self) -> str | tuple[Any, ...]:
        """Pickle (and copy) a module-level rule by reference, as functions are: a rule is
        immutable, so ``pickle.loads(pickle.dumps(sgd)) is sgd`` (worker processes included)."""
        module = sys.modules.get(getattr(self, "__module__", ""))
        qualname = getattr(self, "__qualname__", "")
        if module is not None and getattr(module, qualname, None) is self:
            return qualname
        return (_make_rule, (self.update, self.check, self.init_state))

    def __repr__(self) -> str:
        parts = [f"{key}={self.defaults[key]!r}" if key in self.defaults else key
                 for key in self.names]
        return f"<update rule {self.name}({', '.join(parts)})>"


def _make_rule(fn: Callable[..., Any], check: Callable[..., Any] | None,
               init_state: Callable[..., Any] | None) -> Rule:
    if not callable(fn):
        raise TypeError(f"update_rule expects a function, got {type(fn).__name__}")
    parameters = inspect.signature(fn).parameters.values()
    names = tuple(p.name for p in parameters if p.kind is _KEYWORD_ONLY)
    name = getattr(fn, "__name__", type(fn).__name__)
    positional = [p.kind for p in parameters if p.kind in _POSITIONAL]
    if len(positional) < 3 and inspect.Parameter.VAR_POSITIONAL not in positional:
        raise TypeError(f"an update rule takes (param, grad, state, *, ...); {name} takes "
                        f"{len(positional)} positional parameters")
    defaults = {p.name: p.default for p in parameters
                if p.kind is _KEYWORD_ONLY and p.default is not _EMPTY}
    required = tuple(p.name for p in parameters
                     if p.kind is _KEYWORD_ONLY and p.default is _EMPTY)
    var_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    if check is not None:
        try:                            # the check must accept every hyperparameter
            inspect.signature(check).bind(**dict.fromkeys(names))
        except TypeError as error:
            raise TypeError(f"check of update rule {name} does not accept its "
                            f"hyperparameters {names}: {error}") from None
    return Rule(name=name, update=fn, check=check, init_state=init_state,
                defaults=MappingProxyType(defaults), required=required, names=names,
                var_keyword=var_keyword)


@overload
def update_rule(fn: Callable[..., Any], *, check: Callable[..., Any] | None = None,
                init_state: Callable[..., Any] | None = None) -> Rule: ...


@overload
def update_rule(fn: None = None, *, check: Callable[..., Any] | None = None,
                init_state: Callable[..., Any] | None = None
                ) -> Callable[[Callable[..., Any]], Rule]: ...


def update_rule(fn: Callable[..., Any] | None = None, *,
                check: Callable[..., Any] | None = None,
                init_state: Callable[..., Any] | None = None
                ) -> Rule | Callable[[Callable[..., Any]], Rule]:
    """Decorator: turn ``fn(param, grad, state, *, lr, ...)`` into a :class:`Rule`.

    Use bare (``@update_rule``) or with ``check`` (called by :meth:`Rule.validate` with every
    hyperparameter as a keyword; it must accept them all, ``**_`` is fine) and ``init_state``
    (``init_state(param, state, **hyper)``). Raises ``TypeError`` at decoration time if
    ``fn`` does not take three positional parameters or ``check`` does not accept the
    hyperparameters.
    """
    if fn is None:
        return functools.partial(_make_rule, check=check, init_state=init_state)
    return _make_rule(fn, check, init_state)


@functools.lru_cache(maxsize=256)
def _wrap(fn: Callable[..., Any]) -> Rule:
    return _make_rule(fn, None, None)


def as_rule(rule: Rule | Callable[..., Any]) -> Rule:
    """``rule`` itself if it is a :class:`Rule`; a plain function
    ``fn(param, grad, state, *, ...)`` is wrapped as ``update_rule(fn)`` (no check, no
    ``init_state``). Raises ``TypeError`` for anything else."""
    if isinstance(rule, Rule):
        return rule
    if not callable(rule):
        raise TypeError(f"Invalid rule: expected an update rule (a Rule or a function), got "
                        f"{type(rule).__name__}")
    try:
        return _wrap(rule)
    except TypeError as error:
        if "unhashable" not in str(error):
            raise
        return _make_rule(rule, None, None)


def apply(rule: Rule | Callable[..., Any], params: Iterable[Any], grads: Iterable[Any],
          states: Sequence[Any], hyper: Mapping[str, Any]) -> None:
    """The one loop: ``rule(p, g, s, **hyper)`` for every parameter whose gradient is not
    ``None``, in place.

    ``params``, ``grads`` and ``states`` are aligned sequences (``states`` holds one dict per
    parameter, filled by the rule at its first step); ``hyper`` is passed as given -- validate
    it once beforehand with :meth:`Rule.validate`. Raises ``ValueError`` if the three differ in
    length.
    """
    update = rule.update if isinstance(rule, Rule) else rule
    for p, g, s in zip(params, grads, states, strict=True):
        if g is not None:
            update(p, g, s, **hyper)
