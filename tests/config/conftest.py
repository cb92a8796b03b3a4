"""Fixtures of the config tests."""

import pytest


@pytest.fixture
def one_thread():
    """Tiny models: threads only contend with each other on a shared CPU."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
