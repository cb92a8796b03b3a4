"""Configurations that cannot work fail while resolving: one line naming the key, exit 2 (#13.4)."""

import pytest

import genreg
from genreg.cli import main
from genreg.config import resolve
from genreg.errors import UsageError


def _refused(model, overrides, message, **kwargs):
    with pytest.raises(UsageError, match=message) as info:
        resolve(model, overrides=overrides, **kwargs)
    assert "\n" not in str(info.value)
    return str(info.value)


# (a) BatchNorm over one sample per process
def test_batchnorm_needs_two_samples_per_process():
    _refused("gan", ["data=ring8", "model.mlp_norm=batch", "train.batch_size=1"],
             r"model\.mlp_norm=batch needs at least 2 samples per process.*train\.batch_size=1.*layer or none")
    # under torchrun the per-process batch is batch_size / WORLD_SIZE
    _refused("gan", ["data=ring8", "model.mlp_norm=batch", "train.batch_size=4"],
             r"train\.batch_size=4 gives 1 over 4 processes", world_size=4)
    assert resolve("gan", overrides=["data=ring8", "model.mlp_norm=batch", "train.batch_size=2"]).train.batch_size == 2
    # images and traces normalise over H x W / L values per channel: batch 1 works there
    assert resolve("gan", overrides=["model.mlp_norm=batch", "train.batch_size=1"]).model.mlp_norm == "batch"
    assert resolve("gan", overrides=["data=ring8", "model.mlp_norm=layer", "train.batch_size=1"])


def test_world_size_comes_from_torchrun(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    _refused("gan", ["data=ring8", "model.mlp_norm=batch", "train.batch_size=2"], r"gives 1 over 2 processes")
    _refused("mlp-gan", ["train.batch_size=3"], r"train\.batch_size=3 does not split evenly over 2 processes")


# (b) switching the loss or penalty takes the new entry's defaults
def test_switching_the_loss_or_penalty_drops_the_old_parameters(tmp_path):
    assert resolve("gan", overrides=["model.loss=wasserstein"]).model.loss_params == {}
    assert resolve("wgan-gp", overrides=["model.penalty=div"]).model.penalty_params == {}
    assert resolve("gan", overrides=["model.loss=bce"]).model.loss_params == {"non_saturating": True}  # no switch
    # parameters given with the switch are kept, and checked against the new entry
    cfg = resolve("gan", overrides=["model.loss=bce", "model.loss_params.real_label=0.9"])
    assert cfg.model.loss_params == {"non_saturating": True, "real_label": 0.9}
    _refused("gan", ["model.loss=wasserstein", "model.loss_params.non_saturating=true"],
             r"model\.loss_params\.non_saturating: loss 'wasserstein' rejected its parameters")
    path = tmp_path / "run.toml"
    path.write_text('[model]\nloss = "bce"\n[model.loss_params]\nreal_label = 0.8\n')
    assert resolve("wgan-gp", config_file=path).model.loss_params == {"real_label": 0.8}
    assert resolve("wgan-gp", config_file=path, overrides=["model.loss=hinge"]).model.loss_params == {}
    # the same rule when a model is built from Python
    assert genreg.create("model", "gan", loss="wasserstein", arch="mlp2d").config.loss_params == {}
    assert genreg.create("model", "gan", arch="mlp2d").config.loss_params == {"non_saturating": True}


# (c) a BatchNorm critic with a per-sample gradient penalty
def test_batchnorm_critic_with_a_per_sample_penalty_is_refused():
    message = _refused("wgan-gp", ["model.norm_d=batch"], r"model\.norm_d=batch cannot be used with model\.penalty=gp")
    assert "couples the samples" in message and "model.norm_d=layer" in message
    _refused("gan", ["model.penalty=gp"], r"model\.norm_d=batch cannot be used with model\.penalty=gp")
    _refused("wgan-div", ["data=ring8", "model.mlp_norm=batch"], r"model\.mlp_norm=batch cannot be used")
    assert resolve("wgan-gp", overrides=["data=ring8", "model.norm_d=batch"])  # points: norm_d is not used
    assert resolve("gan", overrides=["model.penalty=gp", "model.norm_d=layer"])
    assert resolve("gan").model.norm_d == "batch"  # no penalty: BatchNorm is fine
    # file data: the family is known only from the data; fit_data refuses before any step
    cfg = resolve("wgan-gp", overrides=["data=npz:/nowhere.npz", "model.norm_d=batch"])
    with pytest.raises(UsageError, match=r"model\.norm_d=batch cannot be used"):
        cfg.model.fit_data((1, 500))


# (d) typos in entry parameters, (f) integer parameters
@pytest.mark.parametrize("overrides, message", [
    (["model.penalty_params.wieght=1"], r"model\.penalty_params\.wieght: penalty 'gp' .*did you mean 'weight'"),
    (["model.loss_params.x=1"], r"model\.loss_params\.x: loss 'wasserstein'"),
    (["model.penalty_params.weight=-1"], r"model\.penalty_params: gp: weight must be >= 0"),
    (["model.penalty_params.weight=heavy"], r"weight='heavy' is not a valid float"),
    (["data=radio", "data.snrr=3"], r"data\.snrr: dataset 'radio' has no parameter 'snrr' \(did you mean 'snr'\?\)"),
    (["data.n=1.5"], r"data\.n: dataset 'galaxies': n='1\.5' is not a valid int"),
    (["data=ring8", "data.n=nan"], r"n='nan' is not a valid int"),
    (["data=radio", "data.noise=pink"], r"noise='pink' is not a valid realistic\|uniform\|cosine"),
    (["data=nope"], r"unknown dataset 'nope'"),
    (["data=radio:/x"], r"dataset 'radio' takes no path"),
    (["data=npz"], r"dataset 'npz' needs a path"),
    (["model.loss=hing"], r"unknown loss 'hing': did you mean 'hinge'"),
])
def test_entry_parameters_are_checked_when_resolving(overrides, message):
    _refused("wgan-gp", overrides, message)


def test_integer_parameters_refuse_fractions_everywhere(tmp_path):
    from genreg.data import load_dataset

    assert resolve("gan", overrides=["data=ring8", "data.n=1e3"]).data["n"] == 1000
    path = tmp_path / "run.toml"
    path.write_text("[data]\nname = 'ring8'\nn = 1.5\n")
    with pytest.raises(UsageError, match=r"n=1\.5 is not a valid int"):
        resolve("gan", config_file=path)
    with pytest.raises(UsageError, match=r"n=1\.5 is not a valid int"):
        resolve("gan", overrides={"data": "ring8", "data.n": 1.5})
    with pytest.raises(UsageError, match=r"n=1\.5 is not a valid int"):
        load_dataset("ring8", n=1.5)
    with pytest.raises(UsageError, match=r"model\.hidden must be an integer, got '1\.5'"):
        resolve("gan", overrides=["model.hidden=1.5"])


def test_print_config_rejects_a_typo_with_exit_2(capsys):
    assert main(["train", "wgan-gp", "model.penalty_params.wieght=1", "--print-config"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "model.penalty_params.wieght" in err[0] and "'weight'" in err[0]


def test_refused_before_any_data_is_built(monkeypatch, tmp_path, capsys):
    import importlib

    train_data = importlib.import_module("genreg.training.data")

    def no_data(*args, **kwargs):
        raise AssertionError("data was built for a configuration that cannot work")

    monkeypatch.setattr(train_data, "build_dataset", no_data)
    monkeypatch.setattr(importlib.import_module("genreg.training.loop"), "build_dataset", no_data)
    for overrides in (["data=ring8", "model.mlp_norm=batch", "train.batch_size=1"], ["model.loss=wasserstein",
                      "model.loss_params.real_label=0.9"], ["model.norm_d=batch", "model.penalty=gp"],
                      ["model.penalty_params.wieght=1"], ["data=ring8", "data.n=1.5"]):
        with pytest.raises(UsageError):
            genreg.train("gan", overrides=overrides, out=tmp_path / "run", quiet=True)
        assert main(["train", "gan", *overrides, "--out", str(tmp_path / "run"), "-q"]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_a_config_check_written_with_plain_exceptions_is_one_usage_error():
    """A plugin model's config ``validate()`` raising ValueError (issue 13 point 7d) is one line."""
    from dataclasses import dataclass

    from genreg.config import build_section

    @dataclass
    class PluginConfig:
        width: int = 4

        def validate(self):
            if self.width < 1:
                raise ValueError(f"width must be >= 1, got {self.width}")

    assert build_section(PluginConfig, {"width": 2}, "model").width == 2
    with pytest.raises(UsageError) as err:
        build_section(PluginConfig, {"width": 0}, "model")
    assert "\n" not in str(err.value) and "width must be >= 1, got 0" in str(err.value)
    assert "PluginConfig" in str(err.value)
