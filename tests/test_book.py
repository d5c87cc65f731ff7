"""The book's structure: what every page and notebook must satisfy before it is executed.

(nbval executes the notebooks and the book build renders them; these tests check the rules
that execution cannot see.)
"""

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def toc_files():
    files = [TOC["root"]]
    for part in TOC.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def numbered_chapters():
    return [c["file"] for part in TOC["parts"] if part.get("numbered") for c in part["chapters"]]


def load(path):
    return json.loads(path.read_text())


def test_every_toc_entry_exists_and_every_page_is_listed():
    listed = toc_files()
    for entry in listed:
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), entry
    pages = sorted(str(p.relative_to(ROOT).with_suffix(""))
                   for p in (ROOT / "book").iterdir() if p.suffix in (".md", ".ipynb"))
    assert sorted(listed) == pages


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_stored_without_outputs(path):
    for cell in load(path)["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: a cell has stored outputs"
            assert cell["execution_count"] is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_first_code_cell_installs_course_lib_from_the_configured_repository(path):
    code = [c for c in load(path)["cells"] if c["cell_type"] == "code"]
    first = "".join(code[0]["source"])
    assert "import course_lib" in first and "except ImportError" in first
    url = re.search(r"git\+(\S+?)\"", first)
    assert url, "the set-up cell must pip-install course_lib from a git URL"
    assert url.group(1) == CONFIG["repository"]["url"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_the_python3_kernel(path):
    assert load(path)["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("entry", numbered_chapters())
def test_chapter_has_asserts_summary_and_exercises(entry):
    cells = load(ROOT / f"{entry}.ipynb")["cells"]
    markdown = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert re.search(r"^## Summary", markdown, re.M), "a chapter ends with a summary"
    assert re.search(r"^## Exercises", markdown, re.M), "and with exercises"
    assert ":::{exercise}" in markdown and ":::{solution}" in markdown
    assert len(re.findall(r"^\s*assert\b", code, re.M)) >= 10, "claims are asserted in code"
    assert "course_lib.seeding import" in code, "seeded through course_lib.seeding"


def test_requirements_pin_exact_versions():
    lines = [l.split("#")[0].strip() for l in (ROOT / "requirements.txt").read_text().splitlines()]
    pins = [l for l in lines if l and not l.startswith("-e")]
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.+]+", l) for l in pins), pins
    assert "torch==2.13.0" in pins
    assert "jupyter-book==1.0.4.post1" in pins


def test_bibliography_keys_cited_in_the_book_exist():
    bib = (ROOT / "book" / "references.bib").read_text()
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    text = "".join(p.read_text() for p in (ROOT / "book").iterdir() if p.suffix in (".md", ".ipynb"))
    cited = set()
    for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text):
        cited.update(k.strip() for k in group.split(","))
    assert cited <= keys, f"unknown citation keys: {sorted(cited - keys)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_seeds_are_shiftable(path):
    """Every seed goes through course_lib.seeding (seed(k), rng(k), seeds(n)), so that the
    robustness check can shift them all with COURSE_SEED_OFFSET: no literal seed is left."""
    code = "\n".join("".join(c["source"]) for c in load(path)["cells"] if c["cell_type"] == "code")
    literal = re.findall(r"(?:default_rng|set_seed|manual_seed|RandomState)\(\s*\d+\s*\)", code)
    assert not literal, f"{path.name}: literal seeds {literal}; write seed(k) / rng(k)"


def test_book_build_stops_and_names_a_failing_notebook_and_cell(tmp_path, monkeypatch, capsys):
    """`python3 tasks.py book` must not publish a page whose claim failed: the build exits
    non-zero and the terminal names the notebook and the failing cell."""
    import subprocess
    import sys

    import nbformat

    sys.path.insert(0, str(ROOT))
    import tasks
    import tools.offline_assets

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter"),
                nbformat.v4.new_code_cell("x = 2"),
                nbformat.v4.new_code_cell("assert x == 3, 'the claim is false'")]
    nbformat.write(nb, tmp_path / "chapter.ipynb")
    (tmp_path / "intro.md").write_text("# Intro\n")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n- file: chapter\n")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    sphinx_config = {"nb_execution_raise_on_error":
                     config["sphinx"]["config"]["nb_execution_raise_on_error"]}
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(
        {"title": "t", "execute": config["execute"], "sphinx": {"config": sphinx_config}}))
    monkeypatch.setattr(tasks, "ROOT", tmp_path)
    monkeypatch.setattr(tools.offline_assets, "ensure_assets", lambda: None)
    with pytest.raises(subprocess.CalledProcessError):
        tasks.jupyter_book()
    out = capsys.readouterr().out
    summary = out[out.index("The book was NOT built"):]
    assert "notebook: chapter.ipynb" in summary
    assert "assert x == 3" in summary and "AssertionError: the claim is false" in summary
    assert not (tmp_path / "_build" / "html" / "chapter.html").exists()


BOOK_LINE_LENGTH = 79    # what a code cell of the HTML book shows without a scrollbar


def shown_code_cells(path):
    hidden = {"remove-cell", "remove-input"}
    return [c for c in load(path)["cells"] if c["cell_type"] == "code"
            and not hidden & set(c.get("metadata", {}).get("tags", []))]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_lines_fit_the_page(path):
    long = [line for cell in shown_code_cells(path) for line in "".join(cell["source"]).splitlines()
            if len(line) > BOOK_LINE_LENGTH]
    assert not long, f"{path.name}: {len(long)} code lines wider than {BOOK_LINE_LENGTH}: {long[:3]}"


def test_notebook_code_is_formatted():
    """`ruff format --line-length 79` leaves every chapter unchanged (run it to fix)."""
    import shutil
    import subprocess
    import sys

    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is pinned in requirements.txt"
    done = subprocess.run([ruff, "format", "--check", "--line-length", str(BOOK_LINE_LENGTH),
                           *map(str, NOTEBOOKS)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("entry", numbered_chapters())
def test_checks_are_collapsed_with_a_label(entry):
    """Cells that only verify are collapsed by default (tag hide-input) behind a label that
    says what they check, so the argument reads without them and every check is one click away."""
    cells = load(ROOT / f"{entry}.ipynb")["cells"]
    labelled = []
    for cell in cells:
        prompt = cell.get("metadata", {}).get("mystnb", {}).get("code_prompt_show", "")
        if prompt.startswith("Check:"):
            labelled.append(prompt)
            assert "hide-input" in cell["metadata"].get("tags", []), prompt
            assert len(prompt) > len("Check: ") + 5, "the label says what is checked"
    assert len(labelled) >= 3, f"{entry}: only {len(labelled)} collapsed checks"


INTERNAL = re.compile(r"seed doc|errata list|asked to improve|ERRATA\.md|SYLLABUS|the documents"
                      r" the course|sources? (?:this|the) course corrects", re.I)


@pytest.mark.parametrize("path", NOTEBOOKS + sorted((ROOT / "book").glob("*.md")),
                         ids=lambda p: p.name)
def test_no_internal_material_in_the_published_book(path):
    if path.suffix == ".ipynb":
        text = "\n".join("".join(c["source"]) for c in load(path)["cells"])
    else:
        text = path.read_text()
    found = sorted({m.group(0) for m in INTERNAL.finditer(text)})
    assert not found, f"{path.name} mentions internal material: {found}"


# The chapters whose comparisons of training runs depend on a tuned learning rate (or another
# tuned knob); each goes through course_lib.benchmark (CONTRIBUTING, "comparison protocol").
TUNED_COMPARISONS = ("adaptive_methods", "schedules_and_averaging", "regularization",
                     "second_order", "strategies", "optimizers_since_adam",
                     "comparing_optimizers")
# a hand-written bracket check such as `lrs[0] < best < lrs[-1]`
HAND_EDGE_CHECK = re.compile(r"\w+\[0\]\s*<\s*[^<\n]+<\s*\w+\[-1\]")


def code_of(path):
    return "\n".join("".join(c["source"]) for c in load(path)["cells"] if c["cell_type"] == "code")


@pytest.mark.parametrize("stem", TUNED_COMPARISONS)
def test_learning_rate_comparisons_go_through_the_benchmark_harness(stem):
    """Tuning by `tune` / `grid_configs` with one trial budget, the optimum checked interior,
    outcomes over seeds judged by `compare` (t intervals; "not distinguishable" on overlap)."""
    code = code_of(ROOT / "book" / f"{stem}.ipynb")
    assert "course_lib.benchmark" in code, f"{stem}: does not use course_lib.benchmark"
    # tuned here, or loaded from the stored results of the same protocol (chapter 12)
    assert re.search(r"\b(?:tune|grid_configs|random_configs|load_results)\(", code), stem
    assert re.search(r"\.assert_interior\(\)|\binterior_check\(", code), stem
    # compare summarizes both sides (mean, t interval) before its verdict
    assert re.search(r"\bcompare\(", code), stem


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_hand_written_grid_edge_check(path):
    """`lrs[0] < best < lrs[-1]` tests the grid a cell happened to write; interior_check tests
    the searched range and is printed with its position."""
    found = HAND_EDGE_CHECK.findall(code_of(path))
    assert not found, f"{path.name}: hand-written edge checks {found}; use benchmark.tune"
