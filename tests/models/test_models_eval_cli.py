"""`genreg eval` and `genreg sample` on tiny runs: JSON on stdout, eval.json and PNG figures."""

import json

import pytest

from genreg.cli import main

from tiny_runs import eval_json, is_png


def test_eval_denoiser_reports_accuracy_and_the_noisy_input_baseline(runs, capsys, tmp_path):
    run = runs("dae1d")
    m = eval_json(capsys, str(run), "--n", "60")
    assert m["kind"] == "denoiser" and m["model"] == "dae1d" and m["step"] == 2 and m["n_test"] == 60
    for key in ("accuracy", "accuracy_baseline"):
        assert 0.0 <= m[key] <= 1.0
    assert m["denoised"]["n_signal"] == 60 and len(m["denoised"]["vs_snr"]["accuracy"]) == 6
    assert 0.0 <= m["baseline"]["accuracy_abs_peak"] <= 1.0 and "accuracy_height_10pct" in m["baseline"]
    assert m["mse_baseline"] > 0 and m["spectrum_relative_l2"] >= 0
    # the classical baseline (band-pass + notch) scored the same way, beside the noisy input
    assert 0.0 <= m["accuracy_classical"] <= 1.0 and m["classical"]["n_signal"] == 60 and m["mse_classical"] > 0
    assert m["classical_filter"]["band_mhz"] == [30.0, 80.0] and m["spectrum_relative_l2_classical"] >= 0
    assert is_png(run / "eval" / "loss_curves.png")
    on_disk = json.loads((run / "eval" / "eval.json").read_text())
    assert on_disk == m
    for name in ("accuracy_vs_snr.png", "spectra.png", "examples.png"):
        assert is_png(run / "eval" / name)


def test_eval_on_another_noise_kind(runs, capsys, tmp_path):
    m = eval_json(capsys, str(runs("dae1d")), "--n", "40", "--data", "noise=uniform", "--out", str(tmp_path / "u"))
    assert m["data"]["noise"] == "uniform"
    assert (tmp_path / "u" / "eval.json").exists()


def test_eval_gan_on_ring8_counts_modes_and_sample_writes_png(runs, capsys, tmp_path):
    run = runs("gan-ring8")
    m = eval_json(capsys, str(run), "--n", "200")
    assert m["kind"] == "gan" and m["num_modes"] == 8 and 0 <= m["modes_covered"] <= 8
    assert 0.0 <= m["high_quality"] <= 1.0 and sum(m["mode_counts"]) <= 200
    assert m["real_data_reference"]["modes_covered"] == 8  # real test points cover every mode
    assert is_png(run / "eval" / "samples.png")
    out = tmp_path / "s.png"
    assert main(["sample", str(run), "--n", "50", "--seed", "3", "--out", str(out)]) == 0
    assert is_png(out)


def test_eval_acgan_reports_frechet_distance_and_class_fidelity(runs, capsys, tmp_path):
    run = runs("acgan")
    m = eval_json(capsys, str(run), "--n", "12")
    assert m["frechet_distance"] >= 0 and m["frechet_distance_real_train_vs_test"] >= 0
    assert 0.0 <= m["class_fidelity"] <= 1.0 and 0.0 <= m["feature_net"]["test_accuracy"] <= 1.0
    # every number read through the classifier has its test accuracy beside it
    assert m["classifier_test_accuracy"] == m["feature_net"]["test_accuracy"]
    assert set(m["feature_net"]["used_by"]) == {"frechet_distance", "frechet_distance_real_train_vs_test",
                                                "class_fidelity", "intra_class_diversity"}
    # intra-class diversity: per class, generated over real mean pairwise feature distance
    div = m["intra_class_diversity"]
    assert div["per_class"] and set(div["per_class"]) <= {"0", "1", "2"}
    for c in div["per_class"].values():
        assert c["generated"] >= 0 and c["real"] > 0 and c["ratio"] == pytest.approx(c["generated"] / c["real"])
    ratios = [c["ratio"] for c in div["per_class"].values()]
    assert div["ratio_min"] == pytest.approx(min(ratios)) and div["ratio_mean"] == pytest.approx(sum(ratios) / len(ratios))
    pix = m["intra_class_diversity_pixels"]  # the same in pixel space, no classifier involved
    assert set(pix["per_class"]) == set(div["per_class"]) and pix["ratio_min"] >= 0
    assert is_png(run / "eval" / "samples.png")
    out = tmp_path / "c1.png"
    assert main(["sample", str(run), "--n", "4", "--class", "1", "--out", str(out)]) == 0
    assert is_png(out)


def test_eval_vae_figures_and_prior_samples(runs, capsys, tmp_path):
    run = runs("vae")
    m = eval_json(capsys, str(run))
    assert m["kind"] == "autoencoder" and m["mse"] > 0 and m["kl"] >= 0
    assert m["mse_mean_image"] > 0 and m["mse_ratio_to_mean_image"] == pytest.approx(m["mse"] / m["mse_mean_image"])
    assert 0 <= m["active_units"] <= m["latent_units"]
    assert 0.0 <= m["class_agreement"] <= 1.0 and 0.0 <= m["classifier_test_accuracy"] <= 1.0
    assert m["feature_net"]["used_by"] == ["class_agreement"]
    for name in ("reconstructions.png", "interpolation.png"):
        assert is_png(run / "eval" / name)
    assert main(["sample", str(run), "--n", "6", "--out", str(tmp_path / "v.png")]) == 0
    assert is_png(tmp_path / "v.png")


def test_eval_gan_on_radio_traces(runs, capsys, tmp_path):
    m = eval_json(capsys, str(runs("wgan-gp-radio")), "--n", "20", "--out", str(tmp_path / "e"))
    assert m["sample_shape"] == [1, 500] and m["spectrum_relative_l2"] >= 0
    assert is_png(tmp_path / "e" / "samples.png")


def test_eval_accepts_a_checkpoint_directory(runs, capsys, tmp_path):
    ckpt = next((runs("gan-ring8") / "checkpoints").iterdir())
    m = eval_json(capsys, str(ckpt), "--n", "100", "--out", str(tmp_path / "e"))
    assert m["checkpoint"] == str(ckpt)


def test_sample_refuses_a_denoiser_and_bad_class(runs, capsys, tmp_path):
    assert main(["sample", str(runs("dae1d")), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "draws no samples of its own" in err
    assert main(["sample", str(runs("acgan")), "--class", "7", "--out", str(tmp_path / "y.png")]) == 2
    assert "--class must lie in [0, 3)" in capsys.readouterr().err
    assert main(["sample", str(runs("gan-ring8")), "--out", str(tmp_path / "y.jpg")]) == 2


def test_eval_of_a_folder_without_checkpoints_is_one_line_error(tmp_path, capsys):
    assert main(["eval", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "holds no complete checkpoint" in err


def test_eval_acgan_on_radio_scores_the_pulse_polarity(runs, capsys):
    m = eval_json(capsys, str(runs("acgan-radio")), "--n", "40")
    assert 0.0 <= m["class_fidelity"] <= 1.0 and 0.5 < m["class_fidelity_real"] <= 1.0


def test_polarity_rule_reads_the_largest_excursion():
    import torch

    from genreg.eval.gan import polarity as _polarity

    base = torch.full((3, 1, 50), 0.5)
    base[0, 0, 10], base[0, 0, 12] = 0.9, 0.3   # larger upward lobe: positive
    base[1, 0, 20], base[1, 0, 22] = 0.7, 0.05  # larger downward lobe: negative
    base[2, 0, 30] = 0.2                        # only a downward spike: negative
    assert _polarity(base).tolist() == [1, 0, 0]
