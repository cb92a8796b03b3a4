"""What every evaluation family shares: the loaded run, its test data, batched inference,
sampling from a generator and JSON conversion."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from torch import Tensor

from ..errors import UsageError


@dataclass
class LoadedRun:
    """A trained model rebuilt from a checkpoint (see :func:`load_run`)."""

    path: Path  # the checkpoint directory
    cfg: Any  # the run's resolved config (genreg.config.RunConfig)
    model: Any  # AdversarialModel or ReconstructionModel, weights loaded, eval mode
    step: int
    sampler: Any = None  # the generator used for samples (the EMA copy when the run kept one)

    @property
    def kind(self) -> str:
        """The evaluation family: see :func:`model_family`."""
        return model_family(self.model)

    @property
    def run_dir(self) -> Path:
        """The run directory (the checkpoint directory itself when it is not inside one)."""
        return self.path.parent.parent if self.path.parent.name == "checkpoints" else self.path


def model_family(model) -> str:
    """Which evaluation a model gets: its (or its ``net``'s) ``eval_family`` attribute when it
    sets one (a plugin's model may name any registered family), else ``gan`` for adversarial models,
    ``denoiser`` for a single-``net`` reconstruction model and ``autoencoder`` for an
    encoder + decoder."""
    from ..models.base import AdversarialModel

    family = getattr(model, "eval_family", None) or getattr(getattr(model, "net", None), "eval_family", None)
    if family:
        return str(family)
    if isinstance(model, AdversarialModel):
        return "gan"
    return "denoiser" if getattr(model, "net", None) is not None else "autoencoder"


def load_run(path, device: str = "cpu") -> LoadedRun:
    """Rebuild the model of a run directory (newest checkpoint) or a checkpoint directory,
    through :func:`genreg.training.checkpoint.load_run`."""
    from ..models.base import AdversarialModel
    from ..training import checkpoint as ckpt

    stored = ckpt.load_run(path, device)
    sampler = None
    if isinstance(stored.model, AdversarialModel):
        sampler = stored.ema if stored.ema is not None else stored.model.generator
    return LoadedRun(path=stored.path, cfg=stored.config, model=stored.model, step=stored.step, sampler=sampler)


def device_of(module) -> torch.device:
    return next(module.parameters()).device


def data_spec(run: LoadedRun, data_overrides: Optional[dict] = None) -> dict:
    spec = dict(run.cfg.data)
    spec.update(data_overrides or {})
    return spec


def eval_dataset(run: LoadedRun, data_overrides: Optional[dict] = None, n: Optional[int] = None, split: str = "test"):
    """The ``split`` (default test) of the run's data set, with ``data_overrides``; ``n`` samples."""
    from ..training.data import build_dataset

    spec = data_spec(run, data_overrides)
    if n is not None:
        spec["n"] = n
    return build_dataset(spec, split, run.cfg.train.seed)


@torch.no_grad()
def batched(fn, x: Tensor, device, batch: int = 256) -> Tensor:
    """``fn`` over ``x`` in batches on ``device``; float32 results on the CPU."""
    return torch.cat([fn(x[i:i + batch].to(device)).float().cpu() for i in range(0, len(x), batch)])


@torch.no_grad()
def generate(run: LoadedRun, n: int, seed: int = 0, label: Optional[int] = None) -> tuple[Tensor, Optional[Tensor]]:
    """``n`` samples of a GAN (or of a VAE's prior): ``(samples, labels)``.

    Class-conditional generators get ``label`` for every sample, or labels cycling over the
    classes when ``label`` is None.
    """
    if n < 1:
        raise UsageError(f"the number of samples must be >= 1, got {n}")
    gen = torch.Generator().manual_seed(seed)
    if run.sampler is not None:
        g = run.sampler
        classes = g.num_classes
        if label is not None and not classes:
            raise UsageError(f"model {run.cfg.model_name!r} is not class-conditional: --class needs an acGAN-type model")
        if label is not None and not 0 <= label < classes:
            raise UsageError(f"--class must lie in [0, {classes}), got {label}")
        z = torch.randn(n, g.latent_dim, generator=gen)
        y = None
        if classes:
            y = torch.full((n,), label, dtype=torch.long) if label is not None else torch.arange(n) % classes
        device = device_of(g)
        out = [g(z[i:i + 256].to(device), None if y is None else y[i:i + 256].to(device)).float().cpu()
               for i in range(0, n, 256)]
        return torch.cat(out), y
    model = run.model
    if run.kind == "mae":  # a masked autoencoder's samples: test inputs filled in from random masks
        if label is not None:
            raise UsageError(f"model {run.cfg.model_name!r} is not class-conditional; drop --class")
        from .mae import inpaint

        return inpaint(run, n, seed), None
    if getattr(model, "decoder", None) is not None and getattr(model, "variational", False):
        if label is not None:
            raise UsageError(f"model {run.cfg.model_name!r} is not class-conditional; drop --class")
        dec = model.decoder
        z = torch.randn(n, dec.latent_dim, generator=gen)
        return batched(dec, z, device_of(dec)), None
    raise UsageError(f"model {run.cfg.model_name!r} is a {run.kind}: it maps inputs to outputs and draws no "
                     "samples of its own; use `genreg eval` for its test-set figures")


def to_jsonable(value):
    """Numpy arrays and scalars as lists / floats; NaN becomes None (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Tensor):
        return to_jsonable(value.detach().cpu().numpy())
    if isinstance(value, Path):
        return str(value)
    return value
