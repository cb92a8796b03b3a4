"""Masked autoencoders trained through `genreg train` and scored by `genreg eval` (slow: `pytest -m slow`).

The masked-patch MSE must fall below the baseline that sees the same visible patches (linear
interpolation for traces, the mean visible patch for images), and the linear probe on the
frozen encoder must beat the same probe (same features, same training draws) on randomly
initialised encoders, by more than the random encoders' spread. Both use the default
recipe (per-patch normalised targets, ``norm_pix_loss``); one training run serves both tests.
"""

import pytest

from genreg.evaluate import evaluate

from tiny_runs import tiny_run

pytestmark = pytest.mark.slow

MAE1D = ("mae1d", ["data.n=4000"], 3000)
MAE = ("mae", ["data.size=32"], 1000)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    made = {}

    def get(spec):
        model, overrides, steps = spec
        if model not in made:
            root = tmp_path_factory.mktemp(model)
            run = tiny_run(root, model, *overrides, steps=steps).run_dir
            made[model] = evaluate(run, root / "eval", n=1000)
        return made[model]

    return get


@pytest.mark.parametrize("spec", [MAE1D, MAE], ids=["mae1d", "mae"])
def test_masked_mse_falls_below_the_baseline(scored, spec):
    m = scored(spec)
    assert m["masked_mse"] < 0.8 * m["masked_mse_baseline"], m


@pytest.mark.parametrize("spec", [MAE1D, MAE], ids=["mae1d", "mae"])
def test_linear_probe_beats_random_encoders(scored, spec):
    m = scored(spec)
    assert m["linear_probe"] > m["linear_probe_random_encoder"] + 2 * m["linear_probe_random_encoder_std"], m
