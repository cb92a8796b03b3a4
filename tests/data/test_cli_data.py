"""`genreg data list` and `genreg data preview`: one run as a real subprocess, the rest
in-process through genreg.cli.main (each subprocess pays torch's and matplotlib's import)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from genreg.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def genreg(*args, timeout=120):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    env.pop("GENREG_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "genreg", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_radio_preview_in_a_subprocess(tmp_path):
    out = tmp_path / "r.png"
    result = genreg("data", "preview", "radio", "noise=realistic", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == PNG_MAGIC and out.stat().st_size > 5000
    assert f"wrote {out}: traces" in result.stdout


def test_data_list_shows_every_builtin_with_parameters(capsys):
    assert main(["data", "list", "--json", "-v"]) == 0
    entries = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    assert {"radio", "galaxies", "ring8", "grid25", "npz", "npy", "images"} <= set(entries)
    radio_params = {p["name"]: p for p in entries["radio"]["parameters"]}
    assert radio_params["noise"]["type"] == "realistic|uniform|cosine"
    assert radio_params["snr"]["default"] == [2.0, 8.0]


@pytest.mark.parametrize("args, kind", [
    (["radio", "noise=cosine", "snr=3", "--count", "1"], "traces"),
    (["galaxies", "size=32", "--count", "3", "--seed", "2"], "images"),
    (["grid25", "--split", "test"], "points"),
])
def test_preview_writes_a_png(tmp_path, capsys, args, kind):
    out = tmp_path / "preview.png"
    assert main(["data", "preview", *args, "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG_MAGIC and out.stat().st_size > 5000
    assert f"wrote {out}: {kind}" in capsys.readouterr().out


def test_preview_of_a_users_file(tmp_path, capsys):
    data = tmp_path / "mine.npz"
    np.savez(data, traces=np.random.default_rng(0).normal(size=(6, 100)), signals=np.zeros((6, 100)))
    out = tmp_path / "mine.png"
    assert main(["data", "preview", f"npz:{data}", "--split", "all", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize("args, words", [
    (["radio", "snrr=3"], "has no parameter 'snrr' (did you mean 'snr'?)"),
    (["radio", "snr"], "'snr' is not key=value"),
    (["npz:/no/such/file.npz"], "file not found: /no/such/file.npz"),
    (["galaxie"], "unknown dataset 'galaxie': did you mean 'galaxies'?"),
])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys, monkeypatch, args, words):
    monkeypatch.delenv("GENREG_DEBUG", raising=False)
    assert main(["data", "preview", *args, "--out", str(tmp_path / "x.png")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], lines
    assert not (tmp_path / "x.png").exists()
