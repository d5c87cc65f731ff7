#!/usr/bin/env python3
"""The course's two commands, runnable on a fresh machine that has only Python 3.10+.

    python3 tasks.py book    # build the HTML book (executes every notebook)
    python3 tasks.py test    # run every test: lint and types, course_lib tests, every notebook
                             # (natively for the book, under nbval in the CI robustness
                             # configurations), the book build with warnings as errors, the
                             # PDF and the browser test

Both create the virtual environment ``.venv`` on first use and install ``requirements.txt``
into it (again only when that file changes). Reports, not part of the two commands:

    python3 tasks.py pdf          # the whole book as one PDF (_build/pdf/)
    python3 tasks.py timings      # execute each notebook once and print its wall time
    python3 tasks.py robustness   # every notebook under nbval in every configuration of
                                  # ROBUSTNESS (other CPU kernels, BLAS cores, one thread,
                                  # shifted seeds); prints a notebook x configuration table
    python3 tasks.py robustness --only default,seed+1 book/momentum.ipynb   # a subset
    python3 tasks.py test --fast  # the unit tier only (the edit loop, about a minute)
    python3 tasks.py lint         # ruff (lint + format of the book's code) and mypy
    python3 tasks.py layout       # the package's module map, written into the README
    python3 tasks.py benchmark    # chapter 12's stored optimizer comparison (resumable)
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".requirements.sha256"
BUILD = ROOT / "_build"


# Configurations in which every notebook must pass (CONTRIBUTING.md, "Claims hold on every
# machine"): the environment each one adds to the current one.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
ROBUSTNESS: dict[str, dict[str, str]] = {
    "native": {},
    # torch's scalar (non-vectorized) CPU kernels
    "default": {"ATEN_CPU_CAPABILITY": "default"},
    # AVX2 kernels in torch, OpenBLAS's Haswell kernels, and a single thread everywhere
    "avx2-haswell-1thread": {"ATEN_CPU_CAPABILITY": "avx2", "OPENBLAS_CORETYPE": "Haswell",
                             **ONE_THREAD},
    # every notebook's seeds shifted (course_lib.seeding): no claim may rest on one lucky seed
    "seed+1": {"COURSE_SEED_OFFSET": "1"},
}
# The configurations the test command (and so CI) runs besides the native one.
TEST_CONFIGS = ("default", "seed+1")
NBVAL = ("--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=300")


def sh(*args, **kwargs) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True, **kwargs)


def ensure_env() -> None:
    """Create .venv and install the pinned requirements (course_lib included, editable)."""
    digest = hashlib.sha256((ROOT / "requirements.txt").read_bytes()
                            + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PY.exists() and STAMP.exists() and STAMP.read_text() == digest:
        return
    if not PY.exists():
        print(f"Creating the virtual environment {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    sh(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    sh(PY, "-m", "pip", "install", "--quiet", "-r", "requirements.txt")
    STAMP.write_text(digest)


def notebooks() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "book").glob("*.ipynb"))


def run_configuration(name: str, paths: list[str], junit: Path | None = None,
                      check: bool = True) -> int:
    """nbval over ``paths`` with the environment of configuration ``name``, one notebook per
    worker; returns pytest's exit status."""
    env = {**os.environ, **ROBUSTNESS[name]}
    args = [PY, "-m", "pytest", *paths, *NBVAL, "-n", "auto", "--dist", "loadfile",
            "-p", "no:cacheprovider", "-q"]
    if junit is not None:
        args.append(f"--junitxml={junit}")
    print(f"\n== notebooks under configuration {name!r}: "
          f"{' '.join(f'{k}={v}' for k, v in ROBUSTNESS[name].items()) or '(unchanged)'}",
          flush=True)
    return subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=check).returncode


def jupyter_book(*extra: str) -> None:
    """``jupyter-book build . *extra``, its output streamed; if a notebook raises, the build
    stops (``nb_execution_raise_on_error`` in _config.yml) and this names the notebook and the
    failing cell at the end of the output, then exits non-zero."""
    # MathJax and the ipywidgets manager, served by the book itself (the build checks it too)
    from tools.offline_assets import ensure_assets
    ensure_assets()
    args = [str(BIN / "jupyter-book"), "build", ".", *extra]
    print("+", " ".join(args), flush=True)
    failed, cell, in_cell = [], [], False
    with subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace") as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            match = re.search(r"ExecutionError: (\S+\.ipynb)", line)
            if match and match.group(1) not in failed:
                failed.append(match.group(1))
            if "An error occurred while executing the following cell" in line and not cell:
                in_cell = True
            elif in_cell:
                cell.append(line.rstrip())
                in_cell = len(cell) < 40 and not re.match(r"\x1b\[\d+mAssertionError|\w+Error:",
                                                          re.sub(r"\x1b\[[\d;]*m", "", line))
    if proc.returncode:
        if failed:
            print("\n" + "=" * 79 + "\nThe book was NOT built: a notebook raised while executing.")
            for path in failed:
                shown = Path(path).relative_to(ROOT) if Path(path).is_absolute() else path
                print(f"  notebook: {shown}")
            if cell:
                print("  failing cell and error:\n    " + "\n    ".join(
                    re.sub(r"\x1b\[[\d;]*m", "", c) for c in cell if c.strip()))
            print("=" * 79)
        raise subprocess.CalledProcessError(proc.returncode, args)


def book() -> None:
    ensure_env()
    execute_notebooks()     # in parallel, into the cache; unchanged notebooks are not rerun
    jupyter_book()
    print(f"\nThe book is at {BUILD / 'html' / 'index.html'}")


PDF = BUILD / "pdf" / "optimization-for-training-deep-models.pdf"


def pdf() -> None:
    """The whole book as one PDF: Jupyter Book's single-page HTML (reusing the notebooks
    executed for the HTML book), printed by headless Chromium (tools/print_pdf.py)."""
    from tools.offline_assets import ensure_chromium

    ensure_env()
    ensure_chromium()
    jupyter_book("--builder", "singlehtml")
    sh(PY, "-m", "tools.print_pdf", BUILD / "singlehtml" / "index.html", PDF)


def lint() -> None:
    """Static checks, fast and first: ruff's lint rules on the code, ruff's formatter on the
    notebooks' code (the width the HTML shows), mypy on course_lib (pyproject.toml)."""
    ensure_env()
    sh(BIN / "ruff", "check", "course_lib", "tests", "tools", "tasks.py", "benchmarks",
       "examples", "homework/checks", "homework/grade.py", "homework/sandbox.py",
       "homework/autograding.py", "homework/release.py")
    sh(BIN / "ruff", "format", "--check", "--line-length", "79", *notebooks())
    sh(BIN / "mypy")


def execute_notebooks(paths: list[str] | None = None) -> None:
    """Execute the book's notebooks in parallel (one per core) into Jupyter Book's cache, so
    the book build that follows renders them without executing them again: every notebook
    runs once per test run. A notebook that raises stops here, named with its failing cell."""
    code = (ROOT / "tools" / "execute_notebooks.py")
    sh(PY, code, BUILD / ".jupyter_cache", *(paths or notebooks()))


def test(args: list[str] | None = None) -> None:
    from tools.offline_assets import ensure_assets, ensure_chromium

    ensure_env()
    if args == ["--fast"]:
        tiers: dict = {}
        exec((ROOT / "tests" / "tiers.py").read_text(), tiers)
        skipped = sorted(set(tiers["TIERS"]) | tiers["SLOW_FILES"])
        sh(PY, "-m", "pytest", "tests", "-m", "unit and not slow", "-q", "-n", "auto",
           "-p", "no:cacheprovider", *(f"--ignore=tests/{name}" for name in skipped))
        return
    if args:
        sys.exit("usage: python3 tasks.py test [--fast]")
    lint()
    ensure_chromium()   # Debian's chromium for the browser test (apt-get as root if missing)
    sys.path.insert(0, str(ROOT / "homework"))
    from sandbox import ensure_bwrap
    ensure_bwrap()      # bubblewrap isolates each homework submission (apt-get as root)
    ensure_assets()     # the offline JavaScript, so tests/test_offline_assets.py can check it
    started = time.perf_counter()
    # course_lib's tests, the homework pipeline, the book's structure (not the browser yet).
    sh(PY, "-m", "pytest", "tests", "--ignore=tests/test_browser.py",
       "-n", "auto", "--dist", "loadfile", "-p", "no:cacheprovider")
    # Every notebook, executed from scratch on this machine (no cell may raise; claims are
    # asserts), once: into the cache the book build renders from.
    shutil.rmtree(BUILD / ".jupyter_cache", ignore_errors=True)
    shutil.rmtree(BUILD / ".doctrees", ignore_errors=True)
    execute_notebooks()
    # The same notebooks must pass on other CPUs' rounding and with other seeds (nbval).
    for name in TEST_CONFIGS:
        run_configuration(name, notebooks())
    # The book as readers get it, with warnings as errors.
    jupyter_book("-W", "-n", "--keep-going")
    # The PDF, from the same executed notebooks.
    jupyter_book("--builder", "singlehtml", "-W", "-n", "--keep-going")
    sh(PY, "-m", "tools.print_pdf", BUILD / "singlehtml" / "index.html", PDF)
    # ... and as they see it: every page in headless Chromium with the network blocked.
    sh(PY, "-m", "pytest", "tests/test_browser.py", "-p", "no:cacheprovider")
    print(f"\nAll tests passed in {time.perf_counter() - started:.0f} s")


def timings() -> None:
    ensure_env()
    code = (
        "import sys, time, nbformat\n"
        "from nbclient import NotebookClient\n"
        "for path in sys.argv[1:]:\n"
        "    nb = nbformat.read(path, as_version=4)\n"
        "    t = time.perf_counter()\n"
        "    NotebookClient(nb, timeout=600, resources={'metadata': {'path': 'book'}}).execute()\n"
        "    print(f'{time.perf_counter() - t:7.1f} s  {path}', flush=True)\n"
    )
    sh(PY, "-c", code, *notebooks())


def _notebook_outcomes(junit: Path) -> dict[str, str]:
    """notebook path -> "pass" / "FAIL" from a junit report of an nbval run."""
    import xml.etree.ElementTree as ET

    outcomes: dict[str, str] = {}
    if not junit.exists():
        return outcomes
    for case in ET.parse(junit).getroot().iter("testcase"):
        match = re.search(r"book[./](\w+)(?:\.ipynb)?", case.get("classname", "") + "/"
                          + case.get("file", ""))
        if not match:
            continue
        path = f"book/{match.group(1)}.ipynb"
        failed = any(child.tag in ("failure", "error") for child in case)
        if failed or path not in outcomes:
            outcomes[path] = "FAIL" if failed else outcomes.get(path, "pass")
    return outcomes


def robustness(args: list[str]) -> None:
    """Every notebook under nbval in every configuration; a notebook x configuration table."""
    ensure_env()
    names = list(ROBUSTNESS)
    if args[:1] == ["--only"]:
        names = args[1].split(",")
        args = args[2:]
    unknown = [n for n in names if n not in ROBUSTNESS]
    if unknown:
        sys.exit(f"unknown configuration(s) {unknown}; choose from {list(ROBUSTNESS)}")
    paths = args or notebooks()
    report = BUILD / "robustness"
    report.mkdir(parents=True, exist_ok=True)
    table: dict[str, dict[str, str]] = {p: {} for p in paths}
    seconds = {}
    for name in names:
        junit = report / f"{name}.xml"
        junit.unlink(missing_ok=True)
        started = time.perf_counter()
        run_configuration(name, paths, junit, check=False)
        seconds[name] = time.perf_counter() - started
        outcomes = _notebook_outcomes(junit)
        for p in paths:
            table[p][name] = outcomes.get(p, "FAIL")
    width = max(len(Path(p).stem) for p in paths)
    lines = ["| notebook".ljust(width + 2) + " | " + " | ".join(names) + " |",
             "|" + "-" * (width + 2) + "|" + "|".join("-" * (len(n) + 2) for n in names) + "|"]
    for p in paths:
        lines.append(f"| {Path(p).stem.ljust(width)} | "
                     + " | ".join(table[p][n].ljust(len(n)) for n in names) + " |")
    lines.append(f"| {'(wall time)'.ljust(width)} | "
                 + " | ".join(f"{seconds[n]:.0f} s".ljust(len(n)) for n in names) + " |")
    text = "\n".join(lines)
    (report / "table.md").write_text(text + "\n")
    print("\n" + text + f"\n\n(also in {report / 'table.md'})")
    if any(v != "pass" for row in table.values() for v in row.values()):
        sys.exit(1)


def benchmark() -> None:
    """Chapter 12's stored comparison (course_lib.benchmark): the optimizers on every
    workload, random search with one trial budget for all, then seeds of each chosen
    configuration; every trial is appended to benchmarks/results/comparing_optimizers.jsonl
    as it finishes, so an interrupted run continues (delete the file to start over)."""
    ensure_env()
    sh(PY, "benchmarks/comparing_optimizers.py")


def layout() -> None:
    """Write the package's module map (course_lib/__init__.py's docstring, checked against
    the tree by tests/test_layout.py) into the README as a Markdown table, and print it."""
    sys.path.insert(0, str(ROOT))
    from tools.layout import module_map_markdown

    table = module_map_markdown()
    readme = ROOT / "README.md"
    begin = "<!-- layout table: generated by `python3 tasks.py layout` -->\n"
    end = "\n<!-- end of layout table -->"
    text = readme.read_text()
    head, _, rest = text.partition(begin)
    readme.write_text(head + begin + table + end + rest.partition(end)[2])
    print(table)


COMMANDS = {"book": book, "test": test, "timings": timings, "robustness": robustness,
            "pdf": pdf, "lint": lint, "layout": layout, "benchmark": benchmark}
TAKES_ARGS = {"robustness", "test"}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS or (
            len(sys.argv) > 2 and sys.argv[1] not in TAKES_ARGS):
        sys.exit(f"usage: python3 {Path(__file__).name} {{{'|'.join(COMMANDS)}}}")
    try:
        if sys.argv[1] in TAKES_ARGS:
            COMMANDS[sys.argv[1]](sys.argv[2:])
        else:
            COMMANDS[sys.argv[1]]()
    except subprocess.CalledProcessError as err:
        sys.exit(err.returncode)
