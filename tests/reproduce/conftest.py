"""The reproduce tests import the shared helpers (plugin_dists, test_cli) from tests/."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Every test here runs with one torch thread (the root conftest's ``one_thread``)."""
    yield
