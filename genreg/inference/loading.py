"""Rebuild a trained model from a run directory or checkpoint: config -> registry -> weights.

Only the checkpoint module's public readers are used (safetensors + JSON, never pickle).
Weights go where the trainers saved them: an adversarial model's ``generator``, ``critic``
and (when the run kept one) ``ema`` generator; a reconstruction model's modules under
``model.`` (``model.net`` or ``model.encoder`` + ``model.decoder``).
"""

from __future__ import annotations

import copy
import dataclasses
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
    """Rebuild the model of a run directory (newest checkpoint) or of a checkpoint directory."""
    from .. import config as config_mod
    from .. import get_entry
    from ..models.base import AdversarialModel
    from ..train import checkpoint as ckpt

    dev = parse_device(device)
    where, tensors, state = ckpt.load_latest(path)
    cfg = config_mod.resolve(None, base=ckpt.stored_config(state, where))
    model = get_entry("model", cfg.model_name).create(**{
        f.name: getattr(cfg.model, f.name) for f in dataclasses.fields(cfg.model) if f.init})
    label = repr(str(where))
    ema = None
    if isinstance(model, AdversarialModel):
        ckpt.load_module("generator", model.generator, tensors, label)
        ckpt.load_module("critic", model.critic, tensors, label)
        if ckpt.has_module("ema", tensors):
            ema = copy.deepcopy(model.generator)
            ckpt.load_module("ema", ema, tensors, label)
    else:
        for name, module in model.modules().items():
            ckpt.load_module(f"model.{name}", module, tensors, label)
    for module in [*model.modules().values(), *([ema] if ema is not None else [])]:
        module.to(dev).eval().requires_grad_(False)
    return Rebuilt(path=where, step=int(state["step"]), cfg=cfg, model=model, ema=ema, device=dev)
