"""The evaluation tests import the shared plugin-distribution writer from tests/."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pytest


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: on a shared machine, OpenMP threads waiting on each other cost more
    than they bring on these tiny networks."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
