"""Fully connected image VAE, as in the study.

Encoder: flatten (3, 128, 128) = 49152 values -> Linear 500 + ReLU -> two Linear 500 -> 50
heads (mu, logvar). Decoder: Linear 50 -> 500 + ReLU -> Linear 500 -> 49152 + sigmoid,
reshaped to (3, H, W). Image size, channels, hidden and latent sizes are configurable.
The loss (MSE + weight * KL) lives with the model entry; :func:`kl_divergence` is here.

Two optional data-dependent starts, both off by default and set by ``init_from_data``
(which the training loop calls once with the training images, see
:mod:`genreg.models.base`):

- ``VAEEncoder(input_norm="mean")``: the encoder subtracts the training set's per-pixel mean
  image from its input, so the wide first layer sees zero-mean inputs (LeCun et al. 1998,
  "Efficient BackProp", section 4.3); ``"standard"`` also divides by one global std of the
  centred pixels (unit scale). Both statistics are registered buffers (``input_mean``,
  ``input_std``; the std stays 1 for ``"mean"``): the checkpoint carries them, so a loaded
  model needs no training data. Before ``init_from_data`` they are 0 and 1 (the identity).
- ``VAEDecoder(init_output_bias=True)``: ``init_from_data`` sets the output layer's bias to
  the inverse output activation of the training targets' mean image (the logit for the
  sigmoid, clamped to [1e-4, 1 - 1e-4]), so the untrained decoder already draws about the
  mean image instead of 0.5 everywhere. It changes the initial parameters only.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from ..errors import UsageError
from ..interfaces import Decoder, Encoder
from ._common import check_choice, check_input, check_positive, inverse_output_activation, output_activation


INPUT_NORMS = ("none", "mean", "standard")


def _image_shape(owner: str, image_size: int, channels: int) -> tuple[int, int, int]:
    check_positive(owner, "image_size", image_size)
    check_positive(owner, "channels", channels)
    return (channels, image_size, image_size)


@torch.no_grad()
def mean_image(x: Tensor, chunk: int = 1024) -> Tensor:
    """The per-pixel mean of images ``x`` (N, C, H, W), accumulated in float64: (C, H, W)."""
    if x.shape[0] < 1:
        raise UsageError("mean_image: no images")
    total = torch.zeros(x.shape[1:], dtype=torch.float64, device=x.device)
    for i in range(0, x.shape[0], chunk):
        total += x[i:i + chunk].to(torch.float64).sum(0)
    return total / x.shape[0]


@torch.no_grad()
def centred_std(x: Tensor, mean: Tensor, chunk: int = 1024) -> Tensor:
    """One std of all pixels of ``x`` (N, C, H, W) around the per-pixel ``mean`` (C, H, W): 0-d float64."""
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    for i in range(0, x.shape[0], chunk):
        total += (x[i:i + chunk].to(torch.float64) - mean).pow(2).sum()
    return (total / x.numel()).sqrt()


class VAEEncoder(Encoder):
    """(B, C, H, W) images -> (mu, logvar), each (B, latent_dim).

    ``input_norm``: ``none`` (default), ``mean`` (subtract the buffer ``input_mean`` (C, H, W))
    or ``standard`` (then also divide by the buffer ``input_std``, 0-d), both set from the
    training images by :meth:`init_from_data`. An unknown value raises UsageError."""

    variational = True

    def __init__(self, image_size: int = 128, channels: int = 3, hidden: int = 500, latent_dim: int = 50,
                 input_norm: str = "none") -> None:
        super().__init__()
        self.input_shape = _image_shape("VAEEncoder", image_size, channels)
        check_positive("VAEEncoder", "hidden", hidden)
        self.latent_dim = check_positive("VAEEncoder", "latent_dim", latent_dim)
        self.input_norm = check_choice("VAEEncoder", "input_norm", input_norm, INPUT_NORMS)
        if input_norm != "none":  # persistent buffers: the checkpoint carries the statistics
            self.register_buffer("input_mean", torch.zeros(self.input_shape))
            self.register_buffer("input_std", torch.ones(()))
        flat = channels * image_size * image_size
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(flat, hidden), nn.ReLU())
        self.mu = nn.Linear(hidden, latent_dim)
        self.logvar = nn.Linear(hidden, latent_dim)

    @torch.no_grad()
    def init_from_data(self, x: Tensor, target: Optional[Tensor] = None) -> None:
        """Set ``input_mean`` (and for ``standard`` ``input_std``) from the training images ``x``
        (N, C, H, W); no-op for ``input_norm="none"``. UsageError if ``x`` has the wrong shape,
        or for ``standard`` if the images do not vary."""
        if self.input_norm == "none":
            return
        check_input("VAEEncoder.init_from_data", x, self.input_shape)
        mean = mean_image(x)
        self.input_mean.copy_(mean)
        if self.input_norm == "standard":
            std = centred_std(x, mean)
            if not float(std) > 0:
                raise UsageError(f"VAEEncoder.init_from_data: the training images have pixel std {float(std):g} "
                                 "around their mean image; model.input_norm=standard needs varying images")
            self.input_std.copy_(std)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        check_input("VAEEncoder", x, self.input_shape)
        if self.input_norm != "none":
            x = x - self.input_mean
            if self.input_norm == "standard":  # "mean" keeps std 1: no division per step
                x = x / self.input_std
        h = self.body(x)
        return self.mu(h), self.logvar(h)


class VAEDecoder(Decoder):
    """(B, latent_dim) codes -> (B, C, H, W) images in [0, 1] (sigmoid output by default)."""

    def __init__(self, image_size: int = 128, channels: int = 3, hidden: int = 500, latent_dim: int = 50,
                 output_activation_name: str = "sigmoid", init_output_bias: bool = False) -> None:
        super().__init__()
        self.output_shape = _image_shape("VAEDecoder", image_size, channels)
        check_positive("VAEDecoder", "hidden", hidden)
        self.latent_dim = check_positive("VAEDecoder", "latent_dim", latent_dim)
        self.output_activation_name = output_activation_name
        self.init_output_bias = bool(init_output_bias)
        flat = channels * image_size * image_size
        self.body = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, flat),
                                  output_activation(output_activation_name))

    @torch.no_grad()
    def init_from_data(self, x: Tensor, target: Optional[Tensor] = None) -> None:
        """With ``init_output_bias``: set the output bias so that the decoder's output for a zero
        hidden layer is the mean training target (``target``, else ``x``; (N, C, H, W)), through
        the inverse output activation (clamped). UsageError if the targets have the wrong shape."""
        if not self.init_output_bias:
            return
        target = x if target is None else target
        check_input("VAEDecoder.init_from_data", target, self.output_shape)
        pre = inverse_output_activation(self.output_activation_name, mean_image(target))
        self.body[2].bias.copy_(pre.reshape(-1))

    def forward(self, z: Tensor) -> Tensor:
        check_input("VAEDecoder", z, (self.latent_dim,))
        return self.body(z).reshape((z.shape[0],) + self.output_shape)


def reparameterise(mu: Tensor, logvar: Tensor, generator: Optional[torch.Generator] = None) -> Tensor:
    """z = mu + exp(logvar / 2) * eps, eps ~ N(0, I): differentiable in mu and logvar."""
    if mu.shape != logvar.shape:
        raise UsageError(f"reparameterise: mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} differ in shape")
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def kl_divergence(mu: Tensor, logvar: Tensor, reduction: str = "mean") -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)), summed over latent dimensions, per sample.

    ``reduction``: ``mean`` over the batch (default), ``sum``, or ``none`` (shape (B,)).
    """
    check_choice("kl_divergence", "reduction", reduction, ("mean", "sum", "none"))
    if mu.shape != logvar.shape:
        raise UsageError(f"kl_divergence: mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} differ in shape")
    per_sample = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).reshape(mu.shape[0], -1).sum(1)
    if reduction == "none":
        return per_sample
    return per_sample.sum() if reduction == "sum" else per_sample.mean()


class VAE(nn.Module):
    """Encoder + decoder: ``forward(x) -> (reconstruction, mu, logvar)`` (sampling z in training,
    using mu in eval mode so evaluation is deterministic)."""

    def __init__(self, image_size: int = 128, channels: int = 3, hidden: int = 500, latent_dim: int = 50) -> None:
        super().__init__()
        self.encoder = VAEEncoder(image_size, channels, hidden, latent_dim)
        self.decoder = VAEDecoder(image_size, channels, hidden, latent_dim)

    def forward(self, x: Tensor, generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor, Tensor]:
        mu, logvar = self.encoder(x)
        z = reparameterise(mu, logvar, generator) if self.training else mu
        return self.decoder(z), mu, logvar


def interpolate_latents(z0: Tensor, z1: Tensor, steps: int = 8) -> Tensor:
    """``steps`` codes on the straight line from z0 to z1 (both ends included): (steps, latent_dim)."""
    if steps < 2:
        raise UsageError(f"interpolate_latents: steps must be >= 2, got {steps}")
    z0, z1 = z0.reshape(-1), z1.reshape(-1)
    if z0.shape != z1.shape:
        raise UsageError(f"interpolate_latents: z0 {tuple(z0.shape)} and z1 {tuple(z1.shape)} differ in shape")
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device).unsqueeze(1)
    return (1 - t) * z0 + t * z1


@torch.no_grad()
def latent_interpolation(encoder: VAEEncoder, decoder: VAEDecoder, x0: Tensor, x1: Tensor, steps: int = 8) -> Tensor:
    """Decodings along the line between the mean codes of two images x0, x1 (each (C, H, W)):
    the study's 8-step latent interpolation strip, shape (steps, C, H, W)."""
    mu, _ = encoder(torch.stack([x0, x1]))
    return decoder(interpolate_latents(mu[0], mu[1], steps))
