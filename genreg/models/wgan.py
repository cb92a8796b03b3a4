"""``wgan-gp`` and ``wgan-div``: Wasserstein GANs with a gradient penalty / divergence.

``wgan-gp`` (Gulrajani et al. 2017): Wasserstein loss + weight 10 x E[(||grad D(x_hat)|| - 1)^2]
at per-sample random interpolates x_hat (one eps per sample, any tensor rank), 5 critic
updates per generator update, Adam betas (0.5, 0.999) with lr 1e-4 (G) / 4e-4 (D), as in the
study's notebook. The critic uses LayerNorm (GroupNorm with one group over (C, H, W)), not
BatchNorm: the penalty treats samples independently, BatchNorm would couple them.

``wgan-div`` (Wu et al. 2018): Wasserstein loss + (k/2) x E[||grad D(real)||^p + ||grad D(fake)||^p]
with k = 2, p = 6, gradients at the real and at the generated samples, as in the widely used
public implementation; lr 2e-4 for both networks, betas (0.5, 0.999), 5 critic updates,
LayerNorm critic. The paper writes the penalty as k x E[||grad D(x_hat)||^p] over a
distribution mixing real and fake samples; ``model.penalty_params.at=interpolates`` gives
that form at per-sample random interpolates (see :mod:`genreg.losses.penalties`).

Both on galaxies at 64x64 by default (``data.size=128`` for 128x128); the network family
follows the data (``data=radio``: trace networks, ``data=ring8``: MLPs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ._gan_arch import GANArchConfig, build_networks
from .base import AdversarialModel, model_factory


@dataclass
class WGANGPConfig(GANArchConfig):
    loss: str = "wasserstein"
    penalty: str = "gp"
    penalty_params: dict = field(default_factory=lambda: {"weight": 10.0})
    n_critic: int = 5
    norm_d: Literal["batch", "layer", "none"] = "layer"

    optim_defaults = {"lr_g": 1e-4, "lr_d": 4e-4, "betas": (0.5, 0.999)}


@dataclass
class WGANDivConfig(GANArchConfig):
    loss: str = "wasserstein"
    penalty: str = "div"
    penalty_params: dict = field(default_factory=lambda: {"k": 2.0, "p": 6.0})
    n_critic: int = 5
    norm_d: Literal["batch", "layer", "none"] = "layer"

    optim_defaults = {"lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999)}


@model_factory(WGANGPConfig)
def wgan_gp(cfg: WGANGPConfig) -> AdversarialModel:
    generator, critic = build_networks(cfg)
    return AdversarialModel(generator, critic, cfg, name="wgan-gp")


@model_factory(WGANDivConfig)
def wgan_div(cfg: WGANDivConfig) -> AdversarialModel:
    generator, critic = build_networks(cfg)
    return AdversarialModel(generator, critic, cfg, name="wgan-div")
