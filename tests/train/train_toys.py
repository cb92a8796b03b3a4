"""A test plugin with tiny synthetic data sets for the training tests (not shipped).

Registered by the fixture in conftest.py, and by run_cli.py for subprocess runs.
"""

from dataclasses import dataclass

import torch
from torch import nn

from genreg import hookimpl
from genreg.data.base import ArrayDataset
from genreg.models.base import ReconstructionConfig, ReconstructionModel, model_factory

PLUGIN_NAME = "train-toys"


def blob(split="train", seed=0, n=512, center=3.0, std=0.1, label="", note=""):
    """2-D points around (center, center): a generator must move there (``label`` and
    ``note`` are untyped free-text parameters for the config tests; they change nothing)."""
    g = torch.Generator().manual_seed(seed)
    return ArrayDataset(center + std * torch.randn(n, 2, generator=g), name="toy-blob")


def labelled(split="train", seed=0, n=480, classes=3):
    """Three 2-D blobs, one per class, with labels."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    angle = 2 * torch.pi * y.float() / classes
    x = torch.stack([2 * torch.cos(angle), 2 * torch.sin(angle)], 1) + 0.1 * torch.randn(n, 2, generator=g)
    return ArrayDataset(x, y=y.long(), class_names=[f"c{i}" for i in range(classes)], name="toy-labelled")


def vectors(split="train", seed=0, n=512, dim=16, rank=3, noise=0.0, dtype="float32"):
    """Vectors on a rank-3 subspace (an autoencoder with latent >= 3 can learn them);
    noise > 0 gives (noisy input, clean target) pairs."""
    g = torch.Generator().manual_seed(seed)
    basis = torch.randn(rank, dim, generator=g)
    clean = torch.randn(n, rank, generator=g) @ basis / rank ** 0.5
    x = clean + noise * torch.randn(n, dim, generator=g) if noise else clean
    dt = getattr(torch, dtype)
    return ArrayDataset(x.to(dt), target=clean.to(dt) if noise else None, name="toy-vectors")


@hookimpl
def genreg_register_datasets(register):
    register("toy-blob", blob, summary="test: 2-D blob at (3, 3)")
    register("toy-labelled", labelled, summary="test: three labelled 2-D blobs")
    register("toy-vectors", vectors, summary="test: 16-d vectors on a 3-d subspace")


class MaskedNet(nn.Module):
    """A linear autoencoder that supplies its own loss terms (the agreed ``loss_terms``
    interface): mse on the masked half of the features, and a weight term.
    ``calls`` counts forward and loss_terms calls (DDP must see one forward per step)."""

    def __init__(self, dim, bad_terms=""):
        super().__init__()
        self.input_shape = self.output_shape = (dim,)
        self.lin = nn.Linear(dim, dim)
        self.bad_terms = bad_terms
        self.calls = {"forward": 0, "loss_terms": 0}

    def forward(self, x):
        self.calls["forward"] += 1
        return self.lin(x)

    def loss_terms(self, x, target):
        self.calls["loss_terms"] += 1
        mask = torch.zeros_like(x)
        mask[:, ::2] = 1.0
        recon = self.lin(x * (1 - mask))
        masked_mse = ((recon - target) ** 2 * mask).sum() / mask.sum()
        terms = {"masked_mse": masked_mse, "weight_l2": 1e-3 * self.lin.weight.pow(2).sum()}
        if self.bad_terms == "vector":
            terms["masked_mse"] = (recon - target).pow(2).mean(1)
        elif self.bad_terms == "reserved":
            terms["step"] = masked_mse
        return terms


@dataclass
class MaskedConfig(ReconstructionConfig):
    dim: int = 16
    bad_terms: str = ""  # "", "vector" or "reserved": return wrong terms (error tests)


@model_factory(MaskedConfig)
def masked(cfg):
    return ReconstructionModel(cfg, net=MaskedNet(cfg.dim, cfg.bad_terms), name="toy-masked")


@dataclass
class MismatchConfig(ReconstructionConfig):
    """Declares the reconstruction trainer..."""


@model_factory(MismatchConfig)
def mismatch(cfg):
    import genreg

    return genreg.create("model", "mlp-gan", hidden=8)  # ...but builds an adversarial model


@hookimpl
def genreg_register_models(register):
    register("toy-masked", masked, summary="test: linear autoencoder with its own loss terms")
    register("toy-mismatch", mismatch, summary="test: a config of one trainer kind, a model of the other")


class StepCounter:
    """A callback class for ``train.callbacks=train_toys:StepCounter`` (instantiated by genreg)."""

    instances = []

    def __init__(self):
        self.steps = []
        StepCounter.instances.append(self)

    def on_step_end(self, run, step, metrics):
        self.steps.append(step)
