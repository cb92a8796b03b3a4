"""The classical denoiser a learned one must beat: a band-pass plus narrow-line notches.

Radio air-shower signals live in the 30-80 MHz band (the band genreg's radio pulses are
drawn in, as the experiments' antennas see them), so the textbook treatment of a trace is

1. a zero-phase Butterworth band-pass (``scipy.signal.butter`` + ``sosfiltfilt``, order 4,
   30-80 MHz at the trace's 180 MHz sampling rate): out-of-band noise goes, the pulse
   keeps its position because the filter runs forwards and backwards;
2. notches on the narrow radio-frequency-interference lines inside the band
   (``scipy.signal.iirnotch``, also applied forwards and backwards). genreg's RFI lines
   have a random frequency per trace that the data set does not record, so they are
   found in each trace's spectrum: the in-band bins standing out most above the spectrum's
   running median (at least ``line_threshold`` times it), strongest first, at most
   ``max_lines`` of them.

The filtered trace is shifted back to the input's mean (the band-pass removes the DC
level the [0, 1] normalisation put there), so it is scored in the same units as a
network's output. Sources: scipy.signal's documentation; F. G. Schröder, "Radio detection
of cosmic-ray air showers and high-energy neutrinos", Prog. Part. Nucl. Phys. 93 (2017) 1
(a review covering band-pass filtering and RFI suppression of radio traces).
"""

from __future__ import annotations

import numpy as np

from ..errors import UsageError

SAMPLING_MHZ = 180.0
BAND_MHZ = (30.0, 80.0)


def find_lines(trace: np.ndarray, sampling_mhz: float = SAMPLING_MHZ, band=BAND_MHZ, max_lines: int = 3,
               line_threshold: float = 4.0, guard_bins: int = 4) -> list[float]:
    """Frequencies in MHz of up to ``max_lines`` narrow lines in ``band`` of one trace (L,),
    strongest first: local maxima of the magnitude spectrum at least ``line_threshold``
    times the running median around them (``guard_bins`` either side kept apart)."""
    from scipy.ndimage import median_filter

    x = np.asarray(trace, np.float64)
    mag = np.abs(np.fft.rfft((x - x.mean()) * np.hanning(len(x))))
    freq = np.fft.rfftfreq(len(x), d=1.0 / sampling_mhz)
    floor = median_filter(mag, size=31, mode="nearest") + 1e-12
    ratio = mag / floor
    inside = (freq >= band[0]) & (freq <= band[1])
    found: list[float] = []
    for i in np.argsort(-ratio):
        if len(found) >= max_lines or ratio[i] < line_threshold:
            break
        if not inside[i] or any(abs(freq[i] - f) <= guard_bins * freq[1] for f in found):
            continue
        lo, hi = max(i - 1, 0), min(i + 2, len(mag))
        if mag[i] < mag[lo:hi].max():
            continue  # not a local maximum: the shoulder of a stronger line
        found.append(float(freq[i]))
    return found


def bandpass_notch(traces, sampling_mhz: float = SAMPLING_MHZ, band=BAND_MHZ, order: int = 4,
                   max_lines: int = 3, line_threshold: float = 4.0, quality: float = 30.0,
                   notch: bool = True) -> np.ndarray:
    """Band-pass (and, with ``notch``, line-notch) filtered traces.

    ``traces``: (N, L) or (N, 1, L) floats (tensor or array); returns float32 of the same
    shape. ``band`` in MHz, ``quality`` the notches' Q (centre / -3 dB width). Raises
    UsageError for a band outside (0, Nyquist) or traces too short to filter.
    """
    from scipy import signal

    arr = traces.detach().cpu().numpy() if hasattr(traces, "detach") else np.asarray(traces)
    shape = arr.shape
    x = arr.reshape(-1, shape[-1]).astype(np.float64)
    nyquist = sampling_mhz / 2
    if not 0 < band[0] < band[1] < nyquist:
        raise UsageError(f"band-pass: band {band} MHz must lie inside (0, {nyquist}) MHz")
    sos = signal.butter(order, band, btype="bandpass", fs=sampling_mhz, output="sos")
    if x.shape[-1] <= 3 * (2 * len(sos) + 1):
        raise UsageError(f"band-pass: traces of {x.shape[-1]} samples are too short to filter")
    mean = x.mean(axis=1, keepdims=True)
    out = signal.sosfiltfilt(sos, x - mean, axis=1)
    if notch:
        for k in range(len(out)):
            for f0 in find_lines(out[k], sampling_mhz, band, max_lines, line_threshold):
                b, a = signal.iirnotch(f0, quality, fs=sampling_mhz)
                out[k] = signal.filtfilt(b, a, out[k])
    return (out + mean).astype(np.float32).reshape(shape)
