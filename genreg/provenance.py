"""Which plugin supplied each registry entry a run needs, and a notice when that changed.

A checkpoint's ``state.json`` holds ``"plugins"``: one record per entry the run's config
names (the model, its ``loss`` / ``penalty`` and any other ``model.*`` field named after a
registry kind, the data set)::

    {"kind": "model", "name": "mygan", "plugin": "genreg-mygan",
     "plugin_id": "genreg-mygan:genreg-mygan", "version": "0.1.0"}

On resume and evaluation :func:`note_provenance` compares them with the plugins loaded
now and prints one line per plugin that is missing or has another version. Nothing here
imports plugin code: it reads the registry that is already loaded.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Mapping

from .registry import KINDS


def needed_entries(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(kind, name)`` of every registry entry a resolved config (``RunConfig.to_dict()``) names."""
    found: list[tuple[str, str]] = []
    model = config.get("model", {}) if isinstance(config.get("model"), Mapping) else {}
    if isinstance(model.get("name"), str):
        found.append(("model", model["name"]))
    for key, value in model.items():
        if key in KINDS and key != "model" and isinstance(value, str):
            found.append((key, value))  # model.loss, model.penalty, ...
    data = config.get("data", {}) if isinstance(config.get("data"), Mapping) else {}
    if isinstance(data.get("name"), str):
        found.append(("dataset", data["name"].partition(":")[0]))  # "npz:PATH" is the npz entry
    return found


def provenance(config: Mapping[str, Any]) -> list[dict]:
    """One record per needed entry: which plugin (id, name, version) supplies it now."""
    from . import get_registry

    registry = get_registry()
    out = []
    for kind, name in needed_entries(config):
        if (kind, name) not in registry:
            continue
        entry = registry.get(kind, name)
        out.append({"kind": kind, "name": name, "plugin": entry.plugin, "plugin_id": entry.plugin_id,
                    "version": entry.plugin_version})
    return out


def provenance_notices(state: Mapping[str, Any]) -> list[str]:
    """One line per plugin a checkpoint's entries came from that is now missing or changed."""
    from . import get_registry

    stored = state.get("plugins")
    if not isinstance(stored, list):
        return []
    registry = get_registry()
    by_plugin: dict[tuple, list[str]] = {}
    for rec in stored:
        if not isinstance(rec, Mapping) or rec.get("kind") not in KINDS or not isinstance(rec.get("name"), str):
            continue
        kind, name = rec["kind"], rec["name"]
        then = f"plugin {rec.get('plugin')!r} {rec.get('version', '')}".rstrip()
        if (kind, name) not in registry:
            key = (then, "missing")
        else:
            now = registry.get(kind, name)
            if now.plugin_id == rec.get("plugin_id") and now.plugin_version == rec.get("version"):
                continue
            key = (then, f"now from plugin {now.plugin!r} {now.plugin_version}".rstrip())
        by_plugin.setdefault(key, []).append(f"{kind} {name!r}")
    notices = []
    for (then, now), what in by_plugin.items():
        if now == "missing":
            notices.append(f"{', '.join(what)} came from {then}, which is not loaded now (see `genreg plugins`)")
        else:
            notices.append(f"{', '.join(what)} came from {then}, {now}")
    return notices


def note_provenance(state: Mapping[str, Any], where: Any) -> list[str]:
    """Print :func:`provenance_notices` of a checkpoint to stderr (rank 0 only); return them."""
    notices = provenance_notices(state)
    if os.environ.get("RANK", "0") == "0":
        for line in notices:
            print(f"genreg: note: checkpoint {str(where)!r}: {line}", file=sys.stderr)
    return notices
