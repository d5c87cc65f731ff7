"""The package's layout, read from the tree and from course_lib/__init__.py's module map.

``module_map()`` parses the map (``* ``module`` -- what it teaches``) from the package
docstring; ``package_modules()`` lists the modules that exist; ``layer_of(module)`` says which
layer a module belongs to. tests/test_layout.py checks that the three agree and that no module
imports from a layer above its own; ``python3 tasks.py layout`` prints the map for the README.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "course_lib"

#: Layers from the bottom up; a module may import from its own layer and the layers below.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundations", ("arrays", "numerics", "result", "seeding", "validation")),
    ("problems and curvature", ("objectives", "second_order")),
    ("what to do with a gradient", ("optim", "schedules", "averaging")),
    ("training", ("nn", "training", "distributed", "benchmark")),
    ("figures", ("viz",)),
    ("grading", ("grading",)),
]


def layer_of(module: str) -> int:
    """The index in LAYERS of a module named relative to course_lib (``optim.adam``)."""
    top = module.split(".")[0]
    for index, (_, members) in enumerate(LAYERS):
        if top in members:
            return index
    raise KeyError(f"course_lib.{module} belongs to no layer of tools/layout.py")


def package_modules() -> list[str]:
    """Every module of course_lib, relative dotted names, package __init__ files excluded."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        if rel.name == "__init__" or "__pycache__" in rel.parts:
            continue
        names.append(".".join(rel.parts))
    return names


def module_map() -> dict[str, str]:
    """``{module: description}`` from the package docstring's module map."""
    doc = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text())) or ""
    return dict(re.findall(r"^\* ``([\w.]+)`` -- (.+)$", doc, re.M))


def imports_of(module: str) -> list[str]:
    """The course_lib modules ``module`` imports (relative dotted names), at any depth of the
    file (imports inside functions count)."""
    path = PACKAGE / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = PACKAGE / module.replace(".", "/") / "__init__.py"
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join(base + ([node.module] if node.module else []))
                names = [f"{target}.{a.name}" if target else a.name for a in node.names]
                found += [target] if node.module else names
            elif node.module and node.module.split(".")[0] == "course_lib":
                found.append(node.module.partition(".")[2] or node.names[0].name)
        elif isinstance(node, ast.Import):
            found += [a.name.partition(".")[2] for a in node.names
                      if a.name.startswith("course_lib.")]
    return [f for f in found if f]


def module_map_markdown() -> str:
    """The module map as a Markdown table, layer by layer (top layer first)."""
    described = module_map()
    lines = ["| layer | module | what it holds |", "| --- | --- | --- |"]
    for name, members in reversed(LAYERS):
        for module, text in described.items():
            if module.split(".")[0] in members:
                lines.append(f"| {name} | `course_lib.{module}` | {text.replace('``', '`')} |")
    return "\n".join(lines)
