"""nbgrader plug-ins for this course (loaded by ``nbgrader_config.py``).

:class:`SafeExecute` replaces nbgrader's ``Execute`` in ``nbgrader autograde``. nbgrader alone
interrupts a cell that runs past ``timeout``, but when the kernel *dies* (``os._exit``, a
segfault, ``kill -9``, the out-of-memory killer) or cannot be interrupted (a loop that swallows
``KeyboardInterrupt``, a long C call), it abandons the whole submission with an error: that
student gets no grades at all, and ``nbgrader autograde`` exits non-zero. SafeExecute instead

* records the failure as an error in the cell where it happened (so that cell, if it is a test
  cell, scores 0 and the feedback says what happened),
* kills the kernel (its whole process group), starts a fresh one and silently re-runs the cells
  that had completed before, so the rest of the notebook is graded as it would have been,
* stops a notebook that uses more than ``notebook_timeout`` seconds in all: the cells it does
  not reach get an error output (a test cell that never ran must not count as passed),
* starts every kernel with a memory limit (``memory_limit_mb``, as ``RLIMIT_DATA``; on Linux
  only), so that a runaway allocation raises ``MemoryError`` in the student's cell instead of
  exhausting the machine.

:class:`HideHiddenTests` runs in ``nbgrader generate_feedback``: the autograded notebook
contains the hidden tests (nbgrader restores them into the test cells before running them), so
the feedback would show their source, and every traceback raised in a test cell prints the
lines around the failing one. This preprocessor deletes the hidden-test regions and reduces the
error outputs of those cells to their last line (``AssertionError: <message>``); the tests are
written so that this message says what went wrong.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from functools import partial

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Integer, Unicode

__all__ = ["SafeExecute", "HideHiddenTests"]


def _limit_memory(limit_bytes: int) -> None:  # runs in the kernel process, before exec
    import resource

    # RLIMIT_DATA (Linux >= 4.7) counts the heap and private writable mappings, i.e. what numpy
    # and torch allocate, but not the address space reserved by shared libraries.
    try:
        resource.setrlimit(resource.RLIMIT_DATA, (limit_bytes, limit_bytes))
    except (ValueError, OSError):  # a lower hard limit is already in place: keep it
        pass


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


class SafeExecute(Execute):
    """nbgrader's ``Execute`` that survives dead and stuck kernels (see the module docstring)."""

    notebook_timeout = Integer(
        300, allow_none=True,
        help="Seconds one notebook may run in all (cells, restarts and re-runs); the cells "
             "not reached get an error. None or 0: no overall limit.").tag(config=True)

    memory_limit_mb = Integer(
        4096, help="Memory limit of every kernel in MiB (RLIMIT_DATA; applied on Linux only, "
                   "where it is reliable). 0: no limit.").tag(config=True)

    shutdown_kernel = Unicode("immediate").tag(config=True)  # kill, don't wait politely

    # -- state of the notebook being executed -------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        self._started = time.monotonic()
        self._completed: list[int] = []   # code cells that ran to completion, in order
        self._restarts = 0
        try:
            return super().preprocess(nb, resources, km)
        finally:
            info = (resources or {}).get("nbgrader", {})
            self.log.info("SafeExecute: %s/%s of %s ran in %.1f s with %d kernel restart(s)",
                          info.get("assignment"), info.get("notebook"), info.get("student"),
                          time.monotonic() - self._started, self._restarts)

    def _remaining(self) -> float | None:
        if not self.notebook_timeout:
            return None
        return self.notebook_timeout - (time.monotonic() - self._started)

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        remaining = self._remaining()
        if remaining is None:
            return timeout
        remaining = max(1, math.ceil(remaining))
        return remaining if timeout is None else min(timeout, remaining)

    async def async_start_new_kernel(self, **kwargs):
        if self.memory_limit_mb and sys.platform.startswith("linux"):
            kwargs.setdefault("preexec_fn", partial(_limit_memory, self.memory_limit_mb << 20))
        await super().async_start_new_kernel(**kwargs)

    # nbclient binds the synchronous wrapper to its own coroutine: rebind it to ours
    start_new_kernel = run_sync(async_start_new_kernel)

    # -- one cell --------------------------------------------------------------------------------
    def preprocess_cell(self, cell, resources, index):
        self._check_assign_resources(resources)
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, self.resources
        remaining = self._remaining()
        if remaining is not None and remaining <= 0:
            cell.outputs = [_error(
                "NotebookTimeoutError",
                f"not run: grading stopped because this notebook used up its time limit of "
                f"{self.notebook_timeout} s")]
            return cell, self.resources
        try:
            cell = self.execute_cell(cell, index, store_history=True)
        except DeadKernelError:
            self.log.warning("Kernel died in cell %d; restarting it", index)
            cell.outputs.append(_error(
                "DeadKernelError",
                "the kernel died while running this cell (it crashed, exited or was killed); "
                "grading continued in a new kernel in which the cells before this one were "
                "run again"))
            self._restart_and_replay()
        except CellTimeoutError:
            self.log.warning("Cell %d timed out and could not be interrupted; restarting", index)
            cell.outputs.append(_error(
                "CellTimeoutError",
                f"this cell did not finish within the time limit ({self._get_timeout(cell)} s "
                "or the notebook's remaining time) and did not stop when interrupted; grading "
                "continued in a new kernel in which the cells before this one were run again"))
            self._restart_and_replay()
        else:
            timed_out = any(out.get("output_type") == "error"
                            and out.get("ename") in ("CellTimeoutError", "KeyboardInterrupt")
                            for out in cell.outputs)
            if not timed_out:
                self._completed.append(index)
        return cell, self.resources

    # -- recovery ----------------------------------------------------------------------------------
    def _new_kernel(self) -> None:
        try:
            self._cleanup_kernel()              # kills the old kernel's process group
        except Exception as err:  # noqa: BLE001 - a dead kernel may fail to clean up
            self.log.warning("Cleaning up the old kernel failed: %s", err)
        self.km = self.create_kernel_manager()
        self.start_new_kernel()
        self.start_new_kernel_client()

    def _restart_and_replay(self) -> None:
        self._restarts += 1
        self._new_kernel()
        for index in list(self._completed):
            original = self.nb.cells[index]
            replay = copy.deepcopy(original)
            try:
                self.execute_cell(replay, index, store_history=True)
            except (DeadKernelError, CellTimeoutError):
                self.log.warning("Re-running cell %d failed; continuing in a fresh kernel", index)
                self._new_kernel()
                return
            finally:
                self.nb.cells[index] = original


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback without hidden tests: strip the hidden regions, shorten their tracebacks."""

    begin = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end = Unicode("END HIDDEN TESTS").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and self.begin in cell.source:
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [
                        f"\x1b[0;31m{out.get('ename', 'Error')}\x1b[0m: {out.get('evalue', '')}",
                        "(traceback not shown: this test cell contains hidden tests)"]
            kept, hidden = [], False
            for line in cell.source.split("\n"):
                if self.begin in line:
                    hidden = True
                elif self.end in line:
                    hidden = False
                elif not hidden:
                    kept.append(line)
            cell.source = "\n".join(kept).rstrip() + "\n"
        return cell, resources
