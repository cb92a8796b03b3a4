"""``gan``: the basic DCGAN (Radford et al. 2015) with the original BCE loss.

Non-saturating generator loss by default (``model.loss_params.non_saturating=false`` gives
the minimax form), one critic update per generator update, BatchNorm in both networks, no
penalty. This is the model that shows mode collapse: on ``ring8`` / ``grid25`` it tends to
cover few modes, which ``genreg eval`` counts.

Defaults from the DCGAN paper: Adam lr 2e-4 for both networks, betas (0.5, 0.999), batch 64;
data: galaxies at 64x64 (``data.size=128`` with the same model gives the 128x128 variant:
one more up/down block). The network family follows the data (``model.arch=auto``, see
:mod:`genreg.models._gan_arch`): ``data=radio`` trains 1-D trace networks, ``data=ring8``
MLPs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._gan_arch import GANArchConfig, build_networks
from .base import AdversarialModel, model_factory


@dataclass
class GANConfig(GANArchConfig):
    loss: str = "bce"
    loss_params: dict = field(default_factory=lambda: {"non_saturating": True})
    penalty: str = "none"
    n_critic: int = 1

    optim_defaults = {"lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999)}


@model_factory(GANConfig)
def gan(cfg: GANConfig) -> AdversarialModel:
    generator, critic = build_networks(cfg)
    return AdversarialModel(generator, critic, cfg, name="gan")
