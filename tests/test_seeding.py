"""course_lib.seeding: the offset the robustness check uses to shift every notebook's seeds."""

import numpy as np
import pytest

from course_lib import seeding


def test_default_offset_is_zero(monkeypatch):
    monkeypatch.delenv(seeding.ENV_VAR, raising=False)
    assert seeding.seed(0) == 0 and seeding.seed(7) == 7
    assert seeding.seeds(3, start=2) == [2, 3, 4]


def test_offset_shifts_every_seed(monkeypatch):
    monkeypatch.setenv(seeding.ENV_VAR, "1000")
    assert seeding.seed(3) == 1003
    assert seeding.seeds(2) == [1000, 1001]
    a = seeding.rng(5).standard_normal(4)
    assert np.array_equal(a, np.random.default_rng(1005).standard_normal(4))


@pytest.mark.parametrize("raw", ["x", "-1", "1.5"])
def test_bad_offset_is_a_clear_error(monkeypatch, raw):
    monkeypatch.setenv(seeding.ENV_VAR, raw)
    with pytest.raises(ValueError, match=r"Invalid COURSE_SEED_OFFSET: .* \(expected a non-negative integer\)"):
        seeding.seed(0)


def test_bad_seed_arguments(monkeypatch):
    monkeypatch.delenv(seeding.ENV_VAR, raising=False)
    with pytest.raises(TypeError, match="seed expects an integer"):
        seeding.seed(1.0)
    with pytest.raises(ValueError, match=r"Invalid seed: -1"):
        seeding.seed(-1)
    with pytest.raises(ValueError, match=r"Invalid count: 0"):
        seeding.seeds(0)
