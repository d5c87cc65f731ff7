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
