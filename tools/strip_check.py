"""Fail when a notebook is stored with outputs or execution counts (pre-commit hook).

    python3 tools/strip_check.py book/*.ipynb     # exit 1, naming each offending notebook

Clear them with ``jupyter nbconvert --clear-output --inplace <notebook>``.
"""

from __future__ import annotations

import json
import sys


def offending(path: str) -> bool:
    cells = json.load(open(path, encoding="utf-8"))["cells"]
    return any(c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))
               for c in cells)


if __name__ == "__main__":
    bad = [p for p in sys.argv[1:] if offending(p)]
    for p in bad:
        print(f"{p}: stored with outputs; run jupyter nbconvert --clear-output --inplace {p}")
    sys.exit(1 if bad else 0)
