"""The stored comparison of chapter 12 ("Comparing optimizers honestly").

Tunes SGD with momentum, Adam, AdamW, Adam with ε and β1 tuned (Choi et al. 2019) and Lion
(chapter 10) on the six workloads of :mod:`course_lib.benchmark.workloads`: 16 random-search
trials each (the same budget for every optimizer), then 4 seeds of each chosen
configuration; every trial is appended to ``benchmarks/results/comparing_optimizers.jsonl``
as it finishes (rerun to continue an interrupted run; delete the file to start over).
One torch thread; about 10 minutes of CPU time on an idle core.

    .venv/bin/python benchmarks/comparing_optimizers.py            # or: python3 tasks.py benchmark
    .venv/bin/python benchmarks/comparing_optimizers.py --report-only
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

from course_lib.benchmark.cli import main  # noqa: E402

if __name__ == "__main__":
    os.chdir(ROOT)
    raise SystemExit(main(sys.argv[1:]))
