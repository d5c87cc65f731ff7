r"""Read a results file of :func:`~course_lib.benchmark.runner.run_benchmark` and report it:
the chosen configurations and their edge checks, per-seed summaries with confidence
intervals, pairwise verdicts, the budget each optimizer used, tables and performance
profiles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..validation import check_choice, invalid
from .profiles import PerformanceProfile, performance_profile
from .runner import OPTIMIZERS, read_records, select_best
from .stats import Comparison, Summary, compare, summarize
from .tuning import EdgeCheck, SearchSpace, interior_check

__all__ = ["Results", "load_results"]

_FIELDS = ("best_metric", "final_metric", "steps_to_target", "seconds_to_target")


def _value(record: dict, field: str) -> float:
    v = record[field]
    return math.inf if v is None else float(v)


@dataclass
class Results:
    """The records of one results file (see :mod:`course_lib.benchmark.runner`)."""

    records: list

    # -- what is in it
    @property
    def meta(self) -> list:
        return [r for r in self.records if r["kind"] == "meta"]

    def workloads(self) -> list:
        return list(dict.fromkeys(r["workload"] for r in self.records if r["kind"] != "meta"))

    def optimizers(self) -> list:
        return list(dict.fromkeys(r["optimizer"] for r in self.records if r["kind"] != "meta"))

    def trials(self, kind: str, workload: str, optimizer: str) -> list:
        check_choice(kind, "kind", ("tune", "final"))
        found = [r for r in self.records if r["kind"] == kind and r["workload"] == workload
                 and r["optimizer"] == optimizer]
        return sorted(found, key=lambda r: r["index"])

    def space(self, optimizer: str) -> SearchSpace:
        """The search space stored with the results (the latest meta record naming it)."""
        from .tuning import Fixed, LogUniform, Uniform

        for meta in reversed(self.meta):
            described = meta.get("spaces", {}).get(optimizer)
            if described is not None:
                dims: dict[str, Fixed | LogUniform | Uniform] = {}
                for name, d in described.items():
                    if "fixed" in d:
                        dims[name] = Fixed(d["fixed"])
                    elif "log" in d:
                        dims[name] = LogUniform(*d["log"])
                    else:
                        dims[name] = Uniform(*d["uniform"])
                return SearchSpace(dims)
        return OPTIMIZERS[optimizer].space

    # -- tuning
    def chosen(self, workload: str, optimizer: str) -> dict:
        """The configuration the tuning phase chose (the best tuning trial's)."""
        return select_best(self.trials("tune", workload, optimizer))["config"]

    def edges(self, workload: str, optimizer: str) -> dict[str, EdgeCheck]:
        tuned = self.trials("tune", workload, optimizer)
        return interior_check(self.space(optimizer), self.chosen(workload, optimizer),
                              [r["config"] for r in tuned])

    def budget_used(self) -> dict:
        """Steps spent per optimizer, tuning and repetitions separately (the accounting
        trials x steps: every optimizer must have spent the same)."""
        out: dict = {}
        for r in self.records:
            if r["kind"] in ("tune", "final"):
                entry = out.setdefault(r["optimizer"], {"tune": 0, "final": 0})
                entry[r["kind"]] += int(r["steps_budget"])
        return out

    # -- repetitions
    def values(self, workload: str, optimizer: str, field: str = "best_metric") -> np.ndarray:
        check_choice(field, "field", _FIELDS)
        return np.array([_value(r, field) for r in self.trials("final", workload, optimizer)])

    def summary(self, workload: str, optimizer: str, field: str = "best_metric",
                confidence: float = 0.95) -> Summary:
        return summarize(self.values(workload, optimizer, field), confidence)

    def compare(self, workload: str, a: str, b: str, field: str = "best_metric",
                confidence: float = 0.95) -> Comparison:
        return compare(self.summary(workload, a, field, confidence),
                       self.summary(workload, b, field, confidence), names=(a, b))

    def cost(self, workload: str, optimizer: str, field: str = "steps_to_target") -> float:
        """The median over seeds of ``field`` (``inf`` when half the seeds or more never
        reached the target)."""
        return float(np.median(self.values(workload, optimizer, field)))

    def profile(self, field: str = "steps_to_target", optimizers=None,
                workloads=None) -> PerformanceProfile:
        """Dolan--Moré profile over the workloads of the median ``field`` over seeds."""
        opts = list(optimizers or self.optimizers())
        wls = list(workloads or self.workloads())
        costs = {o: {w: self.cost(w, o, field) for w in wls} for o in opts}
        return performance_profile(costs, methods=opts, problems=wls)

    # -- tables
    def table(self, field: str = "best_metric", optimizers=None, workloads=None) -> str:
        """Markdown: per workload and optimizer, the mean and 95% CI of ``field`` over the
        seeds, the chosen learning rate and an edge flag."""
        opts = list(optimizers or self.optimizers())
        wls = list(workloads or self.workloads())
        lines = ["| workload | " + " | ".join(OPTIMIZERS[o].label if o in OPTIMIZERS else o
                                              for o in opts) + " |",
                 "|---" * (len(opts) + 1) + "|"]
        for w in wls:
            cells = []
            for o in opts:
                vals = self.values(w, o, field)
                if np.all(np.isfinite(vals)) and vals.size >= 2:
                    s = summarize(vals)
                    cell = f"{s.mean:.4g} ± {s.half_width:.2g}"
                else:
                    cell = f"median {np.median(vals):.4g}"
                edge = [e.name for e in self.edges(w, o).values() if not e.interior]
                cell += f" (η={self.chosen(w, o)['lr']:.2g}" + (
                    f"; edge: {', '.join(edge)})" if edge else ")")
                cells.append(cell)
            lines.append(f"| {w} | " + " | ".join(cells) + " |")
        return "\n".join(lines)


def load_results(path) -> Results:
    """The records of the JSON-lines file ``path``."""
    records = read_records(path)
    if not records:
        raise invalid("path", str(path), "a results file with at least one record")
    return Results(records)
