"""The registry: entries keyed by (kind, name), filled by plugins through hooks."""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .errors import DuplicateEntryError, UnknownEntryError, UsageError

KINDS = ("model", "loss", "penalty", "dataset", "metric")

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")


def _natural_key(name: str) -> list:
    # "wgan2" sorts before "wgan10"
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


@dataclass(frozen=True)
class Entry:
    """One registered thing: how to build it, and where it came from.

    ``factory`` is a callable or a ``"module:attribute"`` string, imported only when the
    entry is first built, so that listing the registry stays cheap.
    """

    kind: str
    name: str
    factory: Callable[..., Any] | str
    summary: str = ""
    tags: tuple[str, ...] = ()
    plugin: str = "?"
    plugin_version: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def load(self) -> Callable[..., Any]:
        """Return the factory callable, importing it if it was given as a string."""
        if callable(self.factory):
            return self.factory
        module_name, _, attr = self.factory.partition(":")
        obj = importlib.import_module(module_name)
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
        if not callable(obj):
            raise TypeError(f"{self.kind} {self.name!r}: factory {self.factory!r} is not callable")
        return obj

    def create(self, **overrides: Any) -> Any:
        return self.load()(**overrides)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "name": self.name,
            "summary": self.summary,
            "tags": list(self.tags),
            "plugin": self.plugin,
            "plugin_version": self.plugin_version,
        }


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        close = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"unknown kind {kind!r}{hint}; kinds are: {', '.join(KINDS)}")
    return kind


class Registry:
    """Entries by (kind, name). Plugins add to it; users list, look up and create."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._entries

    def add(self, entry: Entry) -> Entry:
        check_kind(entry.kind)
        if not _NAME_RE.match(entry.name):
            raise UsageError(
                f"bad {entry.kind} name {entry.name!r} from plugin {entry.plugin!r}: "
                "use lower-case letters, digits, '-', '_' and '.'"
            )
        old = self._entries.get((entry.kind, entry.name))
        if old is not None:
            raise DuplicateEntryError(
                f"{entry.kind} {entry.name!r} is registered twice: by plugin {old.plugin!r} "
                f"and by plugin {entry.plugin!r}"
            )
        self._entries[(entry.kind, entry.name)] = entry
        return entry

    def remove_plugin(self, plugin: str) -> list[Entry]:
        """Drop every entry a plugin added (used when a plugin is unregistered)."""
        gone = [e for e in self._entries.values() if e.plugin == plugin]
        for e in gone:
            del self._entries[(e.kind, e.name)]
        return gone

    def entries(self, pattern: str = "*", kind: str | None = None) -> list[Entry]:
        """Entries whose name matches the fnmatch ``pattern``, sorted by kind then name."""
        if kind is not None:
            check_kind(kind)
        found = [
            e
            for e in self._entries.values()
            if (kind is None or e.kind == kind) and fnmatch.fnmatchcase(e.name, pattern.lower())
        ]
        return sorted(found, key=lambda e: (KINDS.index(e.kind), _natural_key(e.name)))

    def names(self, kind: str) -> list[str]:
        return [e.name for e in self.entries(kind=kind)]

    def get(self, kind: str, name: str) -> Entry:
        check_kind(kind)
        entry = self._entries.get((kind, name))
        if entry is None:
            raise UnknownEntryError(self._unknown_message(kind, name))
        return entry

    def _unknown_message(self, kind: str, name: str) -> str:
        names = self.names(kind)
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        if close:
            hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
        elif names:
            hint = "known: " + ", ".join(names)
        else:
            hint = f"no {kind} is registered"
        return f"unknown {kind} {name!r}: {hint}"

    def create(self, kind: str, name: str, **overrides: Any) -> Any:
        return self.get(kind, name).create(**overrides)

    def extend(self, entries: Iterable[Entry]) -> None:
        for e in entries:
            self.add(e)
