#!/usr/bin/env python3
"""Collect and autograde a class, one supervised process per student.

    python grade.py collect <assignment> <export.zip | folder> [--pattern REGEX] [--force]
    python grade.py <assignment> [--jobs N] [--student ID ...] [--timeout S]

Run it from homework/ (the course directory) with the course's virtual environment.

**The roster** ``roster.csv`` (private: git-ignored; ``roster.example.csv`` shows the format)
is the list of the class: columns ``student_id,lms_id,last_name,first_name,email``.
``student_id`` is the id used in the gradebook and in ``submitted/<student_id>/`` (letters,
digits, ``.``, ``_``, ``-``; at most 64 characters); ``lms_id`` is the user id your
learning-management system (LMS) puts into the names of the files it exports (empty: same as
student_id).

**collect** copies each notebook of an LMS export to ``submitted/<student_id>/<a>/<a>.ipynb``.
The student is identified by the LMS's part of the path, never by a file name the student
chose: ``--pattern`` is a regular expression with a group ``lms_id``, matched at the start of
each file's path inside the export (default ``^(?P<lms_id>[^/]+)/``: one folder per LMS user
id). Unknown ids, two submissions for one student, several notebooks in one submission, files
that are not notebooks and unsafe paths are reported and not collected; the exit status is 1 if
anything was reported.

**autograde** runs ``nbgrader autograde <a> --student <id>`` for every roster student who has a
submission, in ``--jobs`` parallel processes (default: half the cores). Each runs in its own
process group, with its own sandbox user (``COURSE_SANDBOX_SLOT``) and a time limit; a crash, a
kill, a stop (SIGSTOP) or a timeout of one is recorded for that student and grading goes on.
The summary lists every student's status and score; the exit status is 1 if any student could
not be graded (the errors are listed at the end, the logs are in ``logs/<a>/<student>.log``).
Submissions from ids that are not in the roster are reported, not graded.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

HERE = Path(__file__).resolve().parent
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ASSIGNMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MAX_NOTEBOOK_BYTES = 20 << 20
ROSTER_COLUMNS = ("student_id", "lms_id", "last_name", "first_name", "email")
DEFAULT_PATTERN = r"^(?P<lms_id>[^/]+)/"


# ``python -m nbgrader``, minus 1-2 s of start-up per student: jsonschema (imported through
# nbformat) would import rfc3987_syntax, which builds a grammar at import time; nbgrader
# validates no URIs.
_NBGRADER = ("import sys; sys.modules.setdefault('rfc3987_syntax', None); "
             "from nbgrader.apps.nbgraderapp import main; sys.argv[0] = 'nbgrader'; main()")


class RosterError(ValueError):
    """The roster cannot be used (missing, a bad column, an unsafe or duplicate id)."""


# ----------------------------------------------------------------------------------- roster

def safe_id(value: str) -> bool:
    return bool(SAFE_ID.match(value)) and value not in (".", "..")


def read_roster(path: Path) -> list[dict]:
    """The roster's rows; RosterError listing every problem (unsafe or duplicate ids)."""
    if not path.is_file():
        raise RosterError(f"no roster at {path}: write the class list there "
                          f"(format: {HERE / 'roster.example.csv'})")
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "student_id" not in reader.fieldnames:
            raise RosterError(f"{path}: the first line must name the columns, among them "
                              f"student_id (expected: {','.join(ROSTER_COLUMNS)})")
        rows = [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]
    problems, seen, seen_lms = [], {}, {}
    for line, row in enumerate(rows, start=2):
        sid = row.get("student_id", "")
        lms = row.get("lms_id") or sid
        row["lms_id"] = lms
        if not safe_id(sid):
            problems.append(f"line {line}: unsafe student_id {sid!r} (letters, digits, '.', "
                            "'_', '-'; at most 64 characters)")
        elif sid in seen:
            problems.append(f"line {line}: student_id {sid!r} also on line {seen[sid]}")
        else:
            seen[sid] = line
        if lms in seen_lms:
            problems.append(f"line {line}: lms_id {lms!r} also on line {seen_lms[lms]}")
        seen_lms[lms] = line
    if problems:
        raise RosterError(f"{path}:\n  " + "\n  ".join(problems))
    return rows


# ---------------------------------------------------------------------------------- collect

@dataclass
class Collected:
    copied: dict = field(default_factory=dict)     # student_id -> source path in the export
    problems: list = field(default_factory=list)


def _export_files(source: Path, tmp: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """(relative posix path, file) of every regular file of the export; zip members are
    extracted into ``tmp`` (unsafe members, links and oversized files are reported)."""
    files, problems = [], []
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            rel = path.relative_to(source).as_posix()
            if path.is_symlink():
                problems.append(f"{rel}: a symbolic link, ignored")
            elif path.is_file():
                files.append((rel, path))
        return files, problems
    if not zipfile.is_zipfile(source):
        raise SystemExit(f"{source}: neither a folder nor a zip file")
    with zipfile.ZipFile(source) as zf:
        for n, info in enumerate(zf.infolist()):
            if info.is_dir():
                continue
            name = PurePosixPath(info.filename)
            if name.is_absolute() or ".." in name.parts or "\\" in info.filename:
                problems.append(f"{info.filename}: unsafe path in the archive, ignored")
                continue
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                problems.append(f"{info.filename}: a symbolic link, ignored")
                continue
            if info.file_size > MAX_NOTEBOOK_BYTES:
                problems.append(f"{info.filename}: larger than {MAX_NOTEBOOK_BYTES >> 20} MiB, "
                                "ignored")
                continue
            target = tmp / f"{n}.bin"
            with zf.open(info) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            files.append((name.as_posix(), target))
    return files, problems


def collect(assignment: str, source: Path, roster: list[dict], *, pattern: str = DEFAULT_PATTERN,
            course: Path = HERE, force: bool = False) -> Collected:
    """Copy the notebooks of an LMS export into ``submitted/``; identity from the roster."""
    import nbformat

    if not ASSIGNMENT_ID.match(assignment):
        raise ValueError(f"Invalid assignment: {assignment!r} (expected an assignment id)")
    regex = re.compile(pattern)
    if "lms_id" not in regex.groupindex:
        raise ValueError(f"Invalid pattern: {pattern!r} (expected a group (?P<lms_id>...))")
    by_lms = {row["lms_id"]: row["student_id"] for row in roster}
    result = Collected()
    candidates: dict[str, list[tuple[str, Path]]] = {}
    with tempfile.TemporaryDirectory(prefix="course-collect-") as tmp:
        files, result.problems = _export_files(Path(source), Path(tmp))
        for rel, path in files:
            match = regex.match(rel)
            if not match:
                result.problems.append(f"{rel}: the path does not match the pattern; not "
                                       "collected")
                continue
            lms = match.group("lms_id")
            if lms not in by_lms:
                result.problems.append(f"{rel}: LMS id {lms!r} is not in the roster; not "
                                       "collected")
                continue
            if not rel.endswith(".ipynb"):
                continue                   # other files of a submission are not graded
            candidates.setdefault(by_lms[lms], []).append((rel, path))
        for sid, found in sorted(candidates.items()):
            if len(found) > 1:
                exact = [f for f in found if PurePosixPath(f[0]).name == f"{assignment}.ipynb"]
                if len(exact) != 1:
                    result.problems.append(
                        f"{sid}: {len(found)} notebooks ({', '.join(r for r, _ in found)}); "
                        "none collected: keep one and collect again")
                    continue
                found = exact
            rel, path = found[0]
            try:
                if path.stat().st_size > MAX_NOTEBOOK_BYTES:
                    raise ValueError(f"larger than {MAX_NOTEBOOK_BYTES >> 20} MiB")
                nb = nbformat.read(str(path), as_version=4)
            except Exception as err:  # noqa: BLE001 - any unreadable upload is reported
                result.problems.append(f"{sid}: {rel} is not a readable notebook ({err}); not "
                                       "collected")
                continue
            target = course / "submitted" / sid / assignment / f"{assignment}.ipynb"
            if target.exists() and not force:
                result.problems.append(f"{sid}: {target.relative_to(course)} exists; not "
                                       "overwritten (use --force)")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(target))
            result.copied[sid] = rel
    return result


# -------------------------------------------------------------------------------- autograde

@dataclass
class Outcome:
    student: str
    status: str                  # ok | failed | killed | stopped | timeout | not graded
    seconds: float = 0.0
    returncode: int | None = None
    detail: str = ""
    score: float | None = None


def _state(pid: int) -> str:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        return text[text.rindex(")") + 2]
    except (OSError, ValueError, IndexError):
        return "?"


def _group_stopped(pgid: int) -> bool:
    """True if some process of the group is stopped (state T)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            fields = text[text.rindex(")") + 2:].split()
        except (OSError, ValueError):
            continue
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] == "T":
            return True
    return False


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def autograde_one(assignment: str, student: str, *, slot: int, course: Path, timeout: float,
                  stop_grace: float, extra: list[str], logdir: Path) -> Outcome:
    """One ``nbgrader autograde --student`` in its own process group, supervised."""
    env = dict(os.environ, COURSE_SANDBOX_SLOT=str(slot))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    cmd = [sys.executable, "-c", _NBGRADER, "autograde", assignment, f"--student={student}",
           "--force", *extra]
    logdir.mkdir(parents=True, exist_ok=True)
    log = logdir / f"{student}.log"
    started = time.monotonic()
    stopped_since = None
    status = None
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=course, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        while True:
            try:
                proc.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() - started > timeout:
                status = "timeout"
                break
            if _state(proc.pid) == "T" or _group_stopped(proc.pid):
                stopped_since = stopped_since or time.monotonic()
                if time.monotonic() - stopped_since > stop_grace:
                    status = "stopped"
                    break
            else:
                stopped_since = None
        _killpg(proc.pid)                    # the whole group, whatever happened
        proc.wait()
    seconds = time.monotonic() - started
    rc = proc.returncode
    if status is None:
        if rc == 0:
            status = "ok"
        elif rc < 0:
            status = "killed"
        else:
            status = "failed"
    detail = {"timeout": f"no result after {timeout:.0f} s; killed",
              "stopped": f"stopped (SIGSTOP) for {stop_grace:.0f} s; killed",
              "killed": f"killed by signal {-rc if rc and rc < 0 else '?'}",
              "failed": f"nbgrader exited with status {rc}", "ok": ""}[status]
    if status != "ok":
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        detail += ("; last lines of the log: " + " | ".join(tail)) if tail else ""
    return Outcome(student, status, seconds, rc, detail)


def scores(course: Path, assignment: str) -> dict:
    from nbgrader.api import Gradebook, MissingEntry

    result = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        try:
            assignment_row = gb.find_assignment(assignment)
        except MissingEntry:
            return result
        for sub in assignment_row.submissions:
            result[sub.student.id] = (sub.score, sub.max_score)
    return result


def tamper_flags(course: Path, assignment: str, students: list[str]) -> dict:
    """student -> the kinds of tampering the checks reported (reports/<a>/<student>.json)."""
    flags = {}
    for student in students:
        path = course / "reports" / assignment / f"{student}.json"
        try:
            tamper = json.loads(path.read_text()).get("tamper") or []
        except (OSError, ValueError, AttributeError):
            continue
        if tamper:
            flags[student] = sorted({str(t.get("kind", "?")) if isinstance(t, dict) else str(t)
                                     for t in tamper})
    return flags


def register(course: Path, roster: list[dict]) -> None:
    """Put the roster's students (names, e-mail) into the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for row in roster:
            gb.update_or_create_student(row["student_id"], last_name=row.get("last_name") or None,
                                        first_name=row.get("first_name") or None,
                                        email=row.get("email") or None)


def autograde_class(assignment: str, roster: list[dict], *, jobs: int, course: Path = HERE,
                    students: list[str] | None = None, timeout: float = 900,
                    stop_grace: float = 10, first_slot: int = 0,
                    extra: list[str] = ()) -> tuple[list[Outcome], list[str]]:
    """Autograde every roster student who submitted; returns (outcomes, errors). The jobs use
    the sandbox users course-sandbox-<first_slot> ... course-sandbox-<first_slot + jobs - 1>
    (two classes graded at the same time on one machine need disjoint slots)."""
    if not ASSIGNMENT_ID.match(assignment):
        raise ValueError(f"Invalid assignment: {assignment!r} (expected an assignment id)")
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"Invalid jobs: {jobs!r} (expected an int >= 1)")
    ids = [row["student_id"] for row in roster]
    errors = []
    submitted = course / "submitted"
    present = sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir()) \
        if submitted.is_dir() else []
    for name in present:
        if name not in ids:
            errors.append(f"{name}: submitted/{name}/{assignment} is not a roster student; "
                          "not graded")
    todo = [s for s in ids if (submitted / s / assignment).is_dir()]
    if students:
        unknown = sorted(set(students) - set(ids))
        errors += [f"{s}: not in the roster; not graded" for s in unknown]
        todo = [s for s in todo if s in students]
    register(course, roster)
    # one sandbox user per parallel slot (created here, before the workers start)
    sys.path.insert(0, str(course))
    from sandbox import ensure_bwrap, ensure_user
    ensure_bwrap()
    slots: queue.Queue = queue.Queue()
    for slot in range(first_slot, first_slot + jobs):
        ensure_user(slot)
        slots.put(slot)
    logdir = course / "logs" / assignment
    lock = threading.Lock()

    def work(student: str) -> Outcome:
        slot = slots.get()
        try:
            outcome = autograde_one(assignment, student, slot=slot, course=course,
                                    timeout=timeout, stop_grace=stop_grace, extra=list(extra),
                                    logdir=logdir)
        finally:
            slots.put(slot)
        with lock:
            print(f"  {student:<24} {outcome.status:<8} {outcome.seconds:6.1f} s", flush=True)
        return outcome

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(pool.map(work, todo))
    graded = scores(course, assignment)
    for outcome in outcomes:
        if outcome.student in graded:
            outcome.score = graded[outcome.student][0]
        if outcome.status == "ok" and outcome.student not in graded:
            outcome.status, outcome.detail = "failed", "no submission in the gradebook"
        if outcome.status != "ok":
            errors.append(f"{outcome.student}: {outcome.status}: {outcome.detail}")
    return outcomes, errors


# ------------------------------------------------------------------------------------- main

def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["collect"]:
        parser = argparse.ArgumentParser(prog="grade.py collect", description=collect.__doc__)
        parser.add_argument("assignment")
        parser.add_argument("export", type=Path, help="the LMS's zip file or folder")
        parser.add_argument("--pattern", default=DEFAULT_PATTERN,
                            help="regular expression with a group lms_id, matched at the start "
                                 "of each path in the export")
        parser.add_argument("--roster", type=Path, default=HERE / "roster.csv")
        parser.add_argument("--force", action="store_true", help="overwrite submitted/ files")
        parser.add_argument("--course", type=Path, default=HERE,
                            help="the course directory (default: this file's folder)")
        args = parser.parse_args(argv[1:])
        try:
            roster = read_roster(args.roster)
        except RosterError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        result = collect(args.assignment, args.export, roster, pattern=args.pattern,
                         course=args.course, force=args.force)
        print(f"collected {len(result.copied)} submission(s) of {args.assignment}")
        missing = sorted({r["student_id"] for r in roster} - set(result.copied))
        if missing:
            print(f"no submission from {len(missing)} roster student(s): {', '.join(missing)}")
        for problem in result.problems:
            print(f"problem: {problem}", file=sys.stderr)
        return 1 if result.problems else 0

    parser = argparse.ArgumentParser(prog="grade.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment")
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    parser.add_argument("--student", action="append", help="only these students (repeatable)")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds one student's autograde may take in all")
    parser.add_argument("--roster", type=Path, default=HERE / "roster.csv")
    parser.add_argument("--first-slot", type=int, default=0,
                        help="first sandbox user (course-sandbox-<n>) of these jobs")
    args, extra = parser.parse_known_args(argv)
    try:
        roster = read_roster(args.roster)
    except RosterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"autograding {args.assignment} with {args.jobs} parallel job(s)", flush=True)
    outcomes, errors = autograde_class(args.assignment, roster, jobs=args.jobs,
                                       students=args.student, timeout=args.timeout,
                                       first_slot=args.first_slot, extra=extra)
    print(f"\n{'student':<24} {'status':<8} {'seconds':>8} {'score':>7}")
    for o in sorted(outcomes, key=lambda o: o.student):
        score = "-" if o.score is None or o.status != "ok" else f"{o.score:g}"
        print(f"{o.student:<24} {o.status:<8} {o.seconds:8.1f} {score:>7}")
    ok = sum(o.status == "ok" for o in outcomes)
    print(f"\n{ok} of {len(outcomes)} submission(s) graded")
    tampered = tamper_flags(HERE, args.assignment, [o.student for o in outcomes])
    if tampered:
        print(f"\n{len(tampered)} submission(s) with edited test cells (restored from the release "
              f"and graded; details in reports/{args.assignment}/<student>.json):")
        for student, kinds in sorted(tampered.items()):
            print(f"  {student}: {', '.join(kinds)}")
    if errors:
        print(f"\n{len(errors)} error(s):", file=sys.stderr)
        for line in errors:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
