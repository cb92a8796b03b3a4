"""DCGAN-style image generator and critic (Radford et al. 2015) for 64x64 and 128x128.

Generator: z (plus a class embedding when conditional) -> ConvTranspose 4x4 at 4x4
resolution, then stride-2 ConvTranspose blocks doubling the resolution up to the image
size (4 -> 8 -> 16 -> 32 -> 64, one more block for 128), norm + ReLU between them.
Critic: the mirror image with stride-2 convolutions and LeakyReLU(0.2) down to 4x4, then
a 4x4 convolution to one score per sample (``minibatch_std=True``: after one more feature
channel, the batch's feature spread, Karras et al. 2018); with ``num_classes > 0`` also class logits
from the same features (the acGAN critic), returned as ``(score, class_logits)``.
Class conditioning options (off by default): the generator's ``cond_norm`` (per-class norm
gains) and the critic's ``projection`` (projection discriminator term), both Miyato & Koyama
2018, see :mod:`genreg.nets.conditional`.

Channels: ``base_channels * min(size / (2 * resolution), 8)`` at each resolution, i.e.
512/256/128/64 for 64x64 with the default base 64 (the DCGAN paper's widths), capped at
8 * base so the 128x128 variant adds a block without doubling the widest layer.

``norm``: ``batch`` (GAN, acGAN), ``layer`` (GroupNorm with one group = LayerNorm over
(C, H, W); use it in WGAN-GP / WGAN-div critics, where BatchNorm would couple the samples
the gradient penalty treats independently), ``none``. The critic's first layer never has
a norm (as in DCGAN).

Output: ``sigmoid`` by default to match genreg's image data in [0, 1]; ``tanh`` for data
in [-1, 1].
"""

from __future__ import annotations

from typing import Optional, Tuple, Union

import torch
from torch import Tensor, nn

from ..errors import UsageError
from ..interfaces import Critic, Generator
from .conditional import ConditionalNorm, Projection
from ._common import (NORMS, LabelConditioning, check_choice, check_input, check_labels, check_latent, check_positive,
                      init_dcgan_weights, norm_layer, output_activation)

MAX_MULT = 8


def _check_size(owner: str, image_size: int) -> int:
    if not isinstance(image_size, int) or image_size < 16 or image_size & (image_size - 1):
        raise UsageError(f"{owner}: image_size must be a power of two >= 16 (64 and 128 are the study's), "
                         f"got {image_size!r}")
    return image_size


def _width(base: int, image_size: int, resolution: int) -> int:
    return base * min(image_size // (2 * resolution), MAX_MULT)


class DCGANGenerator(Generator):
    """(B, latent_dim) latents [+ (B,) labels] -> (B, channels, image_size, image_size) images.

    ``cond_norm=True`` (needs ``num_classes > 0``): every norm layer gets per-class gains and
    biases (conditional BatchNorm, :class:`genreg.nets.conditional.ConditionalNorm`) in addition
    to the class embedding concatenated to z.
    """

    def __init__(self, image_size: int = 64, channels: int = 3, latent_dim: int = 100, base_channels: int = 64,
                 num_classes: int = 0, embed_dim: int = 50, norm: str = "batch",
                 output_activation_name: str = "sigmoid", cond_norm: bool = False) -> None:
        super().__init__()
        owner = "DCGANGenerator"
        _check_size(owner, image_size)
        check_choice(owner, "norm", norm, NORMS)
        self.latent_dim = check_positive(owner, "latent_dim", latent_dim)
        self.num_classes = int(num_classes)
        if self.num_classes < 0:
            raise UsageError(f"{owner}: num_classes must be >= 0, got {num_classes}")
        self.output_shape = (check_positive(owner, "channels", channels), image_size, image_size)
        check_positive(owner, "base_channels", base_channels)
        self.condition = LabelConditioning(owner, latent_dim, self.num_classes, embed_dim)
        if cond_norm and self.num_classes == 0:
            raise UsageError(f"{owner}: cond_norm needs num_classes > 0 (it gives each class its own norm gains)")
        self.cond_norm = bool(cond_norm)

        def norm_of(width: int) -> nn.Module:
            return ConditionalNorm(norm, width, self.num_classes) if self.cond_norm else norm_layer(norm, width, 2)

        width = _width(base_channels, image_size, 4)
        layers: list[nn.Module] = [nn.ConvTranspose2d(self.condition.out_dim, width, 4, 1, 0, bias=norm == "none"),
                                   norm_of(width), nn.ReLU()]
        resolution = 4
        while resolution * 2 < image_size:
            nxt = _width(base_channels, image_size, resolution * 2)
            layers += [nn.ConvTranspose2d(width, nxt, 4, 2, 1, bias=norm == "none"), norm_of(nxt), nn.ReLU()]
            width, resolution = nxt, resolution * 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), output_activation(output_activation_name)]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        check_latent("DCGANGenerator", z, self.latent_dim)
        h = self.condition(z, y)
        h = h.reshape(h.shape[0], h.shape[1], 1, 1)
        if not self.cond_norm:
            return self.net(h)
        y = y.long()  # checked by self.condition
        for layer in self.net:
            h = layer(h, y) if isinstance(layer, ConditionalNorm) else layer(h)
        return h


def _batch_std(h: Tensor) -> Tensor:
    """(B, C, H, W) -> (B, 1, H, W): the batch's mean feature standard deviation as one extra
    channel (the minibatch standard deviation layer of Karras et al. 2018). A generator that
    draws one image per class gives it 0, which the critic can tell from real batches."""
    if h.shape[0] < 2:
        return h.new_zeros(h.shape[0], 1, *h.shape[2:])
    s = h.float().var(dim=0, unbiased=False).add(1e-8).sqrt().mean().to(h.dtype)
    return s.expand(h.shape[0], 1, *h.shape[2:])


class DCGANCritic(Critic):
    """(B, channels, H, W) images -> (B,) scores, or ((B,), (B, num_classes)) for the acGAN critic.

    Labels ``y`` are accepted for the common signature and not used by default: the auxiliary
    classifier predicts the class instead of being told it. With ``projection=True`` they are
    required and the score gets the projection term ``<embed(y), sum_hw h>`` (Miyato & Koyama
    2018, :class:`genreg.nets.conditional.Projection`).
    """

    def __init__(self, image_size: int = 64, channels: int = 3, base_channels: int = 64, num_classes: int = 0,
                 norm: str = "batch", negative_slope: float = 0.2, minibatch_std: bool = False,
                 projection: bool = False) -> None:
        super().__init__()
        owner = "DCGANCritic"
        _check_size(owner, image_size)
        check_choice(owner, "norm", norm, NORMS)
        self.num_classes = int(num_classes)
        if self.num_classes < 0:
            raise UsageError(f"{owner}: num_classes must be >= 0, got {num_classes}")
        self.input_shape = (check_positive(owner, "channels", channels), image_size, image_size)
        check_positive(owner, "base_channels", base_channels)

        resolution = image_size // 2
        width = _width(base_channels, image_size, resolution)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(negative_slope)]
        while resolution > 4:
            nxt = _width(base_channels, image_size, resolution // 2)
            layers += [nn.Conv2d(width, nxt, 4, 2, 1, bias=norm == "none"), norm_layer(norm, nxt, 2),
                       nn.LeakyReLU(negative_slope)]
            width, resolution = nxt, resolution // 2
        self.features = nn.Sequential(*layers)  # (B, width, 4, 4)
        self.minibatch_std = bool(minibatch_std)
        width += int(self.minibatch_std)
        self.score = nn.Conv2d(width, 1, 4, 1, 0)
        self.classify = nn.Linear(width * 16, self.num_classes) if self.num_classes > 0 else None
        if projection and self.num_classes == 0:
            raise UsageError(f"{owner}: projection needs num_classes > 0 (it scores how well an image matches its label)")
        init_dcgan_weights(self)
        self.project = Projection(width, self.num_classes) if projection else None

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        check_input("DCGANCritic", x, self.input_shape)
        h = self.features(x)
        if self.minibatch_std:
            h = torch.cat([h, _batch_std(h)], dim=1)
        score = self.score(h).reshape(x.shape[0])
        if self.project is not None:
            score = score + self.project(h, check_labels("DCGANCritic", y, x.shape[0], self.num_classes))
        if self.classify is None:
            return score
        return score, self.classify(h.flatten(1))
