"""`genreg` CLI runs in subprocesses, with the test data sets registered (see run_cli.py)."""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


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
