"""Config resolution: defaults, TOML files, dotted overrides, strict one-line errors."""

import io
import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genreg.config import RunConfig, dump_toml, resolve
from genreg.errors import UsageError


def test_defaults_come_from_the_model_config_class():
    cfg = resolve("mlp-gan")
    assert cfg.model_name == "mlp-gan"
    assert (cfg.model.loss, cfg.model.penalty, cfg.model.n_critic) == ("wasserstein", "gp", 5)
    assert cfg.opt.betas == (0.0, 0.9)  # the model's optim_defaults beat the section's defaults
    assert cfg.train.batch_size == 256 and cfg.data == {"name": "ring8"}


def test_overrides_are_typed_by_field(toys):
    cfg = resolve("mlp-gan", overrides=[
        "train.steps=1e3", "opt.lr_g=2e-4", "opt.betas=0.5,0.99", "train.nonfinite=skip",
        "model.loss=bce", "model.loss_params.non_saturating=false", "model.loss_params.real_label=0.9",
        "data=toy-blob", "data.n=64", "data.center=2.5", "data.label=hello"])
    assert cfg.train.steps == 1000 and isinstance(cfg.train.steps, int)
    assert cfg.opt.lr_g == 2e-4 and cfg.opt.betas == (0.5, 0.99)
    assert cfg.train.nonfinite == "skip"
    assert cfg.model.loss_params == {"non_saturating": False, "real_label": 0.9}
    assert cfg.data == {"name": "toy-blob", "n": 64, "center": 2.5, "label": "hello"}


def test_parameter_tables_merge_with_the_model_defaults_and_can_be_cleared():
    from genreg.config import build_section

    # acgan's default loss (bce) comes with parameters: a given one merges with them
    merged = resolve("acgan", overrides=["model.loss_params.non_saturating=false"]).model.loss_params
    assert merged == {"real_label": 1.0, "non_saturating": False}
    cleared = resolve("acgan", overrides=["model.loss_params={}"])
    assert cleared.model.loss_params == {}
    assert build_section(type(cleared.model), {"loss_params": merged}, "model").loss_params == merged


def test_mapping_overrides_take_python_values(toys):
    cfg = resolve("mlp-ae", overrides={"train.steps": 7, "opt.lr": 1, "data": "toy-vectors", "model.dim": 8})
    assert cfg.train.steps == 7 and cfg.opt.lr == 1.0 and cfg.model.dim == 8
    with pytest.raises(UsageError, match=r"train\.steps must be an integer, got str"):
        resolve("mlp-ae", overrides={"train.steps": "7", "data": "x"})


@pytest.mark.parametrize("override, message", [
    ("train.stpes=3", r"unknown key train\.stpes \(did you mean train\.steps\?\); allowed keys in \[train\]: steps, "),
    ("trian.steps=3", r"unknown config section 'trian' .*did you mean 'train'"),
    ("train.steps=three", r"train\.steps must be an integer, got 'three'"),
    ("train.steps=0", r"train\.steps must be >= 1, got 0"),
    ("opt.lr_g=fast", r"opt\.lr_g must be a number, got 'fast'"),
    ("opt.lr_g=nan", r"opt\.lr_g must be a finite number"),
    ("opt.betas=0.5", r"opt\.betas needs 2 comma-separated values"),
    ("train.nonfinite=ignore", r"train\.nonfinite must be one of stop, skip, got 'ignore'"),
    ("model.loss=hing", r"unknown loss 'hing': did you mean 'hinge'"),
    ("model.loss_params=3", r"model\.loss_params is a table of parameters"),
    ("model.n_critic=0", r"model\.n_critic must be >= 1"),
    ("model.hidden.x=1", r"model\.hidden is a single value"),
    ("train.steps", r"bad override 'train\.steps': expected KEY=VALUE"),
    ("train=3", r"key 'train' needs a field"),
    ("data.bad-key=1", r"data\.bad-key: data set parameters must be identifiers"),
])
def test_errors_are_one_line_and_name_the_key(override, message):
    with pytest.raises(UsageError, match=message) as info:
        resolve("mlp-gan", overrides=[override])
    assert "\n" not in str(info.value)


def test_unknown_model_and_missing_data():
    with pytest.raises(UsageError, match=r"unknown model 'mlp-gna': did you mean 'mlp-gan'"):
        resolve("mlp-gna")
    with pytest.raises(UsageError, match=r"no data set given: set data=NAME"):
        resolve("mlp-ae")
    with pytest.raises(UsageError, match=r"no model given"):
        resolve(None)


def test_toml_file_layers_under_overrides(tmp_path, toys):
    path = tmp_path / "run.toml"
    path.write_text('[model]\nname = "mlp-gan"\nhidden = 32\n[model.penalty_params]\nweight = 5.0\n'
                    '[train]\nsteps = 50\nbatch_size = 16\n[data]\nname = "toy-blob"\nn = 100\n')
    cfg = resolve(None, config_file=path, overrides=["train.steps=60"])
    assert cfg.model_name == "mlp-gan" and cfg.model.hidden == 32
    assert cfg.model.penalty_params == {"weight": 5.0}
    assert (cfg.train.steps, cfg.train.batch_size) == (60, 16)
    assert cfg.data == {"name": "toy-blob", "n": 100}
    with pytest.raises(UsageError, match=r"conflicts with model 'mlp-ae'"):
        resolve("mlp-ae", config_file=path)


@pytest.mark.parametrize("text, message", [
    ("[train]\nsteps = 'many'\n", r"train\.steps must be an integer, got str 'many'"),
    ("[train]\nsteps = 1.5\n", r"train\.steps must be an integer, got float"),
    ("[opt]\nbetas = [0.5]\n", r"opt\.betas needs 2 values, got 1"),
    ("[trainer]\nsteps = 1\n", r"unknown config section 'trainer'"),
    ("[train\n", r"is not valid TOML"),
])
def test_toml_file_errors(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        resolve("mlp-gan", config_file=path)


def test_missing_config_file(tmp_path):
    with pytest.raises(UsageError, match=r"config file .*nope\.toml' does not exist"):
        resolve("mlp-gan", config_file=tmp_path / "nope.toml")


def test_resolved_config_round_trips_through_toml(tmp_path, toys):
    cfg = resolve("mlp-gan", overrides=["model.loss=bce", "model.loss_params.real_label=0.9", "data=toy-blob",
                                        'data.note=a "quoted" \\ tab\there', "opt.betas=0.5,0.9"])
    path = tmp_path / "config.toml"
    path.write_text(cfg.to_toml())
    again = resolve(None, config_file=path)
    assert again.to_dict() == cfg.to_dict()


def test_print_config_cli(tmp_path):
    from genreg.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["train", "mlp-gan", "--print-config", "train.steps=42", "--device", "cpu"])
    assert code == 0
    text = out.getvalue()
    assert "[train]\nsteps = 42\n" in text and 'device = "cpu"' in text and 'name = "mlp-gan"' in text


def test_model_factory_is_strict():
    import genreg

    with pytest.raises(UsageError, match=r"unknown key model\.hiden \(did you mean model\.hidden\?\)"):
        genreg.create("model", "mlp-gan", hiden=3)
    model = genreg.create("model", "mlp-gan", hidden=8, num_classes=3)
    assert model.num_classes == 3 and model.sample_shape == (2,)


def test_dump_toml_escapes_control_characters():
    import tomllib

    data = {"a": {"s": "x\x00\x7f\"\\\n", "l": [1, 2.5, True], "sub": {"k": "v"}}}
    assert tomllib.loads(dump_toml(data)) == data


# Keys are drawn from real keys, near misses and junk; values from typical and hostile text.
_keys = st.sampled_from([
    "train.steps", "train.batch_size", "train.nonfinite", "train.device", "train.seed", "opt.lr_g",
    "opt.betas", "model.hidden", "model.loss", "model.loss_params.real_label", "model.penalty_params",
    "model.name", "data", "data.n", "data.name", "model", "train", "opt.", ".x", "train..steps", "x.y",
    "data.a.b", "model.loss_params", "model.ema_decay", "model.num_classes",
]) | st.text(max_size=12)
_values = st.sampled_from(["1", "0", "-1", "1e3", "2.5", "nan", "inf", "true", "none", "[1, 2]", "0.5,0.9",
                           "(0.1, 0.2)", "", "skip", "cpu", "bce", "{a=1}", '"q"', "1_000", "[", "]"]) | st.text(max_size=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.tuples(_keys, _values).map(lambda kv: f"{kv[0]}={kv[1]}"), st.text(max_size=16)),
                max_size=5))
def test_random_overrides_give_a_config_or_a_usage_error(overrides):
    try:
        cfg = resolve("mlp-gan", overrides=overrides)
    except UsageError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(cfg, RunConfig)
    assert cfg.train.steps >= 1 and cfg.opt.lr_g > 0
    resolve(None, base=cfg.to_dict())  # a valid config resolves again from its own dict
    dump_toml(cfg.to_dict())


def test_overrides_may_follow_options_but_stray_words_still_fail(capsys, toys):
    from genreg.cli import main

    assert main(["train", "--print-config", "mlp-ae", "--device", "cpu", "data=toy-vectors", "model.dim=4"]) == 0
    assert "dim = 4" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["info", "extra"])  # commands without KEY=VALUE words keep argparse's check
    assert info.value.code == 2
