"""Small pieces the network families share: activations, norms, label checks."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from ..errors import UsageError

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "elu", "none")
OUTPUT_ACTIVATIONS = ("sigmoid", "tanh", "none")
NORMS = ("batch", "layer", "none")


def check_choice(owner: str, key: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise UsageError(f"{owner}: {key} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def check_positive(owner: str, key: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UsageError(f"{owner}: {key} must be a positive integer, got {value!r}")
    return value


def activation(name: str, negative_slope: float = 0.2) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(negative_slope)
    if name == "tanh":
        return nn.Tanh()
    if name == "elu":
        return nn.ELU()
    if name == "none":
        return nn.Identity()
    raise UsageError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")


def output_activation(name: str) -> nn.Module:
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "tanh":
        return nn.Tanh()
    if name == "none":
        return nn.Identity()
    raise UsageError(f"unknown output activation {name!r}; choose one of {', '.join(OUTPUT_ACTIVATIONS)}")


def inverse_output_activation(name: str, y: Tensor, eps: float = 1e-4) -> Tensor:
    """The pre-activation value whose output is ``y`` (clamped inside the output's range)."""
    if name == "sigmoid":
        return torch.logit(y.clamp(eps, 1 - eps))
    if name == "tanh":
        return torch.atanh(y.clamp(-1 + eps, 1 - eps))
    if name == "none":
        return y
    raise UsageError(f"unknown output activation {name!r}; choose one of {', '.join(OUTPUT_ACTIVATIONS)}")


def norm_layer(name: str, channels: int, dims: int) -> nn.Module:
    """A normalisation for ``channels`` feature maps of ``dims`` spatial dimensions (0 = vectors).

    ``layer`` normalises each sample over all its features (GroupNorm with one group for
    feature maps, LayerNorm for vectors): no statistics across the batch, so it is safe in a
    critic trained with a gradient penalty, where BatchNorm would couple the samples.
    """
    if name == "none":
        return nn.Identity()
    if name == "batch":
        return {0: nn.BatchNorm1d, 1: nn.BatchNorm1d, 2: nn.BatchNorm2d}[dims](channels)
    if name == "layer":
        return nn.LayerNorm(channels) if dims == 0 else nn.GroupNorm(1, channels)
    raise UsageError(f"unknown norm {name!r}; choose one of {', '.join(NORMS)}")


def check_input(owner: str, x: Tensor, expected: tuple[int, ...]) -> None:
    """Reject a batch whose per-sample shape is not ``expected``, naming both shapes."""
    if not isinstance(x, Tensor):
        raise UsageError(f"{owner}: expected a tensor, got {type(x).__name__}")
    if tuple(x.shape[1:]) != tuple(expected) or x.dim() != len(expected) + 1:
        raise UsageError(f"{owner}: expected input of shape (batch, {', '.join(map(str, expected))}), "
                         f"got {tuple(x.shape)}")


def check_labels(owner: str, y: Optional[Tensor], batch: int, num_classes: int) -> Tensor:
    """Class labels for a conditional network: integer tensor (batch,) in [0, num_classes)."""
    if y is None:
        raise UsageError(f"{owner}: this network is conditional on {num_classes} classes; pass labels y")
    if not isinstance(y, Tensor) or y.dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        raise UsageError(f"{owner}: labels must be an integer tensor, got "
                         f"{getattr(y, 'dtype', type(y).__name__)}")
    if tuple(y.shape) != (batch,):
        raise UsageError(f"{owner}: labels must have shape ({batch},), got {tuple(y.shape)}")
    # the range check reads values: skipped while a graph is traced for export (data-dependent)
    if y.numel() and not _tracing() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise UsageError(f"{owner}: labels must lie in [0, {num_classes}), got values in "
                         f"[{int(y.min())}, {int(y.max())}]")
    return y.long()


def _tracing() -> bool:
    is_exporting = getattr(torch.compiler, "is_exporting", lambda: False)
    return torch.jit.is_tracing() or torch.compiler.is_compiling() or is_exporting()


def check_latent(owner: str, z: Tensor, latent_dim: int) -> None:
    if not isinstance(z, Tensor) or z.dim() != 2 or z.shape[1] != latent_dim:
        raise UsageError(f"{owner}: expected latents of shape (batch, {latent_dim}), "
                         f"got {tuple(getattr(z, 'shape', ()))}")


class LabelConditioning(nn.Module):
    """Concatenate a learned class embedding to the latent (num_classes = 0: pass through)."""

    def __init__(self, owner: str, latent_dim: int, num_classes: int, embed_dim: int) -> None:
        super().__init__()
        self.owner, self.num_classes = owner, num_classes
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes > 0 else None
        self.out_dim = latent_dim + (embed_dim if num_classes > 0 else 0)

    def forward(self, z: Tensor, y: Optional[Tensor]) -> Tensor:
        if self.embed is None:
            return z
        y = check_labels(self.owner, y, z.shape[0], self.num_classes)
        return torch.cat([z, self.embed(y)], dim=1)


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN initialisation (Radford et al. 2015): conv weights N(0, 0.02), norm scales N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
