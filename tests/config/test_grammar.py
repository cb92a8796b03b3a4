"""One grammar for every key=value: config fields and entry parameters read text alike (#12.1)."""

import math
from typing import Literal, Optional, Union

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genreg.config import GrammarError, Text, convert, import_spec, resolve
from genreg.config.entries import check_params
from genreg.errors import UsageError


@pytest.mark.parametrize("text, tp, value", [
    ("3", int, 3), ("-2", int, -2), ("1_000", int, 1000), ("1e3", int, 1000), ("2.0", int, 2),
    ("0.5", float, 0.5), ("3", float, 3.0), ("2e-4", float, 2e-4),
    ("true", bool, True), ("No", bool, False), ("on", bool, True), ("0", bool, False),
    ("hello world", str, "hello world"), ("skip", Literal["stop", "skip"], "skip"),
    ("[1, 2]", list[int], [1, 2]), ("1,2", list[int], [1, 2]), ("[]", list[int], []),
    ("(0.5, 0.9)", tuple[float, float], (0.5, 0.9)), ("0.5,0.9", tuple[float, float], (0.5, 0.9)),
    ("[0.5, 0.9]", tuple[float, float], (0.5, 0.9)), ("a:b,c:d", tuple[str, ...], ("a:b", "c:d")),
    ("none", Optional[int], None), ("NULL", Optional[int], None), ("4", Optional[int], 4),
    ("2", Union[float, tuple[float, float]], 2.0), ("2,5", Union[float, tuple[float, float]], (2.0, 5.0)),
    ("[1, 2]", None, [1, 2]), ("1e3", None, 1000.0), ('"3"', None, "3"), ("true", None, True),
    ("hello", None, "hello"), ("1,2", None, "1,2"), ("none", None, "none"),
])
def test_the_grammar_table(text, tp, value):
    import inspect

    got = convert(Text(text), inspect.Parameter.empty if tp is None else tp, "k")
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("text, tp, message", [
    ("1.5", int, r"k must be an integer, got '1\.5'"), ("nan", float, r"k must be a finite number"),
    ("inf", float, r"k must be a finite number"), ("maybe", bool, r"k must be a boolean"),
    ("0.5", tuple[float, float], r"k needs 2 comma-separated values"), ("none", int, r"must be an integer"),
    ("go", Literal["stop", "skip"], r"k must be one of stop, skip, got 'go'"), ("nan", None, r"finite"),
])
def test_the_grammar_refuses_with_the_key(text, tp, message):
    import inspect

    with pytest.raises(GrammarError, match=message):
        convert(Text(text), inspect.Parameter.empty if tp is None else tp, "k")


_TYPES = [int, float, bool, str, Optional[int], tuple[float, float], list[int], Literal["a", "b"],
          Union[float, tuple[float, float]], tuple[str, ...]]


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=12), tp=st.sampled_from(_TYPES))
def test_a_resolved_value_reads_back_unchanged(text, tp):
    """What the grammar made of text is a typed value that checks as itself (stored configs)."""
    try:
        value = convert(Text(text), tp, "k")
    except UsageError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("k")
        return
    assert convert(value, tp, "k") == value


def _resolved(override):
    try:
        return resolve("gan", overrides=[override])
    except UsageError:
        return None


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.integers(-5, 5).map(str), st.sampled_from(["1e3", "1.5", "1_0", "nan", "x", "", "true"])))
def test_config_fields_and_data_parameters_read_integers_alike(text):
    """Before, ``data.n=1.5`` passed while ``train.num_samples=1.5`` failed: one grammar now."""
    field, param = _resolved("train.num_samples=" + text), _resolved("data.n=" + text)
    if field is not None:
        assert param is not None and param.data["n"] == field.train.num_samples
    else:
        try:
            n = convert(Text(text), int, "k")
        except UsageError:
            assert param is None  # neither context takes it as an integer
        else:
            assert n < 1  # an integer, refused by train.num_samples's range check only


@pytest.mark.parametrize("overrides, expect", [
    (["opt.betas=[0.5, 0.9]"], lambda c: c.opt.betas == (0.5, 0.9)),
    (["opt.betas=0.5,0.9"], lambda c: c.opt.betas == (0.5, 0.9)),
    (["data.value_range=[-1, 1]"], lambda c: c.data["value_range"] == (-1.0, 1.0)),
    (["data.value_range=-1,1"], lambda c: c.data["value_range"] == (-1.0, 1.0)),
    (["data.n=none"], lambda c: c.data["n"] is None),
    (["data.n=null"], lambda c: c.data["n"] is None),
])
def test_both_list_forms_and_none_everywhere(overrides, expect):
    assert expect(resolve("gan", overrides=overrides))


def test_eval_data_overrides_and_preview_use_the_same_grammar():
    from genreg.data import parse_assignments, parse_params
    from genreg.data.galaxies import galaxies

    params = parse_assignments(["value_range=[-1, 1]", "n=1e2", "size=64"])
    assert parse_params("galaxies", galaxies, params) == {"value_range": (-1.0, 1.0), "n": 100, "size": 64}
    with pytest.raises(UsageError, match=r"n='1\.5' is not a valid int"):
        parse_params("galaxies", galaxies, parse_assignments(["n=1.5"]))


def test_entry_signatures_with_kwargs_take_any_name_untyped():
    def factory(split="train", seed=0, *, n: int = 3, **extra):
        return None

    assert check_params("x", factory, {"n": Text("4"), "other": Text("[1, 2]")}) == {"n": 4, "other": [1, 2]}

    def needs(*, must: float):
        return None

    with pytest.raises(UsageError, match=r"k: x needs the parameter 'must' \(k\.must=VALUE\)"):
        check_params("x", needs, {}, key="k")


def test_one_importer_for_code_specs():
    assert import_spec("math:sqrt") is math.sqrt
    with pytest.raises(UsageError, match=r"key: 'math' is not of the form package\.module:attribute"):
        import_spec("math", "key")
    with pytest.raises(UsageError, match=r"key: cannot load 'math:nope'"):
        import_spec("math:nope", "key")


def test_toml_is_written_by_tomli_w_and_reads_back(tmp_path):
    from genreg.config import dump_toml
    from genreg.config.tomlio import tomllib

    cfg = resolve("wgan-gp", overrides=["data.value_range=-1,1", "train.callbacks=a.b:C,d:e"])
    text = cfg.to_toml()
    assert tomllib.loads(text) == cfg.to_dict()
    path = tmp_path / "c.toml"
    path.write_text(text)
    assert resolve(None, config_file=path).to_dict() == cfg.to_dict()
    assert tomllib.loads(dump_toml({"a": {"x": None, "y": 1}})) == {"a": {"y": 1}}  # no null in TOML
