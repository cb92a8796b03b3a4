"""Relativistic GAN losses (Jolicoeur-Martineau, "The relativistic discriminator", 2018).

Both need the critic's scores of real samples in the generator step too, which they say
with ``needs_real_score = True``; genreg's adversarial trainer then passes them.
"""

import torch.nn.functional as F
from genreg.losses.adversarial import AdversarialLoss


def _bce(logits, target: float):
    return F.binary_cross_entropy_with_logits(logits, logits.new_full(logits.shape, target))


class RelativisticLoss(AdversarialLoss):
    """RSGAN: the critic tells how much more real a real sample is than a fake one."""

    name = "rsgan"
    needs_real_score = True

    def critic(self, real_score, fake_score):
        return _bce(real_score - fake_score, 1.0)

    def generator(self, fake_score, real_score=None):
        if real_score is None:
            raise ValueError("rsgan: the generator loss needs the critic's scores of real samples")
        return _bce(fake_score - real_score, 1.0)


class RelativisticAverageLoss(AdversarialLoss):
    """RaGAN: each score is compared with the mean score of the other side."""

    name = "ragan"
    needs_real_score = True

    def critic(self, real_score, fake_score):
        return _bce(real_score - fake_score.mean(), 1.0) + _bce(fake_score - real_score.mean(), 0.0)

    def generator(self, fake_score, real_score=None):
        if real_score is None:
            raise ValueError("ragan: the generator loss needs the critic's scores of real samples")
        return _bce(fake_score - real_score.mean(), 1.0) + _bce(real_score - fake_score.mean(), 0.0)
