"""What a finished (or stopped) run returns and writes: :class:`TrainResult`, summary.json."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

WALL_CLOCK_FIELDS = ("samples_per_s", "time_s")  # metrics.jsonl fields that differ between equal runs


@dataclass
class TrainResult:
    run_dir: Path
    step: int  # steps completed in total
    steps_this_run: int
    checkpoint: Optional[Path]
    metrics: dict = field(default_factory=dict)  # the last metrics.jsonl record
    interrupted: Optional[str] = None  # "SIGINT" / "SIGTERM" when stopped by a signal
    time_limited: bool = False  # stopped early by train.max_minutes
    elapsed_s: float = 0.0
    summary: str = ""


def summary_line(r: TrainResult, cfg, world_size: int) -> str:
    """The one-line summary printed at the end of a run."""
    losses = ", ".join(f"{k}={v:.4g}" for k, v in r.metrics.items()
                       if isinstance(v, float) and k not in WALL_CLOCK_FIELDS and not k.startswith("lr"))
    rate = r.steps_this_run / r.elapsed_s if r.elapsed_s > 0 else 0.0
    head = (f"interrupted by {r.interrupted} at step {r.step}" if r.interrupted
            else f"trained {cfg.model_name} on {cfg.data.get('name')} to step {r.step}"
            + (f" (time limit of {cfg.train.max_minutes:g} min)" if r.time_limited else ""))
    procs = f" on {world_size} processes" if world_size > 1 else ""
    return (f"{head}: {r.steps_this_run} steps in {r.elapsed_s:.1f} s ({rate:.1f} steps/s{procs})"
            + (f"; {losses}" if losses else "") + f"; checkpoint {r.checkpoint}")


def write_summary(path: Path, r: TrainResult, cfg, world_size: int) -> None:
    path.write_text(json.dumps({
        "model": cfg.model_name, "data": cfg.data.get("name"), "step": r.step,
        "steps_this_run": r.steps_this_run, "elapsed_s": round(r.elapsed_s, 3),
        "interrupted": r.interrupted, "time_limited": r.time_limited,
        "checkpoint": str(r.checkpoint) if r.checkpoint else None,
        "metrics": r.metrics, "world_size": world_size}, indent=1) + "\n")
