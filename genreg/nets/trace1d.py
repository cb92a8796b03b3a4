"""1-D generator and critic for 500-sample traces, so every GAN also runs on radio data.

Generator: z (plus a class embedding when conditional) -> Linear to channels[0] x 31,
then blocks of (upsample to an exact length + Conv1d + norm + ReLU) over
31 -> 62 -> 125 -> 250 -> 500 (the DAE's lengths in reverse, so odd lengths come back
exactly), then Conv1d to one channel and the output activation (sigmoid: traces are
normalised to [0, 1]).
Critic: stride-2 Conv1d blocks (500 -> 250 -> 125 -> 63 -> 32) with LeakyReLU(0.2),
no norm on the first; a Linear to one score per sample and, with ``num_classes > 0``,
a Linear to class logits: ``(score, class_logits)``.

``norm`` as in :mod:`genreg.nets.dcgan`: ``batch``, ``layer`` (GroupNorm(1, C): per
sample over (C, L), for gradient-penalty critics) or ``none``.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import UsageError
from ..interfaces import Critic, Generator
from ._common import (NORMS, LabelConditioning, check_choice, check_input, check_latent, check_positive,
                      init_dcgan_weights, norm_layer, output_activation)


def _check(owner: str, length: int, channels: Sequence[int], kernel_size: int, num_classes: int) -> None:
    check_positive(owner, "length", length)
    if not channels:
        raise UsageError(f"{owner}: channels must not be empty")
    for c in channels:
        check_positive(owner, "channels", c)
    if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise UsageError(f"{owner}: kernel_size must be an odd positive integer, got {kernel_size!r}")
    if length >> len(channels) < 1:
        raise UsageError(f"{owner}: length {length} is too short for {len(channels)} blocks")
    if num_classes < 0:
        raise UsageError(f"{owner}: num_classes must be >= 0, got {num_classes}")


class _Upsample(nn.Module):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(x, size=self.size, mode="nearest")

    def extra_repr(self) -> str:
        return f"size={self.size}"


class TraceGenerator(Generator):
    """(B, latent_dim) latents [+ (B,) labels] -> (B, 1, length) traces."""

    def __init__(self, length: int = 500, latent_dim: int = 100, channels: Sequence[int] = (128, 64, 32, 16),
                 kernel_size: int = 9, num_classes: int = 0, embed_dim: int = 50, norm: str = "batch",
                 output_activation_name: str = "sigmoid") -> None:
        super().__init__()
        owner = "TraceGenerator"
        channels = tuple(channels)
        _check(owner, length, channels, kernel_size, int(num_classes))
        check_choice(owner, "norm", norm, NORMS)
        self.latent_dim = check_positive(owner, "latent_dim", latent_dim)
        self.num_classes = int(num_classes)
        self.output_shape = (1, length)
        self.condition = LabelConditioning(owner, latent_dim, self.num_classes, embed_dim)

        sizes = [length]
        for _ in channels:                      # floor-halving like max-pool: [31, 62, 125, 250, 500]
            sizes.insert(0, sizes[0] // 2)
        self.start = (channels[0], sizes[0])
        self.project = nn.Linear(self.condition.out_dim, channels[0] * sizes[0])
        layers: list[nn.Module] = [norm_layer(norm, channels[0], 1), nn.ReLU()]
        width = channels[0]
        for out, size in zip(channels, sizes[1:]):
            layers += [_Upsample(size), nn.Conv1d(width, out, kernel_size, padding=kernel_size // 2),
                       norm_layer(norm, out, 1), nn.ReLU()]
            width = out
        layers += [nn.Conv1d(width, 1, kernel_size, padding=kernel_size // 2), output_activation(output_activation_name)]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        check_latent("TraceGenerator", z, self.latent_dim)
        h = self.project(self.condition(z, y)).reshape((z.shape[0],) + self.start)
        return self.net(h)


class TraceCritic(Critic):
    """(B, 1, length) traces -> (B,) scores, or ((B,), (B, num_classes)) when num_classes > 0."""

    def __init__(self, length: int = 500, channels: Sequence[int] = (16, 32, 64, 128), kernel_size: int = 9,
                 num_classes: int = 0, norm: str = "batch", negative_slope: float = 0.2) -> None:
        super().__init__()
        owner = "TraceCritic"
        channels = tuple(channels)
        _check(owner, length, channels, kernel_size, int(num_classes))
        check_choice(owner, "norm", norm, NORMS)
        self.num_classes = int(num_classes)
        self.input_shape = (1, length)
        layers: list[nn.Module] = []
        width, size = 1, length
        for i, out in enumerate(channels):
            layers.append(nn.Conv1d(width, out, kernel_size, stride=2, padding=kernel_size // 2))
            if i > 0:
                layers.append(norm_layer(norm, out, 1))
            layers.append(nn.LeakyReLU(negative_slope))
            width, size = out, (size + 2 * (kernel_size // 2) - kernel_size) // 2 + 1
        self.features = nn.Sequential(*layers)
        self.score = nn.Linear(width * size, 1)
        self.classify = nn.Linear(width * size, self.num_classes) if self.num_classes > 0 else None
        init_dcgan_weights(self)

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        check_input("TraceCritic", x, self.input_shape)
        h = self.features(x).flatten(1)
        score = self.score(h).reshape(x.shape[0])
        if self.classify is None:
            return score
        return score, self.classify(h)
