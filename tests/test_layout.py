"""The package's architecture: layers, the module map, and the names that moved in 0.2.

* every module sits in a layer of tools/layout.py and imports nothing from a layer above it
  (numerics never import figures; optimizers never import training loops);
* course_lib/__init__.py's module map lists exactly the modules in the tree, and the README
  shows that map;
* the 0.1 module names (``course_lib.plotting``, ``course_lib.descent``, ...) import the very
  module objects that moved, so old code and pickles keep working for one release.
"""

import importlib
import subprocess
import sys

import pytest

from tools.layout import (
    LAYERS,
    ROOT,
    imports_of,
    layer_of,
    module_map,
    module_map_markdown,
    package_modules,
)

MODULES = package_modules()


def test_every_module_is_in_a_layer():
    for module in MODULES:
        layer_of(module)  # raises KeyError naming the module


@pytest.mark.parametrize("module", MODULES)
def test_no_module_imports_from_a_layer_above_its_own(module):
    own = layer_of(module)
    for target in imports_of(module):
        assert layer_of(target) <= own, (
            f"course_lib.{module} (layer {LAYERS[own][0]!r}) imports course_lib.{target} "
            f"(layer {LAYERS[layer_of(target)][0]!r})")


def test_module_map_matches_the_tree():
    described = module_map()
    missing = sorted(set(MODULES) - set(described))
    stale = sorted(set(described) - set(MODULES))
    assert not missing, f"add to course_lib/__init__.py's module map: {missing}"
    assert not stale, f"remove from course_lib/__init__.py's module map: {stale}"


def test_readme_shows_the_module_map():
    readme = (ROOT / "README.md").read_text()
    assert module_map_markdown() in readme, "run `python3 tasks.py layout` and paste it"


def test_no_private_names_imported_across_modules():
    """A module uses another module's public names only (``_name`` stays inside its file)."""
    import ast
    offenders = []
    for module in MODULES:
        path = ROOT / "course_lib" / (module.replace(".", "/") + ".py")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "")
                                                     .startswith("course_lib")):
                offenders += [f"{module}: {a.name}" for a in node.names
                              if a.name.startswith("_") and a.name != "__all__"]
    assert not offenders, offenders


MOVED = {
    "course_lib.plotting": "course_lib.viz.plotting",
    "course_lib.widgets": "course_lib.viz.widgets",
    "course_lib.static_widgets": "course_lib.viz.static_widgets",
    "course_lib.landscape": "course_lib.viz.landscape",
    "course_lib.descent": "course_lib.optim.descent",
    "course_lib.convergence": "course_lib.optim.convergence",
    "course_lib.coordinate": "course_lib.second_order.coordinate",
    "course_lib.init": "course_lib.nn.init",
    "course_lib.gradcheck": "course_lib.nn.gradcheck",
    "course_lib.regularization": "course_lib.nn.regularization",
    "course_lib.data": "course_lib.objectives.data",
    "course_lib.finite_sum": "course_lib.objectives.finite_sum",
}


@pytest.mark.parametrize("old, new", sorted(MOVED.items()))
def test_old_module_names_import_the_moved_modules(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)


def test_old_names_in_a_fresh_interpreter():
    """``from course_lib.descent import run`` and friends, as 0.1 code wrote them."""
    code = ("from course_lib.descent import run\n"
            "from course_lib import plotting, data\n"
            "from course_lib.schedules import EarlyStopping, ReduceLROnPlateau, cosine_annealing\n"
            "import course_lib.optim.descent as d, course_lib.training as t\n"
            "assert run is d.run and EarlyStopping is t.EarlyStopping\n"
            "assert plotting.__name__ == 'course_lib.viz.plotting'\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_importing_the_package_is_light():
    """``import course_lib`` loads neither torch nor matplotlib (the module map is text)."""
    code = ("import sys, course_lib\n"
            "assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_one_torch_version_everywhere():
    """The torch release the twins reproduce is named once (``course_lib.TORCH_VERSION``):
    it is the installed one, and every "torch X.Y" the package's docstrings and messages
    mention is that one (so a torch upgrade fails here until every mention is checked)."""
    import re

    import torch

    import course_lib

    assert torch.__version__.startswith(course_lib.TORCH_VERSION + ".")
    mentions = set()
    for path in (ROOT / "course_lib").rglob("*.py"):
        mentions |= {m for m in re.findall(r"torch (\d+\.\d+)\b", path.read_text())}
    assert mentions <= {course_lib.TORCH_VERSION}, mentions


def test_erratum_numbers_in_test_names_match_the_appendix():
    """A test named ``test_errata_<N>_...`` checks erratum N of the appendix: the erratum's
    title shares a word with the test's name, or its text shares two (so renumbering the
    appendix cannot silently mislabel tests)."""
    import json
    import re

    nb = json.loads((ROOT / "book" / "conventions_and_errata.ipynb").read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    titles = {int(n): t.lower() for n, t in
              re.findall(r"^\(erratum-(\d+)\)=\s*\n#+\s*\d+\.\s*(.+)$", text, re.M)}
    bodies = {int(n): re.sub(r"[^a-z0-9]+", " ", b.lower()).split() for n, b in
              re.findall(r"^\(erratum-(\d+)\)=\s*\n(.*?)(?=^\(erratum-|\Z)", text,
                         re.M | re.S)}
    stop = {"the", "a", "an", "is", "of", "and", "not", "in", "to", "with", "for", "on", "by",
            "its", "after", "one", "two", "vs", "does", "needs", "exact", "only", "has"}
    found = 0
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        for n, rest in re.findall(r"^def test_errata_(\d+)_(\w+)\(", path.read_text(), re.M):
            found += 1
            words = set(rest.lower().split("_")) - stop
            title = re.sub(r"[^a-z0-9]+", " ", titles[int(n)])
            in_title = any(w in title.split() or w.rstrip("s") in title for w in words)
            in_text = len({w for w in words if w in bodies[int(n)]}) >= 2
            assert in_title or in_text, (
                f"{path.name}: test_errata_{n}_{rest} does not look like erratum {n} "
                f"({titles[int(n)]!r})")
    assert found >= 10
