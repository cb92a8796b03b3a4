"""Shared test setup: slow tests run only on request, CUDA tests skip without a GPU."""

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
