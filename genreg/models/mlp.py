"""Two small built-in models that exercise the trainers end to end in seconds on a CPU.

``mlp-gan``  MLP generator and critic for points in ``dim`` dimensions (2-D Gaussian
             mixtures such as ``ring8``), the networks of :mod:`genreg.nets.mlp2d`;
             WGAN-GP by default; ``num_classes > 0`` makes it class-conditional (a label
             embedding into the generator, class logits from the critic, the acGAN
             auxiliary loss).
``mlp-ae``   MLP autoencoder on flat vectors of length ``dim``; ``objective=mse+kl``
             makes it a VAE (the encoder then returns (mu, logvar)).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ..errors import UsageError
from ..interfaces import Decoder, Encoder
from .base import (AdversarialConfig, AdversarialModel, ReconstructionConfig, ReconstructionModel,
                   model_factory)


def mlp(sizes: list[int], negative_slope: float = 0.2) -> nn.Sequential:
    """Linear layers with LeakyReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.LeakyReLU(negative_slope))
    return nn.Sequential(*layers)


@dataclass
class MLPGANConfig(AdversarialConfig):
    dim: int = 2  # size of one sample
    latent_dim: int = 8
    hidden: int = 128
    depth: int = 3  # hidden layers per network
    num_classes: int = 0  # > 0: class-conditional with the auxiliary class loss

    train_defaults = {"steps": 3000, "batch_size": 256, "log_every": 50, "sample_every": 500,
                      "checkpoint_every": 1000, "num_samples": 1024}
    # WGAN-GP (Gulrajani et al. 2017): Adam lr 1e-4, betas (0, 0.9), 5 critic steps, weight 10
    optim_defaults = {"lr_g": 1e-4, "lr_d": 1e-4, "betas": (0.0, 0.9)}
    data_defaults = {"name": "ring8"}

    def validate(self) -> None:
        super().validate()
        for key in ("dim", "latent_dim", "hidden", "depth"):
            if getattr(self, key) < 1:
                raise UsageError(f"model.{key} must be >= 1, got {getattr(self, key)}")
        if self.num_classes < 0:
            raise UsageError(f"model.num_classes must be >= 0, got {self.num_classes}")


@model_factory(MLPGANConfig)
def mlp_gan(cfg: MLPGANConfig) -> AdversarialModel:
    from ..nets.mlp2d import MLPCritic, MLPGenerator

    generator = MLPGenerator(cfg.latent_dim, cfg.dim, cfg.hidden, cfg.depth, cfg.num_classes)
    critic = MLPCritic(cfg.dim, cfg.hidden, cfg.depth, cfg.num_classes)
    return AdversarialModel(generator, critic, cfg, name="mlp-gan")


class MLPEncoder(Encoder):
    def __init__(self, dim: int, hidden: int, latent_dim: int, variational: bool) -> None:
        super().__init__()
        self.input_shape, self.variational = (dim,), variational
        self.net = mlp([dim, hidden, hidden, latent_dim * (2 if variational else 1)])

    def forward(self, x: Tensor):
        h = self.net(x)
        return tuple(h.chunk(2, dim=1)) if self.variational else h


class MLPDecoder(Decoder):
    def __init__(self, dim: int, hidden: int, latent_dim: int) -> None:
        super().__init__()
        self.output_shape = (dim,)
        self.net = mlp([latent_dim, hidden, hidden, dim])

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


@dataclass
class MLPAEConfig(ReconstructionConfig):
    dim: int = 16
    hidden: int = 64
    latent_dim: int = 4

    train_defaults = {"steps": 2000, "batch_size": 128, "log_every": 50, "sample_every": 500,
                      "checkpoint_every": 1000, "num_samples": 16}
    optim_defaults = {"lr": 1e-3}

    def validate(self) -> None:
        super().validate()
        for key in ("dim", "hidden", "latent_dim"):
            if getattr(self, key) < 1:
                raise UsageError(f"model.{key} must be >= 1, got {getattr(self, key)}")


@model_factory(MLPAEConfig)
def mlp_ae(cfg: MLPAEConfig) -> ReconstructionModel:
    variational = cfg.objective == "mse+kl"
    return ReconstructionModel(cfg, encoder=MLPEncoder(cfg.dim, cfg.hidden, cfg.latent_dim, variational),
                               decoder=MLPDecoder(cfg.dim, cfg.hidden, cfg.latent_dim), name="mlp-ae")
