#!/usr/bin/env python3
"""Regenerate the student versions of the homework from their sources, with nbgrader.

    python homework/release.py                  # every assignment: homework/release/<a>/ from source/<a>/
    python homework/release.py hw03_adaptive    # only the assignments named
    python homework/release.py --check          # regenerate in a temporary folder; exit 1 if a
                                                # committed student version differs from it

Run it with the course's virtual environment (``.venv/bin/python homework/release.py``): it
calls ``nbgrader generate_assignment`` in a temporary copy of this folder, so it never touches a
gradebook here, and it refuses to write a student version in which a solution or a hidden test
survived. The student versions are committed, so that the chapters can link them (Binder,
Colab); never edit them by hand -- edit ``source/`` and run this script.

The hidden part of every test cell of a source notebook is the *probe* of that cell, a copy of
``PROBES[<grade_id>]`` in ``checks/<assignment>.py`` (what the grader runs in place of the
cell; the expected values and comparisons live only in ``checks/``). Both modes refuse to go on
when a copy differs from its probe: change the probe in ``checks/`` and paste it into the
source (or the reverse).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "source"
RELEASE = HERE / "release"
COURSE_FILES = ("nbgrader_config.py", "autograding.py")
# Text that must never reach a student version.
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def assignments() -> list[str]:
    """The assignment ids: the folders of source/ that hold a notebook of the same name."""
    return sorted(p.name for p in SOURCE.iterdir() if (p / f"{p.name}.ipynb").is_file())


def _hidden(source: str) -> str:
    lines, inside = [], False
    for line in source.split("\n"):
        if "BEGIN HIDDEN TESTS" in line:
            inside = True
        elif "END HIDDEN TESTS" in line:
            inside = False
        elif inside and not line.startswith("# "):
            lines.append(line)
    return "\n".join(lines).strip()


def probe_mismatches(names: list[str]) -> list[str]:
    """Test cells of the sources whose hidden part is not the probe in checks/ (see above)."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import checks

    bad = []
    for name in names:
        nb = json.loads((SOURCE / name / f"{name}.ipynb").read_text())
        probes = checks.module(name).PROBES
        for cell in nb["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if not (meta.get("grade") and cell["cell_type"] == "code"):
                continue
            gid = meta["grade_id"]
            probe = "\n".join(line for line in probes.get(gid, "").strip().split("\n")
                              if not line.startswith("# ")).strip()
            if gid not in probes or _hidden("".join(cell["source"])) != probe:
                bad.append(f"{name}/{gid}")
    return bad


def nbgrader_env() -> dict:
    """nbgrader runs ``alembic`` as a command: put this interpreter's scripts first on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def generate(names: list[str], course: Path) -> Path:
    """Copy the course's config and the sources of ``names`` into ``course`` and run
    ``nbgrader generate_assignment`` on all of them there; return ``course / "release"``."""
    for name in COURSE_FILES:
        shutil.copy2(HERE / name, course / name)
    for name in names:
        shutil.copytree(SOURCE / name, course / "source" / name)
    result = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "*",
                             "--force", "--log-level=WARN"], cwd=course, env=nbgrader_env(),
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"nbgrader generate_assignment failed:\n{result.stdout}\n{result.stderr}")
    release = course / "release"
    for name in names:
        for path in (release / name).rglob("*.ipynb"):
            text = path.read_text()
            leaked = [m for m in MARKERS if m in text]
            if leaked:
                sys.exit(f"{path.relative_to(release)}: {', '.join(leaked)} survived in the student "
                         "version; fix the delimiters in the source notebook")
    return release


def _files(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def same_tree(a: Path, b: Path) -> bool:
    fa, fb = _files(a), _files(b)
    if fa.keys() != fb.keys():
        return False
    for key, pa in fa.items():
        if key.endswith(".ipynb"):
            if json.loads(pa.read_text()) != json.loads(fb[key].read_text()):
                return False
        elif pa.read_bytes() != fb[key].read_bytes():
            return False
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="assignment ids (default: all of source/)")
    parser.add_argument("--check", action="store_true",
                        help="only check that the committed student versions are up to date")
    args = parser.parse_args(argv)
    known = assignments()
    names = args.names or known
    unknown = sorted(set(names) - set(known))
    if unknown:
        parser.error(f"unknown assignment(s): {', '.join(unknown)} (have: {', '.join(known)})")
    mismatched = probe_mismatches(names)
    if mismatched:
        print("the hidden part of these test cells differs from the probe in homework/checks/: "
              + ", ".join(mismatched))
        return 1
    with tempfile.TemporaryDirectory(prefix="course-release-") as tmp:
        fresh = generate(names, Path(tmp))
        stale = [n for n in names
                 if not (RELEASE / n).is_dir() or not same_tree(fresh / n, RELEASE / n)]
        if args.check:
            for name in stale:
                print(f"out of date: homework/release/{name} (run: python homework/release.py {name})")
            print(f"{len(names) - len(stale)} of {len(names)} student versions are up to date")
            return 1 if stale else 0
        for name in names:
            shutil.rmtree(RELEASE / name, ignore_errors=True)
            shutil.copytree(fresh / name, RELEASE / name)
            for path in (RELEASE / name).rglob("*"):
                path.chmod(0o755 if path.is_dir() else 0o644)
            print(f"{'updated' if name in stale else 'unchanged'}: homework/release/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
