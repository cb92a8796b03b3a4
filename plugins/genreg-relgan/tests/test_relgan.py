"""genreg-relgan's own tests: run by genreg's `make test`, or `pytest plugins/genreg-relgan`."""

import json
import math
import os
import subprocess
import sys

import pytest
import torch

import genreg

pytest.importorskip("genreg_relgan", reason="genreg-relgan is not installed (`make test` installs it)")


def test_entries_are_listed_with_this_plugin_and_its_version():
    from genreg_relgan import __version__

    found = {(e.kind, e.name): e for e in genreg.list_entries() if e.plugin == "genreg-relgan"}
    assert set(found) == {("loss", "rsgan"), ("loss", "ragan"), ("penalty", "r1"), ("dataset", "moons"),
                          ("model", "ragan-mlp")}
    assert all(e.plugin_version == __version__ for e in found.values())
    record = genreg.get_plugin_manager().records["genreg-relgan"]
    assert record.error is None and not record.builtin


def test_relativistic_losses_on_hand_made_scores():
    equal = torch.zeros(4)
    ragan = genreg.create("loss", "ragan")
    assert ragan.critic(equal, equal).item() == pytest.approx(2 * math.log(2))
    assert ragan.generator(equal, equal).item() == pytest.approx(2 * math.log(2))
    # a critic that ranks real far above fake: its loss ~0, the generator's large
    real, fake = torch.full((4,), 10.0), torch.full((4,), -10.0)
    assert ragan.critic(real, fake).item() < 1e-6
    assert ragan.generator(fake, real).item() == pytest.approx(40.0, rel=1e-3)
    rsgan = genreg.create("loss", "rsgan")
    assert rsgan.critic(real, fake).item() < 1e-6
    with pytest.raises(ValueError, match="needs the critic's scores of real samples"):
        rsgan.generator(fake)


def test_r1_penalty_of_a_linear_critic_is_gamma_half_squared_weight_norm():
    w = torch.tensor([3.0, 4.0])

    def critic(x, y=None):
        return x @ w

    r1 = genreg.create("penalty", "r1", gamma=10.0)
    assert r1(critic, torch.randn(5, 2), torch.randn(5, 2)).item() == pytest.approx(5.0 * 25.0)


def test_moons_is_deterministic_balanced_and_two_dimensional():
    a = genreg.create("dataset", "moons", seed=3, n=200)
    b = genreg.create("dataset", "moons", seed=3, n=200)
    test = genreg.create("dataset", "moons", split="test", seed=3, n=200)
    assert torch.equal(a.x, b.x) and not torch.equal(a.x, test.x)
    assert a.sample_shape == (2,) and a.num_classes == 2
    assert torch.bincount(a.y).tolist() == [100, 100]


def test_ragan_mlp_trains_from_the_command_line(tmp_path):
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "genreg", "train", "ragan-mlp", "train.steps=20", "train.log_every=10",
         "train.sample_every=20", "train.checkpoint_every=20", "--out", str(out), "--quiet"],
        capture_output=True, text=True, timeout=300, env=dict(os.environ, GENREG_STRICT_PLUGINS="1"))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["step"] == 20
    assert all(math.isfinite(line["g_loss"]) and math.isfinite(line["penalty"]) for line in lines)
    assert (out / "config.toml").read_text().count('"ragan"') == 1
