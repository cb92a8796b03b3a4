"""A plugin's data set and metrics take part in `genreg eval` (installed as a real
dist-info entry point): the generic metrics of the data's shape and every registered
metric that declares it applies, with skips and failures recorded, not fatal."""

import json

import pytest

import genreg
from genreg.cli import main
from genreg.eval.registered import applies
from genreg.errors import UsageError
from genreg.plugins import reset_manager
from genreg.registry import Entry

from plugin_dists import EVAL_PLUGIN, write_dist


@pytest.fixture
def eval_plugin(tmp_path, monkeypatch):
    import sys

    write_dist(tmp_path / "site", "genreg-evaltoy", "0.2.0", "genreg_evaltoy", EVAL_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("GENREG_CACHE_DIR", str(tmp_path / "cache"))
    reset_manager()
    yield tmp_path
    reset_manager()  # the next user of the registry loads without the plugin
    sys.modules.pop("genreg_evaltoy", None)


def test_eval_on_a_plugins_data_runs_its_metrics_and_the_generic_ones(eval_plugin, capsys):
    assert genreg.get_entry("metric", "toy-spread").plugin == "genreg-evaltoy"
    run = genreg.train("gan", overrides=["data=toy-blobs", "data.n=128", "train.steps=3", "train.batch_size=32",
                                         "train.log_every=1", "train.sample_every=0", "train.checkpoint_every=0",
                                         "train.device=cpu"], out=eval_plugin / "run", quiet=True).run_dir
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "200", "--json"]) == 0
    captured = capsys.readouterr()
    m = json.loads(captured.out)
    # the generic point metrics, though the data set has no mode centres
    assert m["frechet_distance_points"] >= 0 and m["frechet_distance_points_real_train_vs_test"] >= 0
    assert "modes_covered" not in m
    # the plugin's applicable metric, computed from the samples and the real test points
    assert set(m["metrics"]) == {"toy-spread"} and m["metrics"]["toy-spread"] > 0
    assert m["metrics_skipped"] == {"toy-needs": "needs something_else, which a gan evaluation does not provide"}
    assert m["metric_errors"] == {"toy-broken": "ValueError: no luck", "toy-object": "returned object, which is not "
                                  "a number or a dict/list of numbers"}
    assert "metric 'toy-broken' failed: ValueError: no luck" in captured.err
    assert json.loads((run / "eval" / "eval.json").read_text()) == m
    assert (run / "eval" / "loss_curves.png").exists() and m["figures"]["loss_curves"].endswith("loss_curves.png")
    # the summary line names the plugin's metric too
    assert main(["eval", str(run), "--n", "200", "--out", str(eval_plugin / "e2")]) == 0
    assert "toy-spread" in capsys.readouterr().out


@pytest.mark.parametrize("applies_to, match", [
    ({"kind": "gan"}, True), ({"kind": ["denoiser", "gan"], "shape": "points"}, True),
    ({"data": "ring*"}, True), ({"data": "grid*"}, False), ({"shape": "images"}, False), (None, False),
])
def test_applies_to_matching(applies_to, match):
    extra = {} if applies_to is None else {"applies_to": applies_to}
    entry = Entry("metric", "m", abs, extra=extra)
    assert applies(entry, "gan", "points", "ring8") is match


@pytest.mark.parametrize("applies_to", [{"kinds": "gan"}, {"kind": 3}, "gan"])
def test_bad_applies_to_names_the_metric(applies_to):
    with pytest.raises(UsageError, match="metric 'm' .*applies_to"):
        applies(Entry("metric", "m", abs, plugin="p", extra={"applies_to": applies_to}), "gan", "points", "ring8")


def test_unlabelled_images_get_the_classifier_free_frechet_distance(tmp_path, capsys, monkeypatch):
    import numpy as np

    monkeypatch.setenv("GENREG_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    # a random colour per image (what varies between images) and pixel noise
    x = rng.random((400, 3, 1, 1)) + 0.05 * rng.standard_normal((400, 3, 32, 32))
    np.savez(tmp_path / "imgs.npz", x=x.astype(np.float32))
    run = genreg.train("gan", overrides=[f"data=npz:{tmp_path / 'imgs.npz'}", "model.base_channels=8",
                                         "train.steps=2", "train.batch_size=8", "train.log_every=1",
                                         "train.sample_every=0", "train.checkpoint_every=0", "train.device=cpu"],
                       out=tmp_path / "run", quiet=True).run_dir
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "40", "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["frechet_distance"] is None and "no labels" in m["frechet_note"]
    # an untrained generator's images are far from the real ones; real train vs test are close
    assert m["frechet_distance_pixels4"] > 3 * m["frechet_distance_pixels4_real_train_vs_test"] >= 0
    assert "classifier_test_accuracy" not in m


class _FamilyMetrics:
    """Metrics for the two reconstruction families, registered in-process."""

    @genreg.hookimpl
    def genreg_register_metrics(self, register):
        register("toy-max-error", lambda recovered, true: float((recovered - true).abs().max()),
                 applies_to={"kind": "denoiser", "shape": "traces"})
        register("toy-recon-mean", lambda reconstructions, originals, meta: float(reconstructions.mean()),
                 applies_to={"kind": "autoencoder", "data": "galaxies"})


@pytest.mark.parametrize("model, overrides, name", [
    ("dae1d", ["data.n=32", "train.batch_size=16"], "toy-max-error"),
    ("vae", ["data.size=32", "data.n=16", "model.hidden=16", "train.batch_size=8"], "toy-recon-mean"),
])
def test_registered_metrics_reach_the_reconstruction_families(tmp_path, monkeypatch, model, overrides, name):
    from genreg.eval import evaluate

    monkeypatch.setenv("GENREG_CACHE_DIR", str(tmp_path / "cache"))
    manager = genreg.get_plugin_manager()
    manager.register(_FamilyMetrics(), name="toy-family-metrics")
    try:
        run = genreg.train(model, overrides=[*overrides, "train.steps=2", "train.log_every=1", "train.sample_every=0",
                                             "train.checkpoint_every=0", "train.device=cpu"],
                           out=tmp_path / "run", quiet=True).run_dir
        m = evaluate(run, tmp_path / "eval", n=12)
    finally:
        manager.unregister("toy-family-metrics")
    assert list(m["metrics"]) == [name] and m["metrics"][name] > 0
    assert "metrics_skipped" not in m and "metric_errors" not in m
