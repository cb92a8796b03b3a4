"""Plugins: registered in-process, and discovered as real entry-point distributions."""

import sys
import types

import pytest

import genreg
from genreg.errors import PluginError
from genreg.plugins import PluginManager

from plugin_dists import DUPLICATE, FUTURE_API, GOOD, IMPORT_ERROR, RAISING_HOOK, UNKNOWN_HOOK, write_dist


class ToyPlugin:
    @genreg.hookimpl
    def genreg_register_datasets(self, register):
        register("toy-data", lambda split="train", seed=0: (split, seed), summary="toy data")

    @genreg.hookimpl
    def genreg_register_metrics(self):  # may take fewer arguments than the spec: registers nothing
        self.called = True


@pytest.fixture
def toy_plugin():
    manager = genreg.get_plugin_manager()
    plugin = ToyPlugin()
    record = manager.register(plugin, name="toy", version="0.0.1")
    yield plugin, record
    manager.unregister("toy")


def test_registered_plugin_adds_entries_and_unregistering_removes_them(toy_plugin):
    plugin, record = toy_plugin
    assert record.error is None
    assert plugin.called
    entry = genreg.get_entry("dataset", "toy-data")
    assert (entry.plugin, entry.plugin_version) == ("toy", "0.0.1")
    assert genreg.create("dataset", "toy-data", split="test") == ("test", 0)
    assert record.hooks == ["genreg_register_datasets", "genreg_register_metrics"]
    genreg.get_plugin_manager().unregister("toy")
    assert not genreg.list_entries("toy-data")
    genreg.get_plugin_manager().register(plugin, name="toy")  # for the fixture's teardown


def test_registering_the_same_name_twice_is_an_error(toy_plugin):
    with pytest.raises(PluginError, match="already registered"):
        genreg.get_plugin_manager().register(ToyPlugin(), name="toy")


@pytest.fixture
def dists(tmp_path, monkeypatch):
    """A folder on sys.path holding plugin distributions; a fresh manager reads it."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        sys.modules.pop(name, None)


def fresh_manager(**kw) -> PluginManager:
    return PluginManager(**kw).load()


def test_entry_point_plugin_is_found_with_its_distribution_version(dists):
    write_dist(dists, "genreg-toy", "1.2.3", "genreg_toy_plugin", GOOD)
    manager = fresh_manager()
    entry = manager.registry.get("loss", "toy-loss")
    assert (entry.plugin, entry.plugin_version, entry.tags) == ("genreg-toy", "1.2.3", ("toy",))
    assert entry.load() is abs
    record = manager.records["genreg-toy"]
    assert record.source == "genreg-toy (genreg_toy_plugin)" and not record.builtin
    assert sorted(record.entries) == [("loss", "toy-loss"), ("model", "toy-model")]


@pytest.mark.parametrize(
    "source, error",
    [
        (IMPORT_ERROR, "failed to import: ModuleNotFoundError: No module named 'a_module_that_does_not_exist_anywhere'"),
        (RAISING_HOOK, "failed in a hook: RuntimeError: boom in hook"),
        (UNKNOWN_HOOK, "invalid: PluginError: implements unknown hook(s) genreg_register_spaceships"),
        (DUPLICATE, "registered twice: by plugin 'genreg.losses' and by plugin 'genreg-bad'"),
        (FUTURE_API, "written for genreg hook API 99"),
    ],
    ids=["import-error", "raising-hook", "unknown-hook", "duplicate", "future-api"],
)
def test_broken_plugin_is_recorded_and_isolated(dists, source, error):
    write_dist(dists, "genreg-bad", "0.1", "genreg_bad_plugin", source)
    write_dist(dists, "genreg-toy", "1.2.3", "genreg_toy_plugin", GOOD)
    manager = fresh_manager(strict=False)
    bad = manager.records["genreg-bad"]
    assert error in bad.error
    assert bad.entries == [] and bad.traceback
    assert [r.name for r in manager.errors()] == ["genreg-bad"]
    # nothing of the broken plugin stays; every other plugin works
    assert not manager.registry.entries("half-registered")
    assert manager.registry.get("loss", "bce").plugin == "genreg.losses"
    assert manager.registry.get("loss", "toy-loss").plugin == "genreg-toy"


def test_strict_mode_turns_plugin_failures_into_errors(dists, monkeypatch):
    write_dist(dists, "genreg-bad", "0.1", "genreg_bad_plugin", RAISING_HOOK)
    monkeypatch.setenv("GENREG_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="plugin 'genreg-bad' failed in a hook: RuntimeError: boom in hook"):
        fresh_manager()


def test_disabled_plugins_are_skipped(dists, monkeypatch):
    write_dist(dists, "genreg-toy", "1.2.3", "genreg_toy_plugin", GOOD)
    monkeypatch.setenv("GENREG_DISABLE_PLUGINS", "genreg-toy, genreg.losses")
    manager = fresh_manager()
    assert manager.records["genreg-toy"].disabled and manager.records["genreg.losses"].disabled
    assert not manager.registry.entries("toy-*")
    assert not [e for e in manager.registry.entries() if e.plugin == "genreg.losses"]
    assert "genreg_toy_plugin" not in sys.modules  # never imported


def test_plugin_object_with_a_bad_hook_signature_is_rejected():
    bad = types.SimpleNamespace()

    @genreg.hookimpl
    def genreg_register_models(register, not_in_spec):
        pass

    bad.genreg_register_models = genreg_register_models
    manager = fresh_manager(strict=False)
    record = manager.register(bad, name="bad-signature")
    assert record.error.startswith("rejected by the plugin manager")
    assert "not_in_spec" in record.error


def test_trace_hooks_reports_each_call(monkeypatch, capsys):
    monkeypatch.setenv("GENREG_TRACE_HOOKS", "1")
    fresh_manager()
    err = capsys.readouterr().err
    assert "hook genreg_register_losses of plugin genreg.losses took" in err
