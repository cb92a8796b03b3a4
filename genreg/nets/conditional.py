"""Class conditioning inside the networks (for class-conditional GANs).

:class:`ConditionalNorm`  a normalisation without its own affine parameters followed by a
                          per-class gain and bias (conditional BatchNorm, de Vries et al.
                          2017; the generator conditioning of Miyato & Koyama 2018 and BigGAN,
                          Brock et al. 2019): every layer of the generator sees the class,
                          not only the input vector.
:class:`Projection`       the projection discriminator's class term (Miyato & Koyama 2018):
                          ``<embed(y), sum_{h,w} features>`` added to the critic's score, so the
                          score itself measures how well an image matches its label.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import UsageError
from ._common import NORMS, check_choice


class ConditionalNorm(nn.Module):
    """(B, C, H, W) features and (B,) int64 labels -> (B, C, H, W).

    ``norm``: ``batch`` (BatchNorm2d statistics), ``layer`` (GroupNorm with one group) or
    ``none`` (only the class affine). The gains start at 1 and the biases at 0, so at
    initialisation every class gets the unconditional layer (gains jittered N(1, 0.02) as in
    the DCGAN initialisation, which keeps classes apart from the first step).
    """

    def __init__(self, norm: str, channels: int, num_classes: int) -> None:
        super().__init__()
        check_choice("ConditionalNorm", "norm", norm, NORMS)
        if num_classes < 1:
            raise UsageError(f"ConditionalNorm: num_classes must be >= 1, got {num_classes}")
        if norm == "batch":
            self.norm: nn.Module = nn.BatchNorm2d(channels, affine=False)
        elif norm == "layer":
            self.norm = nn.GroupNorm(1, channels, affine=False)
        else:
            self.norm = nn.Identity()
        self.gain = nn.Embedding(num_classes, channels)
        self.bias = nn.Embedding(num_classes, channels)
        with torch.no_grad():
            self.gain.weight.normal_(1.0, 0.02)
            self.bias.weight.zero_()

    def forward(self, h: Tensor, y: Tensor) -> Tensor:
        h = self.norm(h)
        return h * self.gain(y)[:, :, None, None].to(h.dtype) + self.bias(y)[:, :, None, None].to(h.dtype)


class Projection(nn.Module):
    """(B, C, H, W) critic features and (B,) int64 labels -> (B,) class-match scores.

    The inner product of a learned class embedding with the features summed over space
    (Miyato & Koyama 2018, eq. 3). Embeddings start N(0, 0.02) (the DCGAN scale), so the term
    starts near 0 and the unconditional score dominates early training.
    """

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        if num_classes < 1:
            raise UsageError(f"Projection: num_classes must be >= 1, got {num_classes}")
        self.embed = nn.Embedding(num_classes, channels)
        nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, h: Tensor, y: Tensor) -> Tensor:
        return (self.embed(y).to(h.dtype) * h.sum(dim=(2, 3))).sum(dim=1)
