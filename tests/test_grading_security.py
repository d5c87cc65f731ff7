"""Attacks on the homework grader (issue #17), each driven through the real pipeline.

One course directory (a temporary copy of homework/'s configuration, sandbox and trusted
checks) grades homework 1 for a class of students with ``python grade.py`` -- the supervised,
parallel ``nbgrader autograde --student`` per roster student -- then runs
``nbgrader generate_feedback``. Every student but two honest ones attacks the grader; each row
of the issue's table that concerns isolation is one student here, plus a student who forks a
process to keep running, one who reads /proc looking for the grader and one who tries ptrace.

For every run the tests assert: the score each student must get; the honest students' scores
(which the attackers try to sabotage); ``git status --porcelain homework/`` and the course
directory's configuration unchanged; no file created outside the submission's scratch (every
attack writes files named with a marker, looked for afterwards); nothing of the hidden tests
in any feedback; no process of the sandbox users left. Two more students make the trusted
grader process itself crash or stop (through a test-only wrapper of the checks) to show that
grade.py records it and grades the others.

homework 1 is the course's public demonstration assignment: its source (solution and hidden
tests) stays in the public repository, so these tests run in the public checkout too.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parents[1]
HOMEWORK = ROOT / "homework"
NAME = "hw01_gradient_descent"           # the public demonstration assignment
MARK = "g1escape"                        # every file an attack tries to create has this in its name
POINTS = {"task1_tests": 3.0, "task2_tests": 3.0, "task3_tests": 4.0}
FULL = sum(POINTS.values())
SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" \
    / "site-packages"

sys.path.insert(0, str(HOMEWORK))
import grade as grade_py  # noqa: E402
import sandbox  # noqa: E402

sys.path.pop(0)


# ------------------------------------------------------------------------ the submissions

def read(path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def source_nb():
    return read(HOMEWORK / "source" / NAME / f"{NAME}.ipynb")


def release_nb():
    return read(HOMEWORK / "release" / NAME / f"{NAME}.ipynb")


def solution(grade_id: str) -> str:
    return next(c.source for c in source_nb().cells if nbg(c).get("grade_id") == grade_id)


def with_cells(nb, **sources):
    nb = copy.deepcopy(nb)
    for grade_id, text in sources.items():
        cells = [c for c in nb.cells if nbg(c).get("grade_id") == grade_id]
        assert len(cells) == 1, grade_id
        cells[0].source = text.strip("\n")
    return nb


def correct_with(attack: str):
    """The correct answers, with ``attack`` run at the top of task 1's answer cell."""
    return with_cells(release_nb(), task1_solution=attack + "\n" + solution("task1_solution"),
                      task2_solution=solution("task2_solution"),
                      task3_solution=solution("task3_solution"))


def attacks(course: Path) -> dict:
    """student id -> (notebook, auto-graded score it must get, what it does)."""
    victim = course / "submitted" / "b_honest" / NAME / f"{NAME}.ipynb"
    targets = [course / "nbgrader_config.py", course / "gradebook.db", victim,
               course / "autograded" / "b_honest" / NAME / f"{NAME}.ipynb",
               HOMEWORK / "nbgrader_config.py", SITE / "sitecustomize.py",
               Path("/root/.bashrc"), Path.home() / ".bashrc"]
    create = [course / f"{MARK}-h", HOMEWORK / f"{MARK}-h", SITE / f"{MARK}-h.pth",
              Path("/tmp") / f"{MARK}-h", Path("/var/tmp") / f"{MARK}-h",
              Path("/dev/shm") / f"{MARK}-h", Path.home() / f"{MARK}-h"]
    patch = '''
import builtins, numpy as np
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isclose = lambda *a, **k: True
builtins.abs = lambda x: 0.0
class Magic(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __le__(self, other): return True
    def __hash__(self): return 0
    def __array__(self, *a, **k): raise TypeError("magic")
'''
    stub_tasks = {
        "task1_solution": patch + "def gradient_descent(grad, x0, lr, steps):\n    return Magic()",
        "task2_solution": "def critical_learning_rate(A):\n    return Magic()\n"
                          "def contraction_factor(A, lr):\n    return Magic()",
        "task3_solution": "steps_to_tol = Magic(); best_lr = Magic(); predicted_best_lr = Magic()",
    }
    transformer = '''
ip = get_ipython()
ip.input_transformers_cleanup.append(lambda lines: ["pass\\n"])     # every later cell: nothing
ip.input_transformers_post.append(lambda lines: ["pass\\n"])
'''
    daemon = '''
import os, sys, time, signal, sqlite3
def _daemon(paths, seconds):
    if os.fork():
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    end = time.time() + seconds
    while time.time() < end:
        for p in paths:
            try:
                if p.endswith(".db"):
                    con = sqlite3.connect(p)
                    con.execute("update grade set auto_score = 10, manual_score = 10")
                    con.commit()
                else:
                    with open(p, "a") as f:
                        f.write("owned\\n")
            except Exception:
                pass
        time.sleep(0.2)
    os._exit(0)
''' + f'''
_daemon([{str(course / "gradebook.db")!r}, {str(victim)!r}, "/tmp/{MARK}-e",
         {str(course / f"{MARK}-e")!r}], 120)
'''
    frames = '''
import sys, numpy as np
def gradient_descent(grad, x0, lr, steps):
    frame = sys._getframe(1)
    while frame is not None:                 # copy the expected values from the test's frames
        for name in ("reference", "expected", "_expected", "xs_"):
            value = frame.f_locals.get(name)
            if isinstance(value, np.ndarray) and value.shape == (steps + 1, np.size(x0)):
                return value.copy()
        frame = frame.f_back
    return np.zeros((steps + 1, np.size(x0)))
'''
    wrong_patched = '''
import numpy as np
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
def gradient_descent(grad, x0, lr, steps):
    return np.repeat(np.array(x0, dtype=float)[None], steps + 1, axis=0)   # wrong: never moves
'''
    write = f'''
for _p in {[str(p) for p in targets]!r}:
    try:
        with open(_p, "a") as _f:
            _f.write("\\nimport os; os.system('touch /tmp/{MARK}-config')\\n")
        print("WROTE", _p)
    except OSError as _e:
        print("denied", _p, type(_e).__name__)
for _p in {[str(p) for p in create]!r}:
    try:
        open(_p, "w").write("x")
        print("CREATED", _p)
    except OSError as _e:
        print("denied", _p, type(_e).__name__)
'''
    readers = f'''
import os, glob
_ip = get_ipython()
_seen = " ".join(str(x) for x in _ip.user_ns.get("In", []))
_seen += " ".join(str(x[2]) for x in _ip.history_manager.get_range(raw=True))
_hidden = ["BEGIN " + "HIDDEN", "hidden " + "test:", "course_lib.optim.descent.run(course_lib.optim.sgd, "
           + "quad, quad.x0, steps"]
def _spy(info):                              # every later cell's source, as the kernel sees it
    global _seen
    _seen += info.raw_cell
    print("LEAKED: hidden-test source in the kernel" if any(h in _seen for h in _hidden)
          else "no hidden test in the input")
_ip.events.register("pre_run_cell", _spy)
for _p in {[str(course / "source" / NAME / f"{NAME}.ipynb"), str(course / "gradebook.db"),
            str(HOMEWORK / "source" / NAME / f"{NAME}.ipynb"), str(course / "checks"),
            str(ROOT / "tests"), str(ROOT / ".git"), "/root"]!r}:
    try:
        print("READ", _p, sorted(os.listdir(_p)) if os.path.isdir(_p) else open(_p, "rb").read(9))
    except OSError as _e:
        print("denied", _p, type(_e).__name__)
'''
    html = '''
from IPython.display import HTML, Javascript, Markdown, SVG, display
display(HTML('<script>window.g1pwned = 1; alert("html")</script><b>bold</b>'
             '<img src="x" onerror="alert(1)"><a href="javascript:alert(2)">link</a>'))
display(Javascript('alert("javascript")'))
display(Markdown('<script>alert("markdown")</script> *md*'))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg"><script>alert("svg")</script></svg>'))
'''
    parent = '''
import os, signal
for _sig in (signal.SIGSTOP, signal.SIGTERM, signal.SIGKILL):
    for _pid in (os.getppid(), 1, -1):
        try:
            os.kill(_pid, _sig)
            print("signal", _sig.name, "sent to", _pid)
        except OSError as _e:
            print("signal", _sig.name, "to", _pid, type(_e).__name__)
'''
    fork = f'''
import os, time, signal
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for _s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(_s, signal.SIG_IGN)
        while True:                          # keep running after the grading, if it can
            for _p in ("/tmp/{MARK}-l", {str(course / f"{MARK}-l")!r}):
                try:
                    open(_p, "a").write("alive\\n")
                except OSError:
                    pass
            time.sleep(0.2)
    os._exit(0)
'''
    proc = '''
import os, ctypes
_found = []
for _pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    try:
        _cmd = open(f"/proc/{_pid}/cmdline", "rb").read().replace(b"\\0", b" ").decode()
    except OSError:
        continue
    _found.append(_cmd)
    try:
        open(f"/proc/{_pid}/environ", "rb").read()
    except OSError:
        pass
_grader = [c for c in _found if "nbgrader" in c or "runner.py" in c or "grade.py" in c]
print(f"PROC visible={len(_found)} grader_visible={len(_grader)}")
_libc = ctypes.CDLL(None, use_errno=True)
_attached = []
for _pid in [os.getppid(), 1] + [int(p) for p in os.listdir("/proc") if p.isdigit()]:
    if _pid == os.getpid():
        continue
    if _libc.ptrace(16, _pid, None, None) == 0:     # PTRACE_ATTACH
        _attached.append(_pid)
        _libc.ptrace(17, _pid, None, None)          # PTRACE_DETACH
print("PTRACE attached to", _attached, "ppid", os.getppid())
'''
    return {
        "a_reference": (source_nb(), FULL, "the instructor's solution"),
        "b_honest": (correct_with("pass"), FULL, "an honest, correct student (the victim)"),
        "c_patched": (with_cells(release_nb(), **stub_tasks), 0.0,
                      "nothing implemented; patched np.allclose, np.array_equal, builtins.abs, "
                      "objects with a magic __eq__"),
        "d_transformer": (with_cells(release_nb(), task1_solution=transformer), 0.0,
                          "blank + an IPython input transformer that empties the later cells"),
        "e_detached": (with_cells(release_nb(), task1_solution=daemon), 0.0,
                       "blank + a detached process that rewrites the gradebook afterwards"),
        "f_frames": (with_cells(correct_with(""), task1_solution=frames), FULL - 3,
                     "task 1 copies the expected values from the test's frames"),
        "g_wrong_patched": (with_cells(correct_with(""), task1_solution=wrong_patched),
                            FULL - 3, "task 1 wrong + np.allclose patched"),
        "h_writer": (correct_with(write), FULL,
                     "writes into the course directory, another student's submission, "
                     "nbgrader_config.py, the venv, ~/.bashrc"),
        "i_reader": (correct_with(readers), FULL,
                     "reads In[-1] / the input history / source/ / the gradebook"),
        "j_html": (correct_with(html), FULL, "HTML/JS in its outputs"),
        "k_parent": (correct_with(parent), FULL, "kills / stops its parent process"),
        "l_fork": (correct_with(fork), FULL, "forks a process to keep running"),
        "m_proc": (correct_with(proc), FULL, "reads /proc of the grader, tries ptrace"),
    }


# The grader process itself fails for these two (a test-only wrapper of the trusted checks,
# selected by a metadata key of the submission): grade.py must record it and go on.
WRAPPER = '''
import os, signal
import checks


def prepare(nb, assignment, release_nb):
    action = nb.metadata.get("g1_test_action")
    if action == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "stop":
        os.kill(os.getpid(), signal.SIGSTOP)
    return checks.prepare(nb, assignment, release_nb)


grade = checks.grade
'''
SUPERVISED = {"n_crash": "crash", "o_stop": "stop"}
SLOTS = (90, 91)        # sandbox users course-sandbox-90/91: not shared with other test runs


# ------------------------------------------------------------------------------ the run

def git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "homework/"],
                          cwd=ROOT, capture_output=True, text=True).stdout


def sha(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def marked_files() -> list[str]:
    places = [Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"), Path.home(), HOMEWORK, ROOT,
              SITE]
    found = []
    for place in places:
        try:
            found += [str(p) for p in place.iterdir() if MARK in p.name]
        except OSError:
            pass
    return found


def sandbox_processes() -> list[str]:
    """Processes of the sandbox users, or with the attack's marker in their command line."""
    import pwd

    uids = {e.pw_uid for e in pwd.getpwall()
            if e.pw_name in {f"{sandbox.USER_PREFIX}{n}" for n in SLOTS}}
    left = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            status = (proc / "status").read_text()
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
        if uid in uids or (MARK in cmd and "pytest" not in cmd):
            left.append(f"{proc.name} uid={uid} {cmd[:120]}")
    return left


def nbgrader(course: Path, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=900)


def new_course(path: Path) -> Path:
    path.mkdir(parents=True)
    for f in ("nbgrader_config.py", "autograding.py", "sandbox.py", "grade.py"):
        shutil.copy2(HOMEWORK / f, path / f)
    shutil.copytree(HOMEWORK / "checks", path / "checks",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(HOMEWORK / "source" / NAME, path / "source" / NAME)
    (path / "g1_testchecks.py").write_text(WRAPPER)
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    course = new_course(tmp_path_factory.mktemp("security") / "course")
    result = nbgrader(course, "generate_assignment", NAME, "--force")
    assert result.returncode == 0, result.stderr[-3000:]
    students = attacks(course)
    for sid, (nb, _, _) in students.items():
        folder = course / "submitted" / sid / NAME
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{NAME}.ipynb"))
    for sid, action in SUPERVISED.items():
        nb = release_nb()
        nb.metadata["g1_test_action"] = action
        folder = course / "submitted" / sid / NAME
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{NAME}.ipynb"))
    # a submission from someone who is not in the roster
    (course / "submitted" / "zz_stranger" / NAME).mkdir(parents=True)
    shutil.copy2(course / "submitted" / "b_honest" / NAME / f"{NAME}.ipynb",
                 course / "submitted" / "zz_stranger" / NAME / f"{NAME}.ipynb")
    with (course / "roster.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(grade_py.ROSTER_COLUMNS)
        for sid in [*students, *SUPERVISED]:
            writer.writerow([sid, "", "Doe", sid, f"{sid}@example.org"])
    victim = course / "submitted" / "b_honest" / NAME / f"{NAME}.ipynb"
    before = {"git": git_status(), "victim": sha(victim),
              "config": sha(course / "nbgrader_config.py"),
              "repo_config": sha(HOMEWORK / "nbgrader_config.py"),
              "marked": marked_files(), "processes": sandbox_processes()}
    started = time.perf_counter()
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    graded = subprocess.run([sys.executable, "grade.py", NAME, "--jobs", "2",
                             "--first-slot", str(SLOTS[0]),
                             "--SandboxedExecute.checks_module=g1_testchecks",
                             "--SandboxedExecute.timeout=20"],
                            cwd=course, env=env, capture_output=True, text=True, timeout=1500)
    seconds = time.perf_counter() - started
    time.sleep(1.0)                 # a detached process would write now, if it had survived
    feedback = nbgrader(course, "generate_feedback", NAME, "--force")
    after = {"git": git_status(), "victim": sha(victim),
             "config": sha(course / "nbgrader_config.py"),
             "repo_config": sha(HOMEWORK / "nbgrader_config.py"),
             "marked": marked_files(), "processes": sandbox_processes()}
    return {"course": course, "students": students, "graded": graded, "seconds": seconds,
            "feedback": feedback, "before": before, "after": after}


def auto_scores(course: Path, student: str) -> dict:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission_notebook(NAME, NAME, student)
        return {g.name: g.auto_score for g in sub.grades if g.name in POINTS}


def outputs_text(course: Path, student: str) -> str:
    nb = read(course / "autograded" / student / NAME / f"{NAME}.ipynb")
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.outputs)


def feedback_html(course: Path, student: str) -> str:
    return (course / "feedback" / student / NAME / f"{NAME}.html").read_text()


# ---------------------------------------------------------------------------- the tests

def test_grade_py_grades_the_class_and_reports_the_failures(run):
    graded = run["graded"]
    log = graded.stdout + graded.stderr
    assert graded.returncode == 1, log[-4000:]
    errors = log[log.index("error(s):"):]
    assert re.search(r"n_crash: killed", errors), errors
    assert re.search(r"o_stop: stopped", errors), errors
    assert "zz_stranger" in errors and "not a roster student" in errors, errors
    for sid in run["students"]:
        assert re.search(rf"^{sid}\s+ok\s", graded.stdout, re.M), (sid, graded.stdout)
        assert f"{sid}:" not in errors, errors
        report = run["course"] / "reports" / NAME / f"{sid}.json"   # the checks' report
        assert json.loads(report.read_text())["results"], sid
    print(f"\ngrade.py: {len(run['students']) + 2} students, 2 jobs, {run['seconds']:.0f} s")
    print(graded.stdout)


@pytest.mark.parametrize("student", ["a_reference", "b_honest", "c_patched", "d_transformer",
                                     "e_detached", "f_frames", "g_wrong_patched", "h_writer",
                                     "i_reader", "j_html", "k_parent", "l_fork", "m_proc"])
def test_each_attack_gets_the_score_it_deserves(run, student):
    _, expected, what = run["students"][student]
    got = auto_scores(run["course"], student)
    assert sum(v or 0.0 for v in got.values()) == expected, (student, what, got)


def test_nothing_outside_the_scratch_changed(run):
    before, after = run["before"], run["after"]
    assert after["victim"] == before["victim"], "the honest student's submission changed"
    assert after["config"] == before["config"] and after["repo_config"] == before["repo_config"]
    assert after["marked"] == before["marked"] == [], after["marked"]
    course = run["course"]
    assert not [p for p in course.rglob(f"*{MARK}*")], "an attack created a file in the course"
    text = outputs_text(course, "h_writer")
    assert "WROTE" not in text and "CREATED /tmp" in text    # its private /tmp only
    created = [line for line in text.splitlines() if line.startswith("CREATED")]
    assert created == [f"CREATED /tmp/{MARK}-h", f"CREATED /dev/shm/{MARK}-h"], created
    assert after["git"] == before["git"], "git status of homework/ changed during grading"


def test_no_process_survives_the_grading(run):
    assert run["after"]["processes"] == [], run["after"]["processes"]
    # the detached process could not reach the gradebook: the blank student still has 0 and
    # the honest student's grade is what it was (checked again after the detached process's
    # time would have let it write)
    assert sum(v or 0 for v in auto_scores(run["course"], "e_detached").values()) == 0
    assert sum(v or 0 for v in auto_scores(run["course"], "b_honest").values()) == FULL


def test_the_grader_is_invisible_from_the_sandbox(run):
    text = outputs_text(run["course"], "m_proc")
    visible = re.search(r"PROC visible=(\d+) grader_visible=(\d+)", text)
    assert visible and int(visible.group(2)) == 0, text
    assert int(visible.group(1)) <= 3, text             # bwrap's init, the kernel, a helper
    attached = re.search(r"PTRACE attached to \[(.*?)\] ppid (\d+)", text)
    assert attached and attached.group(2) == "1", text  # its parent is the sandbox's init
    text = outputs_text(run["course"], "i_reader")
    reads = [line for line in text.splitlines() if line.startswith("READ ")]
    # /root exists in the sandbox only if the Python installation lives there (pyenv): then it
    # holds nothing but the bound installation
    python_only = f"READ /root {sorted({Path(sys.base_prefix).parts[2:3][0]})}" \
        if Path(sys.base_prefix).is_relative_to("/root") else None
    assert reads in ([], [python_only]), reads
    assert text.count("denied") == 7 - len(reads), text
    assert "LEAKED" not in text and "no hidden test in the input" in text


def test_feedback_shows_no_hidden_test_and_no_live_html(run):
    assert run["feedback"].returncode == 0, run["feedback"].stderr[-3000:]
    hidden = set()
    for cell in source_nb().cells:
        inside = False
        for line in cell.source.split("\n"):
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 25 and not line.strip().startswith("#"):
                hidden.add(line.strip())
    course = run["course"]
    for student in run["students"]:
        page = feedback_html(course, student)
        assert "HIDDEN TESTS" not in page, student
        leaked = [line for line in hidden if line in page]
        assert not leaked, (student, leaked[:3])
    page = feedback_html(course, "j_html")
    assert "<b>bold</b>" in page                                   # harmless HTML stays
    live = LiveCode()
    live.feed(page)
    assert live.found == [], live.found          # (the attack's source is shown, escaped)
    graded = read(course / "autograded" / "j_html" / NAME / f"{NAME}.ipynb")
    mimes = {m for c in graded.cells if c.cell_type == "code" for o in c.outputs
             for m in o.get("data", {})}
    assert not any("javascript" in m for m in mimes) and "image/svg+xml" not in mimes, mimes


class LiveCode(HTMLParser):
    """Scripts, event handlers and javascript: links of the attack that a browser would run."""

    def __init__(self):
        super().__init__()
        self.found, self.script = [], False

    def handle_starttag(self, tag, attrs):
        self.script = tag == "script"
        for key, value in attrs:
            value = (value or "").strip().lower()
            if key.startswith("on") and "alert" in value:
                self.found.append(f"<{tag} {key}={value}>")
            if key in ("href", "src", "action") and value.startswith("javascript:"):
                self.found.append(f"<{tag} {key}={value}>")

    def handle_endtag(self, tag):
        self.script = False

    def handle_data(self, data):
        if self.script and ("g1pwned" in data or "alert(" in data):
            self.found.append(f"<script>{data[:80]}")


def test_time_per_submission(run):
    """The sandbox's cost: the per-notebook times grade.py measured (printed for the report)."""
    times = {}
    for log in (run["course"] / "logs" / NAME).glob("*.log"):
        found = re.search(r"SandboxedExecute: \S+ of (\S+) ran in ([\d.]+) s", log.read_text())
        if found:
            times[found.group(1)] = float(found.group(2))
    assert set(times) >= set(run["students"]) - {"d_transformer"} or len(times) >= 12, times
    # 240 s is the notebook limit; honest notebooks take a few seconds on an idle machine
    assert max(times.values()) < 240, times
    print("\nsandboxed notebook times (s):", dict(sorted(times.items())))


# ------------------------------------------------------------------- collection and config

def test_collect_takes_identity_from_the_roster(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,lms_id,last_name,first_name,email\n"
                      "s1,1001,Doe,Jane,jane@example.org\n"
                      "s_2,1002,Roe,Rick,rick@example.org\n"
                      "s3,1003,Poe,Ann,ann@example.org\n")
    nb = nbformat.writes(release_nb())
    export = tmp_path / "export.zip"
    with zipfile.ZipFile(export, "w") as zf:
        zf.writestr(f"1001/{NAME}.ipynb", nb)
        zf.writestr(f"1002/s3__{NAME}.ipynb", nb)          # s_2 names the file as s3: still s_2
        zf.writestr("1003/a.ipynb", nb)                   # two notebooks: not guessed
        zf.writestr("1003/b.ipynb", nb)
        zf.writestr(f"9999/{NAME}.ipynb", nb)             # not in the roster
        zf.writestr(f"../{NAME}.ipynb", nb)               # outside the export
        zf.writestr("1001/notes.txt", "not a notebook")
    result = subprocess.run([sys.executable, str(HOMEWORK / "grade.py"), "collect", NAME,
                             str(export), "--roster", str(roster), "--course", str(course)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result              # problems were reported
    assert "collected 2 submission(s)" in result.stdout
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["s1", "s_2"]
    for sid in ("s1", "s_2"):
        assert (course / "submitted" / sid / NAME / f"{NAME}.ipynb").is_file()
    rows = grade_py.read_roster(roster)
    collected = grade_py.collect(NAME, export, rows, course=course, force=True)
    assert sorted(collected.copied) == ["s1", "s_2"], collected
    assert collected.copied["s_2"] == f"1002/s3__{NAME}.ipynb"
    problems = "\n".join(collected.problems)
    assert "'9999' is not in the roster" in problems
    assert "unsafe path" in problems and "s3: 2 notebooks" in problems
    again = grade_py.collect(NAME, export, rows, course=course)    # no silent overwrite
    assert not again.copied and "exists; not overwritten" in "\n".join(again.problems)


def test_roster_rejects_unsafe_and_duplicate_ids(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,lms_id\n../evil,1\ns1,2\ns1,3\ns2,2\n")
    with pytest.raises(grade_py.RosterError) as err:
        grade_py.read_roster(roster)
    text = str(err.value)
    assert "unsafe student_id '../evil'" in text and "'s1' also on line 3" in text
    assert "lms_id '2' also on line 3" in text
    result = subprocess.run([sys.executable, str(HOMEWORK / "grade.py"), NAME, "--roster",
                             str(roster)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "unsafe student_id" in result.stderr


def test_views_are_sanitized_and_terminals_disabled():
    from traitlets.config.loader import PyFileConfigLoader

    server = PyFileConfigLoader("jupyter_server_config.py", path=str(HOMEWORK)).load_config()
    assert server.ServerApp.terminals_enabled is False
    assert server.HTMLExporter.sanitize_html is True
    grading = PyFileConfigLoader("nbgrader_config.py", path=str(HOMEWORK)).load_config()
    assert grading.HTMLExporter.sanitize_html is True
    names = [p.__name__ for p in grading.Autograde.autograde_preprocessors]
    assert names[:2] == ["SandboxedExecute", "SanitizeOutputs"] and "Execute" not in names
    assert "SanitizeOutputs" in [p.__name__ for p in grading.GenerateFeedback.preprocessors]


def test_private_files_are_ignored_by_git():
    for path in ("homework/roster.csv", "homework/students.csv", "homework/hw03.csv",
                 "homework/gradebook.db", "homework/logs/x.log", "homework/instructor-key.txt",
                 "homework/submitted/s1/a.ipynb"):
        result = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT)
        assert result.returncode == 0, f"{path} is not ignored by git"
    assert (HOMEWORK / "roster.example.csv").is_file()
    result = subprocess.run(["git", "check-ignore", "-q", "homework/roster.example.csv"], cwd=ROOT)
    assert result.returncode == 1
