"""Carry out a plan: train and evaluate each planned run through ``genreg.train`` and
``genreg.eval`` (the Python twins of the commands the report names), reusing what a
previous invocation finished.

Each run directory holds ``reproduce.json``: the plan keys it was made for, the commands,
the machine and the seconds spent. A run is reused when its key matches and its
``summary.json`` says it reached ``train.steps`` (or its time limit) without being
interrupted; an evaluation when its key matches and its ``eval.json`` is of the run's final
step. A run with checkpoints but no finished summary (killed, interrupted) is resumed from
its newest checkpoint (its time limit, if any, starts afresh); a run made for another plan
key is deleted and retrained. A directory without ``reproduce.json`` is never touched.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from pathlib import Path
from typing import Callable, Optional

from ..errors import UsageError
from .plan import PlannedEval, PlannedRun, PlannedSection

RECORD = "reproduce.json"


def machine(device: str = "cpu") -> dict:
    """CPU model, cores, torch version and device of this process (for the report)."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and torch.cuda.is_available():
        device = f"cuda ({torch.cuda.get_device_name(0)})"
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "device": device}


def read_json(path: Path) -> Optional[dict]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _write_record(run_dir: Path, record: dict) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / (RECORD + ".tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    tmp.replace(run_dir / RECORD)


def finished(run: PlannedRun) -> bool:
    summary = read_json(run.run_dir / "summary.json")
    return bool(summary and not summary.get("interrupted") and summary.get("checkpoint")
                and (summary.get("step", 0) >= run.steps or summary.get("time_limited")))


class Interrupted(Exception):
    """Training stopped on SIGINT/SIGTERM: reproduce stops too (rerun to continue)."""


def run_training(run: PlannedRun, log: Callable[[str], None]) -> dict:
    """Train ``run`` (or reuse / resume it); returns its record."""
    from ..training import checkpoint as ckpt
    from ..training.loop import train

    record = read_json(run.run_dir / RECORD)
    if run.run_dir.exists() and any(run.run_dir.iterdir()):
        if record is None:
            raise UsageError(f"{run.run_dir} exists and was not made by genreg reproduce ({RECORD} missing); "
                             "choose another --out or remove it")
        if record.get("key") != run.key:
            log(f"{run.section}/{run.id}: the plan changed since this run was made: retraining from scratch")
            shutil.rmtree(run.run_dir)
            record = None
    if record is None:
        record = {"key": run.key, "command": run.command, "train_s": 0.0, "evals": {}}
    if finished(run):
        log(f"{run.section}/{run.id}: reusing the finished run in {run.run_dir}")
        return record
    resumable = run.run_dir.is_dir() and bool(ckpt.list_checkpoints(run.run_dir))
    if run.run_dir.is_dir() and not resumable:  # stopped before its first checkpoint: start clean
        shutil.rmtree(run.run_dir)
    record["machine"] = machine(run.device)
    _write_record(run.run_dir, record)
    if resumable:
        log(f"{run.section}/{run.id}: resuming the unfinished run in {run.run_dir}")
        result = train(overrides=run.overrides, resume=run.run_dir, quiet=True)
    else:
        log(f"{run.section}/{run.id}: training: {run.command}")
        result = train(run.model, overrides=run.overrides, out=run.run_dir, preset=run.preset, quiet=True)
    record["train_s"] = round(record.get("train_s", 0.0) + result.elapsed_s, 3)
    record["evals"] = {}  # evaluations of an earlier, unfinished state are stale
    _write_record(run.run_dir, record)
    if result.interrupted:
        raise Interrupted(f"{run.section}/{run.id} interrupted by {result.interrupted} at step {result.step}; "
                          "rerun the same command to continue")
    log(f"{run.section}/{run.id}: {result.summary}")
    return record


def run_eval(ev: PlannedEval, record: dict, log: Callable[[str], None]) -> None:
    from ..data import parse_assignments
    from ..eval import evaluate

    summary = read_json(ev.run.run_dir / "summary.json") or {}
    done = record.get("evals", {}).get(ev.id, {})
    metrics = read_json(ev.out / "eval.json")
    if done.get("key") == ev.key and metrics and metrics.get("step") == summary.get("step"):
        log(f"{ev.section}/{ev.id}: reusing {ev.out / 'eval.json'}")
        return
    log(f"{ev.section}/{ev.id}: evaluating: {ev.command}")
    started = time.perf_counter()
    evaluate(ev.run.run_dir, ev.out, n=ev.n, data_overrides=parse_assignments(ev.data))
    record.setdefault("evals", {})[ev.id] = {"key": ev.key, "command": ev.command,
                                             "eval_s": round(time.perf_counter() - started, 3),
                                             "machine": machine("cpu")}
    _write_record(ev.run.run_dir, record)


def execute(sections: list[PlannedSection], log: Callable[[str], None]) -> None:
    """Train and evaluate every run of every section that is not skipped."""
    for section in sections:
        if section.skipped:
            log(f"{section.name}: skipped ({section.skipped})")
            continue
        for run in section.runs:
            record = run_training(run, log)
            for ev in section.evals.values():
                if ev.run is run:
                    run_eval(ev, record, log)
