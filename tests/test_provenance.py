"""Checkpoints record which plugin (and version) supplied each entry a run needs; resume
and evaluation say in one line when that plugin is missing or changed (issue 13, 7g)."""

import pytest
import torch

import genreg
from genreg.errors import UsageError
from genreg._version import __version__
from genreg.data.base import ArrayDataset
from genreg.evaluate import load_run
from genreg.provenance import needed_entries
from genreg.training import checkpoint as ckpt
from genreg.training.loop import resolve_run


def points(split="train", seed=0, n=64):
    g = torch.Generator().manual_seed(seed)
    return ArrayDataset(torch.randn(n, 2, generator=g), name="prov-points")


class PointsPlugin:
    @genreg.hookimpl
    def genreg_register_datasets(self, register):
        register("prov-points", points, summary="test: 2-D points")


@pytest.fixture
def trained(tmp_path):
    manager = genreg.get_plugin_manager()
    manager.register(PointsPlugin(), name="prov-data", version="0.1")
    try:
        torch.set_num_threads(1)
        result = genreg.train("mlp-gan", overrides=[
            "data=prov-points", "model.hidden=8", "model.depth=1", "model.n_critic=1", "train.steps=2",
            "train.batch_size=16", "train.log_every=1"], out=tmp_path / "run", quiet=True)
    finally:
        manager.unregister("prov-data")
    return result.run_dir


def test_needed_entries_of_a_config():
    cfg = {"model": {"name": "m", "loss": "hinge", "penalty": "gp", "hidden": 3, "metric": 5},
           "data": {"name": "npz:some/where.npz"}}
    assert needed_entries(cfg) == [("model", "m"), ("loss", "hinge"), ("penalty", "gp"), ("dataset", "npz")]


def test_checkpoint_records_the_plugin_of_each_entry_and_resume_notes_changes(trained, capsys):
    _, state = ckpt.load(ckpt.find(trained))
    assert state["plugins"] == [
        {"kind": "model", "name": "mlp-gan", "plugin": "genreg.models", "plugin_id": "genreg.models",
         "version": __version__},
        {"kind": "loss", "name": "wasserstein", "plugin": "genreg.losses", "plugin_id": "genreg.losses",
         "version": __version__},
        {"kind": "penalty", "name": "gp", "plugin": "genreg.losses", "plugin_id": "genreg.losses",
         "version": __version__},
        {"kind": "dataset", "name": "prov-points", "plugin": "prov-data", "plugin_id": "prov-data",
         "version": "0.1"},
    ]
    where = str(ckpt.find(trained))
    manager = genreg.get_plugin_manager()
    capsys.readouterr()
    manager.register(PointsPlugin(), name="prov-data", version="0.1")
    try:
        resolve_run(resume=trained)
        assert capsys.readouterr().err == ""  # the same plugin and version: nothing to say
    finally:
        manager.unregister("prov-data")

    manager.register(PointsPlugin(), name="prov-data", version="0.2")
    try:
        resolve_run(resume=trained)
        note = (f"genreg: note: checkpoint {where!r}: dataset 'prov-points' came from plugin 'prov-data' 0.1, "
                "now from plugin 'prov-data' 0.2\n")
        assert capsys.readouterr().err == note
        load_run(trained)  # evaluation and sampling load runs this way
        assert capsys.readouterr().err == note
    finally:
        manager.unregister("prov-data")

    with pytest.raises(UsageError, match="unknown dataset 'prov-points'"):  # configs are checked at resolve
        resolve_run(resume=trained)
    assert capsys.readouterr().err == (f"genreg: note: checkpoint {where!r}: dataset 'prov-points' came from "
                                       "plugin 'prov-data' 0.1, which is not loaded now (see `genreg plugins`)\n")
