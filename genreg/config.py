"""Run configuration: typed dataclasses, TOML files and dotted ``key=value`` overrides.

A resolved run configuration has four sections::

    [model]  name = "mlp-gan" + the fields of the model entry's config dataclass
    [data]   name = "ring8"   + free-form keyword parameters of the data set factory
    [train]  the fields of :class:`TrainConfig`
    [opt]    the fields of the model's optimiser dataclass (lr_g/lr_d or lr, betas, ...)

Values come in layers, later ones winning: the dataclass defaults, the model config
class's ``train_defaults`` / ``optim_defaults`` / ``data_defaults`` (the published
settings of that model), a TOML file (``--config``), then command-line overrides such as
``train.steps=2000 opt.lr_g=1e-4 data=galaxies data.size=64 model.loss_params.real_label=0.9``.

Strictness: an unknown section or key, a value of the wrong type, a non-finite float or a
value out of range raises :class:`genreg.errors.UsageError` with one line naming the key
and what is allowed; nothing else escapes from parsing (a property test checks this).
Command-line values are parsed by the field's type; values under ``data.*`` and inside
dict-valued fields (``*_params``) are parsed as TOML literals (``3``, ``0.5``, ``true``,
``[1, 2]``) and fall back to plain strings.

This module imports neither torch nor numpy.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import tomllib
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

from .errors import UsageError

SECTIONS = ("model", "data", "train", "opt")
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# --------------------------------------------------------------------------- sections


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
    callbacks: tuple[str, ...] = ()  # "package.module:attr" callbacks for CLI runs (see genreg.train.callbacks)
    loggers: tuple[str, ...] = ()  # experiment loggers by name: tensorboard (see genreg.train.loggers)

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
            if not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*", spec):
                raise UsageError(f"train.callbacks: {spec!r} is not of the form package.module:attribute")


@dataclass
class AdversarialOptimConfig:
    """``[opt]`` of adversarial models: Adam for generator and critic."""

    lr_g: float = 1e-4
    lr_d: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 0.0
    grad_clip: float = 0.0  # max global gradient norm per network; 0 = off

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

    def validate(self) -> None:
        _check_lr("opt.lr", self.lr)
        _check_common_optim(self)


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
    """A fully resolved run: model name + config, data spec, train and opt sections."""

    model_name: str
    model: Any  # the model entry's config dataclass instance
    data: dict  # {"name": ..., **params}
    train: TrainConfig
    opt: Any  # AdversarialOptimConfig | ReconstructionOptimConfig | a model's own

    def to_dict(self) -> dict:
        return {
            "model": {"name": self.model_name, **section_dict(self.model)},
            "data": dict(self.data),
            "train": section_dict(self.train),
            "opt": section_dict(self.opt),
        }

    def to_toml(self) -> str:
        return dump_toml(self.to_dict())


def section_dict(obj) -> dict:
    """A config dataclass as a plain dict (tuples become lists, as in TOML)."""
    out = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else (dict(value) if isinstance(value, dict) else value)
    return out


# --------------------------------------------------------------------------- resolving


def model_config_class(model_name: str):
    """The config dataclass of a model entry: ``extra["config"]`` (a class or a
    ``"module:attr"`` string) or the factory's ``config_class`` attribute."""
    from . import get_entry

    entry = get_entry("model", model_name)
    cls = entry.extra.get("config")
    if isinstance(cls, str):
        cls = _import_spec(cls)
    if cls is None:
        cls = getattr(entry.load(), "config_class", None)
    if cls is None or not dataclasses.is_dataclass(cls):
        raise UsageError(f"model {model_name!r} (plugin {entry.plugin!r}) declares no config dataclass: "
                         "register it with config=ConfigClass or give its factory a config_class attribute")
    return cls


def _import_spec(spec: str):
    """``"package.module:Attr"`` -> the attribute (the registry's lazy-import rule)."""
    import importlib

    module_name, _, attr = spec.partition(":")
    obj = importlib.import_module(module_name)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


def optim_class_for(model_cls) -> type:
    cls = getattr(model_cls, "optim_class", None)
    if cls is None:
        trainer = getattr(model_cls, "trainer", "")
        cls = AdversarialOptimConfig if trainer == "adversarial" else ReconstructionOptimConfig
    return cls


def resolve(model: str | None = None, *, config_file: str | Path | None = None,
            overrides: Sequence[str] | Mapping[str, Any] = (), base: Mapping | None = None) -> RunConfig:
    """Resolve a run configuration.

    ``base`` is a nested dict applied before the file (used by ``--resume``: the stored
    config). ``overrides`` are ``"key=value"`` strings (parsed by type) or a mapping of
    dotted keys to Python values (checked by type).
    """
    layers: list[tuple[dict, bool, str]] = []  # (nested dict, values are text?, source)
    if base is not None:
        layers.append((_nested_copy(base), False, "the stored config"))
    if config_file is not None:
        layers.append((load_toml(config_file), False, str(config_file)))
    if isinstance(overrides, Mapping):
        layers.append((_nest_overrides(overrides.items(), text=False), False, "overrides"))
    else:
        layers.append((_nest_overrides((parse_override(o) for o in overrides), text=True), True, "overrides"))

    for layer, _, source in layers:
        unknown = [k for k in layer if k not in SECTIONS]
        if unknown:
            raise UsageError(f"unknown config section {unknown[0]!r} in {source}; sections are: {', '.join(SECTIONS)}")

    name = model
    for layer, _, source in layers:
        given = layer.get("model", {}).get("name")
        if given is None:
            continue
        if not isinstance(given, str):
            raise UsageError(f"model.name must be a string, got {_describe(given)} in {source}")
        if name is not None and given != name:
            raise UsageError(f"model {given!r} in {source} conflicts with model {name!r}")
        name = given
    if name is None:
        raise UsageError("no model given: name one (genreg train MODEL) or set model.name in the config file")

    model_cls = model_config_class(name)
    optim_cls = optim_class_for(model_cls)
    model_vals: dict = {}
    train_vals: dict = dict(getattr(model_cls, "train_defaults", {}))
    opt_vals: dict = dict(getattr(model_cls, "optim_defaults", {}))
    data_vals: dict = dict(getattr(model_cls, "data_defaults", {}))
    for layer, text, _ in layers:
        for key, value in layer.get("model", {}).items():
            if key != "name":
                model_vals[key] = _coerce_field(model_cls, "model", key, value, text, model_vals.get(key))
        for key, value in layer.get("train", {}).items():
            train_vals[key] = _coerce_field(TrainConfig, "train", key, value, text, None)
        for key, value in layer.get("opt", {}).items():
            opt_vals[key] = _coerce_field(optim_cls, "opt", key, value, text, None)
        data_layer = layer.get("data", {})
        if "name" in data_layer and data_layer["name"] != data_vals.get("name"):
            data_vals = {}  # another data set: the model's default parameters no longer apply
        for key, value in data_layer.items():
            data_vals[key] = _coerce_free(f"data.{key}", value, text)

    cfg = RunConfig(
        model_name=name,
        model=build_section(model_cls, model_vals, "model"),
        data=_check_data(data_vals),
        train=build_section(TrainConfig, train_vals, "train"),
        opt=build_section(optim_cls, opt_vals, "opt"),
    )
    return cfg


def build_section(cls, values: Mapping[str, Any], section: str):
    """Instantiate a config dataclass from already-typed values, then validate it."""
    known = {f.name for f in fields(cls) if f.init}
    for key in values:
        if key not in known:
            raise _unknown_key(section, key, sorted(known))
    hints = _hints(cls)
    checked = {k: _check_python(f"{section}.{k}", v, hints[k]) for k, v in values.items()}
    try:
        obj = cls(**checked)
    except UsageError:
        raise
    except (TypeError, ValueError) as exc:
        raise UsageError(f"[{section}]: {' '.join(str(exc).split())}") from None
    validate = getattr(obj, "validate", None)
    if callable(validate):
        validate()
    return obj


def _check_data(values: dict) -> dict:
    name = values.get("name")
    if not isinstance(name, str) or not name:
        raise UsageError("no data set given: set data=NAME (see `genreg list --kind dataset`)")
    for key in values:
        if key != "name" and not _IDENT_RE.match(key):
            raise UsageError(f"data.{key}: data set parameters must be identifiers")
    return values


# --------------------------------------------------------------------------- parsing


def parse_override(text: str) -> tuple[str, str]:
    """``"train.steps=200"`` -> ``("train.steps", "200")``."""
    if not isinstance(text, str) or "=" not in text:
        raise UsageError(f"bad override {text!r}: expected KEY=VALUE, e.g. train.steps=200")
    key, _, value = text.partition("=")
    key = key.strip()
    if not key:
        raise UsageError(f"bad override {text!r}: empty key")
    return key, value.strip()


def _nest_overrides(items, *, text: bool) -> dict:
    nested: dict = {}
    for key, value in items:
        parts = key.split(".")
        if any(not p for p in parts):
            raise UsageError(f"bad key {key!r}: empty part between dots")
        section = parts[0]
        if section not in SECTIONS:
            close = difflib.get_close_matches(section, SECTIONS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(f"unknown config section {section!r} in key {key!r}{hint}; sections are: {', '.join(SECTIONS)}")
        rest = parts[1:] or ["name"]  # data=ring8 means data.name=ring8
        if len(rest) == 1 and rest[0] == "name" and section not in ("model", "data"):
            raise UsageError(f"key {key!r} needs a field: {section}.FIELD=VALUE")
        node = nested.setdefault(section, {})
        for part in rest[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise UsageError(f"key {key!r} conflicts with another override of {part!r}")
            node = child
        if isinstance(node.get(rest[-1]), dict):
            raise UsageError(f"key {key!r} conflicts with another override below it")
        node[rest[-1]] = value
    return nested


def load_toml(path: str | Path) -> dict:
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise UsageError(f"config file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise UsageError(f"config file {str(path)!r} is a directory") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"config file {str(path)!r} cannot be read: {exc}") from None


def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def _unknown_key(section: str, key: str, allowed: list[str]) -> UsageError:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {section}.{close[0]}?)" if close else ""
    return UsageError(f"unknown key {section}.{key}{hint}; allowed keys in [{section}]: {', '.join(allowed)}")


def _coerce_field(cls, section: str, key: str, value: Any, text: bool, current: Any) -> Any:
    hints = _hints(cls)
    known = [f.name for f in fields(cls) if f.init]
    if key not in known:
        raise _unknown_key(section, key, known)
    tp = hints[key]
    full = f"{section}.{key}"
    if _is_dict_type(tp):
        if text and isinstance(value, str) and value.strip() in ("{}", ""):
            return {}  # `model.loss_params={}` clears the parameters (e.g. after changing the loss)
        if not isinstance(value, dict):
            if text:
                raise UsageError(f"{full} is a table of parameters: set {full}.NAME=VALUE (or {full}={{}} to clear)")
            raise UsageError(f"{full} must be a table, got {_describe(value)}")
        if current is None:  # start from the model's default parameters
            current = _field_default(cls, key)
        merged = dict(current) if isinstance(current, dict) else {}
        for sub, sub_value in value.items():
            if not isinstance(sub, str) or not _IDENT_RE.match(sub):
                raise UsageError(f"{full}.{sub}: parameter names must be identifiers")
            merged[sub] = _coerce_free(f"{full}.{sub}", sub_value, text)
        return merged
    if isinstance(value, dict):
        raise UsageError(f"{full} is a single value, not a table")
    return _parse_text(full, value, tp) if text else _check_python(full, value, tp)


def _field_default(cls, key: str) -> Any:
    for f in fields(cls):
        if f.name == key:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
    return None


def _coerce_free(key: str, value: Any, text: bool) -> Any:
    """A value with no declared type: a TOML literal if it parses as one, else a string."""
    if isinstance(value, dict):
        raise UsageError(f"{key}: nested tables are not allowed here")
    if not text:
        return _check_free_python(key, value)
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        parsed = value
    if isinstance(parsed, dict):
        parsed = value
    return _check_free_python(key, parsed)


def _check_free_python(key: str, value: Any) -> Any:
    if isinstance(value, bool) or isinstance(value, (int, str)):
        if isinstance(value, str):
            _check_str(key, value)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UsageError(f"{key} must be a finite number, got {value}")
        return value
    if isinstance(value, (list, tuple)):
        return [_check_free_python(key, v) for v in value]
    raise UsageError(f"{key}: unsupported value {_describe(value)} (use numbers, booleans, strings or lists)")


def _check_str(key: str, value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{key} contains characters that are not valid UTF-8") from None
    return value


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _parse_text(key: str, text: str, tp) -> Any:
    """Parse a command-line string into the field type ``tp``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union or _is_union_type(tp):
        non_none = [a for a in args if a is not type(None)]
        if type(None) in args and text.lower() in ("none", "null"):
            return None
        if len(non_none) == 1:
            return _parse_text(key, text, non_none[0])
        raise UsageError(f"{key}: unsupported field type {tp}")
    if origin is Literal:
        if text in args:
            return text
        raise UsageError(f"{key} must be one of {', '.join(map(str, args))}, got {text!r}")
    if tp is bool:
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise UsageError(f"{key} must be a boolean (true/false), got {text!r}")
    if tp is int:
        try:
            return int(text.replace("_", "")) if re.fullmatch(r"[+-]?\d[\d_]*", text) else _int_from_float(key, text)
        except ValueError:
            raise UsageError(f"{key} must be an integer, got {text!r}") from None
    if tp is float:
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"{key} must be a number, got {text!r}") from None
        return _check_python(key, value, float)
    if tp is str:
        return _check_str(key, text)
    if origin in (tuple, list):
        body = text.strip()
        if body.startswith("[") and body.endswith("]") or body.startswith("(") and body.endswith(")"):
            body = body[1:-1]
        items = [p.strip() for p in body.split(",")] if body.strip() else []
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(items) != len(args):
                raise UsageError(f"{key} needs {len(args)} comma-separated values, got {text!r}")
            return tuple(_parse_text(key, item, a) for item, a in zip(items, args))
        inner = args[0] if args else str
        values = [_parse_text(key, item, inner) for item in items]
        return tuple(values) if origin is tuple else values
    raise UsageError(f"{key}: unsupported field type {tp}")


def _int_from_float(key: str, text: str) -> int:
    value = float(text)  # "1e3" is a fine way to write 1000
    if not math.isfinite(value) or value != int(value):
        raise ValueError(text)
    return int(value)


def _check_python(key: str, value: Any, tp) -> Any:
    """Check (and gently normalise) a Python/TOML value against the field type ``tp``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union or _is_union_type(tp):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _check_python(key, value, non_none[0])
        raise UsageError(f"{key}: unsupported field type {tp}")
    if origin is Literal:
        if value in args and type(value) in {type(a) for a in args}:
            return value
        raise UsageError(f"{key} must be one of {', '.join(map(str, args))}, got {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise UsageError(f"{key} must be a boolean, got {_describe(value)}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise UsageError(f"{key} must be an integer, got {_describe(value)}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = float(value)
            if not math.isfinite(value):
                raise UsageError(f"{key} must be a finite number, got {value}")
            return value
        raise UsageError(f"{key} must be a number, got {_describe(value)}")
    if tp is str:
        if isinstance(value, str):
            return _check_str(key, value)
        raise UsageError(f"{key} must be a string, got {_describe(value)}")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise UsageError(f"{key} must be a list, got {_describe(value)}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise UsageError(f"{key} needs {len(args)} values, got {len(value)}")
            return tuple(_check_python(key, v, a) for v, a in zip(value, args))
        inner = args[0] if args else Any
        items = [v if inner is Any else _check_python(key, v, inner) for v in value]
        return tuple(items) if origin is tuple else items
    if _is_dict_type(tp):
        if not isinstance(value, dict):
            raise UsageError(f"{key} must be a table, got {_describe(value)}")
        return {k: _check_free_python(f"{key}.{k}", v) for k, v in value.items()}
    if tp is Any:
        return value
    raise UsageError(f"{key}: unsupported field type {tp}")


def _is_union_type(tp) -> bool:
    import types

    return isinstance(tp, types.UnionType)


def _is_dict_type(tp) -> bool:
    return tp is dict or typing.get_origin(tp) is dict


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def _nested_copy(d: Mapping) -> dict:
    return {k: _nested_copy(v) if isinstance(v, Mapping) else v for k, v in d.items()}


# --------------------------------------------------------------------------- TOML output


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_str(key)


def _toml_str(s: str) -> str:
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UsageError(f"cannot write the non-finite number {value} to TOML")
        return repr(value)
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if value is None:
        raise UsageError("cannot write None to TOML")
    raise UsageError(f"cannot write {_describe(value)} to TOML")


def dump_toml(data: Mapping[str, Any]) -> str:
    """Write a nested dict (tables of scalars, lists and sub-tables) as TOML."""
    lines: list[str] = []

    def table(prefix: list[str], body: Mapping[str, Any]) -> None:
        scalars = [(k, v) for k, v in body.items() if not isinstance(v, Mapping)]
        tables = [(k, v) for k, v in body.items() if isinstance(v, Mapping)]
        if prefix:
            if lines:
                lines.append("")
            lines.append("[" + ".".join(_toml_key(p) for p in prefix) + "]")
        for k, v in scalars:
            if v is None:
                continue  # TOML has no null: an unset optional field is simply absent
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
        for k, v in tables:
            table(prefix + [k], v)

    table([], data)
    return "\n".join(lines) + "\n"
