#!/usr/bin/env python3
"""The GPU check (``make gpu-check``): one prepared run on a CUDA machine without network.

Steps, in order, each in a subprocess with a time limit; a step that fails or times out
records its error and the next one runs:

  env       Python, torch, CUDA, the GPU; genreg's dependencies that are missing
  build     the wheels carried in .whl/ (if any), then ``pip install --no-build-isolation
            --no-deps -e .`` with TORCH_CUDA_ARCH_LIST set to the local card's capability only
            (GENREG_REQUIRE_EXT=1)
  info      ``genreg info --json``
  pytest    ``pytest -m cuda`` (every CUDA test), junit XML for the counts
  bench     ``python -m genreg.bench_gpu``: penalty GB/s vs copy bandwidth, conv blocks
            vs cuDNN, the whole WGAN-GP DCGAN-64 step (trainer vs a hand-written loop)
  train     about ``--train-seconds`` of ``genreg train`` per study model (image models
            at 64x64), each followed by ``genreg eval``
  torchrun  ``torchrun --standalone --nproc_per_node=1 -m genreg train ...``; a callback
            (scripts/gpu_check_probe.py) records the process group's backend (NCCL)

Results: ``OUT/gpu-check.json`` (steps, status, durations, key figures; rewritten after each
step, so a run cut short keeps what it did) and
``OUT/gpu-check.log`` (every command and its output); OUT is ``--out``, else
``$GPU_CHECK_OUT``, else ``gpu-results/``.

``--dry-run`` (``make gpu-check DRY_RUN=1``): everything that needs no GPU, on the CPU with
tiny budgets: the build is skipped (the checkout's own extension is used), CUDA-only parts
are skipped with the reason recorded, pytest -m cuda runs (its tests skip cleanly).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDY_MODELS = ("dae1d", "vae", "gan", "acgan", "wgan-gp", "wgan-div")
IMAGE_MODELS = ("vae", "gan", "acgan", "wgan-gp", "wgan-div")
STEPS = ("env", "build", "info", "pytest", "bench", "train", "torchrun")
# seconds per step on an H200 (the whole run must stay within 8 minutes)
SKIP = "_skip_reason"  # a step function returns {SKIP: why} when it did not apply
LIMITS = {"env": 60, "build": 240, "info": 60, "pytest": 150, "bench": 150, "train": 45, "torchrun": 60}


class Check:
    def __init__(self, out: Path, dry_run: bool, device: str) -> None:
        self.out, self.dry_run, self.device = out, dry_run, device
        self.log = open(out / "gpu-check.log", "w", encoding="utf-8")
        self.steps: list[dict] = []
        self.env = dict(os.environ, PYTHONUNBUFFERED="1")
        # genreg from this checkout even when it is not installed (the dry run's venv has it)
        self.env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), self.env.get("PYTHONPATH")) if p)
        self.started = time.time()
        self.lock = threading.Lock()  # the train steps run in parallel threads

    def write(self, text: str) -> None:
        with self.lock:
            self.log.write(text)
            self.log.flush()

    def run(self, cmd: list[str], timeout: float, env: dict | None = None) -> subprocess.CompletedProcess:
        """Runs cmd from the checkout's root; its output goes to the log. A timeout raises
        subprocess.TimeoutExpired after the output so far is logged."""
        header = f"\n$ {shlex.join(cmd)}   (limit {timeout:.0f} s)\n"
        start = time.time()
        # its own process group: a timeout ends its children too (torchrun's workers, nvcc, xdist)
        child = subprocess.Popen(cmd, cwd=ROOT, env=env or self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, start_new_session=True)
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            stdout, stderr = child.communicate()
            self.write(header + stdout + stderr + f"[killed after {timeout:.0f} s]\n")
            raise subprocess.TimeoutExpired(cmd, timeout) from None
        proc = subprocess.CompletedProcess(cmd, child.returncode, stdout, stderr)
        self.write(header + stdout + stderr + f"[exit {proc.returncode} after {time.time() - start:.1f} s]\n")
        return proc

    def step(self, name: str, fn, *args) -> dict:
        entry = {"name": name, "status": "ok"}
        self.write(f"\n===== {name} =====\n")
        start = time.time()
        try:
            figures = fn(*args)
            if isinstance(figures, dict) and SKIP in figures:
                entry["status"] = "skipped"
                entry["reason"] = figures.pop(SKIP)
            if figures:
                entry["figures"] = figures
        except subprocess.TimeoutExpired as exc:
            entry.update(status="timeout", error=f"over its limit of {exc.timeout:.0f} s: {shlex.join(exc.cmd)}")
        except Exception as exc:  # recorded; the next step runs
            entry.update(status="failed", error=f"{type(exc).__name__}: {' '.join(str(exc).split())[:2000]}")
        entry["duration_s"] = round(time.time() - start, 2)
        self.write(f"----- {name}: {entry['status']} in {entry['duration_s']} s\n")
        print(f"gpu-check: {name}: {entry['status']} ({entry['duration_s']} s)"
              + (f": {entry.get('error') or entry.get('reason')}" if entry["status"] != "ok" else ""), flush=True)
        return entry


def _check_rc(proc: subprocess.CompletedProcess, what: str) -> None:
    if proc.returncode != 0:
        tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-6:])
        raise RuntimeError(f"{what} exited with {proc.returncode}: {tail[-1500:]}")


# --- steps ----------------------------------------------------------------------------

ENV_PROBE = r"""
import json, importlib.metadata as md, re, sys
import torch
info = {"python": sys.version.split()[0], "torch": torch.__version__, "torch_cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available()}
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    info.update(gpu=p.name, capability="%d.%d" % (p.major, p.minor), multiprocessors=p.multi_processor_count,
                memory_GiB=round(p.total_memory / 2**30, 1))
try:
    import tomllib
    deps = tomllib.loads(open("pyproject.toml", "rb").read().decode())["project"]["dependencies"]
except ImportError:  # Python 3.10: no TOML reader in the standard library
    deps = []
missing = []
for dep in deps:
    name = re.split(r"[<>=!~;\[ ]", dep, maxsplit=1)[0]
    try:
        md.version(name)
    except md.PackageNotFoundError:
        missing.append(name)
info["missing_dependencies"] = missing
print(json.dumps(info))
"""


def step_env(check: Check) -> dict:
    proc = check.run([sys.executable, "-c", ENV_PROBE], LIMITS["env"])
    _check_rc(proc, "the environment probe")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    nvcc = subprocess.run(["nvcc", "--version"], capture_output=True, text=True) if _which("nvcc") else None
    info["nvcc"] = nvcc.stdout.strip().splitlines()[-1] if nvcc and nvcc.returncode == 0 else None
    info["platform"] = platform.platform()
    check.machine = info
    if info["missing_dependencies"]:
        check.write(f"missing: {info['missing_dependencies']}: carry them as wheels (docs/gpu.md)\n")
    return info


def _which(name: str) -> bool:
    return any((Path(p) / name).exists() for p in os.environ.get("PATH", "").split(os.pathsep))


def install_carried_wheels(check: Check) -> list[str]:
    """Installs the wheels carried in .whl/ (docs/gpu.md), without an index; returns their names."""
    wheels = sorted((ROOT / ".whl").glob("*.whl"))
    if not wheels:
        return []
    proc = check.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", *map(str, wheels)],
                     LIMITS["env"])
    _check_rc(proc, "pip install .whl/*.whl")
    return [w.name for w in wheels]


def step_build(check: Check) -> dict:
    if check.dry_run:
        return {SKIP: "dry run: no CUDA build; the checkout's installed extension is used"}
    carried = install_carried_wheels(check)
    env = dict(check.env, TORCH_CUDA_ARCH_LIST=check.machine["capability"], GENREG_REQUIRE_EXT="1",
               MAX_JOBS=str(os.cpu_count() or 4))
    proc = check.run([sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps", "--no-index",
                      "-e", "."], LIMITS["build"], env=env)
    _check_rc(proc, "pip install -e .")
    probe = check.run([sys.executable, "-c", "import genreg._C as c; print(c.WITH_CUDA)"], 60)
    _check_rc(probe, "import genreg._C")
    if probe.stdout.strip() != "1":
        raise RuntimeError("the extension was built without CUDA (WITH_CUDA=0)")
    return {"arch": check.machine["capability"], "carried_wheels": carried}


def step_info(check: Check) -> dict:
    proc = check.run([sys.executable, "-m", "genreg", "info", "--json"], LIMITS["info"])
    _check_rc(proc, "genreg info")
    info = json.loads(proc.stdout)
    (check.out / "genreg-info.json").write_text(json.dumps(info, indent=2) + "\n")
    return {"extension": info.get("extension"), "fused_ops": info.get("fused_ops")}


def step_pytest(check: Check, pytest_args: list[str]) -> dict:
    junit = check.out / "pytest-cuda.xml"
    cmd = [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:cacheprovider", "-rfEs",
           f"--junitxml={junit}", *pytest_args]
    if not check.dry_run and importlib.util.find_spec("xdist") is not None:
        cmd += ["-n", "4"]  # four processes share the GPU: the CUDA tests are many and short
    env = dict(check.env, GENREG_EXPECT_EXT="0" if check.dry_run else "1")
    proc = check.run(cmd, LIMITS["pytest"], env=env)
    figures = {"summary": (proc.stdout.strip().splitlines() or [""])[-1]}
    if junit.exists():
        suite = ET.parse(junit).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        figures.update({k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")})
        figures["failed_tests"] = [f"{c.get('classname')}::{c.get('name')}" for c in suite.iter("testcase")
                                   if c.find("failure") is not None or c.find("error") is not None][:50]
    if proc.returncode not in (0, 5):  # 5: nothing collected
        raise RuntimeError(f"pytest -m cuda: {figures['summary']} (failed: {figures.get('failed_tests')})")
    return figures


def step_bench(check: Check) -> dict:
    out = check.out / "bench.json"
    cmd = [sys.executable, "-m", "genreg.bench_gpu", "--device", check.device, "--json", str(out)]
    if check.dry_run:
        cmd += ["--tiny", "--reps", "1"]
    proc = check.run(cmd, LIMITS["bench"])
    figures = json.loads(out.read_text()) if out.exists() else {}
    if proc.returncode != 0:
        raise RuntimeError(f"bench_gpu exited with {proc.returncode}: {figures.get('errors') or proc.stderr[-800:]}")
    return figures


def _train_args(model: str, seconds: float, dry_run: bool) -> list[str]:
    args = [f"train.max_minutes={seconds / 60:.4f}", "train.steps=1000000", "train.log_every=10",
            "train.sample_every=0", "train.checkpoint_every=1000000"]
    if model in IMAGE_MODELS:
        args.append(f"data.size={32 if dry_run else 64}")
    if dry_run:  # tiny: a few steps on little data
        args = [a for a in args if not a.startswith(("train.steps", "train.max_minutes"))]
        args += ["train.steps=2", "train.log_every=1", "train.batch_size=4", "data.n=16"]
        if model in IMAGE_MODELS:
            args.append("model.base_channels=8" if model != "vae" else "model.hidden=16")
    return args


def step_train(check: Check, model: str, seconds: float) -> dict:
    run_dir = check.out / "runs" / model
    cmd = [sys.executable, "-m", "genreg", "train", model, *_train_args(model, seconds, check.dry_run),
           "--out", str(run_dir), "--device", check.device, "--quiet"]
    proc = check.run(cmd, seconds + LIMITS["train"])
    _check_rc(proc, f"genreg train {model}")
    figures: dict = {}
    summary = run_dir / "summary.json"
    if summary.exists():
        s = json.loads(summary.read_text())
        figures["train"] = {k: s[k] for k in ("step", "elapsed_s", "metrics") if k in s}
    ev = [sys.executable, "-m", "genreg", "eval", str(run_dir), "--json", "--device", check.device]
    if check.dry_run:
        ev += ["--n", "16"]
    proc = check.run(ev, LIMITS["train"] + 30)
    _check_rc(proc, f"genreg eval {model}")
    figures["eval"] = json.loads(proc.stdout)
    return figures


def step_torchrun(check: Check) -> dict:
    probe_file = check.out / "torchrun-backend.json"
    env = dict(check.env, GPU_CHECK_PROBE=str(probe_file))
    env["PYTHONPATH"] = os.pathsep.join((str(ROOT / "scripts"), env["PYTHONPATH"]))
    steps = 2 if check.dry_run else 50
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1", "-m", "genreg",
           "train", "mlp-gan", "data=ring8", f"train.steps={steps}", "train.log_every=1", "train.sample_every=0",
           "train.callbacks=gpu_check_probe:Probe", "--out", str(check.out / "runs" / "torchrun"),
           "--device", check.device, "--quiet"]
    proc = check.run(cmd, LIMITS["torchrun"], env=env)
    _check_rc(proc, "torchrun genreg train")
    probe = json.loads(probe_file.read_text())
    want = "nccl" if check.device == "cuda" else "gloo"
    if probe.get("backend") is None:
        # genreg/train/distributed.py joins a process group only when WORLD_SIZE > 1
        probe["note"] = ("no process group: the one-process torchrun run trained without torch.distributed, "
                         f"so {want} was not exercised")
        if not check.dry_run:
            raise RuntimeError(probe["note"])
    elif probe["backend"] != want:
        raise RuntimeError(f"the process group's backend is {probe['backend']!r}, expected {want!r}")
    return probe


# --- main -----------------------------------------------------------------------------


def key_figures(steps: list[dict]) -> dict:
    """The figures the issue's targets are stated in, gathered from the steps' figures."""
    by_name = {s["name"]: s.get("figures") or {} for s in steps}
    key: dict = {}
    tests = by_name.get("pytest", {})
    if "tests" in tests:
        key["cuda_tests"] = {k: tests[k] for k in ("tests", "failures", "errors", "skipped")}
    bench = by_name.get("bench", {})
    penalty = bench.get("penalty") or {}
    if "fused_share_of_copy" in penalty:
        key["penalty_fused_share_of_copy_bandwidth"] = round(penalty["fused_share_of_copy"], 3)
    for row in bench.get("blocks") or []:
        if "fused_speedup" in row:
            key[f"{row['op']} {row['size']} fused vs reference"] = round(row["fused_speedup"], 2)
    for row in bench.get("wgan_gp_step") or []:
        for name in ("trainer", "trainer_fast"):
            if f"{name}_vs_eager" in row:
                key[f"wgan-gp step batch {row['batch']}: {name} vs eager loop"] = round(row[f"{name}_vs_eager"], 3)
    trained = {s["name"].split(" ", 1)[1]: s["status"] for s in steps if s["name"].startswith("train ")}
    if trained:
        key["train_and_eval"] = trained
    return key


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("--out", default=os.environ.get("GPU_CHECK_OUT") or "gpu-results",
                   help="results folder (default $GPU_CHECK_OUT or gpu-results/)")
    p.add_argument("--dry-run", action="store_true", default=os.environ.get("DRY_RUN", "") not in ("", "0"),
                   help="no GPU: the CPU, tiny budgets, CUDA-only parts skipped (default: $DRY_RUN)")
    p.add_argument("--steps", default=",".join(STEPS), help=f"which steps, comma-separated (of {','.join(STEPS)})")
    p.add_argument("--models", default=",".join(STUDY_MODELS), help="models for the train step")
    p.add_argument("--train-seconds", type=float, default=20.0, help="wall-clock training per model")
    p.add_argument("--parallel", type=int, default=None,
                   help="training runs at a time (default 3 on a GPU, 1 in the dry run)")
    p.add_argument("--pytest-args", default="", help="extra pytest arguments (e.g. test paths), one string")
    p.add_argument("--budget-s", type=float, default=None,
                   help="steps that would start after this many seconds are skipped (default 480, the "
                        "8 minutes a GPU run may take; 3600 in the dry run, which a loaded CPU slows)")
    return p.parse_args(argv)


def save(check: Check, args, status: str) -> dict:
    """Writes gpu-check.json; called after every step, so a run cut short keeps what it did."""
    failed = [s["name"] for s in check.steps if s["status"] in ("failed", "timeout")]
    result = {"dry_run": args.dry_run, "device": check.device, "started": time.strftime(
              "%Y-%m-%dT%H:%M:%SZ", time.gmtime(check.started)), "total_s": round(time.time() - check.started, 1),
              "status": "failed" if failed and status != "running" else status, "failed_steps": failed,
              "machine": check.machine, "key_figures": key_figures(check.steps), "steps": check.steps}
    tmp = check.out / "gpu-check.json.tmp"
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(check.out / "gpu-check.json")
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.budget_s is None:
        args.budget_s = 3600.0 if args.dry_run else 480.0
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        print(f"gpu-check: unknown steps {unknown}; steps are {','.join(STEPS)}", file=sys.stderr)
        return 2
    check = Check(out, args.dry_run, "cpu" if args.dry_run else "cuda")
    check.machine = {}

    def skip(name: str, reason: str) -> None:
        check.steps.append({"name": name, "status": "skipped", "reason": reason, "duration_s": 0.0})

    check.steps.append(check.step("env", step_env, check))
    save(check, args, "running")
    no_gpu = not args.dry_run and not check.machine.get("cuda_available")
    if no_gpu:
        print("gpu-check: torch sees no CUDA device: every other step is skipped "
              "(DRY_RUN=1 runs what needs no GPU)", file=sys.stderr)
    for name in steps:
        if name == "env":
            continue
        if no_gpu:
            skip(name, "torch sees no CUDA device")
        elif time.time() - check.started > args.budget_s:
            skip(name, f"the run is over its time budget of {args.budget_s:.0f} s (--budget-s)")
        elif name == "train":
            models = [m.strip() for m in args.models.split(",") if m.strip()]
            workers = args.parallel or (1 if args.dry_run else 3)
            # the runs only need to work and score: several at a time share the GPU (the bench,
            # which times things, has finished)
            with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
                runs = [pool.submit(check.step, f"train {m}", step_train, check, m, args.train_seconds)
                        for m in models]
                check.steps.extend(r.result() for r in runs)
        else:
            fn = {"build": step_build, "info": step_info, "bench": step_bench, "torchrun": step_torchrun}.get(name)
            extra = (shlex.split(args.pytest_args),) if name == "pytest" else ()
            check.steps.append(check.step(name, fn or step_pytest, check, *extra))
        save(check, args, "running")
    result = save(check, args, "no_gpu" if no_gpu else "ok")
    check.log.close()
    failed = result["failed_steps"]
    print(f"gpu-check: {result['status']} in {result['total_s']} s; results in {out}/gpu-check.json"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed or no_gpu else 0


if __name__ == "__main__":
    sys.exit(main())
