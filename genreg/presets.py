"""Presets: named, registry-visible settings for ``genreg train MODEL --preset NAME``.

A preset entry (kind ``preset``, hook ``genreg_register_presets``) is data, not code: its
factory is a dict, or a callable returning one, of dotted overrides in the command line's
``key=value`` grammar with Python values::

    {"model": "wgan-gp", "data": "ring8", "model.latent_dim": 2, "opt.betas": [0.5, 0.9],
     "model.penalty_params.weight": 0.1}

``"model"`` names the model it is for and ``"data"`` the data set. The overrides are the
first layer above the model's own defaults: the user's ``--config`` file and ``KEY=VALUE``
overrides still win. A run stores the resolved values (its config), never the preset, so
resuming or evaluating a run never calls a preset's factory again. Keys naming code to
import (``train.callbacks``) are refused, and values must be numbers, booleans, strings,
lists or tables of those.

``--preset NAME`` looks up the preset ``NAME``, or ``MODEL-NAME`` when only that exists
(``genreg train wgan-gp --preset ring8`` finds ``wgan-gp-ring8``).
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable, Mapping

from .errors import EntryError, UsageError

CODE_KEYS = ("train.callbacks",)  # keys whose values name code to import: never from a preset


def data_factory(name: str, overrides: Mapping[str, Any]) -> Callable[..., dict]:
    """A preset factory returning a fresh copy of ``overrides`` (registered as a dict)."""
    frozen = copy.deepcopy(dict(overrides))

    def preset() -> dict:
        return copy.deepcopy(frozen)

    preset.__qualname__ = preset.__name__ = f"preset_{name}"
    return preset


def find_preset(name: str, model: str | None = None):
    """The preset entry ``name``, or ``MODEL-name`` when only that one exists."""
    from . import get_registry

    registry = get_registry()
    if ("preset", name) not in registry and model and ("preset", f"{model}-{name}") in registry:
        name = f"{model}-{name}"
    return registry.get("preset", name)  # unknown: close matches, failed plugins


def preset_overrides(name: str, model: str | None = None) -> tuple[Any, dict]:
    """``(entry, overrides)`` of a preset, checked: data only, and for ``model`` if given."""
    entry = find_preset(name, model)
    overrides = entry.create()
    if not isinstance(overrides, Mapping):
        raise EntryError(f"{entry.origin} returned {type(overrides).__name__}, expected a dict of overrides")
    checked = {}
    for key, value in overrides.items():
        if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
            raise EntryError(f"{entry.origin}: bad key {key!r} (use dotted keys such as 'model.latent_dim')")
        if any(key == k or key.startswith(k + ".") for k in CODE_KEYS):
            raise UsageError(f"{entry.origin} sets {key}: a preset is data and may not name code to import; "
                             f"name callbacks yourself ({key}=... on the command line or in your config file)")
        checked[key] = _check_value(entry, key, value)
    wanted = checked.get("model", checked.get("model.name"))
    if model is not None and wanted is not None and wanted != model:
        raise UsageError(f"preset {entry.name!r} is for model {wanted!r}, not {model!r}; "
                         f"use `genreg train {wanted} --preset {entry.name}` (see `genreg list --kind preset`)")
    return entry, checked


def _check_value(entry, key: str, value: Any) -> Any:
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise EntryError(f"{entry.origin}: {key} = {value} is not a finite number")
        return value
    if isinstance(value, (list, tuple)):
        return [_check_value(entry, key, v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _check_value(entry, f"{key}.{k}", v) for k, v in value.items()}
    raise EntryError(f"{entry.origin}: {key} is a {type(value).__name__}; preset values are numbers, booleans, "
                     "strings, lists or tables")


def nested(overrides: Mapping[str, Any]) -> dict:
    """Dotted overrides -> the nested dict of a config layer (``data=x`` is ``data.name=x``)."""
    out: dict = {}
    for key, value in overrides.items():
        parts = key.split(".")
        if len(parts) == 1:
            parts.append("name")
        node = out
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise UsageError(f"preset key {key!r} conflicts with another key above it")
            node = child
        if isinstance(value, Mapping) and isinstance(node.get(parts[-1]), dict):
            node[parts[-1]].update(value)
        else:
            node[parts[-1]] = copy.deepcopy(value)
    return out


def preset_layer(name: str, model: str | None = None) -> dict:
    """The nested config layer of preset ``name`` (for :func:`genreg.config.resolve`)."""
    _, overrides = preset_overrides(name, model)
    return nested(overrides)
