"""scripts/dae_ceiling.py: the matched-filter references quoted for the dae1d presets, on a few
hundred radio traces (the quoted figures use 2000)."""

import numpy as np
import pytest
import torch

from genreg.data.radio import SAMPLING_RATE_HZ, _pulses, simulate
from genreg.nets.lines import LineRemoval
from script_module import load_script


@pytest.fixture(scope="module")
def script():
    return load_script("dae_ceiling")


def traces(n=300, lines=3, snr=(2.0, 3.0)):
    d = simulate(n, seed=0, split_index=1, snr=snr, normalize=False, rfi_lines=lines)
    return d["x"].astype(np.float64), d["target"].astype(np.float64)


def test_the_numpy_line_removal_is_the_torch_modules_twin(script):
    noisy, _ = traces(64)
    ours = script.remove_lines(noisy, 3)
    module = LineRemoval(500, 3)(torch.from_numpy(noisy)).numpy()
    np.testing.assert_allclose(ours, module, atol=1e-6)


def test_removing_the_lines_recovers_the_matched_filters_accuracy(script):
    noisy, clean = traces()
    with_lines = script.known_shape_accuracy(noisy, clean)
    removed = script.known_shape_accuracy(script.remove_lines(noisy, 3), clean)
    assert removed >= with_lines + 0.04, (with_lines, removed)


def test_the_blind_detector_finds_loud_pulses_and_trails_the_known_shape_at_low_snr(script):
    freqs = np.fft.rfftfreq(500, d=1 / SAMPLING_RATE_HZ)
    bank = _pulses(np.random.default_rng(12345), 64, freqs, 500).astype(np.float64)
    loud, loud_clean = traces(100, lines=0, snr=(10.0, 10.0))
    assert script.blind_accuracy(loud, loud_clean, bank) == 1.0
    noisy, clean = traces(lines=0)
    blind, known = script.blind_accuracy(noisy, clean, bank), script.known_shape_accuracy(noisy, clean)
    assert 0.5 < blind <= known, (blind, known)
