"""The radio-trace simulator: determinism, shapes, SNR, noise spectra, normalisation, cache."""

import numpy as np
import torch
import pytest

from genreg.data.base import ArrayDataset
from genreg.data.radio import SAMPLING_RATE_HZ, radio
from genreg.errors import UsageError

FREQ_MHZ = np.fft.rfftfreq(500, d=1 / SAMPLING_RATE_HZ) / 1e6


def _raw(**params):
    d = radio(normalize=False, **params)
    return d.x[:, 0].numpy().astype(np.float64), d.target[:, 0].numpy().astype(np.float64), d


def _band_power(noise: np.ndarray, low: float, high: float) -> float:
    power = np.abs(np.fft.rfft(noise, axis=1)) ** 2
    band = (FREQ_MHZ >= low) & (FREQ_MHZ < high)
    return float(power[:, band].mean())


def test_same_seed_same_bytes_and_other_seeds_differ():
    a = radio(n=300, seed=3, noise="realistic")
    b = radio(n=300, seed=3, noise="realistic")
    assert a.x.numpy().tobytes() == b.x.numpy().tobytes()
    assert a.target.numpy().tobytes() == b.target.numpy().tobytes()
    assert not np.array_equal(a.x.numpy(), radio(n=300, seed=4).x.numpy())
    # train and test are different streams of one seed
    assert not np.array_equal(a.x.numpy(), radio("test", n=300, seed=3).x.numpy())


def test_first_traces_do_not_depend_on_n():
    small = radio(n=50, seed=1, noise="uniform")
    large = radio(n=5000, seed=1, noise="uniform")  # spans two generation chunks
    assert np.array_equal(small.x.numpy(), large.x[:50].numpy())


@pytest.mark.parametrize("noise", ["realistic", "uniform", "cosine"])
def test_shapes_dtypes_and_range(noise):
    d = radio(n=64, noise=noise)
    assert isinstance(d, ArrayDataset) and len(d) == 64
    assert d.x.shape == (64, 1, 500) and d.target.shape == (64, 1, 500)
    assert d.x.dtype == d.target.dtype == np.float32 or str(d.x.dtype) == "torch.float32"
    assert str(d.target.dtype) == "torch.float32" and d.y is None
    for t in (d.x, d.target):
        assert float(t.min()) >= 0.0 and float(t.max()) <= 1.0
    # each trace spans the full range: the affine map uses the trace's own extremes
    lo = np.minimum(d.x.amin(dim=(1, 2)).numpy(), d.target.amin(dim=(1, 2)).numpy())
    hi = np.maximum(d.x.amax(dim=(1, 2)).numpy(), d.target.amax(dim=(1, 2)).numpy())
    np.testing.assert_allclose(lo, 0.0, atol=1e-6)
    np.testing.assert_allclose(hi, 1.0, atol=1e-6)
    item = d[0]
    assert set(item) == {"x", "target"}


def test_default_sizes_per_split():
    assert len(radio("test")) == 2000


def test_normalisation_is_one_affine_map_for_trace_and_target():
    raw_x, raw_t, _ = _raw(n=200, seed=5)
    d = radio(n=200, seed=5)
    offset, scale = d.meta["offset"].numpy()[:, None], d.meta["scale"].numpy()[:, None]
    np.testing.assert_allclose(d.x[:, 0].numpy() * scale + offset, raw_x, atol=1e-4 * scale.max())
    np.testing.assert_allclose(d.target[:, 0].numpy() * scale + offset, raw_t, atol=1e-4 * scale.max())


@pytest.mark.parametrize("noise", ["realistic", "uniform", "cosine"])
def test_measured_snr_matches_fixed_request(noise):
    x, t, _ = _raw(n=500, snr=3.0, noise=noise, seed=2)
    measured = np.abs(t).max(axis=1) / np.sqrt(np.mean((x - t) ** 2, axis=1))
    np.testing.assert_allclose(measured, 3.0, rtol=1e-4)


def test_measured_snr_on_normalised_traces():
    d = radio(n=500, snr=4.0, seed=9)
    x, t = d.x[:, 0].numpy().astype(np.float64), d.target[:, 0].numpy().astype(np.float64)
    # the pulse is short, so the median of the clean trace is its zero level
    zero = np.median(t, axis=1, keepdims=True)
    measured = np.abs(t - zero).max(axis=1) / np.sqrt(np.mean((x - t) ** 2, axis=1))
    np.testing.assert_allclose(measured, 4.0, rtol=0.02)


def test_snr_range_is_drawn_uniformly_within_bounds():
    x, t, d = _raw(n=4000, snr=(2.0, 5.0), seed=1)
    measured = np.abs(t).max(axis=1) / np.sqrt(np.mean((x - t) ** 2, axis=1))
    assert measured.min() >= 2.0 - 1e-3 and measured.max() <= 5.0 + 1e-3
    assert measured.min() < 2.1 and measured.max() > 4.9
    assert abs(measured.mean() - 3.5) < 0.1
    np.testing.assert_allclose(d.meta["snr"].numpy(), measured, rtol=1e-4)


def test_noise_only_fraction_has_zero_target():
    x, t, d = _raw(n=4000, noise_only=0.3, seed=4)
    empty = np.all(t == 0, axis=1)
    assert abs(empty.mean() - 0.3) < 0.03
    assert np.array_equal(~empty, d.meta["has_signal"].numpy())
    assert np.all(np.abs(t[~empty]).max(axis=1) > 0)


def test_pulse_is_short_and_band_limited():
    _, t, _ = _raw(n=500, seed=6)
    peak = np.abs(t).max(axis=1, keepdims=True)
    width = (np.abs(t) > 0.1 * peak).sum(axis=1)
    assert 5 <= np.median(width) <= 30
    power = np.abs(np.fft.rfft(t, axis=1)) ** 2
    in_band = power[:, (FREQ_MHZ >= 25) & (FREQ_MHZ <= 85)].sum() / power.sum()
    assert in_band > 0.97
    # bipolar: the pulse has both signs around its peak
    assert np.all(t.max(axis=1) > 0.2 * peak[:, 0]) and np.all(t.min(axis=1) < -0.2 * peak[:, 0])


def test_noise_kinds_have_the_intended_spectra():
    noise = {}
    for kind in ("realistic", "uniform", "cosine"):
        x, t, _ = _raw(n=1000, noise=kind, seed=7)
        noise[kind] = x - t
    # realistic: falling galactic-like spectrum inside the receiver band, little power outside
    fall = _band_power(noise["realistic"], 30, 45) / _band_power(noise["realistic"], 65, 80)
    assert fall > 2.0
    assert _band_power(noise["realistic"], 0, 12) < 0.05 * _band_power(noise["realistic"], 30, 80)
    # uniform: white, the same power at low and high frequencies
    flat = _band_power(noise["uniform"], 30, 45) / _band_power(noise["uniform"], 65, 80)
    assert 0.85 < flat < 1.15
    assert 0.8 < _band_power(noise["uniform"], 0, 12) / _band_power(noise["uniform"], 30, 80) < 1.25
    # uniform values are bounded (kurtosis of a uniform distribution is 1.8, Gaussian 3)
    u = noise["uniform"]
    assert abs(np.mean(u**4) / np.mean(u**2) ** 2 - 1.8) < 0.05
    # cosine: one line carries (nearly) all the power of each trace
    power = np.abs(np.fft.rfft(noise["cosine"], axis=1)) ** 2
    top = np.sort(power, axis=1)[:, -4:].sum(axis=1) / power.sum(axis=1)
    assert np.median(top) > 0.9

    # realistic noise has narrow interference lines: its strongest bin stands far above the
    # typical in-band bin, much more than for white noise
    def peakiness(n):
        p = np.abs(np.fft.rfft(n, axis=1)) ** 2
        band = p[:, (FREQ_MHZ >= 30) & (FREQ_MHZ <= 80)]
        return np.median(band.max(axis=1) / np.median(band, axis=1))

    assert peakiness(noise["realistic"]) > 3 * peakiness(noise["uniform"])
    x, t, _ = _raw(n=1000, noise="realistic", rfi_lines=0, seed=7)
    assert peakiness(x - t) < 0.5 * peakiness(noise["realistic"])


def test_cosine_noise_adds_broadband_noise():
    x, t, _ = _raw(n=500, noise="cosine", cosine_noise=0.3, seed=3)
    power = np.abs(np.fft.rfft(x - t, axis=1)) ** 2
    top = np.sort(power, axis=1)[:, -4:].sum(axis=1) / power.sum(axis=1)
    assert 0.5 < np.median(top) < 0.95


@pytest.mark.parametrize("params, words", [
    ({"noise": "pink"}, "noise must be one of realistic, uniform, cosine"),
    ({"snr": (5.0, 2.0)}, "snr"),
    ({"snr": 0}, "snr must be > 0"),
    ({"n": 0}, "n must be an integer >= 1"),
    ({"noise_only": 1.5}, "noise_only"),
    ({"split": "val"}, "unknown split 'val'"),
    ({"seed": -1}, "seed"),
])
def test_bad_parameters_are_one_line_errors(params, words):
    with pytest.raises(UsageError) as info:
        radio(**{"n": 8, **params})
    assert words in str(info.value) and "\n" not in str(info.value)


def test_cache_round_trip(tmp_path, monkeypatch):
    first = radio(n=100, seed=2, noise="cosine", cache=str(tmp_path))
    files = list(tmp_path.glob("radio-train-*.npz"))
    assert len(files) == 1

    import genreg.data.radio as module

    def no_simulation(*args, **kwargs):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(module, "simulate", no_simulation)
    again = radio(n=100, seed=2, noise="cosine", cache=str(tmp_path))
    assert again.x.numpy().tobytes() == first.x.numpy().tobytes()
    assert np.array_equal(again.meta["snr"].numpy(), first.meta["snr"].numpy())
    # other parameters: another file, so simulation is needed
    with pytest.raises(AssertionError, match="cache was not used"):
        radio(n=100, seed=3, noise="cosine", cache=str(tmp_path))


def test_cache_file_with_other_parameters_is_regenerated(tmp_path):
    path = tmp_path / "traces.npz"
    radio(n=50, seed=1, cache=str(path))
    with pytest.warns(UserWarning, match="other parameters"):
        d = radio(n=60, seed=1, cache=str(path))
    assert len(d) == 60
    assert len(radio(n=60, seed=1, cache=str(path))) == 60


def test_labels_are_the_pulse_polarity_and_leave_the_traces_unchanged():
    plain = radio("test", n=400, normalize=False)
    labelled = radio("test", n=400, normalize=False, labels=True)
    assert torch.equal(plain.x, labelled.x) and plain.y is None
    assert labelled.class_names == ("negative", "positive") and labelled.y.dtype == torch.int64
    clean = labelled.target[:, 0]
    # raw units: the zero level is 0, so the polarity is the sign of the largest |value|
    expected = clean[torch.arange(400), clean.abs().argmax(1)] > 0
    assert torch.equal(labelled.y.bool(), expected)
    assert 0.35 < labelled.y.float().mean() < 0.65  # the polarity is a coin flip
    normalised = radio("test", n=400, labels=True)
    assert torch.equal(normalised.y, labelled.y)  # the affine map keeps the polarity
