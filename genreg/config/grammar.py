"""The one grammar of every ``key=value`` a user types, and the one ``module:attr`` importer.

Config overrides (``train.steps=2000``), data-set parameters (``genreg data preview radio
snr=2,5``, ``genreg eval --data noise=uniform``, ``data.n=64``) and entry parameters
(``model.loss_params.real_label=0.9``) are all read by :func:`convert`, typed by the target's
annotation (a dataclass field, or the parameter of the data set / loss / penalty factory):

=================  =========================================================================
type               text accepted
=================  =========================================================================
``int``            ``3``, ``-2``, ``1_000``, ``1e3`` (a float literal only when integral)
``float``          any finite number: ``0.5``, ``2e-4``, ``3`` (``nan``/``inf`` are refused)
``bool``           ``true``/``false`` (also ``yes``/``no``, ``on``/``off``, ``1``/``0``)
``str``            the text as typed
``Literal[...]``   one of the choices, spelled as listed
list / tuple       ``[1, 2]``, ``(1, 2)`` or ``1,2``; ``[]`` is empty; each item by its type
``X | None``       ``none`` (or ``null``) for no value, else as ``X``
``A | B``          the first of A, B the text fits
no annotation      a TOML literal (``3``, ``0.5``, ``true``, ``"q"``, ``[1, 2]``), else the text
=================  =========================================================================

Values that are already typed (TOML files, stored configs, Python callers) are checked
against the same types without being re-read, so ``steps = "many"`` in a TOML file is an
error and a resolved value never changes meaning when it is read again. Text is marked as
such by wrapping it in :class:`Text` (``parse_assignment`` does this).

Errors are :class:`GrammarError` (a :class:`~genreg.errors.UsageError`, exit 2) with one line
naming the key and what is allowed. This module imports neither torch nor numpy.
"""

from __future__ import annotations

import importlib
import inspect
import math
import numbers
import re
import types
import typing
from typing import Any, Literal, Mapping

from ..errors import UsageError
from .tomlio import tomllib

IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SPEC_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
NONE_WORDS = ("none", "null")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
_INT_RE = re.compile(r"^[+-]?\d[\d_]*$")
_EMPTY = inspect.Parameter.empty


class Text(str):
    """A value typed as text by the user (command line, ``--data``): read by the grammar."""


class GrammarError(UsageError):
    """A value that does not fit its key's type (the message names the key)."""


# --------------------------------------------------------------------------- assignments


def parse_assignment(text: str, what: str = "override", example: str = "train.steps=200") -> tuple[str, Text]:
    """``"train.steps=200"`` -> ``("train.steps", Text("200"))`` (key and value stripped)."""
    if not isinstance(text, str) or "=" not in text:
        raise UsageError(f"bad {what} {text!r}: expected KEY=VALUE, e.g. {example} ({text!r} is not key=value)")
    key, _, value = text.partition("=")
    if not key.strip():
        raise UsageError(f"bad {what} {text!r}: empty key")
    return key.strip(), Text(value.strip())


def parse_assignments(items, what: str = "data parameter", example: str = "noise=uniform") -> dict[str, Text]:
    """``["snr=2,5", "noise=cosine"]`` -> ``{"snr": Text("2,5"), "noise": Text("cosine")}``."""
    return dict(parse_assignment(item, what, example) for item in items)


# --------------------------------------------------------------------------- conversion


def convert(value: Any, annotation: Any, key: str, *, loose_strings: bool = False) -> Any:
    """``value`` as ``annotation``: :class:`Text` is read by the grammar, other values checked.

    ``loose_strings``: a plain ``str`` for a typed target is read as text too (Python callers
    write ``load_dataset("radio", snr="2,5")``); for an untyped one it stays the string given,
    so a resolved value reads back unchanged.
    """
    if isinstance(value, Text) or (loose_strings and isinstance(value, str) and not _is_any(annotation)):
        return _from_text(key, str(value), annotation)
    return _check(key, value, annotation)


def infer(key: str, text: str) -> Any:
    """Untyped text: a TOML literal (number, boolean, quoted string, list), else the text."""
    body = text.strip()
    if body and "\n" not in body and "\r" not in body:
        try:
            value = tomllib.loads(f"v = {body}")["v"]
        except (tomllib.TOMLDecodeError, ValueError, RecursionError):
            pass
        else:
            if isinstance(value, (bool, int, float, str, list)):
                return check_free(key, value)
    return _check_str(key, text)


def check_free(key: str, value: Any) -> Any:
    """A typed value with no declared type: a number, boolean, string or list of those."""
    if isinstance(value, (bool, str)):
        return _check_str(key, str(value)) if isinstance(value, str) else value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return _finite(key, float(value))
    if isinstance(value, (list, tuple)):
        return [check_free(key, v) for v in value]
    raise GrammarError(f"{key}: unsupported value {describe(value)} (use numbers, booleans, strings or lists)")


def _union_args(tp) -> tuple | None:
    if typing.get_origin(tp) is typing.Union or isinstance(tp, types.UnionType):
        return typing.get_args(tp)
    return None


def _is_any(tp) -> bool:
    return tp is _EMPTY or tp is Any or tp is object


def is_table_type(tp) -> bool:
    return tp is dict or typing.get_origin(tp) is dict


def _from_text(key: str, text: str, tp) -> Any:
    if _is_any(tp):
        return infer(key, text)
    members = _union_args(tp)
    if members is not None:
        if type(None) in members and text.strip().lower() in NONE_WORDS:
            return None
        options = [a for a in members if a is not type(None)]
        if len(options) == 1:
            return _from_text(key, text, options[0])
        for option in options:
            try:
                return _from_text(key, text, option)
            except GrammarError:
                pass
        raise GrammarError(f"{key} must be {' or '.join(type_name(a) for a in options)}, got {text!r}")
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        for choice in args:
            if str(choice) == text:
                return choice
        raise GrammarError(f"{key} must be one of {', '.join(map(str, args))}, got {text!r}")
    if tp is bool:
        low = text.strip().lower()
        if low in _TRUE or low in _FALSE:
            return low in _TRUE
        raise GrammarError(f"{key} must be a boolean (true/false), got {text!r}")
    if tp is int:
        body = text.strip()
        if _INT_RE.match(body):
            return int(body.replace("_", ""))
        try:
            number = float(body)  # "1e3" is a fine way to write 1000
        except ValueError:
            number = math.nan
        if math.isfinite(number) and number == int(number):
            return int(number)
        raise GrammarError(f"{key} must be an integer, got {text!r}")
    if tp is float:
        try:
            number = float(text)
        except ValueError:
            raise GrammarError(f"{key} must be a number, got {text!r}") from None
        return _finite(key, number)
    if tp is str:
        return _check_str(key, text)
    if origin in (tuple, list):
        return _sequence_from_text(key, text, origin, args)
    if is_table_type(tp):
        raise GrammarError(f"{key} is a table of parameters: set {key}.NAME=VALUE")
    if isinstance(tp, type):  # another class (a Path, ...): built from the text
        try:
            return tp(text)
        except Exception:
            raise GrammarError(f"{key} must be a {type_name(tp)}, got {text!r}") from None
    return infer(key, text)


def _sequence_from_text(key: str, text: str, origin, args) -> Any:
    body = text.strip()
    if (body[:1], body[-1:]) in (("[", "]"), ("(", ")")):
        body = body[1:-1]
    items = [p.strip() for p in body.split(",")] if body.strip() else []
    if items and not items[-1] and len(items) > 1:
        items.pop()  # a trailing comma, as in "(1,)"
    if origin is tuple and args and args[-1] is not Ellipsis:
        if len(items) != len(args):
            raise GrammarError(f"{key} needs {len(args)} comma-separated values, got {text!r}")
        return tuple(_from_text(key, item, a) for item, a in zip(items, args))
    inner = args[0] if args else _EMPTY
    values = [_from_text(key, item, inner) for item in items]
    return tuple(values) if origin is tuple else values


def _check(key: str, value: Any, tp) -> Any:
    if _is_any(tp):
        return check_free(key, value)
    members = _union_args(tp)
    if members is not None:
        if value is None and type(None) in members:
            return None
        options = [a for a in members if a is not type(None)]
        if len(options) == 1:
            return _check(key, value, options[0])
        for option in options:
            try:
                return _check(key, value, option)
            except GrammarError:
                pass
        raise GrammarError(f"{key} must be {' or '.join(type_name(a) for a in options)}, got {describe(value)}")
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        for choice in args:
            if value == choice and type(value) is type(choice):
                return choice
        raise GrammarError(f"{key} must be one of {', '.join(map(str, args))}, got {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise GrammarError(f"{key} must be a boolean, got {describe(value)}")
    if tp is int:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
        raise GrammarError(f"{key} must be an integer, got {describe(value)}")
    if tp is float:
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return _finite(key, float(value))
        raise GrammarError(f"{key} must be a number, got {describe(value)}")
    if tp is str:
        if isinstance(value, str):
            return _check_str(key, str(value))
        raise GrammarError(f"{key} must be a string, got {describe(value)}")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise GrammarError(f"{key} must be a list, got {describe(value)}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise GrammarError(f"{key} needs {len(args)} values, got {len(value)}")
            return tuple(_check(key, v, a) for v, a in zip(value, args))
        inner = args[0] if args else _EMPTY
        items = [_check(key, v, inner) for v in value]
        return tuple(items) if origin is tuple else items
    if is_table_type(tp):
        if not isinstance(value, Mapping):
            raise GrammarError(f"{key} must be a table, got {describe(value)}")
        return {check_ident(f"{key}.{k}", k): check_free(f"{key}.{k}", v) for k, v in value.items()}
    if isinstance(tp, type) and not isinstance(value, tp):
        raise GrammarError(f"{key} must be a {type_name(tp)}, got {describe(value)}")
    return value


def _finite(key: str, value: float) -> float:
    if not math.isfinite(value):
        raise GrammarError(f"{key} must be a finite number, got {value}")
    return value


def _check_str(key: str, value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise GrammarError(f"{key} contains characters that are not valid UTF-8") from None
    return value


def check_ident(key: str, name: Any) -> str:
    if not isinstance(name, str) or not IDENT_RE.match(name):
        raise GrammarError(f"{key}: parameter names must be identifiers")
    return name


def describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def type_name(annotation: Any) -> str:
    """A short human name for an annotation: ``float | (float, float)``, ``realistic|uniform``."""
    if _is_any(annotation):
        return "any"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return "|".join(str(a) for a in args)
    members = _union_args(annotation)
    if members is not None:
        return " | ".join(type_name(a) for a in members if a is not type(None)) + (
            " | none" if type(None) in members else "")
    if origin is tuple:
        return "(" + ", ".join("..." if a is Ellipsis else type_name(a) for a in args) + ")"
    if origin is list:
        return f"[{type_name(args[0]) if args else 'any'}, ...]"
    return getattr(annotation, "__name__", str(annotation))


# --------------------------------------------------------------------------- module:attr


def check_spec(key: str, spec: Any) -> str:
    """``spec`` if it has the form ``package.module:attr``, else a one-line UsageError."""
    if not isinstance(spec, str) or not SPEC_RE.match(spec):
        raise UsageError(f"{key}: {spec!r} is not of the form package.module:attribute")
    return spec


def import_spec(spec: str, key: str = "spec") -> Any:
    """The object ``"package.module:attr.sub"`` names: the one importer of genreg's code specs.

    Only specs the user (or an installed plugin) named reach this function; specs read from
    a checkpoint or run directory are withheld unless named again (see genreg.config.resolve).
    Raises UsageError (bad form, module or attribute missing).
    """
    check_spec(key, spec)
    module_name, _, attr = spec.partition(":")
    try:
        obj = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"{key}: cannot load {spec!r}: {' '.join(str(exc).split())}") from None
    return obj


__all__ = ["Text", "GrammarError", "convert", "infer", "check_free", "type_name", "parse_assignment", "parse_assignments", "check_spec",
           "import_spec", "describe", "is_table_type", "IDENT_RE"]
