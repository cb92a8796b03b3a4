"""The plugin manager: genreg's built-in plugins and third-party ones, loaded alike.

Loading happens once, on first use of the registry. Each plugin is loaded and its
hooks are run in isolation: a plugin that fails to import, implements a hook that does
not exist, needs a newer hook API, or raises inside a hook is recorded with its error
(shown by ``genreg plugins``) and all of its entries are withdrawn; every other plugin
keeps working.

Identity: a plugin is known by a unique id, never by a name a third party can pick:
a built-in by its reserved name (``genreg.models``; ``genreg`` and ``genreg.*`` are
reserved), an installed plugin by ``DISTRIBUTION:ENTRY-POINT``, an in-process plugin by
the name given to :meth:`PluginManager.register`. A plugin's entries are removed by that
id only. Nothing a plugin does can remove, replace or shadow another plugin's entries
or record: an entry point whose name is reserved or already taken is rejected with one
error naming both sides, and an entry whose (kind, name) is taken is refused alone (the
plugin's other entries stay), the error saying how to fix it. Built-ins load first.

Environment switches:

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
from importlib import metadata
from typing import Any, Mapping

import pluggy

from . import hookspecs
from ._version import HOOK_API_VERSION, __version__
from .errors import GenregError, PluginError
from .plugin_records import PluginRecord, PluginRecords, is_reserved
from .registry import Entry, Registry, _one_line

ENTRY_POINT_GROUP = "genreg"

# Built-in plugins, registered through the very same path as third-party ones.
BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (
    ("genreg.models", "genreg.builtins.models"),
    ("genreg.losses", "genreg.builtins.losses"),
    ("genreg.datasets", "genreg.builtins.datasets"),
    ("genreg.metrics", "genreg.builtins.metrics"),
    ("genreg.presets", "genreg.builtins.presets"),
)

# hook name -> the kind of entry its ``register`` callable adds
HOOK_KINDS = {
    "genreg_register_models": "model",
    "genreg_register_losses": "loss",
    "genreg_register_penalties": "penalty",
    "genreg_register_datasets": "dataset",
    "genreg_register_metrics": "metric",
    "genreg_register_presets": "preset",
}


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _env_list(name: str) -> set[str]:
    return {part.strip() for part in os.environ.get(name, "").split(",") if part.strip()}


class PluginManager:
    """Owns the pluggy manager, the registry it fills, and a record per plugin."""

    def __init__(self, registry: Registry | None = None, *, strict: bool | None = None) -> None:
        self.registry = registry if registry is not None else Registry()
        self.registry.explain_unknown = self._explain_unknown
        self.strict = _env_flag("GENREG_STRICT_PLUGINS") if strict is None else strict
        self.trace = _env_flag("GENREG_TRACE_HOOKS")
        self.records: PluginRecords = PluginRecords()
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
        for name, module in BUILTIN_PLUGINS:  # first, so that no third party can take their names
            record = PluginRecord(name, module, __version__, builtin=True, distribution="genreg")
            dict.__setitem__(self.records, record.id, record)
            if name in disabled:
                record.disabled = True
                continue
            self._load_one(record, lambda m=module: importlib.import_module(m))
        for ep in self._entry_points():
            dist_name = ep.dist.name if getattr(ep, "dist", None) is not None else ""
            version = ep.dist.version if getattr(ep, "dist", None) is not None else ""
            source = f"{dist_name} ({ep.value})" if dist_name else ep.value
            record = PluginRecord(ep.name, source, version, distribution=dist_name,
                                  id=f"{dist_name or '?'}:{ep.name}")
            if dict.__contains__(self.records, record.id):
                continue  # the same distribution twice on sys.path
            clash = self._name_clash(record)
            record.owns_name = clash is None
            dict.__setitem__(self.records, record.id, record)
            if ep.name in disabled or dist_name in disabled:
                record.disabled = True
            elif clash is not None:  # never imported: its code cannot touch anything
                self._fail(record, PluginError(clash), "rejected")
            else:
                self._load_one(record, ep.load)
        return self

    @staticmethod
    def _entry_points() -> list[metadata.EntryPoint]:
        seen, unique = set(), []
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if getattr(ep, "dist", None) is not None else ep.value
            if (dist, ep.name) not in seen:  # the same dist on sys.path twice
                seen.add((dist, ep.name))
                unique.append(ep)
        return sorted(unique, key=lambda ep: (ep.name, ep.dist.name if getattr(ep, "dist", None) else ""))

    def _name_clash(self, record: PluginRecord) -> str | None:
        """Why ``record`` may not have its name (reserved, or owned by another plugin)."""
        name = record.name
        if is_reserved(name):
            builtin = self.records.owner(name)
            other = builtin.label if builtin is not None else "genreg's built-in plugins"
            return (f"plugin name {name!r} of {record.label} clashes with {other}: the names 'genreg' and "
                    f"'genreg.*' are reserved for genreg's built-ins; rename the entry point in the "
                    f"distribution's [project.entry-points.genreg] (e.g. to {record.distribution or 'its distribution name'!r})")
        owner = self.records.owner(name)
        if owner is not None:
            return (f"plugin name {name!r} of {record.label} is already taken by {owner.label}; "
                    "rename one of the two entry points (use the distribution's name)")
        return None

    def _load_one(self, record: PluginRecord, loader) -> PluginRecord:
        try:
            plugin = loader()
        except Exception as exc:  # a broken plugin must not break genreg
            return self._fail(record, exc, "failed to import")
        return self._register(plugin, record)

    def register(self, plugin: Any, name: str | None = None, version: str = "") -> PluginRecord:
        """Register a plugin object (a module or any object with hook functions) now.

        Its hooks run at once and its entries appear in the registry. Used by tests
        and by programs that build plugins at run time. ``name`` (default: the module's
        name) becomes the plugin's id; it must be free, not reserved and without ':'.
        """
        self.load()
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        if ":" in name or is_reserved(name):
            raise PluginError(f"plugin name {name!r} is reserved (built-ins use 'genreg' and 'genreg.*', "
                              "installed plugins 'DISTRIBUTION:ENTRY-POINT')")
        existing = self.records.get(name)
        if existing is not None and not existing.disabled:
            raise PluginError(f"a plugin named {name!r} is already registered: {existing.label}")
        if existing is not None:  # a disabled plugin of that name: the caller supplies it now
            dict.pop(self.records, existing.id)
        source = getattr(plugin, "__name__", type(plugin).__name__)
        record = PluginRecord(name, source, version)
        dict.__setitem__(self.records, record.id, record)
        return self._register(plugin, record)

    def unregister(self, name: str) -> None:
        """Remove a plugin (by id, or by the name it owns) and every entry it registered.

        Built-in plugins cannot be removed (``GENREG_DISABLE_PLUGINS`` skips them).
        """
        record = self.records.get(name)
        if record is None:
            raise PluginError(f"no plugin named {name!r} is registered")
        if record.builtin:
            raise PluginError(f"{record.label} cannot be unregistered (GENREG_DISABLE_PLUGINS skips built-ins)")
        dict.pop(self.records, record.id)
        self.registry.remove_plugin(record.id)
        if self._pm.get_plugin(record.id) is not None:
            self._pm.unregister(name=record.id)

    def _register(self, plugin: Any, record: PluginRecord) -> PluginRecord:
        needed = getattr(plugin, "GENREG_HOOK_API", None)
        if needed is not None and needed != HOOK_API_VERSION:
            return self._fail(
                record,
                PluginError(f"written for genreg hook API {needed}, this genreg {__version__} has API {HOOK_API_VERSION}"),
                "incompatible",
            )
        try:
            self._pm.register(plugin, name=record.id)
        except Exception as exc:  # bad hook signature, or an object another plugin registered
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
        except Exception as exc:
            record.would_provide = [(e.kind, e.name) for e in staged]
            return self._fail(record, exc, "failed in a hook")
        problems = []
        for entry in staged:  # an entry that clashes is refused alone; the others stay
            try:
                self.registry.add(entry)
            except GenregError as exc:
                record.rejected.append((entry.kind, entry.name, str(exc)))
                problems.append(exc)
                continue
            record.entries.append((entry.kind, entry.name))
        if problems:
            record.error = (f"rejected {len(problems)} of {len(staged)} entries: "
                            + "; ".join(" ".join(str(p).split()) for p in problems))
            record.traceback = "".join(traceback.format_exception(problems[0]))
            if self.trace:
                print(f"genreg: plugin {record.id} {record.error}", file=sys.stderr)
            if self.strict:
                raise PluginError(f"plugin {record.display!r} {record.error}") from problems[0]
        return record

    def _call_hook(self, hook: str, impl, record: PluginRecord, staged: list[Entry]) -> None:
        kind = HOOK_KINDS[hook]

        def register(name: str, factory, *, summary: str = "", tags=(), **extra) -> None:
            if kind == "preset" and isinstance(factory, Mapping):
                from .presets import data_factory

                factory = data_factory(name, factory)
            if not (callable(factory) or (isinstance(factory, str) and ":" in factory)):
                raise TypeError(f"{kind} {name!r}: factory must be a callable or a 'module:attribute' string")
            staged.append(
                Entry(kind, name, factory, summary=summary.strip().splitlines()[0] if summary else "",
                      tags=tuple(tags), plugin=record.name, plugin_version=record.version, extra=extra,
                      plugin_id=record.id)
            )

        kwargs = {"register": register}
        start = time.perf_counter()
        impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        if self.trace:
            ms = (time.perf_counter() - start) * 1e3
            print(f"genreg: hook {hook} of plugin {record.id} took {ms:.2f} ms", file=sys.stderr)

    def _fail(self, record: PluginRecord, exc: BaseException, what: str) -> PluginRecord:
        record.error = f"{what}: {_one_line(exc)}"
        record.traceback = "".join(traceback.format_exception(exc))
        record.withdrawn = True
        record.entries.clear()
        self.registry.remove_plugin(record.id)  # by identity: never another plugin's entries
        if self._pm.has_plugin(record.id):
            self._pm.unregister(name=record.id)
        if self.trace:
            print(f"genreg: plugin {record.id} {record.error}", file=sys.stderr)
        if self.strict:
            raise PluginError(f"plugin {record.display!r} {record.error}") from exc
        return record

    # -- queries -----------------------------------------------------------------

    def plugins(self) -> list[PluginRecord]:
        self.load()
        return sorted(self.records.values(), key=lambda r: (not r.builtin, r.name, r.id))

    def errors(self) -> list[PluginRecord]:
        """Plugins with a problem: withdrawn ones and ones with refused entries."""
        return [r for r in self.plugins() if r.error]

    def _explain_unknown(self, kind: str, name: str) -> str:
        """Extra words for "unknown KIND NAME": the plugins that failed and might have had it."""
        notes = []
        for r in self.records.values():
            why = next((w for k, n, w in r.rejected if (k, n) == (kind, name)), None)
            if why is not None:
                notes.append(f"plugin {r.display!r} registered it but it was refused ({' '.join(why.split())})")
            elif r.withdrawn and (kind, name) in r.would_provide:
                notes.append(f"plugin {r.display!r} would provide it but failed to load ({r.error})")
        failed = [r.display for r in self.records.values() if r.withdrawn and not r.would_provide]
        if failed and not notes:
            notes.append(f"{len(failed)} plugin(s) failed to load and may provide it: {', '.join(failed)}")
        off = [r.display for r in self.records.values() if r.disabled]
        if off:
            notes.append(f"disabled by GENREG_DISABLE_PLUGINS: {', '.join(off)}")
        return "; ".join(notes) + " (see `genreg plugins`)" if notes else ""


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
