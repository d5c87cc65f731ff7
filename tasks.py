#!/usr/bin/env python3
"""The course's two commands, runnable on a fresh machine that has only Python 3.10+.

    python3 tasks.py book    # build the HTML book (executes every notebook)
    python3 tasks.py test    # run every test: course_lib tests, nbval over every notebook,
                             # and the book build with warnings as errors

Both create the virtual environment ``.venv`` on first use and install ``requirements.txt``
into it (again only when that file changes). ``python3 tasks.py timings`` executes each
notebook once and prints its wall time (a report, not a test).
"""

from __future__ import annotations

import hashlib
import os
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


def jupyter_book(*extra: str) -> None:
    # MathJax and the ipywidgets manager, served by the book itself (the build checks it too)
    from tools.offline_assets import ensure_assets
    ensure_assets()
    sh(BIN / "jupyter-book", "build", ".", *extra)


def book() -> None:
    ensure_env()
    jupyter_book()
    print(f"\nThe book is at {BUILD / 'html' / 'index.html'}")


def test() -> None:
    from tools.offline_assets import ensure_assets, ensure_chromium

    ensure_env()
    ensure_chromium()   # Debian's chromium for the browser test (apt-get as root if missing)
    ensure_assets()     # the offline JavaScript, so tests/test_offline_assets.py can check it
    started = time.perf_counter()
    # course_lib's tests and every notebook (nbval: no cell may raise; claims are asserts),
    # spread over the available cores, one notebook per worker.
    sh(PY, "-m", "pytest", "tests", "book", "--ignore=tests/test_browser.py", "--nbval-lax",
       "--nbval-current-env", "--nbval-cell-timeout=300", "-n", "auto", "--dist", "loadfile",
       "-p", "no:cacheprovider")
    # The book as readers get it, executed from scratch, with warnings as errors.
    shutil.rmtree(BUILD / ".jupyter_cache", ignore_errors=True)
    jupyter_book("-W", "-n", "--keep-going")
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
    notebooks = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "book").glob("*.ipynb"))
    sh(PY, "-c", code, *notebooks)


COMMANDS = {"book": book, "test": test, "timings": timings}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: python3 {Path(__file__).name} {{{'|'.join(COMMANDS)}}}")
    try:
        COMMANDS[sys.argv[1]]()
    except subprocess.CalledProcessError as err:
        sys.exit(err.returncode)
