"""Plugin identity: no plugin, whatever its entry-point name, module or distribution, can
remove, replace or shadow another plugin's entries or record (issue 13, point 3), and
the author's path when something clashes or fails (point 7 a, b, d)."""

import sys
import textwrap
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genreg.errors import EntryParameterError, PluginError, UnknownEntryError
from genreg.plugins import BUILTIN_PLUGINS, PluginManager

from plugin_dists import GOOD, IMPORT_ERROR, NAMED_LIKE_BUILTIN, ONE_CLASH, RAISING_HOOK, VALUE_ERROR_DATA, write_dist
from test_cli import genreg

BUILTIN_MODELS = ["dae1d", "vae", "gan", "acgan", "wgan-gp", "wgan-div", "mlp-gan", "mlp-ae"]


@pytest.fixture
def dists(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        sys.modules.pop(name, None)


def builtin_state(manager):
    """Every built-in record and entry, as comparable data."""
    records = {r.id: (r.name, r.source, r.builtin, r.error, tuple(r.entries)) for r in manager.records.values()
               if r.builtin}
    entries = {(e.kind, e.name): e.plugin_id for e in manager.registry.entries() if e.plugin_id.startswith("genreg.")}
    return records, entries


def test_an_entry_point_named_like_a_builtin_plugin_cannot_remove_it(dists):
    write_dist(dists, "evil-dist", "6.6", "evil_plugin", NAMED_LIKE_BUILTIN, ep_name="genreg.models")
    manager = PluginManager(strict=False).load()
    # all 8 built-in models stay, from the built-in plugin
    assert [n for n in BUILTIN_MODELS if ("model", n) in manager.registry] == BUILTIN_MODELS
    assert manager.registry.get("model", "mlp-gan").plugin_id == "genreg.models"
    builtin = manager.records["genreg.models"]
    assert builtin.builtin and builtin.source == "genreg.builtins.models" and builtin.error is None
    # the impostor is recorded under its own identity, rejected with one error naming both sides
    evil = manager.records["evil-dist:genreg.models"]
    assert evil.withdrawn and not evil.owns_name and evil.entries == []
    assert evil.error == (
        "rejected: PluginError: plugin name 'genreg.models' of 'genreg.models' (evil-dist 6.6, module evil_plugin) "
        f"clashes with 'genreg.models' (genreg's built-in, {builtin.version}): the names 'genreg' and 'genreg.*' "
        "are reserved for genreg's built-ins; rename the entry point in the distribution's "
        "[project.entry-points.genreg] (e.g. to 'evil-dist')")
    assert "evil_plugin" not in sys.modules  # rejected before its code ran
    assert ("model", "impostor") not in manager.registry


def test_the_cli_still_trains_builtins_next_to_such_a_plugin(tmp_path):
    write_dist(tmp_path, "evil-dist", "6.6", "evil_plugin", NAMED_LIKE_BUILTIN, ep_name="genreg.models")
    out = genreg("train", "mlp-gan", "--print-config", pythonpath=tmp_path)
    assert out.returncode == 0, out.stderr
    assert 'name = "mlp-gan"' in out.stdout
    listed = genreg("plugins", "--json", pythonpath=tmp_path)
    import json

    rows = {r["id"]: r for r in json.loads(listed.stdout)}
    assert rows["genreg.models"]["builtin"] and rows["genreg.models"]["error"] is None
    alone = {r["id"]: r for r in json.loads(genreg("plugins", "--json").stdout)}  # no third-party plugin
    assert rows["genreg.models"]["entries"] == alone["genreg.models"]["entries"]  # every built-in model
    assert len(rows["genreg.models"]["entries"]) >= 8
    assert rows["evil-dist:genreg.models"]["error"].startswith("rejected: PluginError: plugin name 'genreg.models'")
    table = genreg("list", "--kind", "model", pythonpath=tmp_path)
    assert "1 plugin(s) failed to load: evil-dist:genreg.models (see `genreg plugins`)" in table.stderr
    shown = genreg("plugins", pythonpath=tmp_path).stdout.splitlines()
    assert [line.split()[0] for line in shown if "genreg.models" in line.split()[0]] == [
        "genreg.models", "evil-dist:genreg.models"]  # the impostor is shown by its id, never as the built-in


def test_two_distributions_with_one_entry_point_name_keep_apart(dists):
    write_dist(dists, "a-dist", "1.0", "a_plugin", GOOD, ep_name="genreg-toy")
    write_dist(dists, "b-dist", "2.0", "b_plugin", "import genreg\n", ep_name="genreg-toy")
    manager = PluginManager(strict=False).load()
    first, second = manager.records["a-dist:genreg-toy"], manager.records["b-dist:genreg-toy"]
    assert first.error is None and sorted(first.entries) == [("loss", "toy-loss"), ("model", "toy-model")]
    assert manager.records["genreg-toy"] is first  # the name finds the plugin that owns it
    assert second.error == ("rejected: PluginError: plugin name 'genreg-toy' of 'genreg-toy' (b-dist 2.0, module "
                            "b_plugin) is already taken by 'genreg-toy' (a-dist 1.0, module a_plugin); rename one of "
                            "the two entry points (use the distribution's name)")
    assert manager.registry.get("loss", "toy-loss").plugin_id == "a-dist:genreg-toy"


def test_an_entry_point_naming_a_builtin_module_is_refused(dists):
    write_dist(dists, "sneaky", "1.0", "genreg.builtins.losses", None, ep_name="sneaky")
    manager = PluginManager(strict=False).load()
    sneaky = manager.records["sneaky"]
    assert sneaky.withdrawn and sneaky.error.startswith("rejected by the plugin manager")
    assert manager.registry.get("loss", "bce").plugin_id == "genreg.losses"
    assert manager.records["genreg.losses"].error is None


def test_builtins_cannot_be_unregistered_or_their_names_taken_in_process():
    manager = PluginManager(strict=False).load()
    with pytest.raises(PluginError, match="cannot be unregistered"):
        manager.unregister("genreg.models")
    for name in ("genreg.models", "genreg.mine", "dist:name"):
        with pytest.raises(PluginError, match="is reserved"):
            manager.register(object(), name=name)
    assert ("model", "mlp-gan") in manager.registry


_NAMES = st.sampled_from([name for name, _ in BUILTIN_PLUGINS] + ["genreg", "genreg.extra", "genreg-toy", "x"])
_ENTRY = st.tuples(st.sampled_from(["models", "losses", "penalties", "datasets", "metrics", "presets"]),
                   st.sampled_from(["mlp-gan", "bce", "gp", "ring8", "mode-coverage", "wgan-gp-ring8",
                                    "toy-loss", "fresh-name"]))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ep_name=_NAMES, entries=st.lists(_ENTRY, min_size=1, max_size=4, unique=True), fails=st.booleans())
def test_no_plugin_changes_another_plugins_entries_or_record(dists, ep_name, entries, fails):
    """Property: whatever a third party names its entry point and entries, and whether or
    not its hook then fails, the built-ins and another plugin's entries stay as they were."""
    reference = PluginManager(strict=False).load()
    expected = builtin_state(reference)
    tag = uuid.uuid4().hex[:8]
    root = dists / tag
    root.mkdir()
    sys.path.insert(0, str(root))
    try:
        write_dist(root, "genreg-toy", "1.2.3", f"toy_{tag}", GOOD)
        body = ["import genreg"]
        for hook in dict.fromkeys(hook for hook, _ in entries):  # one function per hook
            body += ["@genreg.hookimpl", f"def genreg_register_{hook}(register):"]
            body += [f"    register({name!r}, lambda **kw: {{}})" for h, name in entries if h == hook]
            if fails:
                body.append("    raise RuntimeError('late failure')")
        write_dist(root, f"third-{tag}", "0.1", f"third_{tag}", textwrap.dedent("\n".join(body)) + "\n",
                   ep_name=ep_name)
        manager = PluginManager(strict=False).load()
    finally:
        sys.path.remove(str(root))
    assert builtin_state(manager) == expected
    toy = manager.records["genreg-toy:genreg-toy"]
    assert toy.error is None and sorted(toy.entries) == [("loss", "toy-loss"), ("model", "toy-model")]
    third = manager.records[f"third-{tag}:{ep_name}"]
    taken = set(expected[1]) | {("loss", "toy-loss"), ("model", "toy-model")}
    for kind, name in third.entries:  # whatever it got in is its own and was free
        assert manager.registry.get(kind, name).plugin_id == third.id
        assert (kind, name) not in taken
    if ep_name == "x" and not fails:  # a free plugin name: exactly its free entries got in
        kinds = {"models": "model", "losses": "loss", "penalties": "penalty", "datasets": "dataset",
                 "metrics": "metric", "presets": "preset"}
        wanted = [(kinds[hook], name) for hook, name in entries]
        assert sorted(third.entries) == sorted(e for e in wanted if e not in taken)
        assert sorted((k, n) for k, n, _ in third.rejected) == sorted(e for e in wanted if e in taken)
    else:
        assert third.entries == [] and third.withdrawn


def test_an_entry_named_like_a_builtin_is_refused_alone(dists):
    write_dist(dists, "genreg-hinge", "0.3", "genreg_hinge_plugin", ONE_CLASH)
    manager = PluginManager(strict=False).load()
    record = manager.records["genreg-hinge"]
    assert not record.withdrawn
    assert sorted(record.entries) == [("loss", "soft-hinge"), ("model", "hinge-mlp"), ("penalty", "hinge-r1")]
    assert [(k, n) for k, n, _ in record.rejected] == [("loss", "hinge")]
    assert record.error == (
        "rejected 1 of 4 entries: loss 'hinge' is registered twice: by plugin 'genreg.losses' and by plugin "
        "'genreg-hinge'; an entry cannot replace another plugin's: rename it (e.g. 'hinge-hinge') and select it "
        "by that name")
    assert manager.registry.get("loss", "hinge").plugin_id == "genreg.losses"
    assert manager.errors() == [record]


def test_strict_mode_refuses_a_clashing_entry(dists):
    write_dist(dists, "genreg-hinge", "0.3", "genreg_hinge_plugin", ONE_CLASH)
    with pytest.raises(PluginError, match="plugin 'genreg-hinge' rejected 1 of 4 entries: loss 'hinge'"):
        PluginManager(strict=True).load()


def test_unknown_names_mention_the_plugin_that_failed(dists):
    write_dist(dists, "genreg-bad", "0.1", "genreg_bad_plugin", RAISING_HOOK)
    manager = PluginManager(strict=False).load()
    with pytest.raises(UnknownEntryError) as info:
        manager.registry.get("model", "half-registered")
    message = str(info.value)
    assert message.startswith("unknown model 'half-registered': known: acgan, dae1d, gan, ")
    assert message.endswith("; plugin 'genreg-bad' would provide it but failed to load (failed in a hook: "
                            "RuntimeError: boom in hook) (see `genreg plugins`)")


def test_unknown_names_mention_plugins_that_failed_to_import(dists):
    write_dist(dists, "genreg-gone", "0.1", "genreg_gone_plugin", IMPORT_ERROR)
    manager = PluginManager(strict=False).load()
    with pytest.raises(UnknownEntryError, match=r"unknown model 'hinge-mlp': .*; 1 plugin\(s\) failed to load and "
                       r"may provide it: genreg-gone \(see `genreg plugins`\)$"):
        manager.registry.get("model", "hinge-mlp")


def test_train_names_the_failed_plugin(tmp_path):
    write_dist(tmp_path, "genreg-bad", "0.1", "genreg_bad_plugin", RAISING_HOOK)
    out = genreg("train", "half-registered", "--print-config", pythonpath=tmp_path)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "plugin 'genreg-bad' would provide it but failed to load" in out.stderr
    assert "(see `genreg plugins`)" in out.stderr


def test_a_plain_value_error_from_a_factory_is_one_line_naming_plugin_and_entry(dists):
    write_dist(dists, "genreg-pts", "0.2", "genreg_pts_plugin", VALUE_ERROR_DATA)
    manager = PluginManager(strict=False).load()
    with pytest.raises(EntryParameterError) as info:
        manager.registry.create("dataset", "pts", n=0)
    assert str(info.value) == ("dataset 'pts' rejected its parameters: ValueError: n must be > 0, got 0 "
                               "(plugin 'genreg-pts' 0.2; GENREG_DEBUG=1 shows the traceback)")
    assert isinstance(info.value.__cause__, ValueError) and info.value.exit_code == 2
    with pytest.raises(EntryParameterError, match=r"rejected its parameters: TypeError: .*'colour'"):
        manager.registry.create("dataset", "pts", colour="red")


def test_the_cli_prints_that_error_in_one_line_and_the_traceback_on_request(tmp_path):
    write_dist(tmp_path, "genreg-pts", "0.2", "genreg_pts_plugin", VALUE_ERROR_DATA)
    args = ("train", "mlp-gan", "data=pts", "data.n=0", "train.steps=1", "--out", str(tmp_path / "run"), "-q")
    out = genreg(*args, pythonpath=tmp_path)
    assert out.returncode == 2, out.stderr
    assert out.stderr == ("genreg: error: dataset 'pts' rejected its parameters: ValueError: n must be > 0, "
                          "got 0 (plugin 'genreg-pts' 0.2; GENREG_DEBUG=1 shows the traceback)\n")
    debug = genreg(*args, env={"GENREG_DEBUG": "1"}, pythonpath=tmp_path)
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr and "ValueError: n must be > 0, got 0" in debug.stderr
