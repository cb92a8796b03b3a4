"""The genreg command line, run as a user runs it: in a subprocess, checking exit codes."""

import json
import os
import subprocess
import sys

import pytest

from plugin_dists import GOOD, RAISING_HOOK, write_dist


def genreg(*args, env=None, pythonpath=None):
    full_env = dict(os.environ, **(env or {}))
    if pythonpath:
        full_env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), full_env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "genreg", *args], capture_output=True, text=True,
                          env=full_env, timeout=120)


def test_list_json_shows_builtin_entries_with_their_plugin():
    out = genreg("list", "--json")
    assert out.returncode == 0, out.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(out.stdout)}
    assert rows[("penalty", "gp")]["plugin"] == "genreg.losses"
    assert rows[("loss", "bce")]["summary"]
    assert {"kind", "name", "summary", "tags", "plugin", "plugin_version"} <= set(rows[("loss", "bce")])


def test_list_filters_by_pattern_and_kind():
    out = genreg("list", "w*", "--kind", "loss", "--json")
    assert [r["name"] for r in json.loads(out.stdout)] == ["wasserstein"]
    table = genreg("list", "--kind", "penalty")
    assert table.returncode == 0
    assert table.stdout.splitlines()[0].split() == ["KIND", "NAME", "SUMMARY", "PLUGIN"]
    assert "div" in table.stdout and "hinge" not in table.stdout


def test_listing_imports_neither_torch_nor_the_extension():
    code = ("import sys; from genreg.cli import main; main(['list', '--json']); "
            "print(sorted(m for m in ('torch', 'genreg._C', 'numpy') if m in sys.modules), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines()[-1] == "[]"


def test_usage_errors_exit_2_with_one_line():
    out = genreg("list", "--kind", "modle")
    assert out.returncode == 2
    assert out.stderr.strip() == ("genreg: error: unknown kind 'modle' (did you mean 'model'?); "
                                  "kinds are: model, loss, penalty, dataset, metric, preset")
    assert genreg("no-such-command").returncode == 2


def test_broken_plugin_shows_in_plugins_without_breaking_list(tmp_path):
    write_dist(tmp_path, "genreg-bad", "0.1", "genreg_bad_plugin", RAISING_HOOK)
    write_dist(tmp_path, "genreg-toy", "1.2.3", "genreg_toy_plugin", GOOD)
    listed = genreg("list", "--json", pythonpath=tmp_path)
    assert listed.returncode == 0, listed.stderr
    names = {r["name"]: r for r in json.loads(listed.stdout)}
    assert names["toy-loss"]["plugin"] == "genreg-toy" and names["toy-loss"]["plugin_version"] == "1.2.3"
    assert "half-registered" not in names and "bce" in names
    table = genreg("list", pythonpath=tmp_path)
    assert "1 plugin(s) failed to load: genreg-bad" in table.stderr

    plugins = genreg("plugins", "--json", pythonpath=tmp_path)
    assert plugins.returncode == 0
    records = {r["name"]: r for r in json.loads(plugins.stdout)}
    assert records["genreg-bad"]["error"] == "failed in a hook: RuntimeError: boom in hook"
    assert records["genreg-bad"]["version"] == "0.1"
    assert records["genreg-toy"]["error"] is None
    assert records["genreg-toy"]["hooks"] == ["genreg_register_losses", "genreg_register_models"]
    assert records["genreg.losses"]["builtin"]

    strict = genreg("list", env={"GENREG_STRICT_PLUGINS": "1"}, pythonpath=tmp_path)
    assert strict.returncode == 1
    assert strict.stderr.strip() == "genreg: error: plugin 'genreg-bad' failed in a hook: RuntimeError: boom in hook"


def _extension_importable() -> bool:
    probe = subprocess.run([sys.executable, "-c", "import torch, genreg._C"], capture_output=True, timeout=120)
    return probe.returncode == 0


def test_info_reports_the_extension_truthfully():
    out = genreg("info", "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    import torch

    assert info["torch"] == torch.__version__
    ext = info["extension"]
    assert ext["loaded"] == _extension_importable()
    if os.environ.get("GENREG_EXPECT_EXT") == "1":  # set by `make test`: the build must have worked
        assert ext["loaded"], ext["error"]
    if ext["loaded"]:
        assert ext["built_with_torch"] == torch.__version__.split("+")[0]
        assert info["fused_ops"]["gp_interpolate"]["cpu"] is True
        assert info["fused_ops"]["gp_interpolate"]["cuda"] is torch.cuda.is_available()
    else:
        assert ext["error"] and info["fused_ops"] == {}


def test_info_without_the_extension_says_why_and_ops_still_work():
    env = {"GENREG_DISABLE_EXT": "1"}
    info = json.loads(genreg("info", "--json", env=env).stdout)
    assert info["extension"] == {**info["extension"], "loaded": False, "error": "disabled by GENREG_DISABLE_EXT"}
    code = ("import torch, genreg.kernels as k; r = torch.ones(2, 3); f = torch.zeros(2, 3); "
            "print(k.gp_interpolate(r, f, torch.tensor([0.25, 0.75])).sum().item(), k.resolve('gp_interpolate', 'cpu'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, **env))
    assert out.stdout.split() == ["3.0", "reference"], out.stderr
    fused = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, GENREG_KERNELS="fused", **env))
    assert fused.returncode == 1
    assert "GENREG_KERNELS=fused but gp_interpolate cannot run fused: disabled by GENREG_DISABLE_EXT" in fused.stderr


def test_text_output_of_info_and_plugins():
    info = genreg("info")
    assert info.returncode == 0 and info.stdout.startswith("genreg ")
    assert "extension" in info.stdout
    plugins = genreg("plugins")
    assert plugins.returncode == 0 and "genreg.losses" in plugins.stdout
