"""`genreg eval` / `genreg sample` on masked autoencoders, and the eval pieces: baselines and the linear probe."""

import json

import numpy as np
import pytest
import torch

from genreg.eval import mae as eval_mae
from genreg.cli import main

from tiny_runs import eval_json, is_png, tiny_run

SMALL = ["model.embed_dim=16", "model.depth=1", "model.heads=2", "model.decoder_dim=8", "model.decoder_heads=2"]
SPECS = {
    "radio": ("mae1d", "data.n=48", "data.noise_only=0.5", "train.batch_size=16"),
    "radio-no-labels": ("mae1d", "data.n=16", "data.noise_only=0", "train.batch_size=8"),
    "galaxies": ("mae", "data.size=32", "data.n=24", "train.batch_size=8"),
}


@pytest.fixture(scope="module")
def mae_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("mae-runs")
    made = {}

    def get(name):
        if name not in made:
            model, *overrides = SPECS[name]
            made[name] = tiny_run(root / name, model, *overrides, *SMALL).run_dir
        return made[name]

    return get




@pytest.fixture(autouse=True)
def small_probe(monkeypatch):
    monkeypatch.setattr(eval_mae, "PROBE_TRAIN", 60)


def test_eval_mae1d_reports_masked_mse_baseline_and_signal_vs_noise_probe(mae_runs, capsys):
    run = mae_runs("radio")
    m = eval_json(capsys, str(run), "--n", "40")
    assert m["kind"] == "mae" and m["model"] == "mae1d" and m["n_test"] == 40 and m["num_patches"] == 50
    assert m["baseline"] == "linear interpolation" and m["masked_mse"] > 0 and m["masked_mse_baseline"] > 0
    assert m["probe_task"] == "signal vs noise only" and m["probe_train"] == 60 and m["probe_test"] == 40
    for key in ("linear_probe", "linear_probe_random_encoder", "probe_chance"):
        assert 0.0 <= m[key] <= 1.0
    controls = m["linear_probe_random_encoders"]
    assert len(controls) == eval_mae.RANDOM_ENCODERS and m["linear_probe_random_encoder"] == pytest.approx(
        sum(controls) / len(controls))
    assert m["probe_repeats"] == eval_mae.PROBE_REPEATS
    assert 0.0 <= m["linear_probe_std"] <= 0.5 and 0.0 <= m["linear_probe_random_encoder_std"] <= 0.5
    assert json.loads((run / "eval" / "eval.json").read_text()) == m
    assert is_png(run / "eval" / "masked.png")
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "40"]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert "masked-patch MSE" in line and "linear interpolation baseline" in line and "random encoders" in line
    assert f"{100 * m['linear_probe']:.1f} ± {100 * m['linear_probe_std']:.1f} %" in line


def test_eval_mae_on_galaxies_probes_the_three_classes(mae_runs, capsys, tmp_path):
    m = eval_json(capsys, str(mae_runs("galaxies")), "--n", "30", "--out", str(tmp_path / "e"))
    assert m["kind"] == "mae" and m["baseline"] == "mean visible patch" and m["num_patches"] == 64
    assert m["probe_task"] == "classes: barred_spiral, elliptical, spiral"
    assert 0.0 <= m["linear_probe"] <= 1.0 and 0.0 <= m["linear_probe_random_encoder"] <= 1.0
    assert is_png(tmp_path / "e" / "masked.png")


def test_eval_without_labels_says_why_there_is_no_probe(mae_runs, capsys):
    m = eval_json(capsys, str(mae_runs("radio-no-labels")), "--n", "20")
    assert m["linear_probe"] is None and "data.noise_only > 0" in m["probe_task"]
    assert m["masked_mse_baseline"] > 0


@pytest.mark.parametrize("name", ["radio", "galaxies"])
def test_sample_writes_inpainted_test_inputs(mae_runs, tmp_path, capsys, name):
    out = tmp_path / "s.png"
    assert main(["sample", str(mae_runs(name)), "--n", "5", "--seed", "2", "--out", str(out)]) == 0
    assert is_png(out)
    assert main(["sample", str(mae_runs(name)), "--n", "5", "--class", "1", "--out", str(out)]) == 2


def test_sample_figures_during_training(tmp_path):
    run = tiny_run(tmp_path / "r", "mae", "data.size=32", "data.n=8", "train.batch_size=4", "train.sample_every=1",
                   "train.num_samples=4", *SMALL, steps=1)
    assert is_png(run.run_dir / "samples" / "step-00000001.png")


# ------------------------------------------------------------------------------ the pieces


def test_linear_interpolation_fills_hidden_samples_on_the_line_between_neighbours():
    x = torch.tensor([[[0.0, 9.0, 9.0, 3.0, 9.0, 5.0]]])
    hidden = torch.tensor([[[True, True, True, False, True, False]]])
    out = eval_mae.linear_interpolation(x, hidden)
    assert out.tolist() == [[[3.0, 3.0, 3.0, 3.0, 4.0, 5.0]]]  # flat before the first visible sample


def test_mean_patch_baseline_uses_the_same_samples_visible_patches():
    p = torch.arange(12.0).reshape(1, 4, 3)
    mask = torch.tensor([[0.0, 1.0, 0.0, 1.0]])
    out = eval_mae.mean_patch(p, mask)
    assert torch.equal(out[0, 0], p[0, 0]) and torch.equal(out[0, 2], p[0, 2])
    assert torch.equal(out[0, 1], (p[0, 0] + p[0, 2]) / 2) and torch.equal(out[0, 3], out[0, 1])


def test_the_baseline_is_exact_on_constant_traces_and_an_untrained_net_is_not():
    # interpolating a constant is exact: the scoring path puts baseline and model on the same patches
    import genreg

    net = genreg.create("model", "mae1d", length=100, embed_dim=16, depth=1, heads=2, decoder_dim=8,
                        decoder_heads=2).net
    x = torch.full((8, 1, 100), 0.7)
    scores = eval_mae.masked_scores(net, x)
    assert scores["masked_mse_baseline"] < 1e-12 and scores["masked_mse"] > 1e-3


def test_probe_accuracy_separates_separable_features_and_not_noise():
    rng = np.random.default_rng(0)
    y = np.arange(200) % 2
    good = rng.normal(size=(200, 4)) + 3 * y[:, None]
    noise = rng.normal(size=(200, 4))
    assert eval_mae.probe_accuracy(good[:100], y[:100], good[100:], y[100:]) > 0.95
    assert eval_mae.probe_accuracy(noise[:100], y[:100], noise[100:], y[100:]) < 0.7


def test_random_encoder_is_the_same_architecture_with_fresh_weights(mae_runs):
    from genreg.evaluate import load_run

    run = load_run(mae_runs("radio"))
    a, b = eval_mae.random_encoder(run, 0), eval_mae.random_encoder(run, 0)
    trained = dict(run.model.net.named_parameters())
    assert sorted(dict(a.named_parameters())) == sorted(trained)
    assert all(torch.equal(p, dict(b.named_parameters())[k]) for k, p in a.named_parameters())
    assert not torch.equal(a.patch_embed.weight, trained["patch_embed.weight"])


def test_the_random_encoder_control_takes_exactly_the_trained_encoders_probe_path(mae_runs, monkeypatch):
    # a "random" encoder that is the trained one must score exactly the same: same features,
    # same training draws, same fits, same test samples (the comparison is fair by construction)
    from genreg.evaluate import load_run
    from genreg.eval.common import eval_dataset

    run = load_run(mae_runs("radio"))
    monkeypatch.setattr(eval_mae, "random_encoder", lambda run, seed: run.model.net)
    m = eval_mae.linear_probe(run, eval_dataset(run, n=40))
    assert m["linear_probe"] == m["linear_probe_random_encoder"]
    assert m["linear_probe_std"] == pytest.approx(m["linear_probe_random_encoder_std"])
    assert m["linear_probe_random_encoders"] == [m["linear_probe"]] * eval_mae.RANDOM_ENCODERS
