"""nbgrader plug-ins for this course (loaded by ``nbgrader_config.py``).

:class:`SandboxedExecute` replaces nbgrader's ``Execute`` in ``nbgrader autograde``. nbgrader
alone runs the student's code in a kernel of the instructor's user, in the same kernel as the
hidden tests (its documentation says this is no security boundary). For one submission,
SandboxedExecute

1. asks the trusted checks (``homework/checks``, :func:`checks.prepare`) for the notebook to
   run: every autograded test cell restored from the release and its source replaced by a
   *probe* that calls the student's functions on fixed inputs and saves plain arrays into
   ``$COURSE_GRADER_OUT`` -- the hidden tests never enter the student's kernel;
2. runs that notebook in the bubblewrap sandbox of :mod:`sandbox` (its own unprivileged user,
   read-only system and Python environment, no view of the course directory, no network,
   memory/CPU/process/file-size limits, every process killed at the end). The nbclient runner
   runs inside the sandbox too, and the kernel in a nested one, so nothing in the submission
   can reach this process. A kernel that dies or ignores an interrupt is restarted and the
   cells before are replayed; cells not reached within ``notebook_timeout`` get an error;
3. hands the executed notebook and the arrays to :func:`checks.grade`, which computes the
   references with ``course_lib`` here, outside the sandbox, compares and writes each test
   cell's outputs (an error naming the mistake, or a short message); nbgrader's
   ``SaveAutoGrades`` scores them as usual.

Only the outputs of the executed notebook come back from the sandbox (the cells, sources and
metadata are the ones ``prepare`` returned), after a size limit and a validation.

:class:`SanitizeOutputs` (autograde and feedback) makes the student's outputs inert: HTML and
Markdown outputs are cleaned with ``nh3`` (no scripts, no event handlers, no ``javascript:``
links); SVG and JavaScript outputs are removed, so neither the feedback nor the formgrader
runs anything a submission printed.

:class:`HideHiddenTests` runs in ``nbgrader generate_feedback`` as a safety net: with the trusted
checks the test cells of an autograded notebook carry their release (visible) source, so no
hidden region reaches it; if one does, it is deleted and the error outputs of that cell are
reduced to their last line.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import re
import sys
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Dict, Integer, Unicode

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

__all__ = ["SandboxedExecute", "SanitizeOutputs", "HideHiddenTests"]


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


class SandboxedExecute(NbGraderPreprocessor):
    """Execute one submission in the sandbox, graded by the trusted checks (see above)."""

    timeout = Integer(30, allow_none=True,
                      help="Seconds one cell may run; then it is interrupted.").tag(config=True)
    startup_timeout = Integer(60, help="Seconds for a kernel to start.").tag(config=True)
    iopub_timeout = Integer(10, help="Seconds to wait for a cell's last output (and for an "
                                     "interrupt to take effect).").tag(config=True)
    notebook_timeout = Integer(
        240, allow_none=True,
        help="Seconds one notebook may run in all (cells, restarts and re-runs); the cells "
             "not reached get an error. 0: no overall limit (the sandbox is still killed "
             "after 10 minutes).").tag(config=True)
    memory_limit_mb = Integer(
        4096, help="Memory limit of every process of the sandbox in MiB (RLIMIT_DATA). "
                   "0: none.").tag(config=True)
    error_on_timeout = Dict(
        {"ename": "CellTimeoutError", "evalue": "",
         "traceback": ["\x1b[0;31mCellTimeoutError\x1b[0m: No reply from kernel before timeout"]},
        help="The error output a timed-out cell gets.").tag(config=True)
    checks_module = Unicode(
        "checks", help="The module (importable from the course directory) with the trusted "
                       "prepare(nb, assignment, release_nb) and grade(nb, outdir, context)."
    ).tag(config=True)
    slot = Integer(
        -1, help="Parallel slot: selects the sandbox user course-sandbox-<slot> when running "
                 "as root. -1: $COURSE_SANDBOX_SLOT, or 0.").tag(config=True)

    def _slot(self) -> int:
        if self.slot >= 0:
            return self.slot
        value = os.environ.get("COURSE_SANDBOX_SLOT", "0")
        if not value.isdigit() or int(value) >= 1000:
            raise ValueError(f"Invalid COURSE_SANDBOX_SLOT: {value!r} (expected 0..999)")
        return int(value)

    def preprocess(self, nb, resources):
        import time

        from sandbox import Sandbox

        started = time.monotonic()
        info = resources.get("nbgrader", {})
        assignment, notebook = info.get("assignment"), info.get("notebook")
        checks = importlib.import_module(self.checks_module)
        release_path = HERE / "release" / str(assignment) / f"{notebook}.ipynb"
        release_nb = nbformat.read(str(release_path), as_version=4) if release_path.is_file() \
            else None
        nb_to_run, context = checks.prepare(nb, assignment, release_nb)
        student = str(info.get("student"))
        if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", student) and \
                re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", str(assignment)):
            # the instructor's report of this submission (tamper flags, each check's result)
            report = HERE / "reports" / str(assignment) / f"{student}.json"
            report.parent.mkdir(parents=True, exist_ok=True)
            context["report_path"] = str(report)
        prepared = time.monotonic()
        folder = resources.get("metadata", {}).get("path")
        with Sandbox(self._slot(), memory_mb=self.memory_limit_mb) as box:
            executed, run = box.run(
                json.loads(nbformat.writes(nb_to_run)),
                files_from=Path(folder) if folder else None, timeout=self.timeout,
                startup_timeout=self.startup_timeout, iopub_timeout=self.iopub_timeout,
                notebook_timeout=self.notebook_timeout, error_on_timeout=self.error_on_timeout)
            result = self._merge(nb_to_run, executed, run)
            ran = time.monotonic()
            graded = checks.grade(result, box.outdir, context)
        if graded is not None:
            result = graded
        for line in run["log"]:
            self.log.warning("sandbox: %s", line)
        self.log.info("SandboxedExecute: %s/%s of %s ran in %.1f s with %d kernel restart(s) "
                      "(prepare %.1f s, sandbox %.1f s, grade %.1f s)",
                      assignment, notebook, info.get("student"), run["seconds"],
                      run["restarts"], prepared - started, ran - prepared,
                      time.monotonic() - ran)
        return result, resources

    def _merge(self, nb_to_run, executed, run) -> NotebookNode:
        """``nb_to_run`` with the outputs of the executed copy; if the sandbox gave nothing
        usable back, every code cell gets an error output (so no test cell passes)."""
        result = copy.deepcopy(nb_to_run)
        problem = None
        if executed is None:
            problem = ("the sandbox returned no notebook (exit status "
                       f"{run['returncode']}{', killed after the time limit' if run['killed'] else ''})")
        else:
            try:
                executed = nbformat.reads(json.dumps(executed), as_version=4)
                if len(executed.cells) != len(result.cells):
                    raise ValueError("the number of cells changed")
                for mine, theirs in zip(result.cells, executed.cells):
                    if mine.cell_type == "code":
                        mine.outputs = [NotebookNode(o) for o in theirs.get("outputs", [])]
                        count = theirs.get("execution_count")
                        mine.execution_count = count if isinstance(count, int) else None
                nbformat.validate(result)
            except Exception as err:  # noqa: BLE001 - anything malformed: a failed run
                problem = f"the sandbox returned an invalid notebook ({err})"
                result = copy.deepcopy(nb_to_run)
        if problem:
            self.log.error("SandboxedExecute: %s; runner output:\n%s", problem,
                           run.get("runner_output", ""))
            for cell in result.cells:
                if cell.cell_type == "code":
                    cell.outputs = [_error("GradingError", f"not graded: {problem}")]
        return result


class SanitizeOutputs(NbGraderPreprocessor):
    """Make the outputs of code cells inert: HTML/Markdown cleaned, SVG/JavaScript removed."""

    DROP = ("application/javascript", "text/javascript", "application/x-javascript")

    def preprocess_cell(self, cell, resources, index):
        import nh3

        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = out.get("data")
            if not isinstance(data, dict):
                continue
            for mime in list(data):
                if mime in self.DROP or "javascript" in mime:
                    del data[mime]
                elif mime in ("text/html", "image/svg+xml", "text/markdown"):
                    value = data[mime]
                    text = "".join(value) if isinstance(value, list) else str(value)
                    if mime == "image/svg+xml":       # nh3 knows no SVG: show it as text
                        del data[mime]
                        data.setdefault("text/plain", "[SVG output removed]")
                    else:
                        data[mime] = nh3.clean(text)
            if not data:
                data["text/plain"] = "[output removed]"
        return cell, resources


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
