"""scripts/gpu_check.py (``make gpu-check``) runs end to end in its dry run (no GPU, the
CPU, tiny budgets), so the script a GPU session relies on is tested here. The training
step is limited to the denoiser and the pytest step to one CUDA test module to keep this
test short; the full dry run is ``make gpu-check DRY_RUN=1``."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_check.py"


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu-check")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--dry-run", "--out", str(out), "--models", "dae1d",
                           "--pytest-args", "tests/kernels/test_cuda_paths.py"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    result = json.loads((out / "gpu-check.json").read_text())
    return proc, result, out


def _step(result, name):
    steps = {s["name"]: s for s in result["steps"]}
    assert name in steps, f"no step {name!r} in {sorted(steps)}"
    return steps[name]


def test_dry_run_passes_and_writes_json_and_log(dry_run):
    proc, result, out = dry_run
    failed = {s["name"]: s.get("error") for s in result["steps"] if s["status"] in ("failed", "timeout")}
    assert proc.returncode == 0 and result["status"] == "ok", f"failed steps: {failed}\n{proc.stdout[-2000:]}"
    assert result["dry_run"] is True and result["device"] == "cpu"
    assert [s["name"] for s in result["steps"]] == ["env", "build", "info", "pytest", "bench", "train dae1d",
                                                     "torchrun"]
    assert all(s["duration_s"] >= 0 for s in result["steps"])
    key = result["key_figures"]
    assert key["train_and_eval"] == {"dae1d": "ok"} and key["cuda_tests"]["errors"] == 0
    assert "penalty_fused_share_of_copy_bandwidth" in key
    log = (out / "gpu-check.log").read_text()
    assert "===== bench =====" in log and "genreg.bench_gpu" in log


def test_dry_run_skips_the_build_with_its_reason(dry_run):
    build = _step(dry_run[1], "build")
    assert build["status"] == "skipped" and "dry run" in build["reason"]


def test_dry_run_records_the_machine_and_genreg_info(dry_run):
    _, result, _ = dry_run
    machine = result["machine"]
    assert machine["torch"] and machine["python"] and isinstance(machine["missing_dependencies"], list)
    info = _step(result, "info")["figures"]
    assert set(info["fused_ops"]) >= {"gp_interpolate", "grad_penalty_forward", "conv1d_block_forward"}


def test_dry_run_pytest_step_counts_the_cuda_tests(dry_run):
    figures = _step(dry_run[1], "pytest")["figures"]
    assert figures["tests"] > 0 and figures["failures"] == 0 and figures["errors"] == 0
    import torch

    if not torch.cuda.is_available():  # every CUDA test skips cleanly here
        assert figures["skipped"] == figures["tests"]


def test_dry_run_bench_figures(dry_run):
    figures = _step(dry_run[1], "bench")["figures"]
    assert figures["tiny"] is True and figures["errors"] == []
    assert figures["copy_GBps"] > 0
    assert figures["penalty"]["eager_GBps"] > 0
    ops = {row["op"] for row in figures["blocks"]}
    assert ops == {"conv1d_block", "upconv1d_block"}
    for row in figures["blocks"]:
        assert row["reference_ms"] > 0
        if "fused_ms" in row:
            assert row["max_rel_error_float64"] < 1e-9
    (step,) = figures["wgan_gp_step"]
    assert step["eager_img_per_s"] > 0 and step["trainer_img_per_s"] > 0, step


def test_dry_run_trains_and_evaluates(dry_run):
    figures = _step(dry_run[1], "train dae1d")["figures"]
    assert figures["train"]["step"] == 2
    assert figures["eval"], "genreg eval --json printed nothing"


def test_dry_run_torchrun_records_the_backend(dry_run):
    """On the CPU the group is Gloo: a one-process torchrun run joins a process group too."""
    figures = _step(dry_run[1], "torchrun")["figures"]
    assert figures["world_size"] == 1 and figures["device"] == "cpu"
    assert figures["backend"] == "gloo"  # a one-process torchrun joins a process group


def test_unknown_step_is_a_usage_error(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--dry-run", "--out", str(tmp_path), "--steps", "bild"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "unknown steps ['bild']" in proc.stderr


def test_without_a_gpu_the_real_run_skips_and_fails(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path), "--steps", "env,build,info"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "DRY_RUN": ""})
    result = json.loads((tmp_path / "gpu-check.json").read_text())
    assert proc.returncode == 1 and result["status"] == "no_gpu" and "torch sees no CUDA device" in proc.stderr
    assert [(s["name"], s["status"]) for s in result["steps"]] == [("env", "ok"), ("build", "skipped"),
                                                                    ("info", "skipped")]


def test_steps_past_the_time_budget_are_skipped(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--dry-run", "--out", str(tmp_path), "--steps", "env,info",
                           "--budget-s", "0"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    result = json.loads((tmp_path / "gpu-check.json").read_text())
    info = _step(result, "info")
    assert proc.returncode == 0 and info["status"] == "skipped" and "time budget of 0 s" in info["reason"]
