"""The built-in metrics are registry entries that load lazily and compute."""

import numpy as np
import pytest

import genreg
from genreg.metrics import coverage, denoiser, frechet

EXPECTED = {
    "denoise-accuracy": denoiser.denoise_accuracy,
    "denoise-summary": denoiser.denoise_summary,
    "accuracy-vs-snr": denoiser.accuracy_vs_snr,
    "spectrum": denoiser.compare_spectra,
    "mode-coverage": coverage.mode_coverage,
    "frechet-distance": frechet.frechet_distance,
    "image-frechet-distance": frechet.image_frechet_distance,
    "class-fidelity": frechet.class_fidelity,
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_metric_entry_loads_its_function(name):
    entry = genreg.get_entry("metric", name)
    assert isinstance(entry.factory, str)  # imported only when used
    assert entry.summary and "\n" not in entry.summary
    assert entry.load() is EXPECTED[name]


def test_create_computes_the_metric():
    x = np.random.default_rng(0).standard_normal((50, 3))
    assert genreg.create("metric", "frechet-distance", features1=x, features2=x) == pytest.approx(0.0, abs=1e-8)
