"""One `genreg.train` step of every study model on the built-in data it supports.

Each GAN trains on images (galaxies), on radio traces and on 2-D points (ring8; the acGAN
on the labelled variant): the network family follows the data, and the stored config
records the family that was used.
"""

import tomllib

import pytest

from tiny_runs import tiny_run

DATA = {
    "images": ("data=galaxies", "data.size=32", "data.n=12", "model.base_channels=8", "train.batch_size=6"),
    "radio": ("data=radio", "data.n=16", "model.trace_channels=[8,8,4,4]", "train.batch_size=8"),
    "points": ("data=ring8", "data.n=64", "model.hidden=16", "train.batch_size=16"),
}
ARCH = {"images": "dcgan", "radio": "trace1d", "points": "mlp2d"}


@pytest.mark.parametrize("data", sorted(DATA))
@pytest.mark.parametrize("model", ["gan", "wgan-gp", "wgan-div", "acgan"])
def test_gan_trains_one_step_on_each_data_family(tmp_path, model, data):
    overrides = list(DATA[data])
    if model == "acgan":
        if data == "radio":  # the pulse polarity as the class
            overrides += ["data.labels=true", "model.num_classes=2"]
        if data == "points":
            overrides += ["data.labels=true", "model.num_classes=8"]
    result = tiny_run(tmp_path / "run", model, *overrides, steps=1)
    assert result.step == 1 and result.checkpoint is not None
    losses = {k: v for k, v in result.metrics.items() if k in ("d_loss", "g_loss")}
    assert set(losses) == {"d_loss", "g_loss"} and all(v is not None for v in losses.values())
    stored = tomllib.loads((result.run_dir / "config.toml").read_text())
    assert stored["model"]["arch"] == ARCH[data]


def test_dae1d_trains_one_step_on_radio(tmp_path):
    result = tiny_run(tmp_path / "run", "dae1d", "data.n=32", "train.batch_size=16", steps=1)
    assert result.metrics["mse"] > 0
    assert tomllib.loads((result.run_dir / "config.toml").read_text())["model"]["length"] == 500


def test_vae_trains_one_step_with_the_data_size(tmp_path):
    result = tiny_run(tmp_path / "run", "vae", "data.size=32", "data.n=8", "model.hidden=16",
                      "train.batch_size=4", steps=1)
    stored = tomllib.loads((result.run_dir / "config.toml").read_text())["model"]
    assert (stored["image_size"], stored["channels"]) == (32, 3)
    assert result.metrics["mse"] > 0 and result.metrics["kl"] >= 0


def test_model_and_data_shape_mismatch_is_one_clear_error(tmp_path):
    from genreg.errors import UsageError

    with pytest.raises(UsageError, match=r"data 'galaxies' has samples of shape \(3, 32, 32\) but model 'gan' "
                                         r"has generator output shape \(3, 64, 64\)"):
        tiny_run(tmp_path / "run", "gan", "data.size=32", "data.n=8", "model.image_size=64",
                 "model.base_channels=8", "train.batch_size=4", steps=1)


def test_acgan_trains_with_its_class_conditioning_options_and_separate_generator_class_weight(tmp_path):
    common = (*DATA["images"], "model.cond_norm=true", "model.projection=true", "model.ema_decay=0.9",
              "model.loss=hinge", "model.loss_params={}")
    off = tiny_run(tmp_path / "off", "acgan", *common, "model.aux_weight_g=0", steps=1)
    assert off.step == 1 and off.checkpoint is not None
    assert off.metrics["g_aux"] == 0.0 and off.metrics["d_aux"] > 0  # only the generator's term is off
    on = tiny_run(tmp_path / "on", "acgan", *common, "model.aux_weight_g=2", steps=1)
    assert on.metrics["g_aux"] > 0
    stored = tomllib.loads((on.run_dir / "config.toml").read_text())
    assert stored["model"]["cond_norm"] and stored["model"]["projection"] and stored["model"]["aux_weight_g"] == 2.0
