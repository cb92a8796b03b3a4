"""Tiny trained runs (two steps on a few samples) shared by the tests of genreg.load,
`genreg apply`, `genreg sample` and `genreg export`."""

import pytest

import genreg

TRAIN = ["train.log_every=1", "train.sample_every=0", "train.checkpoint_every=0", "train.device=cpu",
         "train.steps=2"]

SPECS = {
    "dae1d": ("dae1d", "data.n=64", "train.batch_size=32", "model.channels=[8,8,8,4]"),
    "dae1d-lines": ("dae1d", "data.n=64", "train.batch_size=32", "model.channels=[8,8,8,4]", "model.line_removal=2"),
    "vae": ("vae", "data.size=32", "data.n=16", "model.hidden=16", "model.latent_dim=6", "train.batch_size=8"),
    "mlp-vae": ("mlp-ae", "data=ring8", "data.n=64", "model.dim=2", "model.objective=mse+kl",
                "train.batch_size=32"),
    "mlp-ae": ("mlp-ae", "data=ring8", "data.n=64", "model.dim=2", "train.batch_size=32"),
    "mlp-gan": ("mlp-gan", "data=ring8", "data.n=128", "train.batch_size=64", "model.ema_decay=0.9"),
    "acgan-ring8": ("acgan", "data=ring8", "data.labels=true", "model.num_classes=8", "data.n=128",
                    "train.batch_size=32"),
    "dcgan": ("gan", "data.size=32", "data.n=16", "model.base_channels=8", "train.batch_size=8"),
    "acgan-images": ("acgan", "data.size=32", "data.n=24", "model.base_channels=8", "train.batch_size=12"),
    "trace-gan": ("wgan-gp", "data=radio", "data.n=32", "model.trace_channels=[8,8,4,4]", "train.batch_size=16",
                  "model.n_critic=1"),
}


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """``runs(name)``: the run directory of a tiny trained run, trained on first use."""
    root = tmp_path_factory.mktemp("inference-runs")
    made = {}

    def get(name):
        if name not in made:
            model, *overrides = SPECS[name]
            made[name] = genreg.train(model, overrides=[*TRAIN, *overrides], out=root / name, quiet=True).run_dir
        return made[name]

    return get
