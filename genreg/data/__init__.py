"""Built-in data sets and loaders for users' files (registered by genreg.builtins.datasets).

:func:`load_dataset` is the one entry point for the trainers and the CLI: it takes a spec
``"name"`` or ``"name:PATH"`` (``radio``, ``galaxies``, ``npz:/data/traces.npz``,
``images:~/galaxies``), looks the name up in the registry and calls the factory as
``factory(split=..., seed=..., **params)``. Parameters may be strings from the command line
(``snr=2,5``): :func:`parse_params` reads them by genreg's one grammar
(:mod:`genreg.config.grammar`) as the factory's annotated types.

This module imports neither torch nor numpy; the data sets import them when built.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Mapping

from ..config.entries import check_params, signature_parameters, type_hints
from ..config.grammar import parse_assignments, type_name
from ..errors import GenregError, UsageError

__all__ = ["load_dataset", "dataset_call", "parse_params", "parse_value", "dataset_parameters", "split_spec",
           "parse_assignments", "type_name"]

# passed by keyword by load_dataset, never through params
_RESERVED = ("split", "seed")


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
    return signature_parameters(factory, _RESERVED)[0]


def _type_hints(factory: Callable) -> dict[str, Any]:
    return type_hints(factory)


def parse_value(dataset: str, key: str, value: Any, annotation: Any) -> Any:
    """One parameter read by genreg's grammar (:mod:`genreg.config.grammar`): strings are text."""
    def factory(**kwargs):  # a stand-in signature holding just this parameter
        return kwargs

    factory.__signature__ = inspect.Signature([inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY,
                                                                 annotation=annotation)])
    return check_params(f"dataset {dataset!r}", factory, {key: value}, loose_strings=True)[key]


def parse_params(dataset: str, factory: Callable, params: Mapping[str, Any], *, key: str = "") -> dict[str, Any]:
    """Check ``params`` against the factory's signature and convert them to its annotated types.

    The one grammar of :mod:`genreg.config.grammar`; a string the type does not take as it is
    is read as text (``"2,5"`` for a tuple, ``"none"`` for an optional value).
    """
    return check_params(f"dataset {dataset!r}", factory, params, key=key, reserved=_RESERVED,
                        loose_strings=True, required=False)


def dataset_call(spec: str, params: Mapping[str, Any], *, key: str = ""):
    """``(entry, factory, keyword arguments)`` for the data set ``spec`` with ``params``:
    the path of ``name:PATH`` placed, every parameter checked and converted (no data is built)."""
    from .. import get_entry

    name, path = split_spec(spec)
    entry = get_entry("dataset", name)
    try:
        factory = entry.load()
    except Exception as exc:  # a plugin whose code does not import: its problem, named
        raise GenregError(f"dataset {name!r} (plugin {entry.plugin!r}) cannot be loaded: "
                          f"{' '.join(str(exc).split())}") from None
    allowed = dataset_parameters(factory)
    params = dict(params)
    if path is not None:
        if "path" not in allowed:
            raise UsageError(f"dataset {name!r} takes no path (got {spec!r}); use just {name!r}")
        if "path" in params:
            raise UsageError(f"dataset {name!r}: the path is given twice ({spec!r} and path={params['path']!r})")
        params["path"] = path
    elif "path" in allowed and not params.get("path"):
        raise UsageError(f"dataset {name!r} needs a path: use {name}:PATH")
    return entry, factory, check_params(f"dataset {name!r}", factory, params, key=key, reserved=_RESERVED,
                                        loose_strings=True)


def load_dataset(spec: str, split: str = "train", seed: int = 0, **params: Any):
    """Build the data set named by ``spec`` (``"radio"`` or ``"npz:PATH"``) for ``split``.

    ``params`` override the factory's defaults; strings are read as text by genreg's grammar,
    unknown names are a one-line error listing the allowed ones. Returns an ArrayDataset.
    """
    entry, factory, kwargs = dataset_call(spec, params)
    dataset = entry.create(split=split, seed=seed, **kwargs)  # a factory's ValueError: one line naming it

    from .base import ArrayDataset

    if not isinstance(dataset, ArrayDataset):
        raise GenregError(f"dataset {entry.name!r} (plugin {entry.plugin!r}) returned {type(dataset).__name__}, "
                          "expected genreg.data.base.ArrayDataset")
    return dataset
