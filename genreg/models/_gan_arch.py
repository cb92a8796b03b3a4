"""Network families shared by the GAN entries (gan, acgan, wgan-gp, wgan-div).

Every GAN entry has the same architecture fields (:class:`GANArchConfig`); ``arch``
picks the family by the shape of one data sample:

``dcgan``    images (C, H, W), H = W a power of two (64 and 128 are the study's):
             :mod:`genreg.nets.dcgan`
``trace1d``  traces (1, L), e.g. the 500-sample radio traces: :mod:`genreg.nets.trace1d`
``mlp2d``    points (D,), e.g. ring8 / grid25: :mod:`genreg.nets.mlp2d`
``auto``     (default) chosen from the data set when training (``genreg train`` calls
             :meth:`GANArchConfig.fit_data` with the data's sample shape before building
             the model, and stores the resolved values in the run's config); built without
             data, ``auto`` means ``dcgan``.

Size fields left at 0 (``image_size``, ``channels``, ``length``, ``dim``) are taken from the
data the same way; without data they fall back to 64, 3, 500 and 2.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from ..errors import UsageError
from .base import AdversarialConfig, describe_shape

ARCHS = ("dcgan", "trace1d", "mlp2d")
CRITIC_NORM = {"dcgan": "norm_d", "trace1d": "norm_d", "mlp2d": "mlp_norm"}  # the field setting the critic's norm
ARCH_BY_TAG = {"points": "mlp2d", "traces": "trace1d", "images": "dcgan"}  # data-set tags -> the family auto picks
FALLBACK = {"image_size": 64, "channels": 3, "length": 500, "dim": 2}
LATENT = {"dcgan": 100, "trace1d": 100, "mlp2d": 8}


@dataclass
class GANArchConfig(AdversarialConfig):
    arch: Literal["auto", "dcgan", "trace1d", "mlp2d"] = "auto"
    latent_dim: int = 0  # 0 = the family's: 100 for images and traces, 8 for points
    num_classes: int = 0  # > 0: class-conditional (acGAN critic with class logits)
    norm_g: Literal["batch", "layer", "none"] = "batch"  # generator norm
    norm_d: Literal["batch", "layer", "none"] = "batch"  # critic norm ("layer" with gradient penalties)
    # dcgan
    image_size: int = 0  # 0 = the data's (64 without data)
    channels: int = 0  # image channels; 0 = the data's (3 without data)
    base_channels: int = 64
    minibatch_std: bool = False  # critic sees the batch's feature spread (Karras et al. 2018): against collapse
    # trace1d
    length: int = 0  # trace length; 0 = the data's (500 without data)
    trace_channels: tuple[int, ...] = (128, 64, 32, 16)  # generator; the critic uses them reversed
    kernel_size: int = 9
    # mlp2d
    dim: int = 0  # point dimension; 0 = the data's (2 without data)
    hidden: int = 128

    # defaults every study GAN shares (the models override what differs, e.g. optim_defaults)
    train_defaults = {"steps": 20000, "batch_size": 64, "log_every": 50, "sample_every": 1000,
                      "checkpoint_every": 2000, "num_samples": 64}
    data_defaults = {"name": "galaxies", "size": 64}
    layers: int = 3
    mlp_norm: Literal["batch", "layer", "none"] = "none"  # hidden-layer norm of both point networks

    def validate(self) -> None:
        super().validate()
        for key in ("base_channels", "kernel_size", "hidden", "layers"):
            if getattr(self, key) < 1:
                raise UsageError(f"model.{key} must be >= 1, got {getattr(self, key)}")
        for key in ("latent_dim", "image_size", "channels", "length", "dim", "num_classes"):
            if getattr(self, key) < 0:
                raise UsageError(f"model.{key} must be >= 0, got {getattr(self, key)}")
        if not self.trace_channels or any(c < 1 for c in self.trace_channels):
            raise UsageError(f"model.trace_channels must be positive integers, got {list(self.trace_channels)}")
        if self.arch != "auto":
            self._check_critic_norm(self.arch)

    def check_run(self, run, *, per_process_batch: int, world_size: int = 1) -> None:
        """Checks that need the rest of the run (called when the config is resolved)."""
        super().check_run(run, per_process_batch=per_process_batch, world_size=world_size)
        archs = self._possible_archs(run.data.get("name"))
        if "mlp2d" in archs and self.mlp_norm == "batch" and per_process_batch < 2:
            # BatchNorm1d over (B, features) has one value per channel at B = 1: no batch statistics
            over = f" over {world_size} processes" if world_size > 1 else ""
            raise UsageError(f"model.mlp_norm=batch needs at least 2 samples per process, but train.batch_size="
                             f"{run.train.batch_size} gives {per_process_batch}{over}: raise train.batch_size "
                             "or set model.mlp_norm=layer or none")
        if len(archs) == 1:
            self._check_critic_norm(archs[0])

    def _possible_archs(self, data_name) -> tuple[str, ...]:
        """The family this config will build: the set arch, or the one auto picks for the data."""
        if self.arch != "auto":
            return (self.arch,)
        from .. import get_registry
        from ..data import split_spec

        try:
            tags = get_registry().get("dataset", split_spec(data_name)[0]).tags
        except Exception:  # a data set resolve has not checked yet: any family
            return ARCHS
        found = [arch for tag, arch in ARCH_BY_TAG.items() if tag in tags]
        return (found[0],) if len(found) == 1 else ARCHS

    def _check_critic_norm(self, arch: str) -> None:
        """A BatchNorm critic couples the samples of a batch: a per-sample penalty is then wrong."""
        key = CRITIC_NORM[arch]
        if getattr(self, key) != "batch":
            return
        from .. import get_registry

        try:
            per_sample = getattr(get_registry().get("penalty", self.penalty).load(), "per_sample", False)
        except Exception:  # an unknown or broken penalty is reported by the caller
            return
        if per_sample:
            raise UsageError(f"model.{key}=batch cannot be used with model.penalty={self.penalty}: a BatchNorm "
                             "critic couples the samples of a batch, so the per-sample gradient penalty is wrong; "
                             f"set model.{key}=layer (or none)")

    def fit_data(self, sample_shape: tuple[int, ...], num_classes: int = 0) -> "GANArchConfig":
        """This config with ``arch="auto"`` and 0-sizes resolved from one data sample's shape."""
        shape = tuple(int(s) for s in sample_shape)
        arch = self.arch if self.arch != "auto" else arch_for_shape(shape)
        changes: dict = {"arch": arch}
        if arch == "dcgan" and len(shape) == 3:
            if self.image_size == 0:
                changes["image_size"] = shape[-1]
            if self.channels == 0:
                changes["channels"] = shape[0]
        elif arch == "trace1d" and len(shape) == 2 and self.length == 0:
            changes["length"] = shape[-1]
        elif arch == "mlp2d" and len(shape) == 1 and self.dim == 0:
            changes["dim"] = shape[0]
        if self.latent_dim == 0:
            changes["latent_dim"] = LATENT[arch]
        resolved = dataclasses.replace(self, **changes)
        resolved.validate()
        return resolved


def arch_for_shape(shape: tuple[int, ...]) -> str:
    if len(shape) == 3 and shape[1] == shape[2]:
        return "dcgan"
    if len(shape) == 2 and shape[0] == 1:
        return "trace1d"
    if len(shape) == 1:
        return "mlp2d"
    raise UsageError(f"no GAN network family for samples of shape {describe_shape(shape)}: "
                     "expected images (C, H, H), traces (1, L) or points (D,)")


def _size(cfg: GANArchConfig, key: str) -> int:
    return getattr(cfg, key) or FALLBACK[key]


def build_networks(cfg: GANArchConfig):
    """(generator, critic) of the family ``cfg.arch`` names."""
    arch = "dcgan" if cfg.arch == "auto" else cfg.arch
    latent = cfg.latent_dim or LATENT[arch]
    if arch == "dcgan":
        from ..nets.dcgan import DCGANCritic, DCGANGenerator

        size, ch = _size(cfg, "image_size"), _size(cfg, "channels")
        # class-conditioning options only the acGAN config has (off elsewhere)
        return (DCGANGenerator(size, ch, latent, cfg.base_channels, cfg.num_classes, norm=cfg.norm_g,
                               cond_norm=getattr(cfg, "cond_norm", False)),
                DCGANCritic(size, ch, cfg.base_channels, cfg.num_classes, norm=cfg.norm_d,
                            minibatch_std=cfg.minibatch_std, projection=getattr(cfg, "projection", False)))
    if arch == "trace1d":
        from ..nets.trace1d import TraceCritic, TraceGenerator

        length, chans = _size(cfg, "length"), tuple(cfg.trace_channels)
        return (TraceGenerator(length, latent, chans, cfg.kernel_size, cfg.num_classes, norm=cfg.norm_g),
                TraceCritic(length, tuple(reversed(chans)), cfg.kernel_size, cfg.num_classes, norm=cfg.norm_d))
    from ..nets.mlp2d import MLPCritic, MLPGenerator

    dim = _size(cfg, "dim")
    # the mixtures are unbounded (linear output); point networks have their own norm field,
    # "none" by default, the usual set-up of the mode-collapse experiments
    return (MLPGenerator(latent, dim, cfg.hidden, cfg.layers, cfg.num_classes, norm=cfg.mlp_norm),
            MLPCritic(dim, cfg.hidden, cfg.layers, cfg.num_classes, norm=cfg.mlp_norm))
