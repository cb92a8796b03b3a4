"""The autoencoder evaluation's MSEs against noisy and clean targets (issue 14): the pure
function on random tensors, the galaxies' noise-free version, and `genreg eval` on a tiny VAE."""

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genreg.cli import main
from genreg.data.galaxies import galaxies
from genreg.errors import UsageError
from genreg.eval import load_run
from genreg.eval.autoencoder import clean_images, reconstruction_mse
from genreg.eval.common import eval_dataset


def _images(seed: int, n: int, scale: float = 1.0):
    return scale * torch.rand(n, 3, 4, 4, generator=torch.Generator().manual_seed(seed))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 9), noise=st.floats(0.0, 0.5))
def test_reconstruction_mse_noisy_and_clean_targets(seed, n, noise):
    clean = _images(seed, n)
    x = clean + noise * (_images(seed + 1, n) - 0.5)  # the noisy inputs
    recons = _images(seed + 2, n)
    m = reconstruction_mse(recons, x, clean)
    assert m["mse"] == pytest.approx(float(((recons - x) ** 2).mean()), rel=1e-5)
    assert m["mse_clean"] == pytest.approx(float(((recons - clean) ** 2).mean()), rel=1e-5)
    assert m["mse_input_noise"] == pytest.approx(float(((x - clean) ** 2).mean()), rel=1e-5, abs=1e-12)
    # each baseline is the mean image of its own targets, scored the same way
    for suffix, target in (("", x), ("_clean", clean)):
        base = float(((target - target.mean(0, keepdim=True)) ** 2).mean())
        assert m[f"mse_mean_image{suffix}"] == pytest.approx(base, rel=1e-5)
        assert m[f"mse_ratio_to_mean_image{suffix}"] == pytest.approx(m[f"mse{suffix}"] / base, rel=1e-5)
    # a perfect denoiser: zero against the clean images, exactly the noise against the inputs
    perfect = reconstruction_mse(clean, x, clean)
    assert perfect["mse_clean"] == 0.0
    assert perfect["mse"] == pytest.approx(perfect["mse_input_noise"], rel=1e-9, abs=1e-15)
    # the mean clean image scores ratio 1 against the clean targets
    mean = clean.mean(0, keepdim=True).expand_as(clean)
    assert reconstruction_mse(mean, x, clean)["mse_ratio_to_mean_image_clean"] == pytest.approx(1.0, rel=1e-5)


def test_reconstruction_mse_without_clean_targets_and_bad_shapes():
    x, recons = _images(0, 5), _images(1, 5)
    m = reconstruction_mse(recons, x)
    assert set(m) == {"mse", "mse_mean_image", "mse_ratio_to_mean_image"}
    same = reconstruction_mse(recons, torch.ones_like(x))  # every target the same: no baseline ratio
    assert same["mse_mean_image"] == 0.0 and same["mse_ratio_to_mean_image"] is None
    with pytest.raises(UsageError, match="clean images"):
        reconstruction_mse(recons, x, _images(2, 4))
    with pytest.raises(UsageError, match="inputs"):
        reconstruction_mse(recons, x[:, :2])


def test_galaxies_noise_free_version_holds_the_same_galaxies():
    noisy = galaxies("test", n=24, size=32, seed=3)
    assert noisy.meta["clean"] == {"noise": 0.0}
    clean = galaxies("test", n=24, size=32, seed=3, **noisy.meta["clean"])
    assert "clean" not in clean.meta  # already noise-free
    assert torch.equal(noisy.y, clean.y)
    # each noisy galaxy's nearest clean image is its own (the same galaxy, less the noise)
    dist = torch.cdist(noisy.x.flatten(1), clean.x.flatten(1))
    assert torch.equal(dist.argmin(1), torch.arange(24))
    noise = float(((noisy.x - clean.x) ** 2).mean())
    assert 0 < noise < float(((clean.x - clean.x.mean(0)) ** 2).mean())


def test_eval_vae_reports_noisy_and_clean_target_mse(runs, capsys):
    run = runs("vae")
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "12"]) == 0
    line = capsys.readouterr().out
    assert "vs noisy targets" in line and "vs clean targets" in line
    m = json.loads((run / "eval" / "eval.json").read_text())
    loaded = load_run(run, "cpu")
    noisy, clean = eval_dataset(loaded, None, 12), eval_dataset(loaded, {"noise": 0.0}, 12)
    assert m["mse_input_noise"] == pytest.approx(float(((noisy.x - clean.x) ** 2).mean()), rel=1e-5)
    assert m["mse_mean_image_clean"] == pytest.approx(float(((clean.x - clean.x.mean(0)) ** 2).mean()), rel=1e-5)
    assert m["mse_ratio_to_mean_image_clean"] == pytest.approx(m["mse_clean"] / m["mse_mean_image_clean"])
    assert m["mse_mean_image"] > m["mse_mean_image_clean"]  # the noise adds to every noisy-target MSE


def test_eval_vae_on_clean_inputs_has_no_clean_target_numbers(runs, capsys, tmp_path):
    capsys.readouterr()
    assert main(["eval", str(runs("vae")), "--n", "12", "--data", "noise=0", "--out", str(tmp_path), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert "mse_clean" not in m and "mse_input_noise" not in m and m["mse"] > 0


def test_clean_version_that_differs_is_a_usage_error(runs):
    run = load_run(runs("vae"), "cpu")
    data = eval_dataset(run, None, 8)
    data.meta["clean"] = {"noise": 0.0, "n": 4}  # a clean version with other samples
    with pytest.raises(UsageError, match="does not hold the same samples"):
        clean_images(run, data)
