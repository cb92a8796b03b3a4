"""genreg.process_memory: compute commands keep freed memory for reuse (no page faults
for a block freed and allocated again), the opt-out, and which commands do it."""

import platform
import subprocess
import sys

import pytest

from genreg import cli

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# minor page faults of the last 4 of 12 steps that each allocate and free a few large
# tensors (a 4096x4096 gradient-like product, a 100 MB buffer), as a training step does
FAULTS = """
import resource, torch
from genreg.process_memory import keep_for_command
print(keep_for_command())
w = torch.randn(256, 4096)
faults = []
for _ in range(12):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    x = torch.randn(64, 256); g = (x @ w).t() @ torch.ones(64, 4096); b = torch.ones(25_000_000)
    del x, g, b
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(sum(faults[-4:]))
"""


def _faults(env_value: str) -> tuple[str, int]:
    import os

    env = {**os.environ, "GENREG_KEEP_FREED_MEMORY": env_value, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", FAULTS], capture_output=True, text=True, env=env, check=True)
    applied, faults = out.stdout.split()
    return applied, int(faults)


@pytest.mark.skipif(not GLIBC, reason="mallopt thresholds are glibc's")
def test_kept_memory_is_reused_without_page_faults_and_the_opt_out_leaves_malloc_alone():
    applied, kept = _faults("1")
    assert applied == "True"
    skipped, default = _faults("0")
    assert skipped == "False"
    if default < 20000:
        pytest.skip(f"fresh memory faulted only {default} times here (huge pages): nothing to compare")
    assert kept < default / 10, (kept, default)


@pytest.mark.parametrize("argv, keeps", [(["bench", "--train-overhead", "nope"], True), (["list"], False)])
def test_only_compute_commands_change_the_allocator(monkeypatch, capsys, argv, keeps):
    calls = []
    monkeypatch.setattr("genreg.process_memory.keep_for_command", lambda: calls.append(1) or True)
    cli.main(argv)
    assert bool(calls) == keeps
    assert ("list" in argv) == (argv[0] not in cli.COMPUTE_COMMANDS)
