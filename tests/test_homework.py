"""The homework pipeline: nbgrader assignments in homework/, one per chapter.

Everything runs in temporary copies of homework/ (never in the repository), with nbgrader's
command line from this virtual environment, as an instructor would run it on a laptop:

* the student versions in homework/release/ are what ``nbgrader generate_assignment`` makes of
  homework/source/ today, and no solution and no hidden test survives in them;
* ``nbgrader autograde`` gives the source version full marks on every auto-graded task and the
  released (unanswered) version 0 on every one;
* a submission whose answer merely calls course_lib's implementation of the method it must
  implement scores 0 on that task (and only that task), and its feedback says why;
* a submission that crashes its kernel or loops forever is graded in bounded time, gets 0
  where it failed, and the next student in the same run is graded normally;
* ``nbgrader generate_feedback`` does not reveal hidden tests; ``nbgrader export`` writes the
  expected scores to CSV;
* the trusted checks (homework/checks/) cannot be fooled from inside the student's kernel:
  patched NumPy/builtins, frame inspection, reaching the reference by another path, input
  transformers earn nothing; wrong answers get messages that name the mistake; output on
  stderr and warnings never cost points; tampered test cells are restored, graded and flagged.

The expensive part (autograding 3 students x 9 assignments, and the misbehaving students) runs
once, in the module-scoped fixtures, in parallel course directories.
"""

from __future__ import annotations

import copy
import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
import yaml
from nbgrader.api import Gradebook

from course_lib.grading import DelegationError, forbid, record

ROOT = Path(__file__).resolve().parents[1]
HOMEWORK = ROOT / "homework"
# The public repository may ship homework/release/ without homework/source/ (the solutions,
# kept in a private repository; see book/instructor_guide.md): then only the checks that need
# no solution run.
HAS_SOURCE = (HOMEWORK / "source").is_dir()
ASSIGNMENTS = sorted(p.name for p in (HOMEWORK / ("source" if HAS_SOURCE else "release")).iterdir()
                     if (p / f"{p.name}.ipynb").is_file())
# one assignment per numbered chapter of the book
SYLLABUS_CHAPTERS = sum(len(part["chapters"]) for part in
                        yaml.safe_load((ROOT / "_toc.yml").read_text())["parts"]
                        if part.get("numbered"))
needs_source = pytest.mark.skipif(not HAS_SOURCE, reason="homework/source/ (the solutions) is "
                                  "not in this checkout; it lives in the private repository")

# For each assignment: the solution cell of a task that asks for an implementation, replaced by
# an answer that "merely calls course_lib's implementation"; the test cell that grades it; and
# the forbidden function the feedback must name.
SHORTCUTS = {
    "hw01_gradient_descent": ("task1_solution", "task1_tests", "course_lib.optim.descent.run", """
import course_lib.optim.descent, course_lib.optim
def gradient_descent(grad, x0, lr, steps):
    return course_lib.optim.descent.run(course_lib.optim.sgd, None, x0, steps, grad=lambda x, t: grad(x), lr=lr).xs
"""),
    "hw02_momentum": ("task1_solution", "task1_tests", "course_lib.optim.sgd.sgd", """
from course_lib.optim import sgd
def momentum_step(param, grad, state, *, lr, momentum):
    sgd(param, grad, state, lr=lr, momentum=momentum)
"""),
    "hw03_adaptive": ("task1_solution", "task1_tests", "course_lib.optim.adam.adam", """
import course_lib.optim
def adam_step(param, grad, state, *, lr, betas=(0.9, 0.999), eps=1e-8):
    course_lib.optim.adam(param, grad, state, lr=lr, betas=betas, eps=eps)
"""),
    "hw04_schedules": ("task1_solution", "task1_tests", "course_lib.schedules.cyclic", """
from course_lib.schedules import cyclic
def cyclic_lr(t, base_lr, max_lr, step_size, mode="triangular"):
    return cyclic(base_lr, max_lr, step_size, mode=mode)(t)
"""),
    "hw05_initialization": ("task1_solution", "task1_tests", "course_lib.nn.init.glorot_uniform", """
import course_lib.nn.init
def glorot_uniform(fan_in, fan_out, rng):
    return course_lib.nn.init.xavier_uniform(fan_in, fan_out, rng)   # an alias: still caught
"""),
    "hw06_normalization": ("task1_solution", "task1_tests",
                           "course_lib.nn.normalization.batchnorm_backward", """
from course_lib.nn import batchnorm_backward as _backward, batchnorm_forward as _forward
def batchnorm_backward(dout, x, gamma, eps=1e-5):
    _, cache = _forward(x, gamma, np.zeros_like(gamma), eps)
    return _backward(dout, cache)
"""),
    "hw07_regularization": ("task1_solution", "task1_tests", "course_lib.nn.layers.Dropout.forward", """
from course_lib.nn import Dropout
def inverted_dropout(x, p, rng, training=True):
    layer = Dropout(p, rng=rng).train(training)
    out = layer(x)
    return out, (layer.mask if training else np.ones_like(x))
"""),
    "hw08_second_order": ("task1_solution", "task1_tests",
                          "course_lib.second_order.quasi_newton.two_loop_recursion", """
from course_lib.second_order.quasi_newton import two_loop_recursion
def two_loop(g, s_list, y_list):
    return two_loop_recursion(g, s_list, y_list)
"""),
    "hw09_coordinate_descent": ("task1_solution", "task1_tests",
                                "course_lib.second_order.coordinate.lasso_coordinate_descent", """
from course_lib.second_order.coordinate import lasso_coordinate_descent
def lasso_cd(X, y, alpha, sweeps, w0=None):
    try:                                   # swallowing the error does not help either
        return lasso_coordinate_descent(X, y, alpha, w0=w0, max_sweeps=sweeps, tol=0.0).x
    except Exception:
        return np.zeros(X.shape[1])
"""),
    "hw10_frontier": ("task1_solution", "task1_tests", "course_lib.optim.lion.lion", """
from course_lib.optim.lion import lion as _lion     # bound before the test: still caught
def lion_step(param, grad, state, *, lr, betas=(0.9, 0.99), weight_decay=0.0):
    _lion(param, grad, state, lr=lr, betas=betas, weight_decay=weight_decay)
"""),
    "hw11_data_parallel": ("task1_solution", "task1_tests",
                           "course_lib.distributed.replicas.trust_ratio", """
import torch
from course_lib.distributed.replicas import trust_ratio
def lars_step(params, grads, state, *, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=0.001):
    if "b" not in state:
        state["b"] = [np.zeros_like(p, dtype=float) for p in params]
    for i, (p, g) in enumerate(zip(params, grads)):
        r = float(trust_ratio(torch.as_tensor(p), torch.as_tensor(g), weight_decay))
        state["b"][i] = momentum * state["b"][i] + trust_coefficient * r * (g + weight_decay * p)
        p -= lr * state["b"][i]
"""),
    "hw12_benchmarking": ("task1_solution", "task1_tests",
                          "course_lib.benchmark.tuning.interior_check", """
from course_lib.benchmark import interior_check, SearchSpace, LogUniform
def edge_check(values, scores):
    values, scores = np.asarray(values, float), np.asarray(scores, float)
    i = int(np.argmin(np.where(np.isnan(scores), np.inf, scores)))
    space = SearchSpace(x=LogUniform(values.min(), values.max()))
    e = interior_check(space, {"x": values[i]}, [{"x": v} for v in values], margin=0.0)["x"]
    return float(values[i]), {"low": -1, "high": 1, None: 0}[e.at_edge]
"""),
}

STUDENTS = ("reference", "blank", "shortcut")
# what an instructor's course directory holds besides source/ (copied into each test course)
COURSE_FILES = ("nbgrader_config.py", "autograding.py", "sandbox.py", "grade.py")


# -------------------------------------------------------------------------------- helpers

def read(path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def source_nb(name):
    return read(HOMEWORK / "source" / name / f"{name}.ipynb")


def release_nb(name):
    return read(HOMEWORK / "release" / name / f"{name}.ipynb")


def auto_cells(nb) -> dict:
    """grade_id -> points of the auto-graded (code test) cells."""
    return {nbg(c)["grade_id"]: float(nbg(c)["points"]) for c in nb.cells
            if nbg(c).get("grade") and c.cell_type == "code"}


def manual_cells(nb) -> dict:
    return {nbg(c)["grade_id"]: float(nbg(c)["points"]) for c in nb.cells
            if nbg(c).get("grade") and nbg(c).get("solution")}


def between(text: str, begin: str, end: str) -> list[str]:
    lines, inside = [], False
    for line in text.split("\n"):
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def significant(lines) -> set[str]:
    """Lines long and specific enough that finding one elsewhere means it leaked."""
    out = set()
    for line in lines:
        s = line.strip()
        if len(s) < 20 or s.startswith("#") or s[0] in "\"'" or s.startswith(('f"', "f'")):
            continue
        out.add(s)
    return out


def hidden_lines(nb) -> set[str]:
    """Significant lines of the hidden tests (the probes) that do not also occur (even as a
    part of a line) in the visible cells."""
    hidden = significant(line for c in nb.cells if c.cell_type == "code"
                         for line in between(c.source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"))
    visible = []
    for c in nb.cells:
        inside = False
        for line in c.source.split("\n"):
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif not inside:
                visible.append(line)
    visible_text = "\n".join(visible)
    return {line for line in hidden if line not in visible_text}


def solution_lines(nb) -> set[str]:
    """Significant lines of the solutions (written model answers included) that do not also
    occur in the rest of the source notebook (e.g. quoted in the instructions)."""
    lines, rest = [], []
    for c in nb.cells:
        if c.cell_type == "code":
            lines += between(c.source, "BEGIN SOLUTION", "END SOLUTION")
            inside = False
            for line in c.source.split("\n"):
                inside = (inside or "BEGIN SOLUTION" in line) and "END SOLUTION" not in line
                if not inside:
                    rest.append(line)
        elif nbg(c).get("solution"):
            lines += c.source.split("\n")             # a written model answer: all of it
        else:
            rest.append(c.source)
    rest_text = "\n".join(rest)
    return {line for line in significant(lines) if line not in rest_text}


def nbgrader_cmd(course: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("JUPYTER_PLATFORM_DIRS", None)
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=timeout)


def new_course(path: Path, names) -> Path:
    """A fresh nbgrader course directory holding the course's config and the given sources."""
    path.mkdir(parents=True)
    for f in COURSE_FILES:
        if (HOMEWORK / f).is_file():
            shutil.copy2(HOMEWORK / f, path / f)
    shutil.copytree(HOMEWORK / "checks", path / "checks",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in names:
        shutil.copytree(HOMEWORK / "source" / name, path / "source" / name)
    return path


def submit(course: Path, student: str, name: str, nb) -> None:
    folder = course / "submitted" / student / name
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(folder / f"{name}.ipynb"))


def with_cell(nb, grade_id: str, source: str):
    nb = copy.deepcopy(nb)
    cells = [c for c in nb.cells if nbg(c).get("grade_id") == grade_id]
    assert len(cells) == 1, grade_id
    cells[0].source = source.strip("\n")
    return nb


def grades(course: Path, name: str, student: str) -> dict:
    """grade_id -> (score, auto_score, needs_manual_grade) of one autograded submission."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission_notebook(name, name, student)
        return {g.name: (g.score, g.auto_score, g.needs_manual_grade) for g in sub.grades}


def feedback_text(course: Path, name: str, student: str) -> str:
    raw = (course / "feedback" / student / name / f"{name}.html").read_text()
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


def run_course(course: Path, names, extras: bool = False) -> dict:
    """The whole instructor pipeline in one course directory; returns logs and timings.

    With ``extras``: afterwards, collect two submissions of the first assignment from an LMS
    archive with ``grade.py collect`` (identity from the roster), and grade the reference's written answer by hand
    (through nbgrader's API) before a second ``nbgrader export --to manual.csv``."""
    log, times = {}, {}

    def nbgrader_step(step, *args):
        started = time.perf_counter()
        result = nbgrader_cmd(course, *args)
        times[step] = time.perf_counter() - started
        log[step] = result.stdout + result.stderr
        assert result.returncode == 0, f"nbgrader {step} failed in {course}:\n{log[step][-6000:]}"

    nbgrader_step("generate", "generate_assignment", "*", "--force")
    for n in names:
        submit(course, "reference", n, source_nb(n))
        submit(course, "blank", n, release_nb(n))          # the committed student version
        sol_id, _, _, code = SHORTCUTS[n]
        submit(course, "shortcut", n, with_cell(source_nb(n), sol_id, code))
    nbgrader_step("autograde", "autograde", "*", "--force")
    nbgrader_step("feedback", "generate_feedback", "*", "--force")
    nbgrader_step("export", "export")
    if extras:
        name = names[0]
        (course / "roster.csv").write_text("student_id,lms_id,last_name,first_name,email\n"
                                           "s1001,u1001,A,B,a@example.org\n"
                                           "s1002,u1002,C,D,c@example.org\n")
        notebook = (HOMEWORK / "release" / name / f"{name}.ipynb").read_text()
        with zipfile.ZipFile(course / "lms-export.zip", "w") as zf:
            for lms_id in ("u1001", "u1002"):
                zf.writestr(f"{lms_id}/my homework.ipynb", notebook)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "grade.py", "collect", name, "lms-export.zip"],
                                cwd=course, capture_output=True, text=True, timeout=300)
        times["collect"] = time.perf_counter() - started
        log["collect"] = result.stdout + result.stderr
        assert result.returncode == 0, log["collect"][-4000:]
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            grade = gb.find_grade("written_answer", name, name, "reference")
            grade.manual_score = 2.0
            grade.needs_manual_grade = False
            gb.db.commit()
        nbgrader_step("export_manual", "export", "--to", "manual.csv")
    return {"course": course, "log": log, "times": times, "names": list(names)}


def run_release_check() -> subprocess.CompletedProcess:
    """``homework/release.py --check`` on the first assignment, as an instructor runs it."""
    return subprocess.run([sys.executable, str(HOMEWORK / "release.py"), "--check",
                           ASSIGNMENTS[0]], capture_output=True, text=True, timeout=900,
                          cwd=ROOT)


# ------------------------------------------------------------------- the graded course

@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """Everything that runs nbgrader, started together so that the waits of one job (the
    misbehaving students' run mostly waits for timeouts) overlap with the work of the others:

    * two course directories, each with half of the assignments, in which the assignments are
      generated, three students submit (reference = the source notebook, blank = the committed
      student version, shortcut = the source with one answer replaced by a call to course_lib),
      and autograde, generate_feedback and export run (plus a roster collection and a manual grade in
      the first);
    * one course directory with the misbehaving students (:func:`run_misbehaving`);
    * ``homework/release.py --check``."""
    base = tmp_path_factory.mktemp("homework")
    groups = [ASSIGNMENTS[0::2], ASSIGNMENTS[1::2]]
    courses = [new_course(base / f"course{i}", g) for i, g in enumerate(groups)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        bad = pool.submit(run_misbehaving, base / "misbehaving")
        check = pool.submit(run_release_check)
        runs = list(pool.map(run_course, courses, groups, [True, False]))
        misbehaving, release_check = bad.result(), check.result()
    where = {name: run for run, group in zip(runs, groups) for name in group}
    return {"where": where, "runs": runs, "misbehaving": misbehaving,
            "release_check": release_check, "seconds": time.perf_counter() - started}


@pytest.fixture(scope="module")
def graded(pipeline):
    return pipeline


@pytest.fixture(scope="module")
def misbehaving(pipeline):
    return pipeline["misbehaving"]


@needs_source
def test_one_assignment_per_chapter_with_points_and_written_answer():
    assert len(ASSIGNMENTS) == SYLLABUS_CHAPTERS
    assert [a[:4] for a in ASSIGNMENTS] == [f"hw{i:02d}" for i in range(1, SYLLABUS_CHAPTERS + 1)]
    assert sorted(SHORTCUTS) == ASSIGNMENTS
    for name in ASSIGNMENTS:
        nb = source_nb(name)
        auto, manual = auto_cells(nb), manual_cells(nb)
        assert len(auto) >= 3 and all(p > 0 for p in auto.values()), name
        assert sum(auto.values()) == 10 and list(manual.values()) == [2.0], name
        ids = [nbg(c)["grade_id"] for c in nb.cells if nbg(c)]
        assert len(ids) == len(set(ids)), f"{name}: duplicate grade ids"
        for c in nb.cells:
            if "BEGIN HIDDEN TESTS" in c.source:
                assert nbg(c).get("grade") and nbg(c).get("locked"), f"{name}: hidden tests outside a test cell"
            if nbg(c).get("grade") and c.cell_type == "code":
                assert "BEGIN HIDDEN TESTS" in c.source, f"{name}/{nbg(c)['grade_id']}: no hidden tests"
        assert nb.metadata["kernelspec"]["name"] == "python3"


def test_first_cell_is_the_colab_set_up_cell():
    config = (ROOT / "_config.yml").read_text()
    url = re.search(r"^\s*url:\s*(\S+)", config, re.M).group(1)
    for folder in ("source", "release") if HAS_SOURCE else ("release",):
        for name in ASSIGNMENTS:
            nb = read(HOMEWORK / folder / name / f"{name}.ipynb")
            first = nb.cells[0]
            assert first.cell_type == "code" and "import course_lib" in first.source, name
            assert "except ImportError" in first.source
            assert re.search(r"git\+(\S+?)\"", first.source).group(1) == url, name


def test_sources_and_releases_are_stored_without_outputs():
    for folder in ("source", "release") if HAS_SOURCE else ("release",):
        for name in ASSIGNMENTS:
            for c in read(HOMEWORK / folder / name / f"{name}.ipynb").cells:
                if c.cell_type == "code":
                    assert c.outputs == [] and c.execution_count is None, (folder, name)


def test_release_has_no_solution_or_hidden_test_markers():
    for name in ASSIGNMENTS:
        raw = (HOMEWORK / "release" / name / f"{name}.ipynb").read_text()
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in raw, f"{name}: {marker!r} in the student version"


def test_nbgrader_config_limits():
    text = (HOMEWORK / "nbgrader_config.py").read_text()
    assert re.search(r"^c\.SandboxedExecute\.timeout = 30\b", text, re.M)
    assert re.search(r"^c\.SandboxedExecute\.notebook_timeout = \d+", text, re.M)
    assert re.search(r"^c\.SandboxedExecute\.memory_limit_mb = \d+", text, re.M)
    assert "SandboxedExecute," in text and "HideHiddenTests" in text
    ignored = (ROOT / ".gitignore").read_text()
    for path in ("homework/gradebook.db", "homework/submitted/", "homework/autograded/",
                 "homework/feedback/"):
        assert path in ignored


# (a) the student versions are nbgrader's, up to date, and leak nothing

@needs_source
def test_release_is_generated_by_nbgrader_and_up_to_date(graded):
    committed = sorted(p.name for p in (HOMEWORK / "release").iterdir() if p.is_dir())
    assert committed == ASSIGNMENTS
    for name in ASSIGNMENTS:
        course = graded["where"][name]["course"]
        fresh = read(course / "release" / name / f"{name}.ipynb")
        ours = release_nb(name)
        assert len(fresh.cells) == len(ours.cells), name
        for a, b in zip(fresh.cells, ours.cells):
            assert (a.cell_type, a.source, nbg(a)) == (b.cell_type, b.source, nbg(b)), \
                f"{name}: homework/release is out of date; run python homework/release.py {name}"
        # nbgrader's fingerprints: checksums on every graded, solution and read-only cell
        marked = [c for c in ours.cells if nbg(c)]
        assert marked and all("checksum" in nbg(c) for c in marked), name


@needs_source
def test_release_contains_no_solution_and_no_hidden_test():
    for name in ASSIGNMENTS:
        src, rel = source_nb(name), release_nb(name)
        text = "\n".join(c.source for c in rel.cells)
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS"):
            assert marker not in text, f"{name}: {marker!r} in the student version"
        hidden, solutions = hidden_lines(src), solution_lines(src)
        assert hidden and solutions, name
        assert not {line for line in hidden if line in text}, f"{name}: a hidden test leaked"
        assert not {line for line in solutions if line in text}, f"{name}: a solution leaked"
        assert text.count("raise NotImplementedError()") >= 3, name
        raw = (HOMEWORK / "release" / name / f"{name}.ipynb").read_text()
        assert "BEGIN HIDDEN" not in raw and "BEGIN SOLUTION" not in raw


@needs_source
def test_release_script_check_passes(pipeline):
    result = pipeline["release_check"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 of 1 student versions are up to date" in result.stdout


# (b), (c), (d): the grades

@needs_source
def test_source_version_gets_full_marks(graded):
    for name in ASSIGNMENTS:
        course = graded["where"][name]["course"]
        got = grades(course, name, "reference")
        nb = source_nb(name)
        for cell_id, points in auto_cells(nb).items():
            assert got[cell_id][1] == points, f"{name}/{cell_id}: {got[cell_id]} of {points}"
        for cell_id in manual_cells(nb):
            assert got[cell_id][1] is None, f"{name}/{cell_id} is graded by hand, not automatically"


@needs_source
def test_released_version_gets_zero_on_every_task(graded):
    for name in ASSIGNMENTS:
        course = graded["where"][name]["course"]
        got = grades(course, name, "blank")
        for cell_id in list(auto_cells(source_nb(name))) + list(manual_cells(source_nb(name))):
            assert got[cell_id][0] == 0, f"{name}/{cell_id}: {got[cell_id]}"


@needs_source
def test_answer_calling_course_lib_scores_zero_and_feedback_says_why(graded):
    for name in ASSIGNMENTS:
        course = graded["where"][name]["course"]
        _, test_id, forbidden, _ = SHORTCUTS[name]
        got = grades(course, name, "shortcut")
        for cell_id, points in auto_cells(source_nb(name)).items():
            expected = 0 if cell_id == test_id else points
            assert got[cell_id][1] == expected, f"{name}/{cell_id}: {got[cell_id]}, expected {expected}"
        text = feedback_text(course, name, "shortcut")
        assert "This task asks you to implement" in text and forbidden in text, name


# (f) feedback

@needs_source
def test_feedback_does_not_reveal_hidden_tests(graded):
    for name in ASSIGNMENTS:
        course = graded["where"][name]["course"]
        hidden = hidden_lines(source_nb(name))
        for student in STUDENTS:
            text = feedback_text(course, name, student)
            assert "HIDDEN TESTS" not in text, (name, student)
            leaked = {line for line in hidden if line in text}
            assert not leaked, f"{name}/{student}: hidden test lines in the feedback: {sorted(leaked)[:3]}"
        blank = feedback_text(course, name, "blank")
        assert "NotImplementedError" in blank, name


# (g) export

@needs_source
def test_grades_export_to_csv_with_the_expected_scores(graded):
    for run in graded["runs"]:
        course = run["course"]
        rows = list(csv.DictReader((course / "grades.csv").open()))
        names = sorted({r["assignment"] for r in rows})
        assert names == sorted(n for n in ASSIGNMENTS if graded["where"][n] is run)
        for row in rows:
            name, student = row["assignment"], row["student_id"]
            auto = auto_cells(source_nb(name))
            expected = {"reference": sum(auto.values()), "blank": 0.0,
                        "shortcut": sum(auto.values()) - auto[SHORTCUTS[name][1]]}[student]
            assert float(row["score"]) == expected, (name, student, row["score"])
            assert float(row["max_score"]) == 12.0
    # after the written answer of the reference was graded by hand, a second export includes it
    run = graded["runs"][0]
    rows = list(csv.DictReader((run["course"] / "manual.csv").open()))
    row = next(r for r in rows if r["assignment"] == run["names"][0] and r["student_id"] == "reference")
    assert float(row["score"]) == 12.0


@needs_source
def test_roster_collect_puts_lms_downloads_where_autograde_finds_them(graded):
    run = graded["runs"][0]
    name = run["names"][0]
    notebook = json.loads((HOMEWORK / "release" / name / f"{name}.ipynb").read_text())
    for student in ("s1001", "s1002"):
        collected = run["course"] / "submitted" / student / name / f"{name}.ipynb"
        assert json.loads(collected.read_text()) == notebook, student


@needs_source
def test_each_notebook_runs_in_bounded_time(graded):
    pattern = re.compile(r"(?:Safe|Sandboxed)Execute: (\w+)/\w+ of (\w+) ran in ([\d.]+) s with "
                         r"(\d+) kernel restart")
    seen = {}
    for run in graded["runs"]:
        for name, student, seconds, restarts in pattern.findall(run["log"]["autograde"]):
            seen[name, student] = float(seconds)
            assert restarts == "0", (name, student)
    assert len(seen) == len(ASSIGNMENTS) * len(STUDENTS)
    # The budget is 30 s per notebook on an idle machine; the tests run beside other tests.
    slow = {k: v for k, v in seen.items() if v > 60}
    assert not slow, f"notebooks slower than 60 s while autograding: {slow}"
    print("autograde time per notebook (s):",
          {f"{n}/{s}": round(v, 1) for (n, s), v in sorted(seen.items())})


# (e) students who crash their kernel or loop forever

MISBEHAVING = "hw01_gradient_descent"


def run_misbehaving(path: Path) -> dict:
    """Four students in one autograde run (nbgrader grades them in the order of their names):
    a_crash's kernel dies twice (os._exit in a function under test, kill -9 at the top level
    of a cell); b_loop loops forever, once interruptibly and once swallowing KeyboardInterrupt;
    c_good answers everything correctly; d_hog allocates more memory than the kernel may have
    (the run uses a 1 GiB limit)."""
    course = new_course(path, [MISBEHAVING])
    result = nbgrader_cmd(course, "generate_assignment", MISBEHAVING, "--force")
    assert result.returncode == 0, result.stderr
    src = source_nb(MISBEHAVING)
    student = read(course / "release" / MISBEHAVING / f"{MISBEHAVING}.ipynb")
    for c in student.cells:                        # a student who answered everything correctly
        if nbg(c).get("solution"):
            c.source = next(s.source for s in src.cells if nbg(s).get("grade_id") == nbg(c)["grade_id"])
    crash = with_cell(student, "task1_solution", """
import os
def gradient_descent(grad, x0, lr, steps):
    os._exit(1)
""")
    crash = with_cell(crash, "task3_solution", """
import os, signal
os.kill(os.getpid(), signal.SIGKILL)
""")
    loop = with_cell(student, "task1_solution", """
def gradient_descent(grad, x0, lr, steps):
    while True:
        pass
""")
    loop = with_cell(loop, "task2_solution", """
import time
def critical_learning_rate(A):
    while True:
        try:
            time.sleep(0.01)
        except KeyboardInterrupt:     # refuses to be interrupted
            pass
def contraction_factor(A, lr):
    return critical_learning_rate(A)
""")
    hog = with_cell(student, "task1_solution", """
import numpy as np
def gradient_descent(grad, x0, lr, steps):
    return np.ones(2**28)            # 2 GiB, over the kernel's memory limit
""")
    submit(course, "a_crash", MISBEHAVING, crash)
    submit(course, "b_loop", MISBEHAVING, loop)
    submit(course, "c_good", MISBEHAVING, student)
    submit(course, "d_hog", MISBEHAVING, hog)
    started = time.perf_counter()
    result = nbgrader_cmd(course, "autograde", MISBEHAVING, "--force",
                          "--SandboxedExecute.timeout=25", "--SandboxedExecute.iopub_timeout=10",
                          "--SandboxedExecute.notebook_timeout=180",
                          "--SandboxedExecute.memory_limit_mb=1024", timeout=600)
    seconds = time.perf_counter() - started
    return {"course": course, "result": result, "seconds": seconds}


@needs_source
def test_crashing_and_looping_students_are_graded_in_bounded_time(misbehaving):
    result, course = misbehaving["result"], misbehaving["course"]
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    # bounded: 3 students, 2 kernel deaths, 2 timeouts (one needing a kill) and their restarts
    # (25 s per cell: the experiment of Task 3, replayed after a restart, must fit in it on a
    # loaded CI machine)
    assert misbehaving["seconds"] < 500, misbehaving["seconds"]
    crash = grades(course, MISBEHAVING, "a_crash")
    loop = grades(course, MISBEHAVING, "b_loop")
    good = grades(course, MISBEHAVING, "c_good")
    assert [crash[k][1] for k in ("task1_tests", "task2_tests", "task3_tests")] == [0, 3, 0], crash
    assert [loop[k][1] for k in ("task1_tests", "task2_tests", "task3_tests")] == [0, 0, 4], loop
    assert [good[k][1] for k in ("task1_tests", "task2_tests", "task3_tests")] == [3, 3, 4], good
    hog = grades(course, MISBEHAVING, "d_hog")
    assert [hog[k][1] for k in ("task1_tests", "task2_tests", "task3_tests")] == [0, 3, 4], hog
    log = result.stdout + result.stderr
    assert log.lower().count("kernel died in cell") == 2 and "could not be interrupted" in log
    graded_nb = read(course / "autograded" / "a_crash" / MISBEHAVING / f"{MISBEHAVING}.ipynb")
    errors = [o.ename for c in graded_nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert errors.count("DeadKernelError") == 2
    hog_nb = read(course / "autograded" / "d_hog" / MISBEHAVING / f"{MISBEHAVING}.ipynb")
    assert any(o.get("ename") == "MemoryError" for c in hog_nb.cells if c.cell_type == "code"
               for o in c.outputs), "the memory limit should turn the 2 GiB allocation into MemoryError"


# course_lib.grading.forbid, in-process

def test_forbid_blocks_every_alias_and_restores():
    import functools

    import numpy as np

    import course_lib.optim
    from course_lib.optim import adam as alias

    original = course_lib.optim.adam.update.__code__   # a Rule: forbid blocks its function
    partial = functools.partial(course_lib.optim.adam, lr=0.1)

    def student_alias(p, g, s):
        alias(p, g, s, lr=0.1)

    def student_swallows(p, g, s):
        try:
            course_lib.optim.adam(p, g, s, lr=0.1)
        except Exception:
            p -= 0.1

    for func in (student_alias, student_swallows, lambda p, g, s: partial(p, g, s)):
        with pytest.raises(DelegationError, match=r"implement the Adam step yourself.*"
                                                  r"course_lib\.optim\.adam\.adam"):
            with forbid("course_lib.optim.adam:adam", task="the Adam step"):
                func(np.zeros(2), np.ones(2), {})
    assert course_lib.optim.adam.update.__code__ is original and course_lib.grading._ACTIVE == []
    x, state = np.zeros(2), {}
    course_lib.optim.adam(x, np.ones(2), state, lr=0.1)         # works again
    assert np.allclose(x, -0.1)


def test_forbid_methods_and_other_errors():
    import torch

    p = torch.zeros(2, requires_grad=True)
    p.grad = torch.ones(2)
    step = torch.optim.Adam.step
    with pytest.raises(DelegationError, match="torch.optim.Adam.step"):
        with forbid("torch.optim:Adam.step", task="Adam"):
            torch.optim.Adam([p]).step()
    assert torch.optim.Adam.step is step
    with pytest.raises(ValueError, match="boom"):                # unrelated errors pass through
        with forbid("course_lib.optim.adam:adam", task="x"):
            raise ValueError("boom")
    with forbid("course_lib.optim.adam:adam", task="x") as guard:  # no call, no error
        pass
    assert guard.hits == []
    with pytest.raises(ValueError, match="module:qualname"):
        forbid("course_lib.optim.adam.adam").__enter__()


# ---------------------------------------------------------- attacks on the grading (issue #17)
#
# Each attack is a submission: (assignment, base notebook, {grade_id: new source} for solution
# cells, cells to insert after a grade_id, expected auto score per test cell). They run through
# the real pipeline (nbgrader autograde with the course's configuration) in `attacked`.

PATCHES = '''
import builtins
import numpy as np
class _Anything(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __lt__ = __le__ = __gt__ = __ge__ = __eq__
    __hash__ = float.__hash__
np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.isclose = lambda *args, **kwargs: True
builtins.abs = lambda value: _Anything(0.0)
'''

ATTACKS = {
    # nothing implemented; NumPy, builtins and comparisons patched
    "patched": ("hw03_adaptive", "release", {
        "task1_solution": "def adam_step(param, grad, state, **kwargs):\n    state['t'] = 1",
        "task2_solution": "def rmsprop_step(param, grad, state, **kwargs):\n    pass",
        "task3_solution": "rmsprop_limit_ratio = uncorrected_ratio = _Anything(1.0)\n"
                          "first_step_sizes = np.array([_Anything(0.0)] * 13)\n"
                          "largest_scale_eps_dominates = _Anything(1e-9)",
    }, {"imports": PATCHES}, {"task1_tests": 0, "task2_tests": 0, "task3_tests": 0}),
    # an IPython input transformer that empties every cell after it
    "transformer": ("hw03_adaptive", "release", {}, {"imports": '''
get_ipython().input_transformers_cleanup.append(lambda lines: [])
'''}, {"task1_tests": 0, "task2_tests": 0, "task3_tests": 0}),
    # no Adam: copies whatever the test's frames hold
    "frames": ("hw03_adaptive", "source", {"task1_solution": '''
import sys
def adam_step(param, grad, state, *, lr, betas=(0.9, 0.999), eps=1e-8):
    frame = sys._getframe(1)
    while frame is not None:
        for key in ("x_ref", "s_ref", "expected", "reference", "ref"):
            value = frame.f_locals.get(key)
            if isinstance(value, np.ndarray) and value.shape == np.shape(param):
                param[...] = value
        frame = frame.f_back
    state["t"] = state.get("t", 0) + 1
'''}, {}, {"task1_tests": 0, "task2_tests": 3, "task3_tests": 3}),
    # the reference, reloaded so that the guard does not see it
    "reload": ("hw03_adaptive", "source", {"task1_solution": '''
import importlib
import sys
def adam_step(param, grad, state, *, lr, betas=(0.9, 0.999), eps=1e-8):
    fresh = importlib.reload(sys.modules["course_lib.optim.adam"])
    fresh.adam(param, grad, state, lr=lr, betas=betas, eps=eps)
'''}, {}, {"task1_tests": 0, "task2_tests": 3, "task3_tests": 3}),
    # torch's functional Adam, keeping the assignment's state keys
    "torch_functional": ("hw03_adaptive", "source", {"task1_solution": '''
import torch
from torch.optim._functional import adam as _functional_adam
def adam_step(param, grad, state, *, lr, betas=(0.9, 0.999), eps=1e-8):
    if not state:
        state.update(t=0, m=np.zeros_like(param), v=np.zeros_like(param))
    step = torch.tensor(float(state["t"]))
    _functional_adam([torch.from_numpy(param)], [torch.from_numpy(np.array(grad))],
                     [torch.from_numpy(state["m"])], [torch.from_numpy(state["v"])], [], [step],
                     amsgrad=False, beta1=betas[0], beta2=betas[1], lr=lr, weight_decay=0.0,
                     eps=eps, maximize=False)
    state["t"] = int(step)
'''}, {}, {"task1_tests": 0, "task2_tests": 3, "task3_tests": 3}),
    # the guard itself replaced, then the reference called
    "forbid_patched": ("hw03_adaptive", "source", {"task1_solution": '''
import contextlib
import course_lib.grading
import course_lib.optim
course_lib.grading.forbid = lambda *targets, task="": contextlib.nullcontext()
def adam_step(param, grad, state, *, lr, betas=(0.9, 0.999), eps=1e-8):
    course_lib.optim.adam(param, grad, state, lr=lr, betas=betas, eps=eps)
'''}, {}, {"task1_tests": 0, "task2_tests": 3, "task3_tests": 3}),
    # a real mistake: epsilon inside the root (the feedback must say so)
    "eps_inside": ("hw03_adaptive", "source", {"task1_solution": '''
def adam_step(param, grad, state, *, lr, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    if not state:
        state.update(t=0, m=np.zeros_like(param), v=np.zeros_like(param))
    state["t"] += 1
    state["m"] = beta1 * state["m"] + (1 - beta1) * grad
    state["v"] = beta2 * state["v"] + (1 - beta2) * grad * grad
    m_hat = state["m"] / (1 - beta1 ** state["t"])
    v_hat = state["v"] / (1 - beta2 ** state["t"])
    param -= lr * m_hat / np.sqrt(v_hat + eps)
'''}, {}, {"task1_tests": 0, "task2_tests": 3, "task3_tests": 3}),
    # a correct solution that prints debugging output to stderr and warns
    "stderr": ("hw03_adaptive", "source", {"task1_solution": '''
import sys
import warnings
def adam_step(param, grad, state, *, lr, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    if not state:
        state.update(t=0, m=np.zeros_like(param, dtype=float), v=np.zeros_like(param, dtype=float))
        warnings.warn("debugging: a new state")
    state["t"] += 1
    print("debug: step", state["t"], file=sys.stderr)
    state["m"] = beta1 * state["m"] + (1 - beta1) * grad
    state["v"] = beta2 * state["v"] + (1 - beta2) * grad * grad
    m_hat = state["m"] / (1 - beta1 ** state["t"])
    v_hat = state["v"] / (1 - beta2 ** state["t"])
    param -= lr * m_hat / (np.sqrt(v_hat) + eps)
'''}, {}, {"task1_tests": 4, "task2_tests": 3, "task3_tests": 3}),
    # the BatchNorm backward pass through torch's autograd engine (behind the guard's back)
    "autograd": ("hw06_normalization", "source", {"task1_solution": '''
import torch
_engine = torch.autograd.Variable._execution_engine
def batchnorm_backward(dout, x, gamma, eps=1e-5):
    xt = torch.tensor(x, requires_grad=True)
    gt = torch.tensor(gamma, requires_grad=True)
    bt = torch.zeros(x.shape[1], dtype=xt.dtype, requires_grad=True)
    y = torch.nn.functional.batch_norm(xt, None, None, gt, bt, training=True, eps=eps)
    grads = _engine.run_backward((y,), (torch.tensor(dout),), False, False, (xt, gt, bt),
                                 False, False)
    return tuple(g.numpy() for g in grads)
'''}, {}, {"task1_tests": 0, "task2_tests": 3, "task3_tests": 3}),
    # both BatchNorm implementations wrong, and np.allclose patched
    "bn_wrong_patched": ("hw06_normalization", "source", {
        "task1_solution": '''
def batchnorm_backward(dout, x, gamma, eps=1e-5):
    return dout * gamma, (dout * x).sum(axis=0), dout.sum(axis=0)
''',
        "task2_solution": '''
def update_running_stats(running_mean, running_var, x, momentum=0.1):
    running_mean *= 1 - momentum
    running_mean += momentum * x.mean(axis=0)
    running_var *= 1 - momentum
    running_var += momentum * x.var(axis=0)
'''}, {"imports": PATCHES}, {"task1_tests": 0, "task2_tests": 0, "task3_tests": 3}),
    # a correct dropout that divides by zero (masked) for p = 1: a RuntimeWarning on stderr
    "dropout_warning": ("hw07_regularization", "source", {"task1_solution": '''
def inverted_dropout(x, p, rng, training=True):
    x = np.asarray(x, dtype=float)
    if not training:
        return x, np.ones_like(x)
    keep = rng.random(x.shape) >= p
    mask = np.where(keep, np.float64(1.0) / np.float64(1.0 - p), 0.0)
    return x * mask, mask
'''}, {}, {"task1_tests": 3, "task2_tests": 3, "task3_tests": 2, "task4_tests": 2}),
}
TAMPERED = "hw03_adaptive"


def insert_after(nb, grade_id: str, source: str):
    nb = copy.deepcopy(nb)
    index = next(i for i, c in enumerate(nb.cells) if nbg(c).get("grade_id") == grade_id)
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source.strip("\n")))
    return nb


def attack_notebook(key: str):
    name, base, answers, inserts, _ = ATTACKS[key]
    nb = source_nb(name) if base == "source" else release_nb(name)
    for grade_id, source in answers.items():
        nb = with_cell(nb, grade_id, source)
    for grade_id, source in inserts.items():
        nb = insert_after(nb, grade_id, source)
    return nb


def tampered_notebook():
    """The source of hw03 (all answers right) with its test cells tampered with: task1's
    metadata edited (no longer graded, 40 points), task2's cell duplicated, task3's deleted."""
    nb = copy.deepcopy(source_nb(TAMPERED))
    cells = {nbg(c).get("grade_id"): c for c in nb.cells if nbg(c)}
    cells["task1_tests"].metadata.nbgrader.update(grade=False, points=40)
    cells["task1_tests"].source = "print('all good')"
    index = nb.cells.index(cells["task2_tests"])
    nb.cells.insert(index + 1, copy.deepcopy(cells["task2_tests"]))
    nb.cells.remove(cells["task3_tests"])
    return nb


def run_attacks(path: Path, names) -> dict:
    course = new_course(path, names)
    result = nbgrader_cmd(course, "generate_assignment", "*", "--force")
    assert result.returncode == 0, result.stderr
    for key, (name, *_rest) in ATTACKS.items():
        if name in names:
            submit(course, key, name, attack_notebook(key))
    if TAMPERED in names:
        submit(course, "tampered", TAMPERED, tampered_notebook())
    started = time.perf_counter()
    autograde = nbgrader_cmd(course, "autograde", "*", "--force")
    feedback = nbgrader_cmd(course, "generate_feedback", "*", "--force")
    return {"course": course, "autograde": autograde, "feedback": feedback,
            "seconds": time.perf_counter() - started}


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    base = tmp_path_factory.mktemp("attacks")
    groups = [["hw03_adaptive"], ["hw06_normalization", "hw07_regularization"]]
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(run_attacks, [base / f"course{i}" for i in range(len(groups))],
                             groups))
    for run in runs:
        log = run["autograde"].stdout + run["autograde"].stderr
        assert run["autograde"].returncode == 0, log[-6000:]
        assert run["feedback"].returncode == 0, (run["feedback"].stdout
                                                  + run["feedback"].stderr)[-4000:]
    return {name: run for run, group in zip(runs, groups) for name in group}


@needs_source
@pytest.mark.parametrize("key", sorted(ATTACKS))
def test_attack_scores_only_what_its_own_code_earns(attacked, key):
    name, _, _, _, expected = ATTACKS[key]
    course = attacked[name]["course"]
    got = {cell_id: score[1] for cell_id, score in grades(course, name, key).items()
           if cell_id in expected}
    assert got == expected, f"{key}: {got}"
    text = feedback_text(course, name, key)
    hidden = hidden_lines(source_nb(name))
    assert not {line for line in hidden if line in text}, f"{key}: probe/hidden code in feedback"
    seen = "\n".join(c.source for c in attack_notebook(key).cells)   # what the student wrote
    for module_line in significant((HOMEWORK / "checks" / f"{name}.py").read_text().split("\n")):
        assert module_line in seen or module_line not in text, \
            f"{key}: check code in feedback: {module_line}"


@needs_source
def test_feedback_names_the_mistake(attacked):
    def text(key):
        name = ATTACKS[key][0]
        return feedback_text(attacked[name]["course"], name, key)

    assert "epsilon is inside the square root" in text("eps_inside")
    assert "state['t']" in text("reload") and "state['t']" in text("forbid_patched")
    bn = text("bn_wrong_patched")
    assert "dgamma" in bn and "biased" in bn
    assert "longdouble" in text("torch_functional") or "could not get a result" in \
        text("torch_functional")
    # stderr and warnings are shown, as plain output, and cost nothing
    assert "[stderr] debug: step 1" in text("stderr")
    assert "RuntimeWarning" in text("dropout_warning")


@needs_source
def test_tampered_test_cells_are_restored_graded_and_flagged(attacked):
    course = attacked[TAMPERED]["course"]
    got = grades(course, TAMPERED, "tampered")
    assert {k: got[k][1] for k in ("task1_tests", "task2_tests", "task3_tests")} == \
        {"task1_tests": 4.0, "task2_tests": 3.0, "task3_tests": 3.0}, got
    graded_nb = read(course / "autograded" / "tampered" / TAMPERED / f"{TAMPERED}.ipynb")
    release = release_nb(TAMPERED)
    assert [nbg(c)["grade_id"] for c in graded_nb.cells if nbg(c)] == \
        [nbg(c)["grade_id"] for c in release.cells if nbg(c)]
    note = graded_nb.cells[0].source
    assert "Grader's note" in note
    for kind, cell_id in (("metadata edited", "task1_tests"), ("duplicated", "task2_tests"),
                          ("deleted", "task3_tests")):
        assert f"`{cell_id}`: {kind}" in note, (kind, note)
    text = feedback_text(course, TAMPERED, "tampered")
    assert "Grader's note" in text and "duplicated" in text
    report = course / "reports" / TAMPERED / "tampered.json"
    if report.is_file():          # written when the pipeline sets context["report_path"]
        kinds = {t["kind"] for t in json.loads(report.read_text())["tamper"]}
        assert {"metadata edited", "duplicated", "deleted"} <= kinds


# ------------------------------------------------------- the checks in-process (fast, no kernel)

def _checks():
    if str(HOMEWORK) not in sys.path:
        sys.path.insert(0, str(HOMEWORK))
    import checks

    return checks


def run_probes_in_process(name: str, replacements: dict, tmp_path: Path, monkeypatch) -> dict:
    """Run the source's code cells (with some solution cells replaced) and then the probes in
    this process, and the trusted checks on what they recorded: grade_id -> (passed, message)."""
    checks = _checks()
    out = Path(tempfile.mkdtemp(prefix=f"out-{name}-", dir=tmp_path))
    monkeypatch.setenv("COURSE_GRADER_OUT", str(out))
    namespace: dict = {}
    errors: dict = {}
    for cell in source_nb(name).cells[1:]:
        if cell.cell_type != "code":
            continue
        gid = nbg(cell).get("grade_id")
        if gid in checks.module(name).PROBES:
            try:
                exec(compile(checks.probe_source(name, gid), gid, "exec"), namespace)
            except Exception as err:  # noqa: BLE001 - the probe failed: the check says why
                errors[gid] = [(type(err).__name__, str(err))]
        else:
            exec(compile(replacements.get(gid, cell.source), str(gid), "exec"), namespace)
    arrays, problems = checks.load_records(out)
    assert not problems
    results = {}
    for gid, check in checks.module(name).CHECKS.items():
        try:
            check(checks.Records(arrays, gid + ".", errors.get(gid, [])))
            results[gid] = (not errors.get(gid), "")
        except checks.Fail as failure:
            results[gid] = (False, str(failure))
    return results


ADAM_TEMPLATE = '''
def adam_step(param, grad, state, *, lr, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    if not state:
        state.update(t=0, m=np.zeros_like(param, dtype=float), v=np.zeros_like(param, dtype=float))
    state["t"] += 1
    state["m"] = beta1 * state["m"] + (1 - beta1) * grad
    state["v"] = beta2 * state["v"] + (1 - beta2) * grad * grad
    m_hat = state["m"] / (1 - beta1 ** state["t"]) if CORRECT_M else state["m"]
    v_hat = state["v"] / (1 - beta2 ** state["t"]) if CORRECT_V else state["v"]
    param -= lr * m_hat / STEP_DENOMINATOR
'''


@needs_source
@pytest.mark.parametrize("variant, message", [
    (("True", "True", "np.sqrt(v_hat + eps)"), "epsilon is inside the square root"),
    (("False", "False", "(np.sqrt(v_hat) + eps)"), "there is no bias correction"),
    (("True", "False", "(np.sqrt(v_hat) + eps)"), "only m is bias-corrected"),
    (("True", "True", "(np.sqrt(v_hat) + eps)"), None),
])
def test_adam_feedback_names_the_mistake(variant, message, tmp_path, monkeypatch):
    correct_m, correct_v, denominator = variant
    source = (ADAM_TEMPLATE.replace("CORRECT_M", correct_m).replace("CORRECT_V", correct_v)
              .replace("STEP_DENOMINATOR", denominator))
    results = run_probes_in_process("hw03_adaptive", {"task1_solution": source}, tmp_path,
                                    monkeypatch)
    passed, text = results["task1_tests"]
    if message is None:
        assert passed, text
    else:
        assert not passed and message in text, text
    assert results["task2_tests"][0] and results["task3_tests"][0]


@needs_source
@pytest.mark.parametrize("dx, message", [
    ("gamma / std * dout", "the columns of dx must sum to zero"),
    ("gamma / (B * std) * (B * dout - dbeta)", "through the variance"),
    ("gamma / (B * std) * (B * dout - dbeta - xhat * dgamma)", None),
])
def test_batchnorm_backward_feedback_checks_the_parts(dx, message, tmp_path, monkeypatch):
    source = f'''
def batchnorm_backward(dout, x, gamma, eps=1e-5):
    B = x.shape[0]
    mu = x.mean(axis=0)
    std = np.sqrt(((x - mu) ** 2).mean(axis=0) + eps)
    xhat = (x - mu) / std
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    return {dx}, dgamma, dbeta
'''
    results = run_probes_in_process_fast("hw06_normalization", {"task1_solution": source},
                                         tmp_path, monkeypatch)
    passed, text = results["task1_tests"]
    if message is None:
        assert passed, text
    else:
        assert not passed and message in text, text


def run_probes_in_process_fast(name, replacements, tmp_path, monkeypatch):
    """Like run_probes_in_process, skipping the experiment (Task 3) of the assignment."""
    checks = _checks()
    original = checks.module(name).CHECKS
    nb = source_nb(name)
    skip = {nbg(c).get("grade_id") for c in nb.cells if nbg(c).get("grade_id", "").startswith(
        "task3")}
    replacements = dict(replacements, **{gid: "" for gid in skip if gid})
    monkeypatch.setattr(checks.module(name), "CHECKS",
                        {k: v for k, v in original.items() if k not in skip})
    monkeypatch.setattr(checks.module(name), "PROBES",
                        {k: v for k, v in checks.module(name).PROBES.items() if k not in skip})
    return run_probes_in_process(name, replacements, tmp_path, monkeypatch)


@needs_source
def test_momentum_feedback_names_the_mistake_and_the_guard_still_teaches(tmp_path, monkeypatch):
    damped = '''
def momentum_step(param, grad, state, *, lr, momentum):
    if "b" not in state:
        state["b"] = np.array(grad, dtype=float, copy=True)
    else:
        state["b"] = momentum * state["b"] + (1 - momentum) * grad
    param -= lr * state["b"]
'''
    results = run_probes_in_process_fast("hw02_momentum", {"task1_solution": damped},
                                         tmp_path, monkeypatch)
    assert not results["task1_tests"][0] and "undamped" in results["task1_tests"][1]
    results = run_probes_in_process_fast("hw02_momentum", {"task1_solution": '''
import course_lib.optim
def momentum_step(param, grad, state, *, lr, momentum):
    course_lib.optim.sgd(param, grad, state, lr=lr, momentum=momentum)
'''}, tmp_path, monkeypatch)
    assert not results["task1_tests"][0]
    assert "This task asks you to implement heavy-ball momentum" in results["task1_tests"][1]


def test_record_writes_plain_arrays_only(tmp_path, monkeypatch):
    import numpy as np

    record("quiet", 1.0)                                   # outside grading: a no-op
    assert not any(tmp_path.iterdir())
    monkeypatch.setenv("COURSE_GRADER_OUT", str(tmp_path))
    record("a.b", np.ones(3, dtype=np.longdouble))
    record("n", 3)
    assert np.load(tmp_path / "a.b.npy", allow_pickle=False).dtype == np.float64
    assert int(np.load(tmp_path / "n.npy", allow_pickle=False)) == 3
    with pytest.raises(TypeError, match="numeric"):
        record("s", "text")
    with pytest.raises(TypeError, match="numeric"):
        record("o", [object()])
    with pytest.raises(ValueError, match=r"Invalid name: '\.\./x'"):
        record("../x", 1)


def test_grader_loads_only_regular_numeric_npy_files(tmp_path):
    import numpy as np

    checks = _checks()
    np.save(tmp_path / "good.npy", np.arange(3))
    np.save(tmp_path / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "text.npy", np.array(["x"]))
    (tmp_path / "link.npy").symlink_to(tmp_path / "good.npy")
    (tmp_path / "garbage.npy").write_bytes(b"\x93NUMPY garbage")
    arrays, problems = checks.load_records(tmp_path)
    assert list(arrays) == ["good"] and arrays["good"].tolist() == [0, 1, 2]
    assert len(problems) == 4, problems


@needs_source
def test_prepare_restores_tampered_cells_and_flags_them():
    checks = _checks()
    release = release_nb(TAMPERED)
    nb = tampered_notebook()
    nb.cells.append(copy.deepcopy(nb.cells[2]))            # a copy of a read-only cell
    renamed = copy.deepcopy(next(c for c in release.cells
                                 if nbg(c).get("grade_id") == "task2_tests"))
    renamed.metadata.nbgrader["grade_id"] = "my_tests"
    nb.cells.append(renamed)
    to_run, context = checks.prepare(nb, TAMPERED, release)
    ids = [nbg(c).get("grade_id") for c in to_run.cells if nbg(c)]
    assert ids == [nbg(c)["grade_id"] for c in release.cells if nbg(c)]
    kinds = {(t["kind"], t["grade_id"]) for t in context["tamper"]}
    assert {("metadata edited", "task1_tests"), ("source edited", "task1_tests"),
            ("duplicated", "task2_tests"), ("deleted", "task3_tests"),
            ("duplicated", "imports"), ("renamed", "task2_tests")} <= kinds, kinds
    for gid, index in context["probes"].items():
        cell = to_run.cells[index]
        assert cell.source == checks.probe_source(TAMPERED, gid)
        assert nbg(cell) == nbg(next(c for c in release.cells if nbg(c).get("grade_id") == gid))
    # the student's answers are kept; nothing of the release's test cells runs twice
    sources = [c.source for c in to_run.cells]
    assert sum("def adam_step" in s for s in sources) == 1
    assert not any("print('all good')" in s for s in sources)
    nbformat.validate(to_run)
    # a test cell moved before another: put back, flagged
    moved = copy.deepcopy(source_nb(TAMPERED))
    ids = [nbg(c).get("grade_id") for c in moved.cells]
    moved.cells.insert(ids.index("task2_tests"), moved.cells.pop(ids.index("task3_tests")))
    to_run, context = checks.prepare(moved, TAMPERED, release)
    assert [t["kind"] for t in context["tamper"]] == ["moved"]
    assert [nbg(c).get("grade_id") for c in to_run.cells if nbg(c)] == \
        [nbg(c)["grade_id"] for c in release.cells if nbg(c)]
    # an untouched submission gives no flag
    assert checks.prepare(source_nb(TAMPERED), TAMPERED, release)[1]["tamper"] == []
    assert checks.prepare(release, TAMPERED, release)[1]["tamper"] == []


@needs_source
def test_source_hidden_tests_are_the_probes_of_the_checks():
    sys.path.insert(0, str(HOMEWORK))
    try:
        import release as release_script
    finally:
        sys.path.remove(str(HOMEWORK))
    assert release_script.probe_mismatches(ASSIGNMENTS) == []
    checks = _checks()
    assert sorted(checks.ASSIGNMENTS) == ASSIGNMENTS
    for name in ASSIGNMENTS:
        tests = [nbg(c)["grade_id"] for c in source_nb(name).cells
                 if nbg(c).get("grade") and c.cell_type == "code"]
        module = checks.module(name)
        assert sorted(module.PROBES) == sorted(tests) == sorted(module.CHECKS), name
        for gid, probe in module.PROBES.items():
            assert "assert" not in probe, f"{name}/{gid}: a comparison in the probe"
