"""The four network roles genreg's trainers know: Encoder, Decoder, Generator, Critic.

They are thin ``nn.Module`` bases that fix the call signatures and carry the few
facts a trainer needs (latent size, sample shape, number of classes). Models from
plugins subclass them; the trainers rely on nothing else.
"""

from __future__ import annotations

from typing import Optional, Tuple, Union

import torch
from torch import Tensor, nn

Shape = Tuple[int, ...]


class Encoder(nn.Module):
    """``forward(x) -> z``; a variational encoder returns ``(mu, logvar)``.

    ``input_shape`` is the shape of one sample (without the batch dimension).
    """

    input_shape: Shape = ()
    variational: bool = False

    def forward(self, x: Tensor) -> Union[Tensor, Tuple[Tensor, Tensor]]:  # pragma: no cover - abstract
        raise NotImplementedError


class Decoder(nn.Module):
    """``forward(z) -> x``, mapping codes back to samples of ``output_shape``."""

    output_shape: Shape = ()

    def forward(self, z: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class Generator(nn.Module):
    """``forward(z, y=None) -> x``: latents (and class labels, if conditional) to samples.

    ``z`` float ``(B, latent_dim)``, ``y`` int64 ``(B,)`` in ``0 .. num_classes - 1`` or
    ``None``; returns float ``(B, *output_shape)`` on ``z``'s device.

    ``latent_dim``   size of z; ``sample_latent`` draws standard-normal latents.
    ``output_shape`` shape of one sample.
    ``num_classes``  0 for an unconditional generator.
    """

    latent_dim: int = 0
    output_shape: Shape = ()
    num_classes: int = 0

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def sample_latent(self, n: int, *, generator: Optional[torch.Generator] = None,
                      device: Optional[torch.device] = None) -> Tensor:
        if device is None:
            device = next(self.parameters()).device
        return torch.randn(n, self.latent_dim, generator=generator, device=device)


class Critic(nn.Module):
    """``forward(x, y=None) -> score``, or ``(score, class_logits)`` for an
    auxiliary-classifier critic (``num_classes > 0``).

    ``x`` float ``(B, *input_shape)``, ``y`` int64 ``(B,)`` or ``None``. ``score`` is float
    ``(B,)``: one unbounded real per sample (a logit for the BCE loss, the critic value for
    the Wasserstein loss), never passed through a sigmoid. ``class_logits`` is float
    ``(B, num_classes)``. Penalties differentiate the score with respect to ``x``, so it
    must depend on each sample alone (no BatchNorm with a gradient penalty).

    ``input_shape`` shape of one sample.
    """

    input_shape: Shape = ()
    num_classes: int = 0

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Union[Tensor, Tuple[Tensor, Tensor]]:  # pragma: no cover
        raise NotImplementedError


def critic_score(output: Union[Tensor, Tuple[Tensor, Tensor]]) -> Tensor:
    """The score ``(B,)`` from a critic's output: the tensor itself, or the first item of a
    ``(score, class_logits)`` pair."""
    return output[0] if isinstance(output, tuple) else output
