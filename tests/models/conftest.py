"""Tiny training runs shared by the evaluation tests (a few steps on a few samples)."""

import pytest

from tiny_runs import tiny_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Lazily trained tiny runs, one per name, shared within a test module."""
    root = tmp_path_factory.mktemp("runs")
    made = {}
    specs = {
        "dae1d": ("dae1d", "data.n=64", "train.batch_size=32"),
        "gan-ring8": ("gan", "data=ring8", "data.n=128", "train.batch_size=64"),
        "acgan": ("acgan", "data.size=32", "data.n=24", "model.base_channels=8", "train.batch_size=12"),
        "vae": ("vae", "data.size=32", "data.n=16", "model.hidden=16", "train.batch_size=8"),
        "acgan-radio": ("acgan", "data=radio", "data.labels=true", "data.n=32", "model.num_classes=2",
                        "model.trace_channels=[8,8,4,4]", "train.batch_size=16"),
        "wgan-gp-radio": ("wgan-gp", "data=radio", "data.n=32", "model.trace_channels=[8,8,4,4]",
                          "train.batch_size=16"),
    }

    def get(name):
        if name not in made:
            model, *overrides = specs[name]
            made[name] = tiny_run(root / name, model, *overrides).run_dir
        return made[name]

    return get


@pytest.fixture(autouse=True, scope="session")
def _eval_cache(tmp_path_factory):
    """The evaluation's classifier cache in a temporary folder, not the user's ~/.cache."""
    import os

    old = os.environ.get("GENREG_CACHE_DIR")
    os.environ["GENREG_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("GENREG_CACHE_DIR", None)
    else:
        os.environ["GENREG_CACHE_DIR"] = old
