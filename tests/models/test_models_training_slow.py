"""Short trainings through `genreg.train`: each study model beats its untrained self on its
`genreg eval` metric (slow: run with `pytest -m slow`; a few minutes each on 2 busy cores).

"Untrained" is the same run stopped after one step (same seed, same data).
"""

import pytest

from genreg.eval import evaluate

from tiny_runs import tiny_run

pytestmark = pytest.mark.slow

# the WGAN-GP authors' toy settings for the 2-D mixtures (their image settings are the defaults)
TOY_WGAN = ["data=ring8", "model.latent_dim=2", "opt.lr_g=1e-3", "opt.lr_d=1e-3", "opt.betas=[0.5,0.9]",
            "train.batch_size=128"]
TOY_PENALTY = {"wgan-gp": ["model.penalty_params.weight=0.1"], "wgan-div": []}  # div keeps k=2, p=6


def before_after(tmp_path, model, overrides, steps, n=None):
    scores = []
    for name, s in (("untrained", 1), ("trained", steps)):
        run = tiny_run(tmp_path / name, model, *overrides, steps=s).run_dir
        scores.append(evaluate(run, tmp_path / name / "eval", n=n))
    return scores


def test_dae1d_finds_the_pulse_better_than_untrained_and_than_the_noisy_input(tmp_path):
    before, after = before_after(tmp_path, "dae1d", ["data.n=4000"], 1200, n=500)
    assert after["mse"] < 0.5 * before["mse"], (before["mse"], after["mse"])
    assert after["mse"] < after["mse_baseline"], (after["mse"], after["mse_baseline"])
    # the study's accuracy: off the flat-output plateau, and ahead of the do-nothing baseline
    assert after["accuracy"] > before["accuracy"] + 0.5, (before["accuracy"], after["accuracy"])
    assert after["accuracy"] > after["accuracy_baseline"], (after["accuracy"], after["accuracy_baseline"])


def test_vae_reconstructs_better_than_untrained(tmp_path):
    before, after = before_after(tmp_path, "vae", ["data.size=32", "data.n=300", "train.batch_size=32"], 150, n=100)
    assert after["mse"] < 0.7 * before["mse"], (before["mse"], after["mse"])


@pytest.mark.parametrize("model", ["wgan-gp", "wgan-div"])
def test_wasserstein_gans_on_ring8_cover_more_modes(tmp_path, model):
    before, after = before_after(tmp_path, model, TOY_WGAN + TOY_PENALTY[model] + ["data.n=4000"], 800,
                                 n=1000)
    assert after["modes_covered"] > before["modes_covered"], (before, after)
    assert after["high_quality"] > before["high_quality"], (before, after)


def test_gan_on_ring8_puts_more_samples_on_modes(tmp_path):
    overrides = ["data=ring8", "data.n=4000", "model.latent_dim=2", "opt.lr_g=1e-3", "opt.lr_d=1e-3",
                 "train.batch_size=128"]
    before, after = before_after(tmp_path, "gan", overrides, 1500, n=1000)
    assert after["high_quality"] > before["high_quality"], (before, after)


def test_acgan_on_labelled_ring8_generates_the_requested_modes(tmp_path):
    overrides = ["data=ring8", "data.labels=true", "data.n=4000", "model.num_classes=8", "model.latent_dim=2",
                 "opt.lr_g=1e-3", "opt.lr_d=1e-3", "train.batch_size=128"]
    before, after = before_after(tmp_path, "acgan", overrides, 1500, n=800)
    assert after["class_fidelity"] > before["class_fidelity"] + 0.2, (before, after)
