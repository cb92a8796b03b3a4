"""Built-in data sets and loaders for users' files (registered by genreg.builtins.datasets).

:func:`load_dataset` is the one entry point for the trainers and the CLI: it takes a spec
``"name"`` or ``"name:PATH"`` (``radio``, ``galaxies``, ``npz:/data/traces.npz``,
``images:~/galaxies``), looks the name up in the registry and calls the factory as
``factory(split=..., seed=..., **params)``. Parameters may be strings from the command line
(``snr=2,5``): :func:`parse_params` converts them to the factory's annotated types.

This module imports neither torch nor numpy; the data sets import them when built.
"""

from __future__ import annotations

import difflib
import inspect
import types
import typing
from typing import Any, Callable, Mapping

from ..errors import GenregError, UsageError

__all__ = ["load_dataset", "parse_params", "parse_value", "dataset_parameters", "split_spec"]

# passed by keyword by load_dataset, never through params
_RESERVED = ("split", "seed")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def split_spec(spec: str) -> tuple[str, str | None]:
    """``"npz:/a/b.npz"`` -> ``("npz", "/a/b.npz")``; ``"radio"`` -> ``("radio", None)``."""
    if not isinstance(spec, str) or not spec.strip():
        raise UsageError(f"a data set is a name or name:PATH, got {spec!r}")
    name, sep, path = spec.strip().partition(":")
    if sep and not path:
        raise UsageError(f"data set {spec!r}: nothing after ':'; use {name}:PATH")
    return name, (path if sep else None)


def dataset_parameters(factory: Callable) -> dict[str, inspect.Parameter]:
    """The parameters a data-set factory takes besides split and seed."""
    params = inspect.signature(factory).parameters
    return {k: p for k, p in params.items()
            if k not in _RESERVED and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def _type_hints(factory: Callable) -> dict[str, Any]:
    try:
        return typing.get_type_hints(factory)
    except Exception:  # unresolvable annotations: fall back to guessing from the text
        return {}


def type_name(annotation: Any) -> str:
    """A short human name for an annotation: ``float | (float, float)``, ``realistic|uniform``."""
    if annotation is inspect.Parameter.empty:
        return "any"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return "|".join(str(a) for a in args)
    if origin in (typing.Union, getattr(types, "UnionType", ())):
        return " | ".join(type_name(a) for a in args if a is not type(None)) + (
            " | none" if type(None) in args else "")
    if origin is tuple:
        return "(" + ", ".join("..." if a is Ellipsis else type_name(a) for a in args) + ")"
    return getattr(annotation, "__name__", str(annotation))


def _convert(text: str, annotation: Any) -> Any:
    """Convert one string to ``annotation``; raises ValueError when it does not fit."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        return text
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, getattr(types, "UnionType", ())):
        if type(None) in args and text.strip().lower() in ("none", "null", ""):
            return None
        for member in args:
            if member is type(None):
                continue
            try:
                return _convert(text, member)
            except ValueError:
                pass
        raise ValueError(text)
    if origin is typing.Literal:
        for choice in args:
            if str(choice) == text:
                return choice
        raise ValueError(text)
    if origin is tuple:
        parts = [p for p in text.replace("(", "").replace(")", "").split(",")]
        if args and args[-1] is not Ellipsis and len(parts) != len(args):
            raise ValueError(text)
        kinds = [args[0]] * len(parts) if args and args[-1] is Ellipsis else (args or [str] * len(parts))
        return tuple(_convert(p.strip(), k) for p, k in zip(parts, kinds))
    if annotation is bool:
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(text)
    if annotation is int:
        try:
            return int(text)
        except ValueError:
            value = float(text)  # 1e4 is a fine way to write ten thousand
            if not value.is_integer():
                raise
            return int(value)
    if annotation in (float, str):
        return annotation(text)
    raise ValueError(text)


def parse_value(dataset: str, key: str, value: Any, annotation: Any) -> Any:
    """``value`` converted to ``annotation`` if it is a string; other values pass (lists become tuples)."""
    if isinstance(value, list):
        return tuple(value)
    if not isinstance(value, str):
        return value
    try:
        return _convert(value, annotation)
    except (ValueError, TypeError):
        raise UsageError(f"dataset {dataset!r}: {key}={value!r} is not a valid {type_name(annotation)}") from None


def parse_params(dataset: str, factory: Callable, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``params`` against the factory's signature and convert strings to its types."""
    allowed = dataset_parameters(factory)
    hints = _type_hints(factory)
    out = {}
    for key, value in params.items():
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(f"dataset {dataset!r} has no parameter {key!r}{hint}; parameters: "
                             f"{', '.join(allowed) or '(none)'}")
        out[key] = parse_value(dataset, key, value, hints.get(key, allowed[key].annotation))
    return out


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``["snr=2,5", "noise=cosine"]`` -> ``{"snr": "2,5", "noise": "cosine"}``."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"data parameter {item!r} is not key=value")
        out[key.strip()] = value
    return out


def load_dataset(spec: str, split: str = "train", seed: int = 0, **params: Any):
    """Build the data set named by ``spec`` (``"radio"`` or ``"npz:PATH"``) for ``split``.

    ``params`` override the factory's defaults; strings are converted to its types, unknown
    names are a one-line error listing the allowed ones. Returns an ArrayDataset.
    """
    from .. import get_entry

    name, path = split_spec(spec)
    entry = get_entry("dataset", name)
    factory = entry.load()
    allowed = dataset_parameters(factory)
    if path is not None:
        if "path" not in allowed:
            raise UsageError(f"dataset {name!r} takes no path (got {spec!r}); use just {name!r}")
        if "path" in params:
            raise UsageError(f"dataset {name!r}: the path is given twice ({spec!r} and path={params['path']!r})")
        params["path"] = path
    elif "path" in allowed and not params.get("path"):
        raise UsageError(f"dataset {name!r} needs a path: use {name}:PATH")
    kwargs = parse_params(name, factory, params)
    dataset = entry.create(split=split, seed=seed, **kwargs)  # a factory's ValueError: one line naming it

    from .base import ArrayDataset

    if not isinstance(dataset, ArrayDataset):
        raise GenregError(f"dataset {name!r} (plugin {entry.plugin!r}) returned {type(dataset).__name__}, "
                          "expected genreg.data.base.ArrayDataset")
    return dataset
