"""train.loggers=tensorboard: scalars and sample images through torch.utils.tensorboard."""

import json
import sys

import pytest

import genreg
from genreg.cli import main

TRAIN = ["data=ring8", "data.n=64", "train.batch_size=32", "train.log_every=2", "train.sample_every=4",
         "train.checkpoint_every=0", "train.device=cpu", "train.loggers=tensorboard"]


def _events(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    return acc


def test_tensorboard_logger_writes_every_logged_scalar_and_the_sample_images(tmp_path):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    result = genreg.train("gan", overrides=[*TRAIN, "train.steps=8"], out=tmp_path / "r", quiet=True)
    acc = _events(result.run_dir / "tensorboard")
    records = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    names = {k for k, v in records[-1].items() if k != "step" and isinstance(v, (int, float))}
    assert {"d_loss", "g_loss", "lr_g", "samples_per_s"} <= names
    assert names == set(acc.Tags()["scalars"])
    for name in names:
        assert [e.step for e in acc.Scalars(name)] == [2, 4, 6, 8]
        assert [e.value for e in acc.Scalars(name)] == pytest.approx([r[name] for r in records], rel=1e-6)
    assert [e.step for e in acc.Images("samples")] == [4, 8]


def test_missing_tensorboard_is_one_line_before_any_step(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if not installed
    assert main(["train", "gan", *TRAIN, "train.steps=2", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pip install 'genreg[tensorboard]'" in err
    assert not (tmp_path / "r" / "metrics.jsonl").exists()


def test_unknown_logger_is_refused_at_config_time(capsys):
    assert main(["train", "gan", "train.loggers=wandb", "--print-config"]) == 2
    assert "train.loggers: unknown logger 'wandb'; loggers are: tensorboard" in capsys.readouterr().err
