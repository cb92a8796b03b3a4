"""metrics.jsonl: per-step values summed on the device, one JSON line per log interval.

Each step's metrics are stacked into one float64 vector and added to a device-side sum
(masked by the step's ok flag, so a skipped update's non-finite losses are left out,
without a host read). A line holds the mean over the steps since the last line, averaged
over the processes. The sums are part of a checkpoint, so a resumed run writes the same
lines as an uninterrupted one. A run's last line may close an interval early (the end
of ``train.steps`` or of ``train.max_minutes``): those sums are then kept, and a run that
resumes from that step replaces the early line with the full interval's.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Optional

import torch
from torch import Tensor

from . import distributed
from .distributed import DistContext


def _json_safe(value: float) -> Optional[float]:
    return value if math.isfinite(value) else None


class MetricsLog:
    def __init__(self, path: Path, dist: DistContext, device: torch.device) -> None:
        self.path, self.dist, self.device = path, dist, device
        self.names: list[str] = []
        self._last_names: tuple = ()
        self._sum: Optional[Tensor] = None
        self._count = 0
        self._count_t: Optional[Tensor] = None  # steps counted on the device (deferred guard)

    # -- accumulating ---------------------------------------------------------------

    def add(self, names: tuple, values: Tensor, ok) -> None:
        """Add one step's metrics (``values[i]`` of ``names[i]``); ``ok`` (bool or 0-d bool
        tensor) false leaves them out."""
        if ok is False:
            return
        if names != self._last_names:
            if list(names) != self.names[:len(names)]:
                self._align(list(names))
            self._last_names = names
        if len(names) < len(self.names):  # a name missing this step adds 0
            values = torch.cat([values, values.new_zeros(len(self.names) - len(names))])
        if ok is not True:
            values = torch.where(ok, values, 0.0)
            self._count_t = ok.to(torch.int64) if self._count_t is None else self._count_t + ok
        else:
            self._count += 1
        if self._sum is None:
            self._sum = values.to(torch.float64, copy=True)
        else:
            self._sum.add_(values)  # float64 sums of float32 values

    def _align(self, names: list[str]) -> None:
        """Reorder the sums to ``names`` first (then any others); a new name starts at zero."""
        order = names + [n for n in self.names if n not in names]
        if self._sum is not None:
            zero = self._sum.new_zeros(())
            index = {n: i for i, n in enumerate(self.names)}
            self._sum = torch.stack([self._sum[index[n]] if n in index else zero for n in order])
        self.names = order

    def count(self) -> int:
        return self._count + (int(self._count_t) if self._count_t is not None else 0)

    def reset(self) -> None:
        self._sum, self._count, self._count_t = None, 0, None

    # -- lines ----------------------------------------------------------------------

    def means(self) -> dict[str, Optional[float]]:
        """The interval's means by name, sorted by name (one host read)."""
        count = self.count()
        if self._sum is None or not count:
            return {}
        means = distributed.all_reduce_mean(self._sum / count, self.dist).cpu().tolist()
        return {n: _json_safe(m) for n, m in sorted(zip(self.names, means))}

    def write(self, record: dict[str, Any]) -> None:
        if self.dist.is_main:
            with self.path.open("a") as fh:
                fh.write(json.dumps(record) + "\n")

    def trim_for_resume(self, step: int, log_every: int, continues: bool) -> None:
        """Keep the lines up to the resumed ``step``; an early-closed line at ``step`` goes
        too when the run continues (the resumed run writes the full interval's line)."""
        if not self.path.exists():
            return
        kept = []
        for line in self.path.read_text().splitlines():
            if not line.strip():
                continue
            at = json.loads(line).get("step", 0)
            if at < step or (at == step and not (continues and at % log_every)):
                kept.append(line)
        self.path.write_text("".join(line + "\n" for line in kept))

    # -- checkpoints ----------------------------------------------------------------

    def state(self) -> tuple[dict, dict[str, Tensor]]:
        """(JSON part, {name: 0-d tensor}) of the sums, as checkpoints store them."""
        meta = {"count": self.count(), "names": sorted(self.names)}
        if self._sum is None:
            return {"count": 0, "names": []}, {}
        return meta, {n: v for n, v in zip(self.names, self._sum.unbind())}

    def load_state(self, meta: dict, sums: dict[str, Tensor]) -> None:
        self.reset()
        self._count = int(meta.get("count", 0))
        names = list(meta.get("names", []))
        self.names = names
        if names:
            self._sum = torch.stack([sums[n].reshape(()).to(torch.float64) for n in names]).to(self.device)
