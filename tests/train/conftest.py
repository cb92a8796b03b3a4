"""Fixtures for the training tests: the test data plugin, and CLI runs in subprocesses."""

import os
import subprocess
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


def cli_command(*args: str) -> list[str]:
    """`genreg ARGS` (with the test data sets) as a subprocess command line."""
    return [sys.executable, str(HERE / "run_cli.py"), *args]


def cli_env() -> dict:
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parents[1]), env.get("PYTHONPATH", "")]))
    return env


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(cli_command(*args), capture_output=True, text=True, timeout=timeout, env=cli_env())


@pytest.fixture
def one_thread():
    """Tiny models: threads only contend with each other on a shared CPU."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
