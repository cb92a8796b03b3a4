"""Entry parameters (``data.*``, ``model.loss_params.*``, ...) checked against the entry's signature.

The factory of a registry entry (a data set function, a loss or penalty class) declares its
parameters; :func:`check_params` checks given names against them (with close matches) and
reads each value by the annotation through the one grammar (:func:`genreg.config.grammar.convert`).
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import typing
from typing import Any, Callable, Mapping

from ..errors import UsageError
from .grammar import GrammarError, check_ident, convert, type_name

_EMPTY = inspect.Parameter.empty



def type_hints(obj: Any) -> dict[str, Any]:
    """Resolved annotations of a function, a class's ``__init__`` or a dataclass ({} if unresolvable)."""
    target = obj.__init__ if isinstance(obj, type) and not dataclasses.is_dataclass(obj) else obj
    try:
        return typing.get_type_hints(target)
    except Exception:  # annotations naming what cannot be imported: the signature's text is all there is
        return {}


def signature_parameters(factory: Callable, reserved=()) -> tuple[dict[str, inspect.Parameter], bool]:
    """(the keyword parameters a factory takes besides ``reserved``, whether it takes ``**kwargs``)."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return {}, True  # no signature to check against (a builtin): take any keyword
    named = {k: p for k, p in params.items() if k not in reserved
             and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY)}
    return named, any(p.kind is p.VAR_KEYWORD for p in params.values())


def check_params(label: str, factory: Callable, params: Mapping[str, Any], *, key: str = "",
                 reserved=(), loose_strings: bool = False, required: bool = True,
                 unknown: str = "has no parameter") -> dict[str, Any]:
    """``params`` checked against ``factory``'s signature and converted to its annotations.

    ``label`` names the entry (``dataset 'radio'``), ``key`` the config table (``data``,
    ``model.loss_params``) for the messages. Unknown names (with a close match), values of
    the wrong type and (``required``) missing required parameters are one-line UsageErrors;
    ``unknown`` words the first (``<label> has no parameter 'x'``).
    """
    allowed, takes_any = signature_parameters(factory, reserved)
    hints = type_hints(factory)
    out: dict[str, Any] = {}
    for name, value in params.items():
        where = f"{key}.{name}: " if key else ""
        check_ident(f"{key}.{name}" if key else str(name), name)
        if name not in allowed and not takes_any:
            close = difflib.get_close_matches(name, list(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(f"{where}{label} {unknown} {name!r}{hint}; parameters: "
                             f"{', '.join(allowed) or '(none)'}")
        annotation = hints.get(name, allowed[name].annotation if name in allowed else _EMPTY)
        try:
            out[name] = convert(value, annotation, f"{key}.{name}" if key else name, loose_strings=loose_strings)
        except GrammarError:
            shown = repr(str(value)) if isinstance(value, str) else repr(value)
            raise UsageError(f"{where}{label}: {name}={shown} is not a valid {type_name(annotation)}") from None
    if required:
        missing = [n for n, p in allowed.items() if p.default is _EMPTY and n not in params]
        if missing:
            raise UsageError(f"{key + ': ' if key else ''}{label} needs the parameter {missing[0]!r} "
                             f"({key + '.' if key else ''}{missing[0]}=VALUE)")
    return out


__all__ = ["type_hints", "signature_parameters", "check_params"]
