"""The classical denoiser baseline: a 30-80 MHz band-pass plus notches on narrow lines."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genreg.errors import UsageError
from genreg.eval.classical import bandpass_notch, find_lines
from genreg.metrics.denoiser import denoise_accuracy

RATE = 180.0
T = np.arange(500) / RATE  # microseconds: f in MHz * t in us is cycles


def _pulse(position, f0=55.0, width=0.03):
    return np.exp(-0.5 * ((T - position / RATE) / width) ** 2) * np.cos(2 * np.pi * f0 * (T - position / RATE))


@settings(max_examples=25, deadline=None)
@given(position=st.integers(80, 420), out_of_band=st.floats(2.0, 20.0), line=st.floats(35.0, 75.0),
       phase=st.floats(0, 6.28))
def test_out_of_band_noise_and_a_line_go_the_pulse_stays(position, out_of_band, line, phase):
    clean = _pulse(position)
    noisy = clean + 2.0 * np.cos(2 * np.pi * out_of_band * T + phase) + 0.8 * np.cos(2 * np.pi * line * T + phase)
    out = bandpass_notch(noisy[None])[0]
    assert abs(int(np.argmax(out)) - position) <= 2  # zero phase: the pulse does not move
    before = np.mean((noisy - noisy.mean() - clean) ** 2)
    assert np.mean((out - out.mean() - clean) ** 2) < 0.1 * before


@settings(max_examples=25, deadline=None)
@given(f0=st.floats(32.0, 78.0), amp=st.floats(0.5, 3.0), seed=st.integers(0, 1000))
def test_find_lines_finds_a_narrow_line_within_a_bin(f0, amp, seed):
    rng = np.random.default_rng(seed)
    trace = rng.standard_normal(500) * 0.3 + amp * np.cos(2 * np.pi * f0 * T + seed)
    found = find_lines(trace, max_lines=1)
    assert len(found) == 1 and abs(found[0] - f0) <= RATE / 500


def test_white_noise_has_no_lines():
    trace = np.random.default_rng(0).standard_normal(500)
    assert find_lines(trace, line_threshold=6.0) == []


def test_shapes_and_errors():
    x = np.random.default_rng(1).random((4, 1, 500)).astype(np.float32)
    out = bandpass_notch(x)
    assert out.shape == x.shape and out.dtype == np.float32
    assert np.allclose(out.mean(axis=-1), x.mean(axis=-1), atol=1e-3)  # the DC level is put back
    with pytest.raises(UsageError, match="band"):
        bandpass_notch(x, band=(30.0, 95.0))
    with pytest.raises(UsageError, match="too short"):
        bandpass_notch(x[..., :20])


def test_beats_the_noisy_input_on_realistic_radio_noise():
    from genreg.data.radio import radio

    data = radio("test", 0, n=300, noise="realistic", snr=(2.0, 3.0))
    filtered = bandpass_notch(data.x)
    assert denoise_accuracy(filtered, data.target) > denoise_accuracy(data.x, data.target) + 0.2
    assert denoise_accuracy(filtered, data.target) > denoise_accuracy(bandpass_notch(data.x, notch=False),
                                                                       data.target)
