"""genreg: a plugin registry of generative models with fused C++/CUDA kernels.

Importing genreg is cheap: torch is imported only by what needs it (the interfaces,
the kernels, the trainers), and plugins are loaded on first use of the registry.
"""

from __future__ import annotations

from typing import Any

from ._version import HOOK_API_VERSION, __version__
from .errors import GenregError, UnknownEntryError, UsageError
from .hookspecs import hookimpl
from .registry import KINDS, Entry

__all__ = [
    "__version__",
    "HOOK_API_VERSION",
    "KINDS",
    "Entry",
    "GenregError",
    "UsageError",
    "UnknownEntryError",
    "hookimpl",
    "get_registry",
    "get_plugin_manager",
    "list_entries",
    "get_entry",
    "create",
    # lazily imported (they need torch):
    "train",
    "load",
    "Encoder",
    "Decoder",
    "Generator",
    "Critic",
]

_LAZY = {name: "genreg.interfaces" for name in ("Encoder", "Decoder", "Generator", "Critic")}
_LAZY["load"] = "genreg.inference"  # genreg.load(RUN): a trained run, ready to call
# ``genreg.train(...)``: the genreg.train package is callable (see genreg/train/__init__.py)
_LAZY_MODULES = {"train": "genreg.train"}


def get_plugin_manager():
    """The process-wide :class:`genreg.plugins.PluginManager` (loads plugins once)."""
    from .plugins import get_manager

    return get_manager()


def get_registry():
    """The process-wide :class:`genreg.registry.Registry`, filled by all plugins."""
    return get_plugin_manager().registry


def list_entries(pattern: str = "*", kind: str | None = None) -> list[Entry]:
    """Registered entries whose name matches the fnmatch ``pattern``, sorted."""
    return get_registry().entries(pattern, kind)


def get_entry(kind: str, name: str) -> Entry:
    """The entry ``(kind, name)``; an unknown name raises with close matches."""
    return get_registry().get(kind, name)


def create(kind: str, name: str, **overrides: Any) -> Any:
    """Build the entry ``(kind, name)`` with keyword overrides of its defaults."""
    return get_registry().create(kind, name, **overrides)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(_LAZY_MODULES[name])
    raise AttributeError(f"module 'genreg' has no attribute {name!r}")
