"""``mae``: a masked autoencoder for images (He et al. 2021, arXiv:2111.06377).

Network: :class:`genreg.nets.mae.MAE2d`. Each image is cut into square patches of
``patch_size`` pixels (0 = ``image_size // 8``: an 8 x 8 grid of patches at any size);
``mask_ratio`` of them (0.75) are hidden at random per sample; a pre-norm transformer
encoder (``embed_dim`` 128, ``depth`` 4, ``heads`` 4) reads the visible patches only, a
lighter decoder (``decoder_dim`` 64, ``decoder_depth`` 2) fills in a learned mask token
at every hidden position and predicts every patch; 2-D sine-cosine position embeddings.
Objective: the MSE on the hidden patches only, against each patch normalised to zero mean
and unit variance (``model.norm_pix_loss``, on by default as the paper recommends: with
raw-pixel targets the frozen encoder's linear probe did not beat a random encoder's). The
net supplies this objective as its own loss terms (``net.loss_terms``), so the
reconstruction trainer needs no special case.
Sizes are small enough for a CPU; the paper's ViT-B is embed 768, depth 12, decoder 512 x 8.

Defaults: galaxies at 64 x 64, Adam lr 1e-3 with betas (0.9, 0.95), batch 64.
``image_size`` and ``channels`` at 0 follow the data.

:class:`MaskedConfig` holds the fields ``mae`` and ``mae1d`` share.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from ..errors import UsageError
from .base import ReconstructionConfig, ReconstructionModel, fill_from_data, model_factory


@dataclass
class MaskedConfig(ReconstructionConfig):
    """The fields every masked autoencoder has; ``validate_patches`` checks the patch grid."""

    patch_size: int = 0
    mask_ratio: float = 0.75  # fraction of patches hidden per sample
    # predict each patch normalised to zero mean, unit variance: the paper's recommended target;
    # against raw values the encoder's linear probe did not beat a random encoder's (README)
    norm_pix_loss: bool = True
    target: Literal["input", "data"] = "input"  # what hidden patches are scored against: x or the data's target
    embed_dim: int = 128
    depth: int = 4
    heads: int = 4
    decoder_dim: int = 64
    decoder_depth: int = 2
    decoder_heads: int = 4
    mlp_ratio: float = 4.0  # hidden width of each transformer MLP, as a multiple of its width

    pos_multiple = 2  # the sine-cosine table needs widths divisible by this

    def validate(self) -> None:
        super().validate()
        if self.objective != "mse":
            raise UsageError(f"model.objective of a masked autoencoder must be mse (the masked-patch MSE), "
                             f"got {self.objective}")
        if not 0.0 < self.mask_ratio < 1.0:
            raise UsageError(f"model.mask_ratio must be in (0, 1), got {self.mask_ratio}")
        if self.patch_size < 0:
            raise UsageError(f"model.patch_size must be >= 0 (0 = the default for the data), got {self.patch_size}")
        for key in ("depth", "decoder_depth"):
            if getattr(self, key) < 1:
                raise UsageError(f"model.{key} must be >= 1, got {getattr(self, key)}")
        if self.mlp_ratio <= 0:
            raise UsageError(f"model.mlp_ratio must be > 0, got {self.mlp_ratio}")
        for width, heads in (("embed_dim", "heads"), ("decoder_dim", "decoder_heads")):
            w, h = getattr(self, width), getattr(self, heads)
            if h < 1 or w < 1 or w % h or w % self.pos_multiple:
                raise UsageError(f"model.{width} must be a positive multiple of model.{heads} and of "
                                 f"{self.pos_multiple} (sine-cosine positions), got {width}={w}, {heads}={h}")

    def validate_patches(self, extent: int, what: str, count: int) -> None:
        """``extent`` (the trace length or image side) must split into patches leaving at
        least one hidden and one visible patch among ``count``."""
        from ..nets.mae import num_masked

        if extent % self.patch_size:
            raise UsageError(f"model.patch_size={self.patch_size} does not divide the {what} {extent}")
        hidden = num_masked(count, self.mask_ratio)
        if not 0 < hidden < count:
            raise UsageError(f"model.mask_ratio={self.mask_ratio} hides {hidden} of {count} patches; "
                             "at least one must be hidden and one visible")

    def net_kwargs(self) -> dict:
        keys = ("embed_dim", "depth", "heads", "decoder_dim", "decoder_depth", "decoder_heads", "mlp_ratio",
                "mask_ratio", "norm_pix_loss", "target")
        return {k: getattr(self, k) for k in keys}


@dataclass
class MAEConfig(MaskedConfig):
    image_size: int = 0  # 0 = the data's (64 without data)
    channels: int = 0  # 0 = the data's (3 without data)

    pos_multiple = 4  # half the channels for rows, half for columns
    train_defaults = {"steps": 4000, "batch_size": 64, "log_every": 50, "sample_every": 500,
                      "checkpoint_every": 1000, "num_samples": 16}
    optim_defaults = {"lr": 1e-3, "betas": (0.9, 0.95)}
    data_defaults = {"name": "galaxies", "size": 64}

    def validate(self) -> None:
        super().validate()
        for key in ("image_size", "channels"):
            if getattr(self, key) < 0:
                raise UsageError(f"model.{key} must be >= 0 (0 = the data's), got {getattr(self, key)}")
        size = self.image_size or 64
        patch = self.patch_size or max(size // 8, 1)
        dataclasses.replace(self, patch_size=patch).validate_patches(size, "image size", (size // patch) ** 2)

    def fit_data(self, sample_shape: tuple[int, ...], num_classes: int = 0) -> "MAEConfig":
        if len(sample_shape) != 3 or sample_shape[1] != sample_shape[2]:
            return self  # the trainer's shape check names the mismatch
        return fill_from_data(self, {"image_size": sample_shape[-1], "channels": sample_shape[0]})


@model_factory(MAEConfig)
def mae(cfg: MAEConfig) -> ReconstructionModel:
    from ..nets.mae import MAE2d

    size, channels = cfg.image_size or 64, cfg.channels or 3
    net = MAE2d(size, channels, cfg.patch_size or max(size // 8, 1), **cfg.net_kwargs())
    return ReconstructionModel(cfg, net=net, name="mae")
