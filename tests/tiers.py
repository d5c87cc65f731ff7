"""The test tiers: which marker each test file carries, and what the edit loop leaves out.

Read by tests/conftest.py (which marks every test by its file) and by tasks.py (whose
``test --fast`` does not even import the files it leaves out, so it starts in seconds); plain
data, no imports.
"""

# Files outside the `unit` tier.
TIERS = {
    "test_book.py": "notebooks",
    "test_browser.py": "browser",
    "test_homework.py": "homework",
    "test_grading_security.py": "homework",
    "test_distributed.py": "distributed",
}

# Whole files that check every option set of every optimizer against torch or a reference
# library: unit tests all the same, but left out of the edit loop (`unit and not slow`); CI
# runs them.
SLOW_FILES = {"test_optim_torch_generic.py", "test_optim_parity.py", "test_optim_twins.py",
              "test_optim_frontier.py", "test_schedules_torch.py", "test_benchmark.py"}

# Single tests that train a network or start an interpreter (prefixes of their names).
SLOW_TESTS = ("test_module_averages_equal_torch_AveragedModel", "test_swa_equals_AveragedModel",
              "test_step_with_course_sgd_trains_like_torch_optim_sgd",
              "test_no_grid_point_beats_the_optimal_heavy_ball", "test_old_names_in_a_fresh",
              "test_importing_the_package_is_light", "test_bridge_drives_optimizer_like_torch",
              "test_plateau_callback_equals_torch",
              "test_errata_18_dropout", "test_batchnorm1d_matches_torch_over_training",
              "test_animation_html_stores_layers", "test_lbfgs_evaluations_on_rosenbrock")
