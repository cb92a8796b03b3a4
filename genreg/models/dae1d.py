"""``dae1d``: the study's 1-D convolutional denoising autoencoder for radio traces.

Network: :class:`genreg.nets.dae1d.DAE1d` -- four Conv1d + ReLU + 2x max-pool blocks,
500 -> 250 -> 125 -> 62 -> 31 samples, ending in 16 channels (the code: 16 x 31 = 496
values), mirrored by upsample + Conv1d blocks back to 500 samples with a sigmoid output.
Objective: MSE between the recovered trace and the clean signal (noisy -> clean pairs of
the ``radio`` data set). Adam lr 1e-3, batch 64. Each trace's mean is taken off before the
encoder and restored at the output (``model.center``, see :mod:`genreg.nets.dae1d`).

``length=0`` takes the trace length from the data (500 without data).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from ..errors import UsageError
from .base import ReconstructionConfig, ReconstructionModel, model_factory


@dataclass
class DAE1dConfig(ReconstructionConfig):
    length: int = 0  # trace length; 0 = the data's (500 without data)
    channels: tuple[int, ...] = (32, 64, 64, 16)
    kernel_sizes: tuple[int, ...] = (9, 9, 5, 5)
    activation: Literal["relu", "leaky_relu", "none"] = "relu"
    upsample: Literal["nearest", "linear"] = "nearest"
    center: bool = True  # subtract each trace's mean before the encoder, restore it at the output
    skips: bool = False  # U-Net skip connections from each encoder block to the decoder
    spectral_gate: int = 0  # channels of a learned per-trace spectral gate before the encoder; 0 = none
    line_removal: int = 0  # interference lines (30-85 MHz sinusoids) fitted and subtracted before the encoder; 0 = none

    train_defaults = {"steps": 6000, "batch_size": 64, "log_every": 50, "sample_every": 1000,
                      "checkpoint_every": 1000, "num_samples": 8}
    optim_defaults = {"lr": 1e-3}
    data_defaults = {"name": "radio", "noise": "realistic"}

    def validate(self) -> None:
        super().validate()
        if self.objective != "mse":
            raise UsageError(f"model.objective of dae1d must be mse (a denoiser has no latent KL), got {self.objective}")
        if self.spectral_gate < 0:
            raise UsageError(f"model.spectral_gate must be >= 0 (0 = none), got {self.spectral_gate}")
        if isinstance(self.line_removal, bool) or not isinstance(self.line_removal, int) or self.line_removal < 0:
            raise UsageError(f"model.line_removal must be an integer >= 0 (0 = none), got {self.line_removal!r}")
        if self.length < 0:
            raise UsageError(f"model.length must be >= 0 (0 = the data's), got {self.length}")
        if len(self.channels) != len(self.kernel_sizes) or not self.channels:
            raise UsageError(f"model.channels and model.kernel_sizes need the same non-zero length, got "
                             f"{len(self.channels)} and {len(self.kernel_sizes)}")

    def fit_data(self, sample_shape: tuple[int, ...], num_classes: int = 0) -> "DAE1dConfig":
        if self.length == 0 and len(sample_shape) == 2:
            resolved = dataclasses.replace(self, length=int(sample_shape[-1]))
            resolved.validate()
            return resolved
        return self


@model_factory(DAE1dConfig)
def dae1d(cfg: DAE1dConfig) -> ReconstructionModel:
    from ..nets.dae1d import DAE1d

    net = DAE1d(cfg.length or 500, tuple(cfg.channels), tuple(cfg.kernel_sizes), cfg.activation,
                upsample=cfg.upsample, center=cfg.center, skips=cfg.skips,
                spectral_gate=cfg.spectral_gate, line_removal=cfg.line_removal)
    # shapes for the trainer's check against the data (a clear error instead of a conv error)
    net.input_shape, net.output_shape = net.encoder.input_shape, net.decoder.output_shape
    return ReconstructionModel(cfg, net=net, name="dae1d")
