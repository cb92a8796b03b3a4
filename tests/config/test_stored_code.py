"""Nothing read from a checkpoint imports code: stored callbacks are listed, not run (#13.6)."""

import hashlib
import json
import sys
import textwrap

import pytest

import genreg
from genreg.cli import main
from genreg.training import checkpoint as ckpt

RUN = ["data=ring8", "data.n=64", "model.dim=2", "model.hidden=8", "model.latent_dim=2", "train.batch_size=16",
       "train.sample_every=0", "train.checkpoint_every=0", "train.log_every=1"]


@pytest.fixture
def tampered_run(tmp_path, monkeypatch):
    """A finished 2-step run whose state.json names a callback module that writes a file when
    imported; the manifest's SHA-256 is recomputed so the checkpoint loads as valid."""
    marker = tmp_path / "code-ran"
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "planted_cb.py").write_text(textwrap.dedent(f"""
        import pathlib
        pathlib.Path({str(marker)!r}).write_text("imported")

        class Hook:
            def on_train_start(self, run):
                pathlib.Path({str(marker)!r}).write_text("ran")
    """))
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    monkeypatch.delitem(sys.modules, "planted_cb", raising=False)  # imported by an earlier test
    result = genreg.train("mlp-ae", overrides=[*RUN, "train.steps=2"], out=tmp_path / "run", quiet=True)
    where = result.checkpoint
    state = json.loads((where / ckpt.STATE).read_text())
    state["config"]["train"]["callbacks"] = ["planted_cb:Hook"]
    (where / ckpt.STATE).write_text(json.dumps(state))
    manifest = json.loads((where / ckpt.MANIFEST).read_text())
    data = (where / ckpt.STATE).read_bytes()
    manifest["files"][ckpt.STATE] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (where / ckpt.MANIFEST).write_text(json.dumps(manifest))
    assert ckpt.load(where)[1]["config"]["train"]["callbacks"] == ["planted_cb:Hook"]  # a valid checkpoint
    return tmp_path / "run", marker


def test_resume_lists_stored_callbacks_and_does_not_import_them(tampered_run, capsys):
    run_dir, marker = tampered_run
    assert main(["train", "--resume", str(run_dir), "train.steps=3", "--quiet"]) == 0
    assert not marker.exists()
    err = capsys.readouterr().err
    notice = [line for line in err.splitlines() if "planted_cb:Hook" in line]
    assert len(notice) == 1 and "--trust-callbacks" in notice[0] and "train.callbacks" in notice[0]
    # the resumed run's config no longer names code it did not run
    assert "planted_cb" not in (run_dir / "config.toml").read_text()
    assert main(["train", "--resume", str(run_dir / "checkpoints" / ckpt.checkpoint_name(2)), "--print-config"]) == 0
    assert not marker.exists()


def test_eval_of_a_tampered_run_imports_nothing(tampered_run):
    run_dir, marker = tampered_run
    from genreg.config import resolve

    stored = ckpt.load(ckpt.find(run_dir))[1]["config"]
    cfg = resolve(None, base=stored)
    assert cfg.train.callbacks == () and cfg.withheld == {"train.callbacks": ("planted_cb:Hook",)}
    assert not marker.exists()


@pytest.mark.parametrize("how", [["--trust-callbacks"], ["train.callbacks=planted_cb:Hook"]])
def test_named_again_or_trusted_callbacks_run(tampered_run, how):
    run_dir, marker = tampered_run
    assert main(["train", "--resume", str(run_dir), "train.steps=3", "--quiet", *how]) == 0
    assert marker.read_text() == "ran"
