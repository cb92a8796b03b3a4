"""Runs are loaded through the checkpoint module's public load_run."""

import pytest
import torch

import genreg
from genreg.training import checkpoint as ckpt

TRAIN = ["train.log_every=1", "train.sample_every=0", "train.checkpoint_every=0", "train.device=cpu",
         "train.steps=2"]


def test_load_run_rebuilds_a_reconstruction_run_and_rejects_stray_weights(tmp_path):
    run = genreg.train("dae1d", overrides=[*TRAIN, "data.n=32", "train.batch_size=16"], out=tmp_path / "r",
                       quiet=True).run_dir
    stored = ckpt.load_run(run)
    assert stored.step == 2 and stored.config.model_name == "dae1d" and stored.ema is None
    assert stored.path == ckpt.find(run) and not stored.model.net.training
    tensors, state = ckpt.load(stored.path)
    for key, value in stored.model.net.state_dict().items():
        assert torch.equal(value, tensors[f"model.net.{key}"])
    tensors["model.stray.weight"] = torch.zeros(1)
    bad = ckpt.save(tmp_path / "bad" / "checkpoints" / "step-00000002", tensors, state)
    with pytest.raises(ckpt.CheckpointError, match="unexpected model.stray.weight"):
        ckpt.load_run(bad)


def test_load_run_of_an_adversarial_run_with_ema(tmp_path):
    run = genreg.train("gan", overrides=[*TRAIN, "data=ring8", "data.n=64", "train.batch_size=32",
                                         "model.ema_decay=0.9"], out=tmp_path / "g", quiet=True).run_dir
    stored = ckpt.load_run(run)
    tensors, _ = ckpt.load(stored.path)
    assert stored.ema is not None and stored.ema is not stored.model.generator
    for key, value in stored.ema.state_dict().items():
        assert torch.equal(value, tensors[f"ema.{key}"])
    for key, value in stored.model.critic.state_dict().items():
        assert torch.equal(value, tensors[f"critic.{key}"])
