"""Resolving a run configuration from its layers: defaults, a stored config, a file, overrides.

Later layers win. Rules beyond "later wins":

* switching ``model.loss`` / ``model.penalty`` (any ``X`` with an ``X_params`` table) to
  another entry drops the parameters meant for the old one (the model's defaults and
  earlier layers); parameters given in the same or a later layer are kept and checked
  against the new entry's signature;
* switching ``data`` to another data set drops the model's default data parameters;
* the stored config of a checkpoint (``base``) is data, not instructions: code specs in it
  (``train.callbacks``) are withheld (listed in ``RunConfig.withheld``) unless the user
  names them again in the overrides or their config file, or passes ``trust_base_code``;
* checks across sections run last (a model config's ``check_run``, the batch per process
  under torchrun), so every configuration that cannot work fails here, before any data is built.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import sys
import typing
from dataclasses import fields
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import UsageError
from .grammar import IDENT_RE, Text, describe, import_spec, is_table_type, parse_assignment
from .sections import (SECTIONS, AdversarialOptimConfig, ReconstructionOptimConfig, RunConfig, TrainConfig,
                       build_section, code_fields, field_default, table_entry_field, table_value, unknown_key)
from .tomlio import load_toml


def model_config_class(model_name: str):
    """The config dataclass of a model entry: ``extra["config"]`` (a class or a
    ``"module:attr"`` string) or the factory's ``config_class`` attribute."""
    from .. import get_entry

    entry = get_entry("model", model_name)
    cls = entry.extra.get("config")
    if isinstance(cls, str):
        cls = import_spec(cls, f"model {model_name!r} config")
    if cls is None:
        cls = getattr(entry.load(), "config_class", None)
    if cls is None or not dataclasses.is_dataclass(cls):
        raise UsageError(f"model {model_name!r} (plugin {entry.plugin!r}) declares no config dataclass: "
                         "register it with config=ConfigClass or give its factory a config_class attribute")
    return cls


def optim_class_for(model_cls) -> type:
    cls = getattr(model_cls, "optim_class", None)
    if cls is None:
        trainer = getattr(model_cls, "trainer", "")
        cls = AdversarialOptimConfig if trainer == "adversarial" else ReconstructionOptimConfig
    return cls


def parse_override(text: str) -> tuple[str, Text]:
    """``"train.steps=200"`` -> ``("train.steps", Text("200"))``."""
    return parse_assignment(text)


def world_size_from_env() -> int:
    """The number of processes torchrun starts (``WORLD_SIZE``), 1 outside torchrun."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def resolve(model: str | None = None, *, config_file: str | Path | None = None,
            overrides: Sequence[str] | Mapping[str, Any] = (), base: Mapping | None = None,
            trust_base_code: bool = False, world_size: int | None = None) -> RunConfig:
    """Resolve a run configuration.

    ``base`` is a nested dict applied before the file (``--resume``: the stored config); its
    code specs are withheld unless ``trust_base_code`` or named again. ``overrides`` are
    ``"key=value"`` strings (read by the grammar) or a mapping of dotted keys to Python
    values (checked by type). ``world_size``: processes sharing ``train.batch_size``
    (default: torchrun's ``WORLD_SIZE``).
    """
    layers: list[tuple[dict, str]] = []
    if base is not None:
        layers.append((_nested_copy(base), "the stored config"))
    if config_file is not None:
        layers.append((load_toml(config_file), str(config_file)))
    if isinstance(overrides, Mapping):
        layers.append((_nest_overrides(overrides.items()), "overrides"))
    else:
        layers.append((_nest_overrides(parse_override(o) for o in overrides), "overrides"))
    for layer, source in layers:
        unknown = [k for k in layer if k not in SECTIONS]
        if unknown:
            raise UsageError(f"unknown config section {unknown[0]!r} in {source}; sections are: {', '.join(SECTIONS)}")
        for section in SECTIONS:
            if not isinstance(layer.get(section, {}), Mapping):
                raise UsageError(f"[{section}] in {source} must be a table, got {describe(layer[section])}")

    name = _model_name(model, layers)
    model_cls = model_config_class(name)
    optim_cls = optim_class_for(model_cls)
    sections = {"model": model_cls, "train": TrainConfig, "opt": optim_cls}
    withheld = {} if trust_base_code or base is None else _withhold_code(layers[0][0], layers[1:], sections)

    train_vals: dict = dict(getattr(model_cls, "train_defaults", {}))
    opt_vals: dict = dict(getattr(model_cls, "optim_defaults", {}))
    data_vals: dict = dict(getattr(model_cls, "data_defaults", {}))
    for layer, _ in layers:
        for key, value in layer.get("train", {}).items():
            train_vals[key] = value
        for key, value in layer.get("opt", {}).items():
            opt_vals[key] = value
        data_layer = layer.get("data", {})
        if "name" in data_layer and data_layer["name"] != data_vals.get("name"):
            data_vals = {}  # another data set: the model's default parameters no longer apply
        data_vals.update(data_layer)

    model_cfg = build_section(model_cls, _merge_model(model_cls, [layer for layer, _ in layers], base is not None),
                              "model")
    train_cfg = build_section(TrainConfig, train_vals, "train")
    opt_cfg = build_section(optim_cls, opt_vals, "opt")
    cfg = RunConfig(model_name=name, model=model_cfg, data=resolve_data(data_vals), train=train_cfg, opt=opt_cfg,
                    withheld=withheld)
    check_run(cfg, world_size_from_env() if world_size is None else world_size)
    return cfg


def _model_name(model: str | None, layers) -> str:
    name = model
    for layer, source in layers:
        given = layer.get("model", {}).get("name")
        if given is None:
            continue
        if not isinstance(given, str):
            raise UsageError(f"model.name must be a string, got {describe(given)} in {source}")
        if name is not None and given != name:
            raise UsageError(f"model {given!r} in {source} conflicts with model {name!r}")
        name = str(given)
    if name is None:
        raise UsageError("no model given: name one (genreg train MODEL) or set model.name in the config file")
    return name


def _merge_model(model_cls, layers: list[dict], base_first: bool) -> dict:
    """The ``[model]`` values of all layers; tables merge key by key (see the module docstring).

    A stored config (``base_first``) holds complete tables: they replace the defaults."""
    known = [f.name for f in fields(model_cls) if f.init]
    hints = typing.get_type_hints(model_cls)
    dict_fields = [k for k in known if is_table_type(hints[k])]
    tables = {k: table_entry_field(model_cls, k) for k in dict_fields if table_entry_field(model_cls, k)}
    vals: dict = {table: dict(field_default(model_cls, table) or {}) for table in tables}
    for index, layer in enumerate(layers):
        section = {k: v for k, v in layer.get("model", {}).items() if k != "name"}
        for key in section:
            if key not in known:
                raise unknown_key("model", key, known)
        for table, entry_field in tables.items():
            current = vals.get(entry_field, field_default(model_cls, entry_field))
            if entry_field in section and str(section[entry_field]) != str(current):
                vals[table] = {}  # another entry: the old one's parameters do not apply
        for key, value in section.items():
            if key in dict_fields:
                given = table_value(f"model.{key}", value)
                current = vals[key] if key in vals else dict(field_default(model_cls, key) or {})
                replace = not given or (base_first and index == 0)
                vals[key] = given if replace else {**current, **given}
            else:
                vals[key] = value
    return vals


def resolve_data(values: Mapping[str, Any]) -> dict:
    """``[data]`` checked against the data set's signature; values converted to its types."""
    from ..data import dataset_call

    name = values.get("name")
    if not isinstance(name, str) or not name:
        raise UsageError("no data set given: set data=NAME (see `genreg list --kind dataset`)")
    params = {k: v for k, v in values.items() if k != "name"}
    for key in params:
        if not isinstance(key, str) or not IDENT_RE.match(key):
            raise UsageError(f"data.{key}: data set parameters must be identifiers")
    _, _, kwargs = dataset_call(str(name), params, key="data")
    return {"name": str(name), **{k: kwargs[k] for k in params}}


def check_run(cfg: RunConfig, world_size: int = 1) -> None:
    """Checks across sections: the batch per process, then the model config's ``check_run``."""
    batch = cfg.train.batch_size
    if batch % world_size:
        raise UsageError(f"train.batch_size={batch} does not split evenly over {world_size} processes: "
                         f"use a multiple of {world_size}")
    check = getattr(cfg.model, "check_run", None)
    if callable(check):
        check(cfg, per_process_batch=batch // world_size, world_size=world_size)


def _withhold_code(base: dict, later: list[tuple[dict, str]], sections: dict) -> dict:
    """Remove code specs (fields with metadata ``code``) from the stored config unless a later
    layer names them; return them."""
    withheld = {}
    for section, cls in sections.items():
        stored = base.get(section, {})
        for key in code_fields(cls):
            if key not in stored or any(key in layer.get(section, {}) for layer, _ in later):
                continue
            specs = stored.pop(key)
            specs = [specs] if isinstance(specs, str) else list(specs) if isinstance(specs, (list, tuple)) else []
            if specs:
                withheld[f"{section}.{key}"] = tuple(str(s) for s in specs)
    return withheld


def withheld_notice(cfg: RunConfig, flag: str = "--trust-callbacks") -> str:
    """One line naming the stored code specs that were not loaded, and how to load them."""
    if not cfg.withheld:
        return ""
    parts = "; ".join(f"{key}={','.join(specs)}" for key, specs in cfg.withheld.items())
    return (f"genreg: notice: the stored config names code that was not loaded ({parts}): "
            f"name it again on the command line or pass {flag} to run it")


def print_withheld_notice(cfg: RunConfig, flag: str = "--trust-callbacks") -> None:
    notice = withheld_notice(cfg, flag)
    if notice and os.environ.get("RANK", "0") == "0":
        print(notice, file=sys.stderr)


def _nest_overrides(items) -> dict:
    nested: dict = {}
    for key, value in items:
        if not isinstance(key, str):
            raise UsageError(f"bad key {key!r}: keys are dotted strings such as train.steps")
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


def _nested_copy(d: Mapping) -> dict:
    return {k: _nested_copy(v) if isinstance(v, Mapping) else v for k, v in d.items()}


__all__ = ["resolve", "resolve_data", "check_run", "model_config_class", "optim_class_for", "parse_override",
           "withheld_notice", "print_withheld_notice", "world_size_from_env"]
