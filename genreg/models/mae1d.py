"""``mae1d``: a masked autoencoder for 1-D traces (He et al. 2021, arXiv:2111.06377; the
same idea for audio: Huang et al. 2022, Audio-MAE).

Network: :class:`genreg.nets.mae.MAE1d`. A trace of ``length`` samples (500 for the radio
data) is cut into patches of ``patch_size`` samples (10: 50 patches); ``mask_ratio`` of
them (0.75) are hidden at random per trace; a pre-norm transformer encoder (``embed_dim``
64, ``depth`` 3, ``heads`` 4) reads the visible patches only, a lighter decoder
(``decoder_dim`` 32, ``decoder_depth`` 1) fills in a learned mask token at every hidden
position and predicts every patch; 1-D sine-cosine position embeddings. Objective: the MSE
on the hidden patches only, against the input trace itself (``target="data"``: against the
data's clean signal instead, a masked denoising autoencoder), each patch normalised to zero
mean and unit variance (``norm_pix_loss``, on by default: the model predicts each patch's
shape, a pulse's oscillation, not the trace's level; with raw targets the linear probe did
not beat a random encoder's), supplied by the net as its own loss terms (``net.loss_terms``).

Defaults: radio traces with realistic noise, half of them noise only (``noise_only=0.5``,
so ``genreg eval`` can probe signal vs noise), Adam lr 1e-3 with betas (0.9, 0.95), batch 64.
``length`` and ``channels`` at 0 follow the data.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError
from .base import ReconstructionModel, fill_from_data, model_factory
from .mae import MaskedConfig


@dataclass
class MAE1dConfig(MaskedConfig):
    length: int = 0  # trace length; 0 = the data's (500 without data)
    channels: int = 0  # 0 = the data's (1 without data)
    patch_size: int = 10
    embed_dim: int = 64
    depth: int = 3
    decoder_dim: int = 32
    decoder_depth: int = 1

    train_defaults = {"steps": 3000, "batch_size": 64, "log_every": 50, "sample_every": 500,
                      "checkpoint_every": 1000, "num_samples": 8}
    optim_defaults = {"lr": 1e-3, "betas": (0.9, 0.95)}
    data_defaults = {"name": "radio", "noise": "realistic", "noise_only": 0.5}

    def validate(self) -> None:
        super().validate()
        for key in ("length", "channels"):
            if getattr(self, key) < 0:
                raise UsageError(f"model.{key} must be >= 0 (0 = the data's), got {getattr(self, key)}")
        if self.patch_size < 1:
            raise UsageError(f"model.patch_size must be >= 1, got {self.patch_size}")
        length = self.length or 500
        self.validate_patches(length, "trace length", length // self.patch_size)

    def fit_data(self, sample_shape: tuple[int, ...], num_classes: int = 0) -> "MAE1dConfig":
        if len(sample_shape) != 2:
            return self  # the trainer's shape check names the mismatch
        return fill_from_data(self, {"length": sample_shape[-1], "channels": sample_shape[0]})


@model_factory(MAE1dConfig)
def mae1d(cfg: MAE1dConfig) -> ReconstructionModel:
    from ..nets.mae import MAE1d

    net = MAE1d(cfg.length or 500, cfg.channels or 1, cfg.patch_size, **cfg.net_kwargs())
    return ReconstructionModel(cfg, net=net, name="mae1d")
