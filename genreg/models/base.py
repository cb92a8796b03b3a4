"""The model contract: what a model entry's factory returns and how it is configured.

A model entry's factory is called with keyword overrides of its config dataclass
(``genreg.create("model", "mlp-gan", hidden=32)``; ``genreg train`` passes the
``[model]`` section) and returns one of:

:class:`AdversarialModel`
    ``generator`` (a :class:`genreg.interfaces.Generator`) and ``critic`` (a
    :class:`genreg.interfaces.Critic`) plus an :class:`AdversarialConfig` naming the
    ``loss`` and ``penalty`` registry entries and their parameters, ``n_critic``,
    ``aux_weight`` (class-conditional models, ``generator.num_classes > 0``: the critic
    returns ``(score, class_logits)`` and both networks get a cross-entropy term) and
    ``ema_decay`` (0 = no EMA of the generator weights) and ``mode_seeking`` (weight of the
    generator's mode-seeking term, 0 = off; :mod:`genreg.training.adversarial`).
:class:`ReconstructionModel`
    ``encoder`` + ``decoder`` (a VAE encoder returns ``(mu, logvar)``), or one ``net``
    mapping input to reconstruction (a denoiser), plus a :class:`ReconstructionConfig`
    with the ``objective`` (``mse`` or ``mse+kl``) and ``kl_weight``.

The config dataclass subclasses :class:`AdversarialConfig` or :class:`ReconstructionConfig`
and adds the architecture's fields, each with its published default. Class attributes
(not fields) give the defaults of the other sections, so ``genreg train MODEL`` with no
options reproduces the published setup:

``train_defaults``  e.g. ``{"steps": 20000, "batch_size": 64}``  -> ``[train]``
``optim_defaults``  e.g. ``{"lr_g": 1e-4, "betas": (0.0, 0.9)}`` -> ``[opt]``
``data_defaults``   e.g. ``{"name": "ring8"}``                    -> ``[data]``

Optionally the config has ``fit_data(sample_shape, num_classes) -> config``: the training
loop calls it with the data set's sample shape before building the model, so fields
meaning "from the data" (a GAN's ``arch="auto"``, sizes left at 0) get concrete values;
the returned, resolved config is the one the run stores.

Optionally a built model's networks (the values of ``model.modules()``) have
``init_from_data(x, target)``: the training loop calls it once per run, right after building
the model and before the trainer, its optimiser or a resumed checkpoint see it, with the
training set's inputs ``x`` and targets (``None`` when the targets are the inputs), both on
the CPU (:func:`init_from_data`). It sets data-dependent starting values: initial parameters
or data statistics kept in registered (persistent) buffers, which the checkpoint stores, so a
loaded model (``genreg eval`` / ``apply``, ``--resume``) needs no training data and gives the
same outputs. It must not draw random numbers (the run's RNG stream stays as without it).

Optionally it has ``check_run(run, *, per_process_batch, world_size)``: called when the run
configuration is resolved (before any data is built) to refuse combinations that cannot work
across sections, with a one-line UsageError naming the key (e.g. BatchNorm with one sample per
process). ``X_params`` tables next to a field ``X`` naming a loss or penalty are checked
against that entry's signature at the same time. A field holding ``"module:attr"`` code specs
is declared with ``field(..., metadata={"code": True})``: such values are never taken from a
stored config (``--resume``) unless the user names them again.

:func:`model_factory` turns ``build(config) -> model`` into such a factory (strict
keyword checking, ``config_class`` attribute the CLI reads to type ``model.*`` keys).
"""

from __future__ import annotations

import dataclasses

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Literal

from ..errors import UsageError


@dataclass
class AdversarialConfig:
    """Trainer settings every adversarial model has (``model.*`` keys)."""

    loss: str = "wasserstein"  # a registered loss: bce, wasserstein, hinge, least-squares
    loss_params: dict = field(default_factory=dict)  # keyword arguments of the loss
    penalty: str = "gp"  # a registered penalty: gp, div, none
    penalty_params: dict = field(default_factory=dict)
    n_critic: int = 5  # critic updates per generator update
    aux_weight: float = 1.0  # weight of the auxiliary class loss (class-conditional models)
    ema_decay: float = 0.0  # EMA of generator weights for sampling; 0 = off
    mode_seeking: float = 0.0  # weight of the mode-seeking term (Mao et al. 2019); 0 = off

    trainer: ClassVar[str] = "adversarial"
    train_defaults: ClassVar[dict] = {}
    optim_defaults: ClassVar[dict] = {}
    data_defaults: ClassVar[dict] = {}

    def validate(self) -> None:
        from .. import get_registry

        registry = get_registry()
        registry.get("loss", self.loss)  # unknown names raise with close matches
        registry.get("penalty", self.penalty)
        if self.n_critic < 1:
            raise UsageError(f"model.n_critic must be >= 1, got {self.n_critic}")
        if self.aux_weight < 0:
            raise UsageError(f"model.aux_weight must be >= 0, got {self.aux_weight}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise UsageError(f"model.ema_decay must be in [0, 1), got {self.ema_decay}")
        if not self.mode_seeking >= 0:
            raise UsageError(f"model.mode_seeking must be >= 0, got {self.mode_seeking}")

    def check_run(self, run, *, per_process_batch: int, world_size: int = 1) -> None:
        """Checks that need the rest of the run (called when the config is resolved)."""
        if self.mode_seeking and per_process_batch < 2:
            over = f" over {world_size} processes" if world_size > 1 else ""
            raise UsageError(f"model.mode_seeking compares pairs of samples: it needs at least 2 per process, "
                             f"but train.batch_size={run.train.batch_size} gives {per_process_batch}{over}")


@dataclass
class ReconstructionConfig:
    """Trainer settings every reconstruction model has (``model.*`` keys).

    ``mse``     mean squared error over all elements of (reconstruction - target)
    ``mse+kl``  mse + kl_weight * KL(q(z|x) || N(0, I)), the KL summed over latent
                dimensions and averaged over the batch (the encoder returns (mu, logvar))
    """

    objective: Literal["mse", "mse+kl"] = "mse"
    kl_weight: float = 1.0

    trainer: ClassVar[str] = "reconstruction"
    train_defaults: ClassVar[dict] = {}
    optim_defaults: ClassVar[dict] = {}
    data_defaults: ClassVar[dict] = {}

    def validate(self) -> None:
        if self.kl_weight < 0:
            raise UsageError(f"model.kl_weight must be >= 0, got {self.kl_weight}")


class AdversarialModel:
    """A generator and a critic, and how to train them (see the module docstring)."""

    trainer = "adversarial"

    def __init__(self, generator, critic, config: AdversarialConfig, name: str = "") -> None:
        from ..interfaces import Critic, Generator

        if not isinstance(generator, Generator):
            raise TypeError(f"{name or 'model'}: generator must be a genreg.interfaces.Generator, "
                            f"got {type(generator).__name__}")
        if not isinstance(critic, Critic):
            raise TypeError(f"{name or 'model'}: critic must be a genreg.interfaces.Critic, got {type(critic).__name__}")
        if generator.num_classes != critic.num_classes:
            raise UsageError(f"{name or 'model'}: generator has {generator.num_classes} classes, "
                             f"critic has {critic.num_classes}")
        self.generator, self.critic, self.config, self.name = generator, critic, config, name

    @property
    def num_classes(self) -> int:
        return self.generator.num_classes

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.generator.output_shape)

    def modules(self) -> dict:
        return {"generator": self.generator, "critic": self.critic}


class ReconstructionModel:
    """An encoder + decoder, or a single ``net``, and its objective."""

    trainer = "reconstruction"

    def __init__(self, config: ReconstructionConfig, *, encoder=None, decoder=None, net=None,
                 name: str = "") -> None:
        if net is None and (encoder is None or decoder is None):
            raise TypeError(f"{name or 'model'}: give encoder and decoder, or net")
        if net is not None and (encoder is not None or decoder is not None):
            raise TypeError(f"{name or 'model'}: give encoder and decoder, or net, not both")
        if config.objective == "mse+kl" and (encoder is None or not getattr(encoder, "variational", False)):
            raise UsageError(f"{name or 'model'}: objective mse+kl needs a variational encoder returning (mu, logvar)")
        self.encoder, self.decoder, self.net, self.config, self.name = encoder, decoder, net, config, name

    @property
    def variational(self) -> bool:
        return self.config.objective == "mse+kl"

    @property
    def input_shape(self) -> tuple[int, ...]:
        owner = self.net if self.net is not None else self.encoder
        return tuple(getattr(owner, "input_shape", ()) or ())

    @property
    def output_shape(self) -> tuple[int, ...]:
        owner = self.net if self.net is not None else self.decoder
        return tuple(getattr(owner, "output_shape", ()) or ())

    def modules(self) -> dict:
        if self.net is not None:
            return {"net": self.net}
        return {"encoder": self.encoder, "decoder": self.decoder}


def model_factory(config_class: type) -> Callable[[Callable[[Any], Any]], Callable[..., Any]]:
    """Decorate ``build(config) -> model`` into a registry factory taking keyword overrides.

    Unknown keywords and wrong types raise :class:`UsageError` naming the key.
    """

    def decorate(build: Callable[[Any], Any]) -> Callable[..., Any]:
        @functools.wraps(build)
        def factory(**overrides: Any) -> Any:
            from ..config import build_section

            return build(build_section(config_class, overrides, "model"))

        factory.config_class = config_class
        return factory

    return decorate


def fill_from_data(cfg, values: dict):
    """``cfg`` with each field named in ``values`` that is 0 ("the data's") set to the given
    value, validated (UsageError from the config's ``validate``). The configs' ``fit_data``
    share it: ``fill_from_data(self, {"image_size": W, "channels": C})``."""
    changes = {key: int(value) for key, value in values.items() if getattr(cfg, key) == 0}
    resolved = dataclasses.replace(cfg, **changes)
    resolved.validate()
    return resolved


def init_from_data(model, dataset) -> None:
    """Call ``init_from_data(dataset.x, dataset.target)`` on each of ``model.modules()`` that
    defines it (see the module docstring); the networks raise UsageError on data that do not fit."""
    import torch

    with torch.no_grad():
        for net in model.modules().values():
            hook = getattr(net, "init_from_data", None)
            if callable(hook):
                hook(dataset.x, dataset.target)


def describe_shape(shape) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"


__all__ = ["AdversarialConfig", "ReconstructionConfig", "AdversarialModel", "ReconstructionModel",
           "model_factory", "describe_shape", "init_from_data"]
