"""Presets: named settings, registry-visible and plugin-extensible (issue 14, point 1's
mechanism): `genreg train MODEL --preset NAME` applies a preset's overrides after the
model's defaults and before the user's config file and overrides."""

import json

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import pytest

import genreg
from genreg.errors import EntryError, UnknownEntryError, UsageError
from genreg.plugins import PluginManager
from genreg.training.loop import resolve_run

from plugin_dists import GOOD, OLD_API, write_dist
from test_cli import genreg as run_cli

TOY_PRESETS = [f"{m}-{d}" for m in ("gan", "mlp-gan", "wgan-div", "wgan-gp") for d in ("grid25", "ring8")]
GALAXY_PRESETS = [f"{m}-galaxies32" for m in ("acgan", "wgan-div", "wgan-gp")]
DAE_PRESETS = [f"dae1d-{kind}" for kind in ("cosine", "realistic", "uniform")]
BUILTIN_PRESETS = sorted(TOY_PRESETS + GALAXY_PRESETS + DAE_PRESETS + ["vae-galaxies"])


def test_builtin_presets_are_registry_entries():
    found = {e.name: e for e in genreg.list_entries(kind="preset") if e.plugin_id == "genreg.presets"}
    assert sorted(found) == BUILTIN_PRESETS
    for entry in found.values():
        overrides = entry.create()
        model, data = entry.name.rsplit("-", 1)
        if entry.name in GALAXY_PRESETS:
            assert (overrides["model"], overrides["data"], overrides["data.size"]) == (model, "galaxies", 32)
        elif entry.name in DAE_PRESETS:  # dae1d-NOISE: the radio traces with that noise kind
            assert (overrides["model"], overrides["data"], overrides["data.noise"]) == (model, "radio", data)
        else:
            assert overrides["model"] == model and overrides["data"] == data
        assert entry.summary


def test_a_preset_is_applied_before_the_users_own_settings(tmp_path):
    cfg, _ = resolve_run("wgan-gp", preset="ring8")  # MODEL-NAME shorthand
    assert cfg.model_name == "wgan-gp" and cfg.data["name"] == "ring8"
    assert cfg.model.latent_dim == 2 and tuple(cfg.opt.betas) == (0.5, 0.9)
    assert cfg.model.penalty_params == {"weight": 0.1}
    assert (cfg.opt.lr_g, cfg.opt.lr_d, cfg.train.steps) == (1e-3, 1e-3, 3000)
    config = tmp_path / "c.toml"
    config.write_text("[opt]\nlr_g = 5e-4\n[model]\nlatent_dim = 4\n")
    cfg, _ = resolve_run("wgan-gp", preset="wgan-gp-ring8", config=config, overrides=["model.latent_dim=3"])
    assert (cfg.opt.lr_g, cfg.model.latent_dim, cfg.opt.lr_d) == (5e-4, 3, 1e-3)  # file and overrides win


@pytest.mark.parametrize("kind", ["realistic", "uniform", "cosine"])
def test_the_dae1d_presets_train_the_skip_network_on_low_snr_traces_of_their_noise(kind):
    cfg, _ = resolve_run("dae1d", preset=kind)  # MODEL-NAME shorthand: dae1d-KIND
    assert (cfg.model_name, cfg.data["name"], cfg.data["noise"]) == ("dae1d", "radio", kind)
    assert cfg.model.skips is True and cfg.model.spectral_gate == 0
    # only realistic noise has interference lines to remove
    assert cfg.model.line_removal == (3 if kind == "realistic" else 0)
    assert list(cfg.data["snr"]) == [2, 5] and cfg.train.steps == 3000
    cfg, _ = resolve_run("dae1d", preset=kind, overrides=["data.snr=2,8"])  # the user's words still win
    assert list(cfg.data["snr"]) == [2, 8]


def test_a_preset_names_its_model():
    cfg, _ = resolve_run(None, preset="gan-grid25")
    assert (cfg.model_name, cfg.data["name"], cfg.model.latent_dim) == ("gan", "grid25", 2)
    with pytest.raises(UsageError, match=r"^preset 'gan-grid25' is for model 'gan', not 'wgan-gp'; use "
                       r"`genreg train gan --preset gan-grid25`"):
        resolve_run("wgan-gp", preset="gan-grid25")
    with pytest.raises(UnknownEntryError, match="unknown preset 'wgan-gp-ring9': did you mean 'wgan-gp-ring8'"):
        resolve_run("wgan-gp", preset="wgan-gp-ring9")
    with pytest.raises(UsageError, match="--preset starts a new run"):
        resolve_run("wgan-gp", preset="ring8", resume="somewhere")


class PresetPlugin:
    calls = 0

    @genreg.hookimpl
    def genreg_register_presets(self, register):
        register("tiny-gan", {"model": "mlp-gan", "data": "ring8", "data.n": 64, "model.hidden": 8,
                              "model.depth": 1, "model.n_critic": 1, "train.batch_size": 16,
                              "model.loss_params": {"non_saturating": True}, "model.loss": "bce",
                              "model.penalty": "none"}, summary="a tiny GAN")
        register("counted", self.counted)
        register("with-callbacks", {"train.callbacks": ["os:getcwd"]})
        register("not-a-dict", lambda: [("model.hidden", 3)])
        register("with-code", {"model.hidden": object()})

    def counted(self):
        PresetPlugin.calls += 1
        return {"model": "mlp-gan", "data": "ring8", "data.n": 64, "model.hidden": 8, "model.depth": 1,
                "model.n_critic": 1, "train.batch_size": 16, "train.steps": 2}


@pytest.fixture
def preset_plugin():
    manager = genreg.get_plugin_manager()
    record = manager.register(PresetPlugin(), name="presets-test", version="1.0")
    try:
        yield record
    finally:
        manager.unregister("presets-test")


def test_plugins_add_presets_as_data(preset_plugin):
    assert preset_plugin.error is None and ("preset", "tiny-gan") in preset_plugin.entries
    cfg, _ = resolve_run(None, preset="tiny-gan", overrides=["train.steps=1"])
    assert (cfg.model.hidden, cfg.model.loss, cfg.model.loss_params, cfg.data["n"]) == (8, "bce", {"non_saturating": True}, 64)
    with pytest.raises(UsageError, match=r"^preset 'with-callbacks' \(plugin 'presets-test' 1.0\) sets train.callbacks: "
                       "a preset is data and may not name code to import"):
        resolve_run(None, preset="with-callbacks")
    with pytest.raises(EntryError, match=r"preset 'not-a-dict' .* returned list, expected a dict of overrides"):
        resolve_run("mlp-gan", preset="not-a-dict")
    with pytest.raises(EntryError, match="model.hidden is a object; preset values are numbers"):
        resolve_run("mlp-gan", preset="with-code")


def test_a_run_stores_values_not_the_preset(preset_plugin, tmp_path):
    PresetPlugin.calls = 0
    result = genreg.train(None, preset="counted", out=tmp_path / "run", quiet=True)
    assert PresetPlugin.calls == 1
    assert "preset" not in (result.run_dir / "config.toml").read_text()
    assert "hidden = 8" in (result.run_dir / "config.toml").read_text()
    genreg.get_plugin_manager().unregister("presets-test")
    try:  # resuming needs neither the preset nor its plugin
        resumed = genreg.train(resume=result.run_dir, overrides=["train.steps=3"], quiet=True)
        assert resumed.step == 3 and PresetPlugin.calls == 1
    finally:
        genreg.get_plugin_manager().register(PresetPlugin(), name="presets-test", version="1.0")


def test_the_cli_lists_and_applies_presets():
    listed = run_cli("list", "--kind", "preset", "--json")
    assert listed.returncode == 0, listed.stderr
    assert BUILTIN_PRESETS == sorted(r["name"] for r in json.loads(listed.stdout) if r["plugin"] == "genreg.presets")
    out = run_cli("train", "wgan-gp", "--preset", "ring8", "model.latent_dim=3", "--print-config")
    assert out.returncode == 0, out.stderr
    printed = tomllib.loads(out.stdout)  # the TOML as tomli-w writes it (arrays may span lines)
    assert printed["model"]["latent_dim"] == 3 and printed["opt"]["betas"] == [0.5, 0.9]
    assert printed["data"]["name"] == "ring8"
    wrong = run_cli("train", "mlp-gan", "--preset", "gan-ring8", "--print-config")
    assert wrong.returncode == 2 and wrong.stderr.startswith("genreg: error: preset 'gan-ring8' is for model 'gan'")


def test_a_plugin_written_for_hook_api_1_without_presets_still_loads(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    write_dist(tmp_path, "genreg-old", "0.9", "genreg_old_plugin", OLD_API)
    write_dist(tmp_path, "genreg-toy", "1.2.3", "genreg_toy_plugin", GOOD)
    manager = PluginManager(strict=True).load()
    assert manager.records["genreg-old"].error is None
    assert manager.registry.get("loss", "old-loss").plugin_id == "genreg-old:genreg-old"
    assert genreg.HOOK_API_VERSION == 1
