"""The registry: entries keyed by (kind, name), filled by plugins through hooks."""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .errors import DuplicateEntryError, EntryError, EntryParameterError, GenregError, UnknownEntryError, UsageError

KINDS = ("model", "loss", "penalty", "dataset", "metric", "preset")

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")


def _natural_key(name: str) -> list:
    # "wgan2" sorts before "wgan10"
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


@dataclass(frozen=True)
class Entry:
    """One registered thing: how to build it, and where it came from.

    ``factory`` is a callable or a ``"module:attribute"`` string, imported only when the
    entry is first built, so that listing the registry stays cheap. ``plugin`` is the
    plugin's name as shown by ``genreg plugins``; ``plugin_id`` its unique identity
    (a built-in's name, ``"DISTRIBUTION:ENTRY-POINT"`` for an installed plugin), which
    is what the plugin manager removes entries by.
    """

    kind: str
    name: str
    factory: Callable[..., Any] | str
    summary: str = ""
    tags: tuple[str, ...] = ()
    plugin: str = "?"
    plugin_version: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)
    plugin_id: str = ""

    def __post_init__(self) -> None:
        if not self.plugin_id:  # an entry added straight to a Registry: its plugin name is its identity
            object.__setattr__(self, "plugin_id", self.plugin)

    @property
    def origin(self) -> str:
        """``"model 'x' (plugin 'p' 1.0)"``: how errors name this entry."""
        version = f" {self.plugin_version}" if self.plugin_version else ""
        return f"{self.kind} {self.name!r} (plugin {self.plugin!r}{version})"

    def load(self) -> Callable[..., Any]:
        """Return the factory callable, importing it if it was given as a string.

        Raises :class:`genreg.errors.EntryError` (one line naming the entry and its
        plugin) when the module cannot be imported or the attribute is missing.
        """
        if callable(self.factory):
            return self.factory
        module_name, _, attr = self.factory.partition(":")
        try:
            obj = importlib.import_module(module_name)
            for part in attr.split(".") if attr else ():
                obj = getattr(obj, part)
        except GenregError:
            raise
        except Exception as exc:  # a plugin's broken lazy import must not end in a traceback
            raise EntryError(f"{self.origin}: cannot load its factory {self.factory!r}: {_one_line(exc)} "
                             "(GENREG_DEBUG=1 shows the traceback)") from exc
        if not callable(obj):
            raise EntryError(f"{self.origin}: factory {self.factory!r} is not callable")
        return obj

    def create(self, **overrides: Any) -> Any:
        """Call the factory with ``overrides``.

        A ``ValueError`` or ``TypeError`` the factory raises (a bad or unknown parameter)
        becomes :class:`genreg.errors.EntryParameterError`, a one-line
        :class:`~genreg.errors.UsageError` naming the entry, its plugin and the message
        (exit code 2; the original exception is chained as ``__cause__``).
        """
        factory = self.load()
        try:
            return factory(**overrides)
        except GenregError:
            raise
        except (TypeError, ValueError) as exc:
            version = f" {self.plugin_version}" if self.plugin_version else ""
            raise EntryParameterError(f"{self.kind} {self.name!r} rejected its parameters: {_one_line(exc)} "
                                      f"(plugin {self.plugin!r}{version}; GENREG_DEBUG=1 shows the traceback)") from exc

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "name": self.name,
            "summary": self.summary,
            "tags": list(self.tags),
            "plugin": self.plugin,
            "plugin_id": self.plugin_id,
            "plugin_version": self.plugin_version,
        }


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def suggest_name(plugin: str, name: str) -> str:
    """A free-looking name for a clashing entry: the plugin's name as a prefix."""
    prefix = plugin[len("genreg-"):] if plugin.startswith("genreg-") else plugin
    prefix = re.sub(r"[^a-z0-9_\-]+", "-", prefix.lower()).strip("-") or "my"
    return f"{prefix}-{name}"


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
        # set by the plugin manager: extra text for an unknown (kind, name), e.g. which
        # plugins failed to load and would have provided it
        self.explain_unknown: Callable[[str, str], str] | None = None

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
            # an entry never replaces or shadows another plugin's: the newcomer is refused
            raise DuplicateEntryError(
                f"{entry.kind} {entry.name!r} is registered twice: by plugin {old.plugin!r} "
                f"and by plugin {entry.plugin!r}; an entry cannot replace another plugin's: rename it "
                f"(e.g. {suggest_name(entry.plugin, entry.name)!r}) and select it by that name"
            )
        self._entries[(entry.kind, entry.name)] = entry
        return entry

    def remove_plugin(self, plugin_id: str) -> list[Entry]:
        """Drop every entry the plugin with this identity added (``Entry.plugin_id``)."""
        gone = [e for e in self._entries.values() if e.plugin_id == plugin_id]
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
        extra = self.explain_unknown(kind, name) if self.explain_unknown is not None else ""
        return f"unknown {kind} {name!r}: {hint}" + (f"; {extra}" if extra else "")

    def create(self, kind: str, name: str, **overrides: Any) -> Any:
        return self.get(kind, name).create(**overrides)

    def extend(self, entries: Iterable[Entry]) -> None:
        for e in entries:
            self.add(e)
