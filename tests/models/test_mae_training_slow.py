"""Masked autoencoders trained through `genreg train` and scored by `genreg eval` (slow: `pytest -m slow`).

The masked-patch MSE must fall below the baseline that sees the same visible patches (linear
interpolation for traces, the mean visible patch for images). The linear probe must beat the
mean probe of randomly initialised encoders: not yet reached in short runs (see the README),
so those checks run as expected failures that report an XPASS once they hold.
"""

import pytest

from genreg.evaluate import evaluate

from tiny_runs import tiny_run

pytestmark = pytest.mark.slow

MAE1D = ("mae1d", ["data.n=4000"], 600)
MAE = ("mae", ["data.size=32"], 600)


def trained_and_scored(tmp_path, spec):
    model, overrides, steps = spec
    run = tiny_run(tmp_path / model, model, *overrides, steps=steps).run_dir
    return evaluate(run, tmp_path / model / "eval", n=500)


@pytest.mark.parametrize("spec", [MAE1D, MAE], ids=["mae1d", "mae"])
def test_masked_mse_falls_below_the_baseline(tmp_path, spec):
    m = trained_and_scored(tmp_path, spec)
    assert m["masked_mse"] < 0.8 * m["masked_mse_baseline"], m


@pytest.mark.xfail(reason="the linear probe has not yet beaten the random-encoder control in short CPU runs",
                   strict=False)
@pytest.mark.parametrize("spec", [MAE1D, MAE], ids=["mae1d", "mae"])
def test_linear_probe_beats_random_encoders(tmp_path, spec):
    m = trained_and_scored(tmp_path, spec)
    assert m["linear_probe"] > m["linear_probe_random_encoder"], m
