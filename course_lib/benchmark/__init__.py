"""Comparing optimizers honestly (chapter 12): workloads, a tuning protocol with the same
budget for every optimizer, repetition over seeds with confidence intervals, time-to-target,
Dolan--Moré performance profiles, resumable JSON-lines results.

* :mod:`~course_lib.benchmark.workloads` -- :class:`Workload`, :func:`run_trial`, the six
  standard workloads;
* :mod:`~course_lib.benchmark.tuning` -- search spaces, :class:`Budget`, random and grid
  search, :func:`interior_check`, :func:`tune` (all three in one call);
* :mod:`~course_lib.benchmark.stats` -- :func:`summarize` (t interval), :func:`compare`;
* :mod:`~course_lib.benchmark.profiles` -- :func:`performance_profile`;
* :mod:`~course_lib.benchmark.runner` -- :func:`run_benchmark` (resumable), the optimizers;
* :mod:`~course_lib.benchmark.results` -- :func:`load_results`, tables and profiles;
* :mod:`~course_lib.benchmark.plots` -- figures on matplotlib axes;
* :mod:`~course_lib.benchmark.cli` -- ``python -m course_lib.benchmark.cli``.
"""

from .profiles import PerformanceProfile, performance_profile, performance_ratios
from .results import Results, load_results
from .runner import (
           DEFAULT_OPTIMIZERS,
           OPTIMIZERS,
           OptimizerSpec,
           code_version,
           get_optimizer,
           machine_info,
           read_records,
           run_benchmark,
           select_best,
)
from .stats import MIN_SEEDS, NOT_DISTINGUISHABLE, Comparison, Summary, compare, summarize
from .tuning import (
           Budget,
           EdgeCheck,
           Fixed,
           LogUniform,
           SearchSpace,
           TuningOutcome,
           Uniform,
           config_seed,
           grid_configs,
           interior_check,
           random_configs,
           tune,
)
from .workloads import WORKLOADS, TrialResult, Workload, get_workload, run_trial

__all__ = ["Workload", "TrialResult", "run_trial", "WORKLOADS", "get_workload",
           "LogUniform", "Uniform", "Fixed", "SearchSpace", "Budget", "random_configs",
           "grid_configs", "EdgeCheck", "interior_check", "config_seed", "tune", "TuningOutcome",
           "Summary", "summarize", "Comparison", "compare", "NOT_DISTINGUISHABLE", "MIN_SEEDS",
           "PerformanceProfile", "performance_profile", "performance_ratios",
           "OptimizerSpec", "OPTIMIZERS", "DEFAULT_OPTIMIZERS", "get_optimizer",
           "run_benchmark", "read_records", "select_best", "machine_info", "code_version",
           "Results", "load_results"]
