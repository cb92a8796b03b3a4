"""Shared test setup: slow tests run only on request, CUDA tests skip without a GPU, and
``one_thread`` for tests of tiny models."""

import pytest


def pytest_collection_modifyitems(config, items):
    markexpr = config.getoption("-m") or ""
    if "slow" in markexpr:
        return
    skip_slow = pytest.mark.skip(reason="slow test (a training run or an nvcc compile): run with `make test-slow` or `pytest -m slow`")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture
def cuda_device():
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device; this machine has none")
    return torch.device("cuda")


@pytest.fixture
def one_thread():
    """One torch thread: on a small shared CPU, OpenMP threads of tiny models only wait on
    each other."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
