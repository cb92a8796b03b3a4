"""What genreg knows about each plugin: its record, and the records by identity.

See :mod:`genreg.plugins` for how plugins are identified and loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def is_reserved(name: str) -> bool:
    """Plugin names only genreg's built-ins may have: ``genreg`` and ``genreg.*``."""
    return name == "genreg" or name.startswith("genreg.")



@dataclass
class PluginRecord:
    """What ``genreg plugins`` shows about one plugin.

    ``id`` is the plugin's unique identity (see the module docstring); ``name`` is the
    entry-point name (or the name given to ``register``) shown to users. ``error`` says
    what went wrong: with ``withdrawn`` the whole plugin is out, otherwise only the
    entries listed in ``rejected`` were refused. ``would_provide`` lists the entries a
    withdrawn plugin had registered before it failed (empty when it never got that far).
    """

    name: str
    source: str  # module path, or "dist-name (entry point value)"
    version: str = ""
    builtin: bool = False
    hooks: list[str] = field(default_factory=list)
    entries: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    traceback: str | None = None
    disabled: bool = False
    id: str = ""
    distribution: str = ""
    withdrawn: bool = False
    owns_name: bool = True  # False when its name was taken first (or is reserved)
    rejected: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, name, why)
    would_provide: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.id = self.id or self.name

    @property
    def display(self) -> str:
        """The name users see: the plugin's name, or its id when its name belongs to another."""
        return self.name if self.owns_name else self.id

    @property
    def label(self) -> str:
        """``'genreg-toy' (genreg-toy 1.2.3, module genreg_toy)``: how errors name a plugin."""
        if self.builtin:
            return f"{self.name!r} (genreg's built-in, {self.version})"
        where = [f"{self.distribution} {self.version}".strip() if self.distribution else "",
                 f"module {self.source.split('(')[-1].rstrip(')')}"]
        return f"{self.name!r} ({', '.join(w for w in where if w)})"

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "id": self.id,
            "distribution": self.distribution,
            "source": self.source,
            "version": self.version,
            "builtin": self.builtin,
            "hooks": list(self.hooks),
            "entries": [f"{kind}:{name}" for kind, name in self.entries],
            "rejected": [f"{kind}:{name}" for kind, name, _ in self.rejected],
            "error": self.error,
            "withdrawn": self.withdrawn,
            "disabled": self.disabled,
        }


class PluginRecords(dict):
    """Plugin records keyed by id. Looking up a plugin's *name* finds the plugin owning
    that name (so ``records["genreg-mygan"]`` works for an installed plugin too)."""

    def _key(self, key: str):
        if dict.__contains__(self, key):
            return key
        for rid, record in self.items():
            if record.name == key and record.owns_name:
                return rid
        return None

    def __getitem__(self, key: str) -> PluginRecord:
        rid = self._key(key)
        if rid is None:
            raise KeyError(key)
        return dict.__getitem__(self, rid)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._key(key) is not None

    def get(self, key: str, default=None):
        rid = self._key(key)
        return default if rid is None else dict.__getitem__(self, rid)

    def owner(self, name: str) -> PluginRecord | None:
        """The record owning plugin name ``name``, if any."""
        return next((r for r in self.values() if r.name == name and r.owns_name), None)
