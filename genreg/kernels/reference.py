"""Pure-PyTorch implementations of genreg's ops.

They are the fallback when the extension is absent and the oracle the tests compare
the fused kernels against. They are written for clarity and differentiability, not
speed.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def per_sample_view(values: Tensor, like: Tensor) -> Tensor:
    """Reshape one value per sample to (B, 1, ..., 1) so it broadcasts against ``like``."""
    return values.reshape((like.shape[0],) + (1,) * (like.dim() - 1))


def gp_interpolate(real: Tensor, fake: Tensor, eps: Tensor) -> Tensor:
    """x_hat = eps * real + (1 - eps) * fake, with one eps per sample."""
    return fake + per_sample_view(eps, real) * (real - fake)


GRAD_PENALTY_MODES = ("gp", "div")


def grad_penalty(grads: Tensor, mode: str = "gp", center: float = 1.0, p: float = 6.0) -> Tensor:
    """Per-sample penalty on critic gradients, the norm taken over all non-batch dims.

    ``gp``:  (||g||_2 - center)^2          (WGAN-GP, Gulrajani et al. 2017)
    ``div``: ||g||_2^p = (sum g^2)^(p/2)   (WGAN-div, Wu et al. 2018; the loss scales it by k/2)
    """
    # the sample size spelled out: reshape(B, -1) is ambiguous for an empty batch
    flat = grads.reshape(grads.shape[0], math.prod(grads.shape[1:]))
    if mode == "gp":
        return (torch.linalg.vector_norm(flat, dim=1) - center) ** 2
    if mode == "div":
        return flat.pow(2).sum(1).pow(p / 2)
    raise ValueError(f"grad_penalty: unknown mode {mode!r}; modes are {', '.join(GRAD_PENALTY_MODES)}")


CONV1D_ACTIVATIONS = ("relu", "leaky_relu", "none")


def _activation(z: Tensor, activation: str, negative_slope: float, op: str) -> Tensor:
    if activation == "relu":
        return torch.relu(z)
    if activation == "leaky_relu":
        return torch.nn.functional.leaky_relu(z, negative_slope)
    if activation != "none":
        raise ValueError(f"{op}: unknown activation {activation!r}; choose {', '.join(CONV1D_ACTIVATIONS)}")
    return z


def conv1d_block(x: Tensor, weight: Tensor, bias: Tensor | None = None, activation: str = "relu",
                 negative_slope: float = 0.01, pool: bool = True) -> Tensor:
    """max_pool1d(act(conv1d(x, weight, bias, 'same' padding)), 2), the pool optional."""
    z = torch.nn.functional.conv1d(x, weight, bias, padding=weight.shape[-1] // 2)
    z = _activation(z, activation, negative_slope, "conv1d_block")
    return torch.nn.functional.max_pool1d(z, 2) if pool else z


def upconv1d_block(x: Tensor, weight: Tensor, bias: Tensor | None, size: int, activation: str = "relu",
                   negative_slope: float = 0.01) -> Tensor:
    """act(conv1d(interpolate(x, size, 'nearest'), weight, bias, 'same' padding)): the
    decoder block, upsampling to exactly ``size`` positions."""
    u = torch.nn.functional.interpolate(x, size=size, mode="nearest")
    z = torch.nn.functional.conv1d(u, weight, bias, padding=weight.shape[-1] // 2)
    return _activation(z, activation, negative_slope, "upconv1d_block")
