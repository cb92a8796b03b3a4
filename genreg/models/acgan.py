"""``acgan``: auxiliary-classifier GAN (Odena et al. 2017), 3 galaxy classes by default.

The generator takes z and a class label (a learned embedding concatenated to z); the
critic returns a real/fake logit and class logits. The adversarial trainer adds
``aux_weight`` x cross-entropy of the class logits on real images (their labels) and on
generated ones (the requested labels) to the critic loss, and on generated ones to the
generator loss. BCE loss (non-saturating); ``model.loss_params.real_label=0.9`` gives
one-sided real-label smoothing (off by default: real_label 1.0). Classes: 0 barred spiral, 1 elliptical, 2 spiral (the galaxies data set).

``model.aux_fake`` weighs the critic's class loss on generated images (1 = Odena et al.'s
form; 0 = the classifier learns from real labels only, which removes the pull towards easily
classified, low-diversity samples, Shu et al. 2017); ``model.minibatch_std=true`` gives the
critic the batch's feature spread (Karras et al. 2018). ``model.aux_weight_g`` weighs the
generator's class loss separately (none, the default: ``aux_weight``). Class conditioning
inside the image networks (Miyato & Koyama 2018; off by default): ``model.cond_norm=true``
gives every generator norm layer per-class gains and biases (conditional BatchNorm, as in
BigGAN) on top of the concatenated embedding; ``model.projection=true`` adds the projection
discriminator term ``<embed(y), pooled critic features>`` to the critic's score, next to the
auxiliary classifier. ``model.mode_seeking`` (every adversarial model has it; 0, off, by
default) adds MSGAN's mode-seeking term to the generator's loss (Mao et al. 2019), against
one image per class whatever the latent. The preset ``acgan-galaxies32`` says which it uses (see
:mod:`genreg.builtins.presets` for the measured effect).

Defaults: Adam lr 2e-4, betas (0.5, 0.999), batch 64, one critic update per step,
BatchNorm; galaxies at 64x64 (``data.size=128`` for the 128x128 variant). With
``data=ring8 data.labels=true model.num_classes=8`` it trains on labelled points, and with
``data=radio data.labels=true model.num_classes=2`` on traces labelled by pulse polarity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import UsageError
from ._gan_arch import GANArchConfig, build_networks
from .base import AdversarialModel, model_factory


@dataclass
class ACGANConfig(GANArchConfig):
    loss: str = "bce"
    loss_params: dict = field(default_factory=lambda: {"non_saturating": True, "real_label": 1.0})
    penalty: str = "none"
    n_critic: int = 1
    num_classes: int = 3
    aux_weight: float = 1.0
    aux_fake: float = 1.0  # weight of the critic's class loss on generated images (0: real only)
    aux_weight_g: float | None = None  # weight of the generator's class loss; none = aux_weight
    cond_norm: bool = False  # images: per-class generator norm gains (conditional BatchNorm)
    projection: bool = False  # images: projection discriminator term in the critic's score

    train_defaults = {**GANArchConfig.train_defaults, "num_samples": 48}  # a 3-class grid of 16 each
    optim_defaults = {"lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999)}

    def validate(self) -> None:
        super().validate()
        if self.num_classes < 1:
            raise UsageError(f"model.num_classes must be >= 1 for an acGAN, got {self.num_classes}")
        if not self.aux_fake >= 0:
            raise UsageError(f"model.aux_fake must be >= 0, got {self.aux_fake}")
        if self.aux_weight_g is not None and not self.aux_weight_g >= 0:
            raise UsageError(f"model.aux_weight_g must be >= 0 (or none), got {self.aux_weight_g}")
        if (self.cond_norm or self.projection) and self.arch not in ("auto", "dcgan"):
            which = "cond_norm" if self.cond_norm else "projection"
            raise UsageError(f"model.{which} is implemented for images (arch dcgan) only, got arch {self.arch}")


@model_factory(ACGANConfig)
def acgan(cfg: ACGANConfig) -> AdversarialModel:
    generator, critic = build_networks(cfg)
    return AdversarialModel(generator, critic, cfg, name="acgan")
