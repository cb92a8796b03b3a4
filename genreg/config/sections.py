"""The sections of a run configuration as typed dataclasses, and building one from values.

``[train]`` is :class:`TrainConfig`, ``[opt]`` an optimiser dataclass, ``[model]`` the model
entry's own config dataclass (see :mod:`genreg.models.base`). :func:`build_section` turns
values (typed, or :class:`~genreg.config.grammar.Text` from the command line) into one of
them, reading each through the grammar by the field's type, and checks parameter tables
(``loss_params``, ``penalty_params``, any ``X_params`` next to a field ``X`` naming a
registry entry) against that entry's signature, so a typo fails here, before any data is built.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Mapping

from ..errors import GenregError, UsageError
from .entries import check_params
from .grammar import GrammarError, Text, check_ident, check_spec, convert, describe, is_table_type
from .tomlio import dump_toml

SECTIONS = ("model", "data", "train", "opt")
# registry kinds whose entries are cheap to build: their parameters are tried when resolving
_TRIED_KINDS = ("loss", "penalty")


@dataclass
class TrainConfig:
    """``[train]``: how long, how big, how often. ``*_every = 0`` turns that output off
    (a checkpoint is still written at the end and on SIGINT/SIGTERM)."""

    steps: int = 1000  # generator updates (adversarial) or optimiser steps (reconstruction)
    batch_size: int = 64  # the global batch: split evenly over torchrun processes
    seed: int = 0
    log_every: int = 10  # metrics.jsonl line every N steps (mean over those steps)
    sample_every: int = 500  # samples/step-N.png every N steps
    checkpoint_every: int = 500  # checkpoints/step-N every N steps
    keep_checkpoints: int = 3  # older periodic checkpoints are deleted; 0 keeps all
    num_samples: int = 64  # samples drawn for each sample figure
    nonfinite: Literal["stop", "skip"] = "stop"  # on a NaN/Inf loss or gradient
    device: Literal["auto", "cpu", "cuda"] = "auto"
    max_minutes: float = 0.0  # stop early (samples + checkpoint) after this wall-clock time; 0 = no limit
    # "package.module:attr" callbacks for CLI runs (see genreg.training.callbacks); code specs are
    # never taken from a stored config unless named again (metadata "code", see resolve)
    callbacks: tuple[str, ...] = field(default=(), metadata={"code": True})
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"  # autocast dtype (fp16 adds loss scaling)
    channels_last: bool = False  # image networks and batches in channels-last memory layout
    cuda_graph: bool = False  # replay the whole training step as one CUDA graph (CUDA, one process)
    loggers: tuple[str, ...] = ()  # experiment loggers by name: tensorboard (see genreg.training.loggers)

    def validate(self) -> None:
        if self.max_minutes < 0:
            raise UsageError(f"train.max_minutes must be >= 0 (0 = no limit), got {self.max_minutes}")
        for key in ("steps", "batch_size", "num_samples"):
            _check_min(f"train.{key}", getattr(self, key), 1)
        for key in ("log_every", "sample_every", "checkpoint_every", "keep_checkpoints", "seed"):
            _check_min(f"train.{key}", getattr(self, key), 0)
        if self.log_every == 0:
            raise UsageError("train.log_every must be >= 1, got 0")
        for name in self.loggers:
            if name not in ("tensorboard",):
                raise UsageError(f"train.loggers: unknown logger {name!r}; loggers are: tensorboard")
        for spec in self.callbacks:
            check_spec("train.callbacks", spec)


AdamImpl = Literal["fused", "foreach", "for-loop"]


@dataclass
class AdversarialOptimConfig:
    """``[opt]`` of adversarial models: Adam for generator and critic."""

    lr_g: float = 1e-4
    lr_d: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 0.0
    grad_clip: float = 0.0  # max global gradient norm per network; 0 = off
    # torch's Adam implementation: fused (one kernel over all parameters, CPU and CUDA;
    # 8x the for-loop's speed on the VAE's 50M parameters), foreach, or for-loop
    adam_impl: AdamImpl = "fused"

    def validate(self) -> None:
        _check_lr("opt.lr_g", self.lr_g)
        _check_lr("opt.lr_d", self.lr_d)
        _check_common_optim(self)


@dataclass
class ReconstructionOptimConfig:
    """``[opt]`` of reconstruction models: one Adam."""

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    grad_clip: float = 0.0
    adam_impl: AdamImpl = "fused"  # as for adversarial models
    # over train.steps: constant lr, or cosine decay to lr * lr_final (genreg.training.schedule)
    lr_schedule: Literal["constant", "cosine"] = "constant"
    lr_final: float = 0.0

    def validate(self) -> None:
        _check_lr("opt.lr", self.lr)
        _check_common_optim(self)
        if not 0.0 <= self.lr_final <= 1.0:
            raise UsageError(f"opt.lr_final must be in [0, 1] (a fraction of opt.lr), got {self.lr_final}")


def _check_min(key: str, value: int, low: int) -> None:
    if value < low:
        raise UsageError(f"{key} must be >= {low}, got {value}")


def _check_lr(key: str, value: float) -> None:
    if value <= 0:
        raise UsageError(f"{key} must be > 0, got {value}")


def _check_common_optim(cfg) -> None:
    if not all(0.0 <= b < 1.0 for b in cfg.betas):
        raise UsageError(f"opt.betas must both be in [0, 1), got {list(cfg.betas)}")
    if cfg.weight_decay < 0:
        raise UsageError(f"opt.weight_decay must be >= 0, got {cfg.weight_decay}")
    if cfg.grad_clip < 0:
        raise UsageError(f"opt.grad_clip must be >= 0 (0 = off), got {cfg.grad_clip}")


@dataclass
class RunConfig:
    """A fully resolved run: model name + config, data spec, train and opt sections.

    ``withheld``: code specs (``{"train.callbacks": ("pkg.mod:Attr", ...)}``) a stored config
    named that were not loaded because the user did not name them again.
    """

    model_name: str
    model: Any  # the model entry's config dataclass instance
    data: dict  # {"name": ..., **params}
    train: TrainConfig
    opt: Any  # AdversarialOptimConfig | ReconstructionOptimConfig | a model's own
    withheld: dict = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict:
        return {
            "model": {"name": self.model_name, **section_dict(self.model)},
            "data": {k: _plain(v) for k, v in self.data.items()},
            "train": section_dict(self.train),
            "opt": section_dict(self.opt),
        }

    def to_toml(self) -> str:
        return dump_toml(self.to_dict())


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def section_dict(obj) -> dict:
    """A config dataclass as a plain dict (tuples become lists, as in TOML)."""
    return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}


def field_default(cls, key: str) -> Any:
    for f in fields(cls):
        if f.name == key:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
    return None


def unknown_key(section: str, key: str, allowed: list[str]) -> UsageError:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {section}.{close[0]}?)" if close else ""
    return UsageError(f"unknown key {section}.{key}{hint}; allowed keys in [{section}]: {', '.join(allowed)}")


def table_entry_field(cls, key: str) -> str | None:
    """``loss`` for ``loss_params`` when the dataclass has both and ``loss`` is a registry kind."""
    from ..registry import KINDS

    base = key[: -len("_params")] if key.endswith("_params") else None
    names = {f.name for f in fields(cls)}
    return base if base in KINDS and base in names else None


def table_value(key: str, value: Any) -> dict:
    """The raw table given for a dict field: a mapping, or ``{}``/empty text to clear it."""
    if isinstance(value, Text):
        if value.strip() in ("{}", ""):
            return {}
        raise GrammarError(f"{key} is a table of parameters: set {key}.NAME=VALUE (or {key}={{}} to clear)")
    if not isinstance(value, Mapping):
        raise GrammarError(f"{key} must be a table, got {describe(value)}")
    for name, item in value.items():
        check_ident(f"{key}.{name}", name)
        if isinstance(item, Mapping):
            raise GrammarError(f"{key}.{name}: nested tables are not allowed here")
    return dict(value)


def build_section(cls, values: Mapping[str, Any], section: str):
    """Instantiate a config dataclass from values (typed, or Text to be read), then validate it."""
    known = [f.name for f in fields(cls) if f.init]
    for key in values:
        if key not in known:
            raise unknown_key(section, key, known)
    hints = typing.get_type_hints(cls)
    typed: dict[str, Any] = {}
    tables: dict[str, dict] = {}
    for key, value in values.items():
        full = f"{section}.{key}"
        if is_table_type(hints[key]):
            tables[key] = table_value(full, value)
        elif isinstance(value, Mapping):
            raise GrammarError(f"{full} is a single value, not a table")
        else:
            typed[key] = convert(value, hints[key], full)
    for key in known:  # another entry named without its table: the old entry's defaults do not apply
        entry_field = table_entry_field(cls, key) if key not in values else None
        if entry_field in values and str(values[entry_field]) != str(field_default(cls, entry_field)):
            tables[key] = {}
    entries = {}
    for key, raw in tables.items():
        typed[key], entries[key] = _check_table(cls, section, key, raw, typed)
    try:
        obj = cls(**typed)
    except UsageError:
        raise
    except (TypeError, ValueError) as exc:
        raise UsageError(f"[{section}]: {' '.join(str(exc).split())}") from None
    validate = getattr(obj, "validate", None)
    if callable(validate):
        try:
            validate()
        except UsageError:
            raise
        except (TypeError, ValueError) as exc:  # a plugin's config check written with plain exceptions
            raise UsageError(f"[{section}] {cls.__name__}: {type(exc).__name__}: {' '.join(str(exc).split())} "
                             "(GENREG_DEBUG=1 shows the traceback)") from exc
    for key, entry in entries.items():
        if entry is not None and entry.kind in _TRIED_KINDS:
            _try_entry(f"{section}.{key}", entry, getattr(obj, key))
    return obj


def _check_table(cls, section: str, key: str, raw: dict, typed: dict):
    """(the table's values converted by the entry's signature, the entry or None)."""
    full = f"{section}.{key}"
    kind = table_entry_field(cls, key)
    name = typed[kind] if kind in typed else (field_default(cls, kind) if kind else None)
    if kind is None or not isinstance(name, str):
        return {k: convert(v, typing.Any, f"{full}.{k}") for k, v in raw.items()}, None
    from .. import get_registry

    entry = get_registry().get(kind, name)  # an unknown name: one line with close matches
    try:
        factory = entry.load()
    except Exception as exc:  # a plugin whose code does not import: its problem, named
        raise GenregError(f"{section}.{kind}: {kind} {name!r} (plugin {entry.plugin!r}) cannot be loaded: "
                          f"{' '.join(str(exc).split())}") from None
    return check_params(f"{kind} {name!r}", factory, raw, key=full,
                        unknown="rejected its parameters: it has no parameter"), entry


def _try_entry(key: str, entry, params: dict) -> None:
    """Build a cheap entry (a loss, a penalty) once so its own value checks run now."""
    try:
        entry.create(**params)
    except UsageError as exc:
        raise UsageError(f"{key}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{key}: {entry.kind} {entry.name!r} rejected its parameters: "
                         f"{' '.join(str(exc).split())}") from None


def code_fields(cls) -> list[str]:
    """Fields holding ``module:attr`` code specs (metadata ``code``)."""
    return [f.name for f in fields(cls) if f.metadata.get("code")]
