"""``ragan-mlp``: a GAN variant defined entirely outside genreg.

Networks implement genreg's interfaces; the config subclasses genreg's
AdversarialConfig, so every field is a ``model.*`` key of ``genreg train``.
"""

from dataclasses import dataclass, field

import torch
from genreg.errors import UsageError
from genreg.interfaces import Critic, Generator
from genreg.models.base import AdversarialConfig, AdversarialModel, model_factory
from torch import nn


def _mlp(sizes):
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers[:-1])  # no activation after the last layer


class PointGenerator(Generator):
    def __init__(self, latent_dim: int, hidden: int) -> None:
        super().__init__()
        self.latent_dim, self.output_shape = latent_dim, (2,)
        self.net = _mlp([latent_dim, hidden, hidden, 2])

    def forward(self, z: torch.Tensor, y=None) -> torch.Tensor:
        return self.net(z)


class PointCritic(Critic):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.input_shape = (2,)
        self.net = _mlp([2, hidden, hidden, 1])

    def forward(self, x: torch.Tensor, y=None) -> torch.Tensor:
        return self.net(x).squeeze(1)


@dataclass
class RaGANConfig(AdversarialConfig):
    loss: str = "ragan"
    penalty: str = "r1"
    penalty_params: dict = field(default_factory=lambda: {"gamma": 1.0})  # gamma 1 suits 2-D data
    n_critic: int = 1  # relativistic losses train well with one critic step
    latent_dim: int = 4
    hidden: int = 64

    train_defaults = {"steps": 2000, "batch_size": 256, "log_every": 50, "sample_every": 500,
                      "checkpoint_every": 1000, "num_samples": 1024}
    optim_defaults = {"lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999)}
    data_defaults = {"name": "moons"}

    def validate(self) -> None:
        super().validate()
        if self.latent_dim < 1 or self.hidden < 1:
            raise UsageError(f"model.latent_dim and model.hidden must be >= 1, got {self.latent_dim}, {self.hidden}")


@model_factory(RaGANConfig)
def ragan_mlp(cfg: RaGANConfig) -> AdversarialModel:
    return AdversarialModel(PointGenerator(cfg.latent_dim, cfg.hidden), PointCritic(cfg.hidden), cfg,
                            name="ragan-mlp")
