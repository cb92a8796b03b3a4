"""Registered metrics in ``genreg eval``: every metric entry that says what it applies to.

A metric entry (built-in or a plugin's) takes part in ``genreg eval`` when it is registered
with an ``applies_to`` mapping, for example::

    register("spread-ratio", "my_plugin.metrics:spread_ratio",
             applies_to={"kind": "gan", "shape": "points", "data": ["two-moons*"]})

``kind``   evaluation families: ``gan``, ``denoiser``, ``autoencoder`` (or one a plugin added)
``shape``  sample shapes: ``points`` (D,), ``traces`` (C, L), ``images`` (C, H, W)
``data``   data-set names (fnmatch patterns, e.g. ``"two-moons*"``)

Each key is a string or a list of them; a missing key matches everything. Entries without
``applies_to`` are library functions the family evaluators call themselves (the built-ins).

The metric function is called with the keyword arguments its signature names, from:

every family  ``data`` (the test split, an ArrayDataset), ``meta`` (its meta dict),
              ``data_name``, ``kind``, ``seed``
gan           ``samples`` (N, *shape), ``labels`` (N,) or None, ``real`` (real test
              samples, N or fewer), ``real_labels`` or None
denoiser      ``recovered``, ``true``, ``noisy`` (N, *shape)
autoencoder   ``reconstructions``, ``originals`` (N, *shape)

A metric whose required parameters are not all available is skipped with the reason; one
that raises is recorded with its error; neither stops the evaluation. The value (a number,
or a dict / list of numbers) goes into eval.json under ``metrics[name]``.
"""

from __future__ import annotations

import fnmatch
import inspect
import json
from typing import Any

from ..errors import UsageError

KEYS = ("kind", "shape", "data")


def _as_list(value: Any, key: str, entry) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise UsageError(f"metric {entry.name!r} (plugin {entry.plugin!r}): applies_to[{key!r}] must be a string or "
                     f"a list of strings, got {value!r}")


def applies(entry, kind: str, shape: str, data_name: str) -> bool:
    """Whether ``entry``'s ``applies_to`` matches this evaluation (False without one)."""
    spec = entry.extra.get("applies_to")
    if spec is None:
        return False
    if not isinstance(spec, dict) or set(spec) - set(KEYS):
        extra = sorted(set(spec) - set(KEYS)) if isinstance(spec, dict) else spec
        raise UsageError(f"metric {entry.name!r} (plugin {entry.plugin!r}): applies_to must be a mapping with keys "
                         f"{', '.join(KEYS)}; got {extra!r}")
    want = {"kind": kind, "shape": shape, "data": data_name}
    for key, value in spec.items():
        patterns = _as_list(value, key, entry)
        if not any(fnmatch.fnmatchcase(want[key], p) for p in patterns):
            return False
    return True


def _call(fn, inputs: dict):
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return fn(**inputs), None
    kwargs, missing = {}, []
    for p in params:
        if p.kind in (p.VAR_POSITIONAL,):
            continue
        if p.name in inputs:
            kwargs[p.name] = inputs[p.name]
        elif p.default is p.empty:
            missing.append(p.name)
    if missing:
        return None, f"needs {', '.join(missing)}, which a {inputs['kind']} evaluation does not provide"
    return fn(**kwargs), None


def run_registered(kind: str, shape: str, data_name: str, inputs: dict) -> dict:
    """Run every applicable registered metric: ``{"metrics": {name: value}, "metrics_skipped":
    {name: reason}, "metric_errors": {name: error}}`` (empty parts left out)."""
    from .. import get_registry
    from .common import to_jsonable

    values, skipped, errors = {}, {}, {}
    for entry in get_registry().entries(kind="metric"):
        try:
            if not applies(entry, kind, shape, data_name):
                continue
            value, reason = _call(entry.load(), {**inputs, "kind": kind, "data_name": data_name})
        except Exception as exc:  # a plugin's metric must not cost the user the whole evaluation
            errors[entry.name] = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
            continue
        if reason is not None:
            skipped[entry.name] = reason
            continue
        try:
            json.dumps(to_jsonable(value), allow_nan=False)
        except (TypeError, ValueError):
            errors[entry.name] = f"returned {type(value).__name__}, which is not a number or a dict/list of numbers"
            continue
        values[entry.name] = value
    out: dict = {"metrics": values}
    if skipped:
        out["metrics_skipped"] = skipped
    if errors:
        out["metric_errors"] = errors
    return out
