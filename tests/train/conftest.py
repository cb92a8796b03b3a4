"""Fixtures for the training tests: the test data plugin and a one-thread torch.

Helpers that tests import live in modules of their own (cli_runs.py), not here: a
`from conftest import ...` would pick whichever conftest.py was imported first."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


@pytest.fixture
def toys():
    """Register the tiny test data sets for one test."""
    import genreg
    import train_toys

    manager = genreg.get_plugin_manager()
    manager.register(train_toys, name=train_toys.PLUGIN_NAME)
    try:
        yield train_toys
    finally:
        manager.unregister(train_toys.PLUGIN_NAME)
