"""Adversarial losses on critic scores (raw logits / real-valued scores, shape (B,)).

Each loss has ``critic(real_score, fake_score)`` (minimised by the critic) and
``generator(fake_score)`` (minimised by the generator). A loss whose generator term
also needs the critic's scores of real samples (relativistic GANs) sets
``needs_real_score = True`` and takes ``generator(fake_score, real_score)``; the
adversarial trainer then passes them (computed without gradient).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ..errors import UsageError


class AdversarialLoss:
    name = "?"
    needs_real_score = False

    def critic(self, real_score: Tensor, fake_score: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def generator(self, fake_score: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class BCELoss(AdversarialLoss):
    """The original GAN loss (Goodfellow et al. 2014) on logits.

    ``non_saturating=True`` trains the generator to maximise log D(G(z)) (the usual
    choice); ``False`` minimises log(1 - D(G(z))), the minimax form.
    ``real_label`` below 1 gives one-sided label smoothing (Salimans et al. 2016).
    """

    name = "bce"

    def __init__(self, non_saturating: bool = True, real_label: float = 1.0) -> None:
        if not 0.0 < real_label <= 1.0:
            raise UsageError(f"bce: real_label must be in (0, 1], got {real_label}")
        self.non_saturating = non_saturating
        self.real_label = real_label

    def critic(self, real_score: Tensor, fake_score: Tensor) -> Tensor:
        real_target = real_score.new_full(real_score.shape, self.real_label)
        return (F.binary_cross_entropy_with_logits(real_score, real_target)
                + F.binary_cross_entropy_with_logits(fake_score, fake_score.new_zeros(fake_score.shape)))

    def generator(self, fake_score: Tensor) -> Tensor:
        if self.non_saturating:
            return F.binary_cross_entropy_with_logits(fake_score, fake_score.new_ones(fake_score.shape))
        return -F.binary_cross_entropy_with_logits(fake_score, fake_score.new_zeros(fake_score.shape))

    def __repr__(self) -> str:
        return f"BCELoss(non_saturating={self.non_saturating}, real_label={self.real_label})"


class WassersteinLoss(AdversarialLoss):
    """WGAN (Arjovsky et al. 2017): the critic maximises D(real) - D(fake)."""

    name = "wasserstein"

    def critic(self, real_score: Tensor, fake_score: Tensor) -> Tensor:
        return fake_score.mean() - real_score.mean()

    def generator(self, fake_score: Tensor) -> Tensor:
        return -fake_score.mean()


class HingeLoss(AdversarialLoss):
    """Hinge loss (Lim & Ye 2017; used by SAGAN, BigGAN)."""

    name = "hinge"

    def critic(self, real_score: Tensor, fake_score: Tensor) -> Tensor:
        return F.relu(1.0 - real_score).mean() + F.relu(1.0 + fake_score).mean()

    def generator(self, fake_score: Tensor) -> Tensor:
        return -fake_score.mean()


class LeastSquaresLoss(AdversarialLoss):
    """LSGAN (Mao et al. 2017) with targets a=0 (fake), b=1 (real), c=1 (generator)."""

    name = "least-squares"

    def critic(self, real_score: Tensor, fake_score: Tensor) -> Tensor:
        return 0.5 * ((real_score - 1.0) ** 2).mean() + 0.5 * (fake_score ** 2).mean()

    def generator(self, fake_score: Tensor) -> Tensor:
        return 0.5 * ((fake_score - 1.0) ** 2).mean()
