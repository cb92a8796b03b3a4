"""Curves over training steps: the loss curves of a run's ``metrics.jsonl``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Mapping, Sequence

from ..errors import UsageError
from . import pyplot, save

# bookkeeping columns of metrics.jsonl that are not losses
NOT_LOSSES = ("step", "epoch", "skipped", "samples_per_s", "time_s")


def read_metrics(path) -> list[dict]:
    """The records of a ``metrics.jsonl`` file (one JSON object per line; a torn last line,
    as a killed run can leave, is skipped)."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{str(path)!r} does not exist: a run directory holds metrics.jsonl once it has logged")
    records = []
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if i == len(lines) - 1:
                break
            raise UsageError(f"{str(path)!r} line {i + 1} is not JSON") from None
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            records.append(record)
    return records


def plot_curves(steps: Sequence[float], curves: Mapping[str, Sequence[float]], path, title: str = "",
                log_scale: bool = False) -> str:
    """Named curves against step, one panel each (values that are None/NaN are gaps)."""
    if not curves:
        raise UsageError("curve plot: nothing to draw")
    plt = pyplot()
    n = len(curves)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows), squeeze=False)
    for ax, (name, values) in zip(axes.flat, curves.items()):
        ys = [float("nan") if v is None else float(v) for v in values]
        ax.plot(steps, ys, lw=1.0)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        if log_scale and all(y > 0 for y in ys if math.isfinite(y)):
            ax.set_yscale("log")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path)


def plot_loss_curves(metrics_path, path, title: str = "") -> str:
    """The loss terms and learning rates logged in ``metrics_path`` (metrics.jsonl), one
    panel per column, against the step."""
    records = read_metrics(metrics_path)
    if not records:
        raise UsageError(f"{str(metrics_path)!r} holds no logged step yet; nothing to plot")
    names = []
    for record in records:
        for key, value in record.items():
            if key not in NOT_LOSSES and key not in names and (value is None or isinstance(value, (int, float))):
                names.append(key)
    curves = {name: [r.get(name) for r in records] for name in names}
    return plot_curves([r["step"] for r in records], curves, path, title=title)
