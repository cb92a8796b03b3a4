"""``vae``: the study's fully connected image VAE.

Encoder: flatten (3, 128, 128) = 49152 values -> Linear 500 + ReLU -> two Linear 500 -> 50
heads (mu, logvar); z = mu + exp(logvar / 2) * eps; decoder Linear 50 -> 500 + ReLU ->
Linear 500 -> 49152 + sigmoid (:mod:`genreg.nets.vae`). Objective: MSE + ``kl_weight`` x
KL(q(z|x) || N(0, I)) (KL summed over the latent dimensions, averaged over the batch; the MSE
is a mean over all pixels, so the KL weight is small).

Defaults: galaxies at the study's 128x128, Adam lr 1e-3, batch 64. ``image_size`` and
``channels`` at 0 follow the data (``data.size=64`` trains a 64x64 VAE); without data they
are 128 and 3.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from ..errors import UsageError
from .base import ReconstructionConfig, ReconstructionModel, model_factory


@dataclass
class VAEConfig(ReconstructionConfig):
    objective: Literal["mse", "mse+kl"] = "mse+kl"
    kl_weight: float = 1e-4
    image_size: int = 0  # 0 = the data's (128 without data)
    channels: int = 0  # 0 = the data's (3 without data)
    hidden: int = 500
    latent_dim: int = 50

    train_defaults = {"steps": 5000, "batch_size": 64, "log_every": 50, "sample_every": 500,
                      "checkpoint_every": 1000, "num_samples": 16}
    optim_defaults = {"lr": 1e-3}
    data_defaults = {"name": "galaxies", "size": 128}

    def validate(self) -> None:
        super().validate()
        if self.objective != "mse+kl":
            raise UsageError(f"model.objective of vae must be mse+kl, got {self.objective} "
                             "(kl_weight=0 turns the KL term off)")
        for key in ("image_size", "channels"):
            if getattr(self, key) < 0:
                raise UsageError(f"model.{key} must be >= 0 (0 = the data's), got {getattr(self, key)}")
        for key in ("hidden", "latent_dim"):
            if getattr(self, key) < 1:
                raise UsageError(f"model.{key} must be >= 1, got {getattr(self, key)}")

    def fit_data(self, sample_shape: tuple[int, ...], num_classes: int = 0) -> "VAEConfig":
        if len(sample_shape) != 3:
            return self  # the trainer's shape check names the mismatch
        changes = {}
        if self.image_size == 0:
            changes["image_size"] = int(sample_shape[-1])
        if self.channels == 0:
            changes["channels"] = int(sample_shape[0])
        resolved = dataclasses.replace(self, **changes)
        resolved.validate()
        return resolved


@model_factory(VAEConfig)
def vae(cfg: VAEConfig) -> ReconstructionModel:
    from ..nets.vae import VAEDecoder, VAEEncoder

    size, ch = cfg.image_size or 128, cfg.channels or 3
    return ReconstructionModel(cfg, encoder=VAEEncoder(size, ch, cfg.hidden, cfg.latent_dim),
                               decoder=VAEDecoder(size, ch, cfg.hidden, cfg.latent_dim), name="vae")
