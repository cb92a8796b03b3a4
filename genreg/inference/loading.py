"""Rebuild a trained model from a run directory or checkpoint: config -> registry -> weights.

Only the checkpoint module's public readers are used (safetensors + JSON, never pickle).
Weights go where the trainers saved them: an adversarial model's ``generator``, ``critic``
and (when the run kept one) ``ema`` generator; a reconstruction model's modules under
``model.`` (``model.net`` or ``model.encoder`` + ``model.decoder``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch

from ..errors import UsageError


@dataclass
class Rebuilt:
    """A model rebuilt from a checkpoint, weights loaded, in eval mode on ``device``."""

    path: Path  # the checkpoint directory
    step: int
    cfg: Any  # the run's resolved config (genreg.config.RunConfig)
    model: Any  # AdversarialModel or ReconstructionModel
    ema: Optional[torch.nn.Module]  # the EMA generator, when the run kept one
    device: torch.device

    @property
    def run_dir(self) -> Path:
        return self.path.parent.parent if self.path.parent.name == "checkpoints" else self.path


def parse_device(device) -> torch.device:
    """``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a torch.device; a one-line error when unusable."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise UsageError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"device {device!r} requested but this torch has no usable CUDA device")
    return dev


def rebuild(path, device="cpu") -> Rebuilt:
    """Rebuild the model of a run directory (newest checkpoint) or of a checkpoint directory,
    through :func:`genreg.training.checkpoint.load_run` (the loader ``genreg eval`` uses too)."""
    from ..training import checkpoint as ckpt

    dev = parse_device(device)
    stored = ckpt.load_run(path, dev)
    for module in [*stored.model.modules().values(), *([stored.ema] if stored.ema is not None else [])]:
        module.requires_grad_(False)
    return Rebuilt(path=stored.path, step=stored.step, cfg=stored.config, model=stored.model, ema=stored.ema,
                   device=dev)
