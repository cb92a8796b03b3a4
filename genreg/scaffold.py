"""`genreg new-plugin NAME`: write a plugin package that installs, registers and passes
its own tests unchanged. The files come from genreg/templates/plugin/*.tmpl
(str.format placeholders; literal braces are doubled)."""

from __future__ import annotations

import re
from pathlib import Path

from ._version import HOOK_API_VERSION, __version__
from .errors import UsageError

TEMPLATES = Path(__file__).parent / "templates" / "plugin"

# template file -> path inside the new package ({module} is the import name)
LAYOUT = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "__init__.py.tmpl": "{module}/__init__.py",
    "plugin.py.tmpl": "{module}/plugin.py",
    "losses.py.tmpl": "{module}/losses.py",
    "models.py.tmpl": "{module}/models.py",
    "conftest.py.tmpl": "tests/conftest.py",
    "test_plugin.py.tmpl": "tests/test_plugin.py",
}

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def new_plugin(name: str, parent: str | Path = ".") -> Path:
    """Create ``parent/genreg-<name>/`` and return its path."""
    name = name.removeprefix("genreg-")
    if not _NAME.match(name):
        raise UsageError(f"plugin name {name!r}: use lower-case letters and digits, words joined by '-'")
    fields = {"name": name, "dist": f"genreg-{name}", "module": "genreg_" + name.replace("-", "_"),
              "genreg_version": __version__, "hook_api": HOOK_API_VERSION}
    root = Path(parent) / fields["dist"]
    if root.exists():
        raise UsageError(f"{root} already exists; choose another name or folder")
    for template, target in LAYOUT.items():
        path = root / target.format(**fields)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((TEMPLATES / template).read_text().format(**fields))
    return root
