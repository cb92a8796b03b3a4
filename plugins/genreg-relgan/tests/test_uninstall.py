"""Uninstalling the plugin package removes its entries (and reinstalling brings them back).

This uninstalls and reinstalls genreg-relgan in the running environment with pip, as a
user would, so it runs only where the package is installed editable from this checkout.
"""

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def _installed_from_here() -> bool:
    try:
        dist = metadata.distribution("genreg-relgan")
    except metadata.PackageNotFoundError:
        return False
    direct_url = dist.read_text("direct_url.json")
    return bool(direct_url) and Path(json.loads(direct_url)["url"].removeprefix("file://")) == PACKAGE_DIR


def _plugin_entries() -> list[str]:
    out = subprocess.run([sys.executable, "-m", "genreg", "list", "--json"], capture_output=True, text=True,
                         timeout=120, check=True)
    return sorted(f"{e['kind']}:{e['name']}" for e in json.loads(out.stdout) if e["plugin"] == "genreg-relgan")


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True, capture_output=True, timeout=300,
                   env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))


@pytest.mark.skipif(not _installed_from_here(), reason="genreg-relgan is not installed editable from this checkout")
def test_uninstalling_removes_the_entries():
    assert _plugin_entries() == ["dataset:moons", "loss:ragan", "loss:rsgan", "model:ragan-mlp", "penalty:r1"]
    _pip("uninstall", "-y", "genreg-relgan")
    try:
        assert _plugin_entries() == []
    finally:
        _pip("install", "--no-build-isolation", "--no-deps", "-e", str(PACKAGE_DIR))
    assert _plugin_entries() == ["dataset:moons", "loss:ragan", "loss:rsgan", "model:ragan-mlp", "penalty:r1"]
