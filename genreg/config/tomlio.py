"""TOML in and out: ``tomllib`` (``tomli`` before Python 3.11) reads, ``tomli-w`` writes."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, Mapping

from ..errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["tomllib", "load_toml", "dump_toml"]


def load_toml(path: str | Path) -> dict:
    """A TOML file as a dict; a missing, unreadable or invalid file is a one-line UsageError."""
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


def _without_none(value: Any) -> Any:
    # TOML has no null: an unset optional value is simply absent
    if isinstance(value, Mapping):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        if any(v is None for v in value):
            raise UsageError("cannot write a list holding None to TOML")
        return [_without_none(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"cannot write the non-finite number {value} to TOML")
    return value


def dump_toml(data: Mapping[str, Any]) -> str:
    """A nested dict (tables of scalars, lists and sub-tables) as TOML text (via tomli-w)."""
    import tomli_w

    try:
        return tomli_w.dumps(_without_none(data))
    except (TypeError, ValueError) as exc:
        raise UsageError(f"cannot write the config as TOML: {exc}") from None
