"""The plugin manager: genreg's built-in plugins and third-party ones, loaded alike.

Loading happens once, on first use of the registry. Each plugin is loaded and its
hooks are run in isolation: a plugin that fails to import, implements a hook that does
not exist, needs a newer hook API, or raises inside a hook is recorded with its error
(shown by ``genreg plugins``) and all of its entries are withdrawn; every other plugin
keeps working. Environment switches:

``GENREG_STRICT_PLUGINS=1``   turn those failures into errors (for plugin authors, CI).
``GENREG_DISABLE_PLUGINS=a,b`` skip the named plugins (entry-point or distribution name).
``GENREG_TRACE_HOOKS=1``       print every hook call and its duration to stderr.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from ._version import HOOK_API_VERSION, __version__
from .errors import PluginError
from .registry import Entry, Registry

ENTRY_POINT_GROUP = "genreg"

# Built-in plugins, registered through the very same path as third-party ones.
BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (
    ("genreg.models", "genreg.builtins.models"),
    ("genreg.losses", "genreg.builtins.losses"),
    ("genreg.datasets", "genreg.builtins.datasets"),
    ("genreg.metrics", "genreg.builtins.metrics"),
)

# hook name -> the kind of entry its ``register`` callable adds
HOOK_KINDS = {
    "genreg_register_models": "model",
    "genreg_register_losses": "loss",
    "genreg_register_penalties": "penalty",
    "genreg_register_datasets": "dataset",
    "genreg_register_metrics": "metric",
}


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _env_list(name: str) -> set[str]:
    return {part.strip() for part in os.environ.get(name, "").split(",") if part.strip()}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass
class PluginRecord:
    """What ``genreg plugins`` shows about one plugin."""

    name: str
    source: str  # module path, or "dist-name (entry point value)"
    version: str = ""
    builtin: bool = False
    hooks: list[str] = field(default_factory=list)
    entries: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    traceback: str | None = None
    disabled: bool = False

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "version": self.version,
            "builtin": self.builtin,
            "hooks": list(self.hooks),
            "entries": [f"{kind}:{name}" for kind, name in self.entries],
            "error": self.error,
            "disabled": self.disabled,
        }


class PluginManager:
    """Owns the pluggy manager, the registry it fills, and a record per plugin."""

    def __init__(self, registry: Registry | None = None, *, strict: bool | None = None) -> None:
        self.registry = registry if registry is not None else Registry()
        self.strict = _env_flag("GENREG_STRICT_PLUGINS") if strict is None else strict
        self.trace = _env_flag("GENREG_TRACE_HOOKS")
        self.records: dict[str, PluginRecord] = {}
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._loaded = False

    # -- loading ---------------------------------------------------------------

    def load(self) -> "PluginManager":
        """Load built-in plugins, then the ``genreg`` entry points (once)."""
        if self._loaded:
            return self
        self._loaded = True
        disabled = _env_list("GENREG_DISABLE_PLUGINS")
        for name, module in BUILTIN_PLUGINS:
            if name in disabled:
                self.records[name] = PluginRecord(name, module, __version__, builtin=True, disabled=True)
                continue
            self._load_one(name, module, __version__, builtin=True, loader=lambda m=module: importlib.import_module(m))
        for ep in self._entry_points():
            dist_name = ep.dist.name if getattr(ep, "dist", None) is not None else ""
            version = ep.dist.version if getattr(ep, "dist", None) is not None else ""
            source = f"{dist_name} ({ep.value})" if dist_name else ep.value
            if ep.name in disabled or dist_name in disabled:
                self.records[ep.name] = PluginRecord(ep.name, source, version, disabled=True)
                continue
            self._load_one(ep.name, source, version, builtin=False, loader=ep.load)
        return self

    @staticmethod
    def _entry_points() -> list[metadata.EntryPoint]:
        seen, unique = set(), []
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if (ep.name, ep.value) not in seen:  # the same dist on sys.path twice
                seen.add((ep.name, ep.value))
                unique.append(ep)
        return sorted(unique, key=lambda ep: ep.name)

    def _load_one(self, name: str, source: str, version: str, *, builtin: bool, loader) -> PluginRecord:
        record = PluginRecord(name, source, version, builtin=builtin)
        self.records[name] = record
        try:
            plugin = loader()
        except Exception as exc:  # a broken plugin must not break genreg
            return self._fail(record, exc, "failed to import")
        return self._register(plugin, record)

    def register(self, plugin: Any, name: str | None = None, version: str = "") -> PluginRecord:
        """Register a plugin object (a module or any object with hook functions) now.

        Its hooks run at once and its entries appear in the registry. Used by tests
        and by programs that build plugins at run time.
        """
        self.load()
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        if name in self.records and not self.records[name].disabled:
            raise PluginError(f"a plugin named {name!r} is already registered")
        source = getattr(plugin, "__name__", type(plugin).__name__)
        record = PluginRecord(name, source, version)
        self.records[name] = record
        return self._register(plugin, record)

    def unregister(self, name: str) -> None:
        """Remove a plugin and every entry it registered."""
        record = self.records.pop(name, None)
        if record is None:
            raise PluginError(f"no plugin named {name!r} is registered")
        self.registry.remove_plugin(name)
        if self._pm.get_plugin(name) is not None:
            self._pm.unregister(name=name)

    def _register(self, plugin: Any, record: PluginRecord) -> PluginRecord:
        needed = getattr(plugin, "GENREG_HOOK_API", None)
        if needed is not None and needed != HOOK_API_VERSION:
            return self._fail(
                record,
                PluginError(f"written for genreg hook API {needed}, this genreg {__version__} has API {HOOK_API_VERSION}"),
                "incompatible",
            )
        try:
            self._pm.register(plugin, name=record.name)
        except Exception as exc:  # bad hook signature
            return self._fail(record, exc, "rejected by the plugin manager")
        impls = [
            (caller, impl)
            for caller in self._pm.get_hookcallers(plugin) or []
            for impl in caller.get_hookimpls()
            if impl.plugin is plugin
        ]
        record.hooks = sorted(caller.name for caller, _ in impls)
        unknown = [caller.name for caller, _ in impls if caller.name not in HOOK_KINDS]
        if unknown:
            return self._fail(record, PluginError(f"implements unknown hook(s) {', '.join(sorted(unknown))}"), "invalid")
        staged: list[Entry] = []
        try:
            for caller, impl in impls:
                self._call_hook(caller.name, impl, record, staged)
            for entry in staged:
                self.registry.add(entry)
                record.entries.append((entry.kind, entry.name))
        except Exception as exc:
            return self._fail(record, exc, "failed in a hook")
        return record

    def _call_hook(self, hook: str, impl, record: PluginRecord, staged: list[Entry]) -> None:
        kind = HOOK_KINDS[hook]

        def register(name: str, factory, *, summary: str = "", tags=(), **extra) -> None:
            if not (callable(factory) or (isinstance(factory, str) and ":" in factory)):
                raise TypeError(f"{kind} {name!r}: factory must be a callable or a 'module:attribute' string")
            staged.append(
                Entry(kind, name, factory, summary=summary.strip().splitlines()[0] if summary else "",
                      tags=tuple(tags), plugin=record.name, plugin_version=record.version, extra=extra)
            )

        kwargs = {"register": register}
        start = time.perf_counter()
        impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        if self.trace:
            ms = (time.perf_counter() - start) * 1e3
            print(f"genreg: hook {hook} of plugin {record.name} took {ms:.2f} ms", file=sys.stderr)

    def _fail(self, record: PluginRecord, exc: BaseException, what: str) -> PluginRecord:
        record.error = f"{what}: {_one_line(exc)}"
        record.traceback = "".join(traceback.format_exception(exc))
        record.entries.clear()
        self.registry.remove_plugin(record.name)
        if self._pm.has_plugin(record.name):
            self._pm.unregister(name=record.name)
        if self.trace:
            print(f"genreg: plugin {record.name} {record.error}", file=sys.stderr)
        if self.strict:
            raise PluginError(f"plugin {record.name!r} {record.error}") from exc
        return record

    # -- queries -----------------------------------------------------------------

    def plugins(self) -> list[PluginRecord]:
        self.load()
        return sorted(self.records.values(), key=lambda r: (not r.builtin, r.name))

    def errors(self) -> list[PluginRecord]:
        return [r for r in self.plugins() if r.error]


_manager: PluginManager | None = None


def get_manager() -> PluginManager:
    """The process-wide plugin manager, loaded on first use."""
    global _manager
    if _manager is None:
        _manager = PluginManager()
        try:
            _manager.load()
        except BaseException:
            _manager = None  # strict mode raised: try again next time, not half-loaded
            raise
    return _manager


def reset_manager() -> None:
    """Forget the loaded plugins (the next use loads them again)."""
    global _manager
    _manager = None
