"""Binder's configuration (binder/): the root pins, a CPU-only torch, a pinned Python."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lines(path):
    return [l.split("#")[0].strip() for l in path.read_text().splitlines() if l.split("#")[0].strip()]


def test_binder_installs_the_root_requirements_with_the_cpu_torch_index():
    assert lines(ROOT / "binder" / "requirements.txt") == [
        "--extra-index-url https://download.pytorch.org/whl/cpu", "-r ../requirements.txt"]
    root = lines(ROOT / "requirements.txt")
    assert "-e ." in root, "Binder installs course_lib through the root file's '-e .'"
    # the pin has no local label, so it matches the CPU index's 2.13.0+cpu
    assert any(re.fullmatch(r"torch==[\d.]+", l) for l in root)


def test_binder_python_version_is_pinned_and_supported():
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-3\.(\d+)", runtime)
    assert match, "repo2docker reads 'python-X.Y' alone on the line"
    required = re.search(r'requires-python = ">=3\.(\d+)"', (ROOT / "pyproject.toml").read_text())
    assert int(match.group(1)) >= int(required.group(1))
