"""Denoiser metrics for radio traces (the study's accuracy, its SNR dependence, spectra).

The study's accuracy: a trace counts as correctly denoised when the position of the
recovered signal's maximum (``argmax`` of the signal) lies within 2 % of the trace length
(10 samples of 500) of the true signal's maximum. Choices made here, and why:

* ``peak="max"`` (default) is the study's reading: plain argmax of the signal. genreg's
  traces are normalised to [0, 1] per trace by one affine map (positive scale) applied to
  noisy and clean alike, so the argmax is the pulse's positive lobe in both. ``peak="abs"``
  takes the argmax of |x - median(x)| instead (the median of a trace whose pulse is 10-30
  samples of 500 is its baseline), which also catches a pulse whose negative lobe is the
  larger one.
* Noise-only traces are excluded: their true signal is all zero before normalisation, so
  constant after it; a trace counts as noise-only when ``max - min <= atol`` of its true
  signal. Their argmax is meaningless.
* The window is ``|i_rec - i_true| <= tolerance * L`` (inclusive), ``tolerance = 0.02``.
* ``criterion="height"`` is the peak-height reading: the recovered pulse height
  (value at its peak minus the trace's median) within ``height_tolerance`` (relative,
  default 10 %) of the true one.
"""

from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from ..errors import UsageError
from ._arrays import as_numpy, as_traces

PEAKS = ("max", "abs")
CRITERIA = ("position", "height")
SAMPLING_MHZ = 180.0


def _check_choice(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise UsageError(f"denoiser metric: {key} must be one of {', '.join(allowed)}, got {value!r}")


def _pair(recovered, true) -> tuple[np.ndarray, np.ndarray]:
    rec, tru = as_traces(recovered, "recovered"), as_traces(true, "true")
    if rec.shape != tru.shape:
        raise UsageError(f"denoiser metric: recovered {rec.shape} and true {tru.shape} traces differ in shape")
    return rec, tru


def peak_positions(traces, peak: str = "max") -> np.ndarray:
    """Index of each trace's peak, shape (N,): argmax of x (``max``) or of |x - median(x)| (``abs``)."""
    _check_choice("peak", peak, PEAKS)
    x = as_traces(traces, "traces")
    if peak == "abs":
        x = np.abs(x - np.median(x, axis=1, keepdims=True))
    return np.argmax(x, axis=1)


def peak_heights(traces, peak: str = "max") -> np.ndarray:
    """Height of each trace's peak above its median (baseline), shape (N,)."""
    x = as_traces(traces, "traces")
    idx = peak_positions(x, peak)
    return x[np.arange(len(x)), idx] - np.median(x, axis=1)


def signal_mask(true, atol: float = 1e-6) -> np.ndarray:
    """True where the true signal holds a pulse (not constant), shape (N,)."""
    x = as_traces(true, "true")
    return (x.max(axis=1) - x.min(axis=1)) > atol


def peak_hits(recovered, true, tolerance: float = 0.02, peak: str = "max", criterion: str = "position",
              height_tolerance: float = 0.1, atol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Per-trace verdicts: ``(hits, has_signal)``, both boolean of shape (N,).

    ``hits`` is meaningful only where ``has_signal`` (noise-only traces are excluded).
    """
    _check_choice("criterion", criterion, CRITERIA)
    if not 0 <= tolerance < 1:
        raise UsageError(f"denoiser metric: tolerance is a fraction of the trace length in [0, 1), got {tolerance}")
    if height_tolerance < 0:
        raise UsageError(f"denoiser metric: height_tolerance must be >= 0, got {height_tolerance}")
    rec, tru = _pair(recovered, true)
    has_signal = signal_mask(tru, atol)
    if criterion == "position":
        window = round(tolerance * tru.shape[1], 9)  # 0.02 * 500 -> exactly 10 samples
        hits = np.abs(peak_positions(rec, peak) - peak_positions(tru, peak)) <= window
    else:
        h_rec, h_true = peak_heights(rec, peak), peak_heights(tru, peak)
        hits = np.abs(h_rec - h_true) <= height_tolerance * np.abs(h_true)
    return hits, has_signal


def denoise_summary(recovered, true, **options) -> dict:
    """Accuracy over the traces with a signal, with the counts behind it.

    Returns ``{"accuracy", "hits", "n_signal", "n_noise_only", "window_samples"}``;
    ``options`` as for :func:`peak_hits`.
    """
    hits, has_signal = peak_hits(recovered, true, **options)
    n_signal = int(has_signal.sum())
    if n_signal == 0:
        raise UsageError("denoiser metric: every true signal is constant (noise-only); accuracy is undefined")
    n_hits = int(hits[has_signal].sum())
    length = as_traces(true, "true").shape[1]
    return {"accuracy": n_hits / n_signal, "hits": n_hits, "n_signal": n_signal,
            "n_noise_only": int((~has_signal).sum()),
            "window_samples": round(options.get("tolerance", 0.02) * length, 9)}


def denoise_accuracy(recovered, true, **options) -> float:
    """The study's accuracy in [0, 1] (see the module docstring); ``options`` as for :func:`peak_hits`."""
    return denoise_summary(recovered, true, **options)["accuracy"]


def accuracy_vs_snr(recovered, true, snr, bins: Union[int, Sequence[float]] = 10, **options) -> dict:
    """Accuracy in SNR bins, over traces with a signal.

    ``snr`` has one value per trace; ``bins`` is a count (equal-width bins between the
    smallest and largest SNR of the signal traces) or explicit edges. Returns
    ``{"edges", "centres", "accuracy", "counts"}`` (numpy arrays; empty bins have
    accuracy NaN and count 0). The last bin includes its right edge.
    """
    hits, has_signal = peak_hits(recovered, true, **options)
    snr = as_numpy(snr, "snr").reshape(-1)
    if snr.shape[0] != hits.shape[0]:
        raise UsageError(f"accuracy_vs_snr: snr has {snr.shape[0]} values for {hits.shape[0]} traces")
    hits, snr = hits[has_signal], snr[has_signal]
    if snr.size == 0:
        raise UsageError("accuracy_vs_snr: no trace has a signal")
    if isinstance(bins, (int, np.integer)):
        if bins < 1:
            raise UsageError(f"accuracy_vs_snr: bins must be >= 1, got {bins}")
        lo, hi = float(snr.min()), float(snr.max())
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, int(bins) + 1)
    else:
        edges = np.asarray(bins, dtype=np.float64)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise UsageError("accuracy_vs_snr: bin edges must be an increasing sequence of at least 2 values")
    which = np.searchsorted(edges, snr, side="right") - 1
    which[snr == edges[-1]] = len(edges) - 2              # right edge belongs to the last bin
    inside = (which >= 0) & (which < len(edges) - 1)
    counts = np.bincount(which[inside], minlength=len(edges) - 1)
    n_hits = np.bincount(which[inside], weights=hits[inside].astype(np.float64), minlength=len(edges) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(counts > 0, n_hits / np.maximum(counts, 1), np.nan)
    return {"edges": edges, "centres": 0.5 * (edges[:-1] + edges[1:]), "accuracy": accuracy, "counts": counts}


def spectrum(traces, sampling_mhz: float = SAMPLING_MHZ, remove_mean: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """FFT magnitude spectra: ``(freq_mhz (L//2+1,), magnitude (N, L//2+1))``.

    One-sided (``rfft``); the frequency axis in MHz for the given sampling rate (180 MHz:
    bins of 0.36 MHz for 500 samples, up to the 90 MHz Nyquist frequency).
    ``remove_mean`` subtracts each trace's mean first, so the [0, 1] normalisation's
    offset does not fill the DC bin.
    """
    if sampling_mhz <= 0:
        raise UsageError(f"spectrum: sampling_mhz must be > 0, got {sampling_mhz}")
    x = as_traces(traces, "traces")
    if remove_mean:
        x = x - x.mean(axis=1, keepdims=True)
    return np.fft.rfftfreq(x.shape[1], d=1.0 / sampling_mhz), np.abs(np.fft.rfft(x, axis=1))


def compare_spectra(recovered, true, sampling_mhz: float = SAMPLING_MHZ, remove_mean: bool = True) -> dict:
    """Mean magnitude spectra of true and recovered signals, and how far apart they are.

    Returns ``{"freq_mhz", "true", "recovered", "relative_l2"}``: the mean spectra over
    the traces, and ``relative_l2`` = ||mean_rec - mean_true|| / ||mean_true|| (0 for a
    perfect recovery).
    """
    rec, tru = _pair(recovered, true)
    freq, s_rec = spectrum(rec, sampling_mhz, remove_mean)
    _, s_tru = spectrum(tru, sampling_mhz, remove_mean)
    m_rec, m_tru = s_rec.mean(axis=0), s_tru.mean(axis=0)
    norm = np.linalg.norm(m_tru)
    rel = float(np.linalg.norm(m_rec - m_tru) / norm) if norm > 0 else float("nan")
    return {"freq_mhz": freq, "true": m_tru, "recovered": m_rec, "relative_l2": rel}
