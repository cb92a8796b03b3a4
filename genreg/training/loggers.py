"""Experiment loggers, chosen by name with ``train.loggers=NAME,...``; each is a callback
object (see :mod:`genreg.training.callbacks`) that the loop fires like any other.

``tensorboard``  TensorBoard event files in ``RUN/tensorboard/``: every metrics.jsonl record
                 as scalars (losses, learning rates, throughput) at its step, and every sample
                 figure (``samples/step-N.png``) as an image. Written through
                 ``torch.utils.tensorboard``; needs the ``tensorboard`` package
                 (``pip install 'genreg[tensorboard]'``). Only rank 0 writes. A resumed run
                 purges events after its checkpoint step, so the curves do not double back.
                 View with ``tensorboard --logdir RUN/tensorboard``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from ..errors import UsageError

LOGGERS = ("tensorboard",)
_SKIP = ("step",)  # the x axis, not a curve


class TensorBoardLogger:
    """Writes metrics.jsonl records and sample figures to TensorBoard (see the module docstring)."""

    def __init__(self) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UsageError("train.loggers=tensorboard needs the tensorboard package: "
                             "pip install 'genreg[tensorboard]' (or pip install tensorboard)") from None
        self._writer_class = SummaryWriter
        self.writer = None

    def on_train_start(self, run) -> None:
        if not run.dist.is_main:
            return
        folder = Path(run.run_dir) / "tensorboard"
        # after a resume, drop events a killed run wrote past its checkpoint
        self.writer = self._writer_class(str(folder), purge_step=run.step + 1 if run.step else None)

    def on_log(self, run, step: int, record: dict) -> None:
        if self.writer is None:
            return
        for key, value in record.items():
            if key not in _SKIP and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(key, value, step)
        self.writer.flush()

    def on_eval(self, run, step: int, path) -> None:
        if self.writer is None or path is None or not Path(path).is_file():
            return
        import numpy as np
        from PIL import Image

        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
        self.writer.add_image("samples", pixels, step, dataformats="HWC")
        self.writer.flush()

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def on_train_end(self, run, result) -> None:
        self._close()

    def on_exception(self, run, step: int, error) -> None:
        self._close()


def make_loggers(names: Iterable[str]) -> list[Any]:
    """The logger callbacks named in ``train.loggers``; UsageError for an unknown name or a
    missing package, before any data is built."""
    out = []
    for name in names:
        if name not in LOGGERS:
            raise UsageError(f"train.loggers: unknown logger {name!r}; loggers are: {', '.join(LOGGERS)}")
        out.append(TensorBoardLogger())
    return out
