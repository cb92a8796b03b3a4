"""The study's denoiser accuracy, its options, accuracy vs SNR and the spectra, on hand-made traces."""

import numpy as np
import pytest
import torch

from genreg.errors import UsageError
from genreg.metrics.denoiser import (accuracy_vs_snr, compare_spectra, denoise_accuracy, denoise_summary,
                                     peak_hits, peak_positions, spectrum)

L = 500
BASELINE = 0.5  # a zero signal after the [0, 1] normalisation


def pulse_traces(positions, amplitude=0.3):
    """Clean traces: baseline plus a bipolar pulse (positive lobe at ``pos``, negative 4 samples later)."""
    x = np.full((len(positions), L), BASELINE)
    for i, p in enumerate(positions):
        x[i, p] += amplitude
        x[i, p + 4] -= 0.6 * amplitude
    return x


POSITIONS = [50, 120, 200, 260, 333, 400, 450]


def test_perfect_reconstruction_scores_100_percent():
    true = pulse_traces(POSITIONS)
    assert denoise_accuracy(true.copy(), true) == 1.0


def test_accepts_torch_tensors_of_shape_n_1_l():
    true = torch.from_numpy(pulse_traces(POSITIONS)).float().unsqueeze(1)
    assert true.shape == (7, 1, L)
    assert denoise_accuracy(true.clone(), true) == 1.0


@pytest.mark.parametrize("shift,expected", [(11, 0.0), (25, 0.0), (-11, 0.0), (10, 1.0), (-10, 1.0), (3, 1.0)])
def test_shift_beyond_2_percent_scores_0_and_within_scores_100(shift, expected):
    true = pulse_traces(POSITIONS)
    shifted = np.roll(true, shift, axis=1)
    assert denoise_accuracy(shifted, true) == expected


def test_noise_only_traces_are_excluded():
    true = np.vstack([pulse_traces(POSITIONS[:4]), np.full((3, L), BASELINE)])
    recovered = true.copy()
    recovered[4:] = np.random.default_rng(0).random((3, L))  # whatever the model says about noise-only traces
    recovered[0] = np.roll(recovered[0], 40)                  # one miss among the four signal traces
    summary = denoise_summary(recovered, true)
    assert summary == {"accuracy": 0.75, "hits": 3, "n_signal": 4, "n_noise_only": 3, "window_samples": 10.0}


def test_all_noise_only_is_an_error():
    with pytest.raises(UsageError, match="noise-only"):
        denoise_accuracy(np.zeros((3, L)), np.full((3, L), 0.2))


def test_shape_mismatch_is_an_error():
    with pytest.raises(UsageError, match="differ in shape"):
        denoise_accuracy(np.zeros((3, L)), np.zeros((3, L - 1)))
    with pytest.raises(UsageError, match=r"\(N, L\) or \(N, 1, L\)"):
        denoise_accuracy(np.zeros((3, 2, L)), np.zeros((3, 2, L)))


def test_peak_max_and_abs_readings():
    x = np.full((1, L), BASELINE)
    x[0, 100] += 0.1   # small positive lobe
    x[0, 104] -= 0.3   # larger negative lobe
    assert peak_positions(x, "max")[0] == 100
    assert peak_positions(x, "abs")[0] == 104


def test_peak_height_criterion():
    true = pulse_traces(POSITIONS)
    close = BASELINE + 0.95 * (true - BASELINE)    # 5 % low: within 10 %
    far = BASELINE + 0.8 * (true - BASELINE)       # 20 % low: outside
    assert denoise_accuracy(close, true, criterion="height") == 1.0
    assert denoise_accuracy(far, true, criterion="height") == 0.0
    assert denoise_accuracy(far, true, criterion="height", height_tolerance=0.25) == 1.0
    # the position reading does not care about the height
    assert denoise_accuracy(far, true) == 1.0


def test_tolerance_option():
    true = pulse_traces(POSITIONS)
    shifted = np.roll(true, 15, axis=1)
    assert denoise_accuracy(shifted, true, tolerance=0.02) == 0.0
    assert denoise_accuracy(shifted, true, tolerance=0.03) == 1.0
    with pytest.raises(UsageError, match="tolerance"):
        peak_hits(true, true, tolerance=2.0)
    with pytest.raises(UsageError, match="criterion"):
        peak_hits(true, true, criterion="area")


def test_accuracy_vs_snr_known_bins():
    positions = [60 + 40 * i for i in range(10)]
    true = pulse_traces(positions)
    recovered = true.copy()
    snr = np.arange(1.0, 11.0)                         # 1 .. 10
    recovered[snr <= 4] = np.roll(true[snr <= 4], 30, axis=1)  # low-SNR traces missed
    out = accuracy_vs_snr(recovered, true, snr, bins=[0.5, 4.5, 8.5, 10.5, 20.0])
    np.testing.assert_array_equal(out["counts"], [4, 4, 2, 0])
    np.testing.assert_array_equal(out["accuracy"][:3], [0.0, 1.0, 1.0])
    assert np.isnan(out["accuracy"][3])
    np.testing.assert_allclose(out["centres"], [2.5, 6.5, 9.5, 15.25])
    even = accuracy_vs_snr(recovered, true, snr, bins=3)
    assert even["counts"].sum() == 10                   # the largest SNR lands in the last bin
    np.testing.assert_allclose(even["edges"], [1.0, 4.0, 7.0, 10.0])


def test_accuracy_vs_snr_rejects_mismatched_snr():
    true = pulse_traces(POSITIONS)
    with pytest.raises(UsageError, match="snr has 3 values for 7 traces"):
        accuracy_vs_snr(true, true, [1, 2, 3])


def test_spectrum_frequency_axis_and_peak():
    t = np.arange(L)
    k = 100                                             # 100 cycles in 500 samples at 180 MHz = 36 MHz
    x = 0.5 + 0.2 * np.sin(2 * np.pi * k * t / L)
    freq, mag = spectrum(x[None, :])
    assert freq.shape == (251,) and mag.shape == (1, 251)
    assert freq[0] == 0.0 and freq[-1] == pytest.approx(90.0)
    assert freq[1] == pytest.approx(180.0 / 500)
    assert np.argmax(mag[0]) == k and freq[k] == pytest.approx(36.0)
    assert mag[0, k] == pytest.approx(0.2 * L / 2)
    assert mag[0, 0] == pytest.approx(0.0, abs=1e-9)    # mean removed
    _, with_dc = spectrum(x[None, :], remove_mean=False)
    assert with_dc[0, 0] == pytest.approx(0.5 * L)


def test_compare_spectra():
    true = pulse_traces(POSITIONS)
    same = compare_spectra(true, true)
    assert same["relative_l2"] == 0.0 and same["freq_mhz"].shape == (251,)
    flat = compare_spectra(np.full_like(true, BASELINE), true)
    assert flat["relative_l2"] == pytest.approx(1.0)
