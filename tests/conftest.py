import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _float64_and_seed():
    """Tests compare against references in float64 and are seeded."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    yield
    torch.set_default_dtype(previous)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# Test tiers (pyproject.toml's markers; the tables are in tests/tiers.py).
from tiers import SLOW_FILES, SLOW_TESTS, TIERS  # noqa: E402


def pytest_collection_modifyitems(config, items):
    for item in items:
        tier = TIERS.get(item.path.name, "notebooks" if item.path.suffix == ".ipynb" else "unit")
        item.add_marker(getattr(pytest.mark, tier))
        if tier == "unit" and (item.path.name in SLOW_FILES
                               or item.name.startswith(SLOW_TESTS)):
            item.add_marker(pytest.mark.slow)
