"""The mode-seeking term of MSGAN (Mao et al. 2019, "Mode Seeking Generative Adversarial
Networks for Diverse Image Synthesis", CVPR): against a conditional generator that draws
one image per condition whatever its latent.

Two samples drawn for the same condition from latents z1, z2 should differ in proportion to
how far apart the latents are. The generator minimises the inverse of that ratio::

    L_ms = 1 / (mean|G(z1, y) - G(z2, y)| / mean|z1 - z2| + eps)

so collapsing pairs (image distance -> 0) cost it most. The means run over all pairs and
elements of the batch, as in the paper's form.
"""

from __future__ import annotations

import torch
from torch import Tensor

EPS = 1e-5  # the paper's


def paired_labels(num_classes: int, batch_size: int, device) -> Tensor:
    """Uniform class labels, int64 ``(batch_size,)``, where label ``i`` equals label
    ``batch_size // 2 + i`` for every ``i < batch_size // 2``: the two halves form pairs
    drawn for the same class (an odd batch's last label has no partner)."""
    half = batch_size // 2
    tail = torch.randint(num_classes, (batch_size - half,), device=device)
    return torch.cat([tail[:half], tail])


def mode_seeking_term(fake: Tensor, z: Tensor) -> Tensor:
    """The MSGAN term for a batch whose first and second halves are pairs (same condition).

    ``fake`` float ``(B, ...)`` generated samples, ``z`` float ``(B, latent_dim)`` their
    latents, ``B >= 2`` (an odd batch's last sample is not used). Returns a 0-d tensor in
    ``fake``'s dtype, > 0; it grows without bound as the pairs collapse onto each other.
    Raises ValueError for ``B < 2`` or batch sizes that disagree."""
    if fake.shape[0] != z.shape[0] or fake.shape[0] < 2:
        raise ValueError(f"mode_seeking_term needs >= 2 samples and one latent per sample, got "
                         f"{fake.shape[0]} samples and {z.shape[0]} latents")
    half = fake.shape[0] // 2
    image_gap = (fake[:half] - fake[half:2 * half]).abs().mean()
    latent_gap = (z[:half] - z[half:2 * half]).abs().mean().to(image_gap.dtype)
    return 1.0 / (image_gap / latent_gap + EPS)
