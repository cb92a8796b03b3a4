"""Critic penalties: ``penalty(critic, real, fake, labels=None) -> scalar``.

They differentiate the critic with ``create_graph=True`` so that the penalty's
backward reaches the critic's parameters (second order through the critic).

A penalty class sets ``per_sample = True`` when it treats each sample on its own (a
gradient norm at per-sample points): with a BatchNorm critic the samples of a batch are
coupled and such a penalty is wrong, so the GAN configs refuse that combination.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .. import kernels
from ..errors import UsageError
from ..interfaces import critic_score


def critic_input_grad(critic, x: Tensor, labels: Optional[Tensor]) -> Tensor:
    """The gradient of ``critic_score(critic(x, labels)).sum()`` with respect to ``x``.

    ``x`` float ``(B, *input_shape)`` (detached here, so real samples, fakes or interpolates
    can be passed as they are), ``labels`` int64 ``(B,)`` or ``None``. Returns a tensor of
    ``x``'s shape and dtype, computed with ``create_graph=True`` so that a penalty built on
    it backpropagates into the critic's parameters (second order through the critic).
    """
    x = x.detach().requires_grad_(True)
    score = critic_score(critic(x, labels))
    (grad,) = torch.autograd.grad(score.sum(), x, create_graph=True)
    return grad


class NoPenalty:
    name = "none"
    per_sample = False

    def __call__(self, critic, real: Tensor, fake: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        return real.new_zeros(())

    def __repr__(self) -> str:
        return "NoPenalty()"


class GradientPenalty:
    """WGAN-GP (Gulrajani et al. 2017): weight * E[(||grad D(x_hat)||_2 - center)^2] at
    per-sample random interpolates x_hat = eps*real + (1-eps)*fake, eps ~ U(0, 1)."""

    name = "gp"
    per_sample = True

    def __init__(self, weight: float = 10.0, center: float = 1.0) -> None:
        if weight < 0:
            raise UsageError(f"gp: weight must be >= 0, got {weight}")
        self.weight, self.center = weight, center

    def __call__(self, critic, real: Tensor, fake: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        eps = torch.rand(real.shape[0], device=real.device, dtype=real.dtype)
        x_hat = kernels.gp_interpolate(real.detach(), fake.detach(), eps)
        grad = critic_input_grad(critic, x_hat, labels)
        return self.weight * kernels.grad_penalty(grad, "gp", center=self.center).mean()

    def __repr__(self) -> str:
        return f"GradientPenalty(weight={self.weight}, center={self.center})"


class DivergencePenalty:
    """WGAN-div (Wu et al. 2018): (k/2) * E[||grad D(real)||^p + ||grad D(fake)||^p].

    This is the form of the widely used public implementation (gradients at the real and
    at the generated samples, both to the power p). The paper writes the penalty as
    k * E[||grad D(x_hat)||^p] over a sampling distribution that may mix real and fake;
    ``at="interpolates"`` gives that variant at per-sample random interpolates.
    """

    name = "div"
    per_sample = True

    def __init__(self, k: float = 2.0, p: float = 6.0, at: str = "real+fake") -> None:
        if at not in ("real+fake", "interpolates"):
            raise UsageError(f"div: 'at' must be 'real+fake' or 'interpolates', got {at!r}")
        if k < 0 or p <= 0:
            raise UsageError(f"div: need k >= 0 and p > 0, got k={k}, p={p}")
        self.k, self.p, self.at = k, p, at

    def __call__(self, critic, real: Tensor, fake: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        if self.at == "interpolates":
            eps = torch.rand(real.shape[0], device=real.device, dtype=real.dtype)
            x_hat = kernels.gp_interpolate(real.detach(), fake.detach(), eps)
            grad = critic_input_grad(critic, x_hat, labels)
            return self.k * kernels.grad_penalty(grad, "div", p=self.p).mean()
        real_term = kernels.grad_penalty(critic_input_grad(critic, real, labels), "div", p=self.p)
        fake_term = kernels.grad_penalty(critic_input_grad(critic, fake, labels), "div", p=self.p)
        return (self.k / 2) * (real_term + fake_term).mean()

    def __repr__(self) -> str:
        return f"DivergencePenalty(k={self.k}, p={self.p}, at={self.at!r})"
