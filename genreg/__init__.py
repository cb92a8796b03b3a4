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
    "train",
    "load",
    # lazily imported (they need torch):
    "Encoder",
    "Decoder",
    "Generator",
    "Critic",
]

_LAZY = {name: "genreg.interfaces" for name in ("Encoder", "Decoder", "Generator", "Critic")}
_LAZY["load"] = "genreg.inference"  # genreg.load(RUN): a trained run, ready to call


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


def train(model: str | None = None, *, config=None, overrides=(), out=None, resume=None, device=None,
          quiet: bool = False, callbacks: Any = None, trust_callbacks: bool = False, preset: str | None = None):
    """Train a registered model; the Python twin of ``genreg train``. Returns a
    :class:`genreg.training.loop.TrainResult`. See :func:`genreg.training.loop.train` (every
    keyword is passed on as it is)."""
    from .training.loop import train as _train

    return _train(model, config=config, overrides=overrides, out=out, resume=resume, device=device, quiet=quiet,
                  callbacks=callbacks, trust_callbacks=trust_callbacks, preset=preset)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'genreg' has no attribute {name!r}")
