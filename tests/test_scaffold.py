"""`genreg new-plugin` and the plugin guide."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from genreg import hookspecs
from genreg.errors import UsageError
from genreg.scaffold import new_plugin

ROOT = Path(__file__).resolve().parents[1]


def test_new_plugin_writes_a_package(tmp_path):
    root = new_plugin("my-gan", tmp_path)
    assert root == tmp_path / "genreg-my-gan"
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == ["README.md", "genreg_my_gan/__init__.py", "genreg_my_gan/losses.py", "genreg_my_gan/models.py",
                     "genreg_my_gan/plugin.py", "pyproject.toml", "tests/conftest.py", "tests/test_plugin.py"]
    assert 'genreg-my-gan = "genreg_my_gan.plugin"' in (root / "pyproject.toml").read_text()
    for py in root.rglob("*.py"):
        compile(py.read_text(), str(py), "exec")
    assert "{" not in (root / "genreg_my_gan" / "plugin.py").read_text()  # no placeholder left


def test_new_plugin_rejects_bad_names_and_existing_folders(tmp_path):
    with pytest.raises(UsageError, match="use lower-case letters and digits"):
        new_plugin("My Gan", tmp_path)
    new_plugin("x", tmp_path)
    with pytest.raises(UsageError, match="already exists"):
        new_plugin("x", tmp_path)


def test_generated_package_passes_its_own_tests(tmp_path):
    root = new_plugin("tmplcheck", tmp_path)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=root,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "3 passed" in done.stdout


def test_the_guide_lists_every_hook():
    guide = (ROOT / "docs" / "plugins.md").read_text()
    hooks = [name for name in dir(hookspecs) if name.startswith("genreg_")]
    assert len(hooks) == 6
    for name in hooks:
        assert re.search(rf"`{name}\(register\)`", guide), f"docs/plugins.md does not document {name}"
