"""Fuzz of `genreg train`: any key of any section with random and hostile values ends with exit
0, 1 or 2 and one line on stderr, never a traceback (#13.4)."""

import contextlib
import io
import os
import subprocess
import sys
import tempfile
from dataclasses import fields

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genreg.cli import main

MODELS = ["gan", "wgan-gp", "acgan", "mlp-gan", "mlp-ae", "vae", "dae1d"]


def _keys() -> list[str]:
    """Every key of every section of the built-in models, data sets, losses and penalties."""
    import genreg
    from genreg.config import TrainConfig, model_config_class, optim_class_for
    from genreg.config.entries import signature_parameters

    keys = {f"train.{f.name}" for f in fields(TrainConfig)}
    for name in MODELS:
        cls = model_config_class(name)
        keys |= {f"model.{f.name}" for f in fields(cls)} | {f"opt.{f.name}" for f in fields(optim_class_for(cls))}
    for kind, table in (("loss", "model.loss_params"), ("penalty", "model.penalty_params")):
        for entry in genreg.list_entries(kind=kind):
            keys |= {f"{table}.{p}" for p in signature_parameters(entry.load())[0]}
    for entry in genreg.list_entries(kind="dataset"):
        keys |= {f"data.{p}" for p in signature_parameters(entry.load(), ("split", "seed"))[0]}
    return sorted(keys | {"data", "model.name", "data.name", "model.nope", "opt.", "x.y", "train..steps"})


KEYS = _keys()
HOSTILE = ["", "0", "-1", "1", "2", "1.5", "-0.0", "1e3", "1e400", "nan", "-inf", "true", "none", "null", "[]",
           "[1, 2]", "1,2", "(0.5, 0.9)", "[[[[1]]]]", "{}", "{a=1}", '"q"', "'", "[", "batch", "layer", "cuda",
           "ring8", "npz:/nonexistent.npz", "images:/", "radio:/x", "gp", "div", "hinge", "os:system",
           "train_toys:Nope", "a" * 300, "\x00", "\udcff", "é", "9" * 40]
VALUES = st.sampled_from(HOSTILE) | st.text(max_size=10)
OVERRIDE = st.tuples(st.sampled_from(KEYS), VALUES).map(lambda kv: f"{kv[0]}={kv[1]}")


def _run_cli(argv) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own usage errors
            code = exc.code
    return code, err.getvalue()


def _check(code, err) -> None:
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err, err
    if code:
        assert len(err.strip().splitlines()) >= 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=st.sampled_from(MODELS), overrides=st.lists(OVERRIDE, max_size=3))
def test_print_config_fuzz(model, overrides):
    code, err = _run_cli(["train", model, *overrides, "--print-config"])
    _check(code, err)
    if code == 2:
        assert len([line for line in err.splitlines() if line.startswith("genreg: error:")]) == 1, err


# tiny runs: the safe settings come last, so random values of size keys cannot make a long run
_TINY = {"mlp-gan": ["data=ring8", "data.n=64", "model.hidden=8"],
         "gan": ["data=ring8", "data.n=64", "model.hidden=8"],
         "mlp-ae": ["data=ring8", "data.n=64", "model.dim=2", "model.hidden=8", "model.latent_dim=2"]}
_SAFE = ["train.steps=2", "train.batch_size=16", "train.sample_every=0", "train.checkpoint_every=0",
         "train.log_every=1", "train.device=cpu"]
SMALL = st.sampled_from([v for v in HOSTILE if len(v) < 30]) | st.integers(-3, 24).map(str) | st.text(max_size=6)


@pytest.mark.usefixtures("one_thread")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(model=st.sampled_from(sorted(_TINY)), key=st.sampled_from(KEYS), value=SMALL)
def test_short_run_fuzz(model, key, value):
    size_keys = ("model.hidden", "model.latent_dim", "model.dim", "model.depth", "model.layers", "data.n",
                 "model.base_channels", "model.image_size", "model.length", "data.size", "model.n_critic")
    if key.split("=")[0] in size_keys and value.isdigit() and int(value) > 24:
        value = "24"
    with tempfile.TemporaryDirectory() as out:
        argv = ["train", model, *_TINY[model], f"{key}={value}", *_SAFE, "--out", os.path.join(out, "run"), "-q"]
        code, err = _run_cli(argv)
    _check(code, err)


# a few by subprocess, as a user runs them (the other cases of #13.4 run in-process in test_checks.py)
@pytest.mark.parametrize("args", [
    ["gan", "data=ring8", "model.mlp_norm=batch", "train.batch_size=1"],
    ["wgan-gp", "model.penalty_params.wieght=1", "--print-config"],
    ["mlp-gan", "train.steps=\udcff"],
])
def test_subprocess_examples_exit_2_with_one_line(tmp_path, args):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:surrogateescape"}
    env.pop("GENREG_DEBUG", None)
    proc = subprocess.run([sys.executable, "-m", "genreg", "train", *args, "--out", str(tmp_path / "run"), "-q"],
                          capture_output=True, text=True, errors="replace", env=env, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("genreg: error: ")
    assert not (tmp_path / "run").exists()
