"""Trusted checks of the course's homework: probes in the sandbox, comparisons outside it.

``nbgrader autograde`` (through ``SandboxedExecute`` in ``homework/autograding.py``) grades a
submission in three steps:

1. :func:`prepare` rebuilds the notebook from the release copy: every read-only cell (the
   instructions, the given code, the test cells) is restored by its ``grade_id``, whatever the
   student did to it (edited metadata, renamed, duplicated, moved or deleted), and the tampering
   is recorded; the student's answers are kept. The source of every auto-graded test cell is
   replaced by its *probe* (``PROBES`` of ``checks/<assignment>.py``): code that calls the
   student's functions on fixed inputs and hands the results back with
   :func:`course_lib.grading.record` (plain numeric arrays, ``np.save(allow_pickle=False)``).
   The expected values and the comparisons are not in it, so nothing the student's code does in
   its own process (patching NumPy or builtins, inspecting frames, reloading modules) can
   change a verdict or reveal a hidden test.
2. The sandbox executes that notebook (G1's part).
3. :func:`grade` runs in the grader's process: it loads the recorded arrays, computes the
   expected values with course_lib (``CHECKS`` of ``checks/<assignment>.py``), and writes each
   test cell's outputs: a short "passed" line, or one error whose message names the mistake.
   The student's own output in a test cell (stdout, stderr, warnings) is kept as plain text and
   never fails the cell. The test cells get back their release (visible) source, so feedback
   never shows a probe or a hidden test. Tampering is reported in a note at the top of the
   notebook, in ``nb.metadata["course_checks"]`` and in ``context["report_path"]`` (JSON).

The "implement it yourself" guard :func:`course_lib.grading.forbid` stays in the probes as a
teaching aid (its message says what was called), but every such task is also checked on
quantities the course's implementation does not hand out (the assignment's own state keys, the
parts of a gradient, inputs in extended precision that torch cannot take, ...).
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import re
import stat
import uuid
from pathlib import Path

import numpy as np
import nbformat
from nbformat import NotebookNode

from ._base import Fail, Records

__all__ = ["ASSIGNMENTS", "prepare", "grade", "probe_source", "Fail"]

ASSIGNMENTS = ("hw01_gradient_descent", "hw02_momentum", "hw03_adaptive", "hw04_schedules",
               "hw05_initialization", "hw06_normalization", "hw07_regularization",
               "hw08_second_order", "hw09_coordinate_descent", "hw10_frontier",
               "hw11_data_parallel", "hw12_benchmarking")
HIDDEN_BEGIN, HIDDEN_END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,95}")
MAX_FILE_BYTES = 16 << 20
MAX_TOTAL_BYTES = 64 << 20
MAX_FILES = 500


def module(assignment: str):
    """The check module of ``assignment`` (``checks/<assignment>.py``)."""
    if assignment not in ASSIGNMENTS:
        raise ValueError(f"Invalid assignment: {assignment!r} (expected one of "
                         f"{', '.join(ASSIGNMENTS)})")
    return importlib.import_module(f"{__name__}.{assignment}")


def probe_source(assignment: str, grade_id: str) -> str:
    return module(assignment).PROBES[grade_id].strip("\n") + "\n"


# ------------------------------------------------------------------------- cells

def _nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _is_test(cell) -> bool:
    m = _nbg(cell)
    return bool(m.get("grade")) and not m.get("solution") and cell.get("cell_type") == "code"


def strip_hidden(source: str) -> str:
    """``source`` without its hidden-test region (as nbgrader's ClearHiddenTests does)."""
    kept, hidden = [], False
    for line in source.split("\n"):
        if HIDDEN_BEGIN in line:
            hidden = True
        elif HIDDEN_END in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept).strip()


def _fresh(cell) -> NotebookNode:
    cell = copy.deepcopy(cell)
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    return cell


def _clean_student_cell(cell) -> NotebookNode:
    cell = _fresh(cell)
    cell.setdefault("metadata", NotebookNode())
    cell.metadata.pop("nbgrader", None)
    return cell


def prepare(nb, assignment: str, release_nb):
    """Rebuild the submission on the release's structure; test cells become probes.

    Returns ``(nb_to_run, context)``; ``nb`` is not modified. See the module docstring."""
    mod = module(assignment)
    release = release_nb.cells
    marked = {_nbg(c)["grade_id"]: c for c in release if _nbg(c).get("grade_id")}
    order = [g for g in marked]
    tests = [g for g in order if _is_test(marked[g])]
    missing_probes = sorted(set(tests) - set(mod.PROBES))
    if missing_probes:
        raise ValueError(f"{assignment}: no probe for the test cell(s) {missing_probes}")
    test_sources = {strip_hidden(marked[g].source): g for g in tests}
    tamper: list = []

    def flag(kind, grade_id, detail):
        tamper.append({"kind": kind, "grade_id": grade_id, "detail": detail})

    # Walk the submission: the first cell carrying each known grade_id is "the" cell; the
    # student's other cells follow the marked cell before them.
    first: dict = {}
    leading: list = []
    after: dict = {g: [] for g in order}
    seen_tests: list = []
    current = None
    for cell in nb.cells:
        gid = _nbg(cell).get("grade_id")
        if gid in marked and gid not in first:
            first[gid] = cell
            current = gid
            if gid in tests:
                seen_tests.append(gid)
            continue
        body = strip_hidden(cell.get("source", "")) if cell.get("cell_type") == "code" else None
        copy_of = test_sources.get(body) if body else None
        if gid in marked:                          # a second cell with the same grade_id
            if marked[gid].get("metadata", {}).get("nbgrader", {}).get("locked"):
                flag("duplicated", gid, "a copy of this read-only cell was removed")
                continue
            flag("duplicated", gid, "a second cell with this answer's id was kept as an "
                 "ungraded cell")
        elif gid is not None:                      # an id the release does not know
            if copy_of is not None:
                flag("renamed", copy_of, f"a copy of this test cell with the id {gid!r} "
                     "was removed")
                continue
            if _nbg(cell).get("grade"):
                flag("unknown cell", str(gid), "a graded cell that is not in the assignment "
                     "was kept as an ungraded cell")
        elif copy_of is not None and cell.get("cell_type") == "code":
            flag("duplicated", copy_of, "a copy of this test cell without its grading "
                 "metadata was removed")
            continue
        target = after[current] if current is not None else leading
        target.append(_clean_student_cell(cell))

    for gid in tests:
        sub = first.get(gid)
        if sub is None:
            flag("deleted", gid, "the test cell was missing and was restored from the release")
            continue
        rel_meta = marked[gid].get("metadata", {}).get("nbgrader", {})
        sub_meta = _nbg(sub)
        changed = sorted(k for k in ("grade", "grade_id", "locked", "points", "solution", "task")
                         if rel_meta.get(k, False) != sub_meta.get(k, False))
        if changed or sub.get("cell_type") != "code":
            flag("metadata edited", gid, "restored from the release (changed: "
                 + ", ".join(changed or ["cell type"]) + ")")
        if strip_hidden(sub.get("source", "")) != strip_hidden(marked[gid].source):
            flag("source edited", gid, "the test cell's code was restored from the release")
    present = [g for g in tests if g in seen_tests]
    if seen_tests != present:
        flag("moved", ", ".join(seen_tests), "the test cells were out of order and were "
             "put back in their places")

    cells, probes, release_sources = [_fresh(c) for c in leading], {}, {}
    for cell in release:
        gid = _nbg(cell).get("grade_id")
        if gid is None:
            if not leading and cell is release[0]:
                cells.append(_fresh(cell))          # the set-up cell, if the student lost it
            continue
        meta = cell.metadata.nbgrader
        if meta.get("locked") or gid not in first:
            new = _fresh(cell)
        else:                                       # the student's answer, release metadata
            new = _fresh(cell)
            new.source = first[gid].get("source", "")
        if gid in tests:
            release_sources[gid] = cell.source
            probes[gid] = len(cells)
            new.source = probe_source(assignment, gid)
        cells.append(new)
        cells.extend(after.get(gid, []))
    seen_ids: set = set()
    for cell in cells:                              # nbformat 4.5: unique ids on every cell
        if not isinstance(cell.get("id"), str) or cell["id"] in seen_ids \
                or not re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", cell["id"]):
            cell["id"] = uuid.uuid4().hex[:12]
        seen_ids.add(cell["id"])
    out = copy.deepcopy(nb)
    out.cells = cells
    out.nbformat, out.nbformat_minor = 4, max(5, release_nb.get("nbformat_minor", 5))
    context = {"assignment": assignment, "tamper": tamper, "probes": probes,
               "release_sources": release_sources, "report_path": None}
    return out, context


# ------------------------------------------------------------------------ records

def load_records(outdir) -> tuple[dict, list]:
    """The ``<name>.npy`` files at the top of ``outdir``: regular files only, size-capped,
    ``np.load(allow_pickle=False)``, numeric dtypes only. Returns (arrays, problems)."""
    arrays, problems, total = {}, [], 0
    outdir = Path(outdir)
    if not outdir.is_dir():
        return arrays, [f"no output folder {outdir}"]
    entries = sorted(os.scandir(outdir), key=lambda e: e.name)
    for entry in entries[:MAX_FILES * 2]:
        name = entry.name
        if not name.endswith(".npy") or not _NAME.fullmatch(name[:-4]):
            continue
        if len(arrays) >= MAX_FILES:
            problems.append("too many recorded files")
            break
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
                problems.append(f"{name}: not a regular file or too large")
                continue
            if total + st.st_size > MAX_TOTAL_BYTES:
                problems.append("recorded files too large in all")
                break
            fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as fh:
                array = np.load(fh, allow_pickle=False)
            total += st.st_size
        except Exception as err:  # noqa: BLE001 - a bad file is the student's problem
            problems.append(f"{name}: unreadable ({type(err).__name__})")
            continue
        if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
            problems.append(f"{name}: not a numeric array")
            continue
        arrays[name[:-4]] = array
    return arrays, problems


# -------------------------------------------------------------------------- grade

def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _student_streams(outputs) -> list:
    """The student's stream output of a test cell, as stdout (stderr lines marked)."""
    kept = []
    for out in outputs:
        if out.get("output_type") != "stream":
            continue
        text = _text(out.get("text"))
        if out.get("name") == "stderr":
            text = "".join(f"[stderr] {line}" for line in text.splitlines(keepends=True))
        kept.append(nbformat.v4.new_output("stream", name="stdout", text=text))
    return kept


def _errors(outputs) -> list:
    return [(str(o.get("ename", "Error")), _text(o.get("evalue")))
            for o in outputs if o.get("output_type") == "error"]


def _label(grade_id: str) -> str:
    m = re.fullmatch(r"task(\d+)_tests", grade_id)
    return f"Task {m.group(1)}" if m else grade_id


def _tamper_note(tamper: list) -> str:
    lines = ["**Grader's note.** The grader restored cells of this notebook from the "
             "assignment before grading (the instructor sees this note):", ""]
    for t in tamper:
        lines.append(f"* `{t['grade_id']}`: {t['kind']} -- {t['detail']}")
    return "\n".join(lines)


def grade(executed_nb, outdir, context: dict):
    """Score the executed probes in the trusted process; see the module docstring."""
    assignment = context["assignment"]
    mod = module(assignment)
    arrays, problems = load_records(outdir)
    results = {}
    for gid, index in context["probes"].items():
        cell = executed_nb.cells[index]
        if _nbg(cell).get("grade_id") != gid:
            raise ValueError(f"cell {index} is not the test cell {gid!r}")
        outputs = list(cell.get("outputs", []))
        errors = _errors(outputs)
        records = Records(arrays, gid + ".", errors)
        label = _label(gid)
        try:
            delegation = [e for e in errors if e[0] == "DelegationError"]
            if delegation:
                raise Fail(delegation[0][1].strip())
            summary = mod.CHECKS[gid](records)
            if errors:   # the checks passed, but the student's code failed in this cell
                raise Fail(records.missing("?"))
            passed, message = True, f"{label}: passed. {summary or ''}".rstrip()
        except Fail as failure:
            passed, message = False, f"{label}: {failure}"
        except Exception as err:  # noqa: BLE001 - an unexpected recorded value
            passed = False
            message = (f"{label}: the grader could not check your result "
                       f"({type(err).__name__}: {err})")
        results[gid] = {"passed": passed, "message": message}
        new = _student_streams(outputs)
        if passed:
            new.append(nbformat.v4.new_output("stream", name="stdout", text=message + "\n"))
        else:
            ename = "AssertionError"
            if errors and errors[0][0] in ("DelegationError", "NotImplementedError",
                                           "DeadKernelError", "CellTimeoutError",
                                           "NotebookTimeoutError", "MemoryError"):
                ename = errors[0][0]
            new.append(nbformat.v4.new_output("error", ename=ename, evalue=message,
                                              traceback=[f"{ename}: {message}"]))
        cell.outputs = new
        cell.source = context["release_sources"][gid]
    tamper = list(context.get("tamper", []))
    report = {"assignment": assignment, "tamper": tamper, "results": results,
              "record_problems": problems}
    executed_nb.metadata["course_checks"] = report
    if tamper:
        note = nbformat.v4.new_markdown_cell(_tamper_note(tamper))
        note.metadata["course_checks"] = {"tamper_note": True}
        executed_nb.cells.insert(0, note)
    if context.get("report_path"):
        path = Path(context["report_path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=1))
    return executed_nb
