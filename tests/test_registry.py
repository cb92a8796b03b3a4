import os

import pytest

import genreg
from genreg.errors import DuplicateEntryError, EntryError, UnknownEntryError, UsageError
from genreg.registry import Entry, Registry


def make(*names, kind="model", plugin="p"):
    reg = Registry()
    for n in names:
        reg.add(Entry(kind, n, lambda **kw: kw, summary=f"{n} summary", plugin=plugin))
    return reg


def test_listing_is_sorted_naturally_and_filtered_by_pattern_and_kind():
    reg = make("wgan-gp", "wgan10", "wgan2", "gan", "dae1d")
    reg.add(Entry("loss", "wasserstein", lambda: 1, plugin="q"))
    assert [e.name for e in reg.entries(kind="model")] == ["dae1d", "gan", "wgan2", "wgan10", "wgan-gp"]
    assert [e.name for e in reg.entries("wgan*")] == ["wgan2", "wgan10", "wgan-gp"]
    assert [e.name for e in reg.entries("w*")] == ["wgan2", "wgan10", "wgan-gp", "wasserstein"]
    assert [e.name for e in reg.entries("w*", kind="loss")] == ["wasserstein"]
    assert [e.name for e in reg.entries("?an")] == ["gan"]
    assert reg.entries("nothing*") == []


def test_unknown_name_suggests_close_matches_and_names_the_kind():
    reg = make("wgan-gp", "wgan-div", "gan")
    with pytest.raises(UnknownEntryError) as err:
        reg.get("model", "wgan_gp")
    msg = str(err.value)
    assert "unknown model 'wgan_gp'" in msg and "'wgan-gp'" in msg
    assert "\n" not in msg
    with pytest.raises(UnknownEntryError, match="known: gan, wgan-div, wgan-gp"):
        reg.get("model", "zzzzzz")
    with pytest.raises(UnknownEntryError, match="no loss is registered"):
        reg.get("loss", "bce")


def test_unknown_kind_is_a_usage_error_with_a_hint():
    with pytest.raises(UsageError, match="unknown kind 'modle' \\(did you mean 'model'\\?\\)"):
        make().entries(kind="modle")


def test_duplicate_names_both_plugins():
    reg = make("gan", plugin="first")
    with pytest.raises(DuplicateEntryError, match="registered twice: by plugin 'first' and by plugin 'second'"):
        reg.add(Entry("model", "gan", lambda: 2, plugin="second"))
    reg.add(Entry("loss", "gan", lambda: 3, plugin="second"))  # same name, other kind: fine


def test_bad_names_are_rejected():
    with pytest.raises(UsageError, match="bad model name 'Has Space'"):
        make("Has Space")


def test_create_passes_overrides_and_string_factories_import_lazily():
    reg = make("m")
    assert reg.create("model", "m", a=1) == {"a": 1}
    reg.add(Entry("metric", "cwd", "os:getcwd", plugin="p"))
    assert reg.create("metric", "cwd") == os.getcwd()
    reg.add(Entry("metric", "broken", "os.path:not_there", plugin="p"))
    # a broken lazy import is one line naming the entry and its plugin; the cause is kept
    with pytest.raises(EntryError, match=r"metric 'broken' \(plugin 'p'\): cannot load its factory "
                       r"'os.path:not_there': AttributeError") as info:
        reg.create("metric", "broken")
    assert isinstance(info.value.__cause__, AttributeError)


def test_builtin_entries_come_from_builtin_plugins():
    entries = {(e.kind, e.name): e for e in genreg.list_entries()}
    assert entries[("penalty", "gp")].plugin == "genreg.losses"
    assert entries[("loss", "wasserstein")].plugin_version == genreg.__version__
    gp = genreg.create("penalty", "gp", weight=5.0)
    assert gp.weight == 5.0
    with pytest.raises(UnknownEntryError, match="did you mean 'hinge'"):
        genreg.get_entry("loss", "hinje")
