r"""Checks for the course's graded assignments (``homework/``): "implement it yourself".

A homework task that asks a student to implement a method (Adam's step, the BatchNorm backward
pass, the L-BFGS two-loop recursion, ...) must not be answerable by calling the verified
implementation of that method in :mod:`course_lib` (or its twin in torch). The test cells of the
assignments therefore run the student's function inside :func:`forbid`::

    from course_lib.grading import forbid

    with forbid("course_lib.optim.adam:adam", "torch.optim:Adam.step", task="the Adam step"):
        check(adam_step)        # the student's function, called as the tests call it

While the block runs, every target is replaced by a *blocker*; if the student's code reaches one,
the block ends with :class:`DelegationError` (an ``AssertionError``, so nbgrader gives the test
cell 0 points) whose message names the task and the function that was called::

    DelegationError: This task asks you to implement the Adam step yourself; your code called
    course_lib.optim.adam.adam, which is not allowed here. ...

How a target is blocked (and why this is robust):

* a plain Python function without a closure (every update rule, initializer, backward pass of
  :mod:`course_lib`) has its **code object** swapped for the blocker's, so *every* reference to
  it is blocked -- ``from course_lib.optim import adam as my_adam`` made before the test, a
  ``functools.partial`` of it, the ``course_lib.optim.Adam`` class whose ``step`` calls it;
* anything else (a decorated function with a closure, a method of a torch class, a builtin) is
  replaced by ``setattr`` on its owner, which blocks calls made through the owner
  (``torch.optim.Adam(...).step()``, ``torch.nn.functional.dropout(...)``);
* the verdict does not depend on the exception reaching the test: every call is recorded, so
  a student's ``try: ... except Exception: ...`` around the forbidden call still fails the task.

Everything is restored when the block exits, whatever happened inside it. The check is meant
to stop the honest shortcut, not a determined adversary (code that copies course_lib's source,
or rebuilds the function from its code object before the test runs, is not caught: that is a
matter for the course's academic-integrity rules).

Targets are written ``"module:qualname"``: ``"course_lib.optim.adam:adam"`` is the function
``adam`` in the module ``course_lib.optim.adam``, ``"torch.optim:Adam.step"`` the method.

:func:`forbid` is a *teaching aid*: it runs in the student's own process, so a determined student
can get around it, and no grade depends on it alone. The grade comes from the trusted checks of
``homework/checks/``: while autograding, each test cell is replaced by a *probe* that calls the
student's functions on fixed inputs and hands the outputs back with :func:`record` (plain
numeric arrays saved with ``np.save(..., allow_pickle=False)`` into the folder named by the
environment variable ``COURSE_GRADER_OUT``); a separate process computes the expected values
with course_lib and compares them. Outside grading (the variable unset) :func:`record` does
nothing, so the notebooks run unchanged in Jupyter.
"""

from __future__ import annotations

import importlib
import os
import re
import types
from typing import Any, Literal

__all__ = ["DelegationError", "forbid", "Forbid", "record", "GRADER_OUT_ENV"]

#: Environment variable naming the folder where :func:`record` writes (set only by the grader).
GRADER_OUT_ENV = "COURSE_GRADER_OUT"
_RECORD_NAME = re.compile(r"[A-Za-z0-9_.-]{1,96}")


def record(name: str, value) -> None:
    """Hand ``value`` (a number or a numeric array) to the course's trusted grader.

    Writes ``$COURSE_GRADER_OUT/<name>.npy`` with ``np.save(..., allow_pickle=False)``; the value
    is converted to a plain NumPy array of booleans, integers or floats (torch tensors and
    ``longdouble`` arrays become float64). Does nothing when ``COURSE_GRADER_OUT`` is not set.

    Raises ``ValueError`` for an invalid name (letters, digits, ``_ . -``; at most 96
    characters) and ``TypeError`` for a value that is not numeric.
    """
    if not isinstance(name, str) or not _RECORD_NAME.fullmatch(name) or name.startswith("."):
        raise ValueError(f"Invalid name: {name!r} (expected letters, digits, '_', '.', '-', "
                         "at most 96 characters)")
    import numpy as np

    if hasattr(value, "detach") and hasattr(value, "cpu"):      # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except Exception as err:  # noqa: BLE001 - anything that does not convert is not numeric
        raise TypeError(f"record({name!r}, ...) needs a number or a numeric array, got "
                        f"{type(value).__name__}") from err
    if array.dtype.kind == "O":
        try:
            array = np.asarray(value, dtype=float)
        except Exception as err:  # noqa: BLE001
            raise TypeError(f"record({name!r}, ...) needs a number or a numeric array, got "
                            f"{type(value).__name__}") from err
    if array.dtype.kind not in "biuf":
        raise TypeError(f"record({name!r}, ...) needs a number or a numeric array, got an array "
                        f"of dtype {array.dtype}")
    if array.dtype.kind == "f" and array.dtype.itemsize != 8:
        array = array.astype(np.float64)
    folder = os.environ.get(GRADER_OUT_ENV)
    if not folder:
        return
    np.save(os.path.join(folder, name + ".npy"), array, allow_pickle=False)


class DelegationError(AssertionError):
    """A graded function called an implementation it was asked to write itself."""


def _blocker_template(*args, **kwargs):
    # Runs with the *blocked function's* globals (its __code__ was swapped for this one), so
    # it may use nothing but builtins: it finds this module through sys.modules.
    import sys as _sys

    _guard_module = _sys.modules["course_lib.grading"]
    raise _guard_module._blocked_call(_sys._getframe(0).f_code)


# id of an active blocker's code object (or key) -> the name of the function it replaces
_CODE_NAMES: dict = {}
# guards currently active (nested ``forbid`` blocks are allowed)
_ACTIVE: list = []


def _blocked_call(key) -> DelegationError:
    name = _CODE_NAMES.get(id(key), "a forbidden function")
    for guard in _ACTIVE:
        guard._record(name)
    task = _ACTIVE[-1].task if _ACTIVE else "this task"
    return DelegationError(_message(task, [name]))


def _message(task: str, names) -> str:
    called = ", ".join(dict.fromkeys(names))
    return (f"This task asks you to implement {task} yourself; your code called {called}, "
            "which is not allowed here. Write the computation from its derivation with "
            "NumPy/torch array operations instead of calling the course's (or torch's) "
            "implementation.")


def _resolve(target: str):
    """``"pkg.mod:Qual.name"`` -> (owner, attribute name, object, display name)."""
    if not isinstance(target, str) or target.count(":") != 1:
        raise ValueError(f"forbid targets are written 'module:qualname', got {target!r}")
    module_name, qualname = target.split(":")
    owner = importlib.import_module(module_name)
    parts = qualname.split(".")
    for part in parts[:-1]:
        owner = getattr(owner, part)
    obj = getattr(owner, parts[-1])
    return owner, parts[-1], obj, f"{module_name}.{qualname}"


class Forbid:
    """Context manager behind :func:`forbid`; ``hits`` lists the blocked functions called."""

    def __init__(self, *targets: str, task: str = "this task"):
        if not targets:
            raise ValueError("forbid needs at least one target")
        self.targets = targets
        self.task = task
        self.hits: list = []
        self._undo: list = []

    def _record(self, name: str) -> None:
        self.hits.append(name)

    def _block(self, target: str) -> None:
        owner, attr, obj, name = _resolve(target)
        raw = owner.__dict__.get(attr) if hasattr(owner, "__dict__") else None
        func: Any = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else obj
        if not isinstance(func, types.FunctionType) and isinstance(
                getattr(func, "update", None), types.FunctionType):
            # an update rule (course_lib.optim.rule.Rule) is a frozen object around its
            # function: block the function itself, so aliases bound earlier are caught too
            func = func.update
        if isinstance(func, types.FunctionType) and not func.__code__.co_freevars:
            if any(undo[0] == "code" and undo[1] is func for undo in self._undo):
                return  # the same function under two names: blocked once
            code = _blocker_template.__code__.replace(co_name=f"blocked_{attr}")
            _CODE_NAMES[id(code)] = name
            self._undo.append(("code", func, func.__code__, func.__defaults__,
                               func.__kwdefaults__, code))
            func.__code__ = code
            func.__defaults__ = None
            func.__kwdefaults__ = None
            return

        def blocker(*args, _name=name, **kwargs):
            raise _blocked_call(blocker_code_key)

        blocker_code_key = object()
        _CODE_NAMES[id(blocker_code_key)] = name
        had_own = hasattr(owner, "__dict__") and attr in owner.__dict__
        self._undo.append(("attr", owner, attr, raw if had_own else None, had_own,
                           blocker_code_key))
        setattr(owner, attr, blocker)

    def __enter__(self) -> Forbid:
        _ACTIVE.append(self)
        try:
            for target in self.targets:
                self._block(target)
        except BaseException:
            self._restore()
            raise
        return self

    def _restore(self) -> None:
        while self._undo:
            undo = self._undo.pop()
            if undo[0] == "code":
                _, func, code, defaults, kwdefaults, key = undo
                func.__code__, func.__defaults__, func.__kwdefaults__ = code, defaults, kwdefaults
            else:
                _, owner, attr, raw, had_own, key = undo
                if had_own:
                    setattr(owner, attr, raw)
                else:
                    delattr(owner, attr)
            _CODE_NAMES.pop(id(key), None)
        if self in _ACTIVE:
            _ACTIVE.remove(self)

    def __exit__(self, exc_type, exc, tb) -> Literal[False]:
        self._restore()
        if self.hits:
            raise DelegationError(_message(self.task, self.hits)) from exc
        return False


def forbid(*targets: str, task: str = "this task") -> Forbid:
    """Block ``targets`` (``"module:qualname"`` strings) inside a ``with`` block.

    If code inside the block calls one of them, the block raises :class:`DelegationError`
    (an ``AssertionError``) saying that ``task`` must be implemented without it -- even when the
    call's own exception was caught inside the block. All targets are restored on exit.
    """
    return Forbid(*targets, task=task)
