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


# Test tiers (pyproject.toml's markers): every test is marked by the file it lives in, so the
# tiers say what they cover without a decorator on each test. `python3 tasks.py test --fast`
# runs `unit and not slow`.
TIERS = {
    "test_book.py": "notebooks",
    "test_browser.py": "browser",
    "test_homework.py": "homework",
    "test_grading_security.py": "homework",
    "test_distributed.py": "distributed",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        tier = TIERS.get(item.path.name, "notebooks" if item.path.suffix == ".ipynb" else "unit")
        item.add_marker(getattr(pytest.mark, tier))
