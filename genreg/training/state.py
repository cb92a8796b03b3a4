"""The process state a run restores exactly: seeds, RNG states, and stop signals."""

from __future__ import annotations

import random
import signal
import threading
from typing import Any, Optional

import numpy as np
import torch

STOP_SIGNALS = ("SIGINT", "SIGTERM")


class StopRequest:
    """SIGINT/SIGTERM set a flag the loop checks after each step; a second signal aborts."""

    def __init__(self) -> None:
        self.signal: Optional[str] = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum, frame) -> None:
        if self.signal is not None:
            raise KeyboardInterrupt  # asked twice: stop now (a checkpoint in progress stays atomic)
        self.signal = signal.Signals(signum).name

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for name in STOP_SIGNALS:
                num = getattr(signal, name)
                self._previous[num] = signal.signal(num, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for num, handler in self._previous.items():
            signal.signal(num, handler)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also every CUDA device


def host_rng_state() -> dict:
    """The python and numpy RNG states, JSON-able."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {"python": [version, list(internal), gauss],
            "numpy": {"kind": kind, "keys": [int(k) for k in keys], "pos": int(pos), "has_gauss": int(has_gauss),
                      "cached_gaussian": float(cached)}}


def restore_rng(tensors: dict, rng: dict, rank: int, device: torch.device) -> None:
    """Restore torch (CPU and CUDA), python and numpy RNG states; raises KeyError,
    TypeError, ValueError or RuntimeError on a missing or invalid state."""
    torch.set_rng_state(tensors[f"rng.torch.rank{rank}"])
    if device.type == "cuda" and f"rng.cuda.rank{rank}" in tensors:
        torch.cuda.set_rng_state(tensors[f"rng.cuda.rank{rank}"].cpu(), device)
    version, internal, gauss = rng["python"]
    random.setstate((version, tuple(internal), gauss))
    npst = rng["numpy"]
    np.random.set_state((npst["kind"], np.array(npst["keys"], dtype=np.uint32), npst["pos"],
                         npst["has_gauss"], npst["cached_gaussian"]))
