"""Simulated cosmic-ray radio traces: (noisy trace, true signal) pairs for denoising.

Each trace has 500 samples at 180 MHz (about 2.8 µs), like the radio data of Erdmann et
al. 2019 (arXiv:1901.04079) and the "Deep Learning for Physics Research" book. The air-
shower signal is a short band-limited bipolar pulse: a Gaussian spectral bump inside a
smooth 30-80 MHz band-pass, with random centre frequency, bandwidth, phase, position and
polarity, so it is 10-30 samples wide. A fraction of traces (``noise_only``) carries no
pulse: their true signal is all zero.

Noise kinds (``noise=``):

``realistic``  coloured Gaussian noise whose amplitude spectrum falls like the galactic
               background (∝ f^-1.3 inside a 25-85 MHz receiver band, plus a small
               white thermal floor) with ``rfi_lines`` narrow-band interference lines
               (sinusoids of random frequency in 30-85 MHz, phase and strength).
``uniform``    independent uniform noise on every sample (flat spectrum).
``cosine``     one cosine of random frequency (5-85 MHz) and phase per trace, plus
               Gaussian noise of relative RMS ``cosine_noise`` (0 by default).

Signal-to-noise ratio: SNR = max|signal| / RMS(noise) over the trace, either fixed
(``snr=3``) or drawn uniformly per trace from a range (``snr=(2, 8)``). In raw units
(``normalize=False``) the noise has RMS exactly 1 and the pulse peak is ``snr``.

Normalisation (``normalize=True``, the default): each trace is mapped to [0, 1] by one
affine map ``v -> (v - lo) / (hi - lo)`` with ``lo``/``hi`` the minimum/maximum over the
noisy trace *and* its true signal together; the same map is applied to both, so the
clean target is in the noisy trace's units and both lie in [0, 1] (a denoiser with a
sigmoid output can reach its target). The zero level of the true signal is mapped to
``-lo / (hi - lo)``. ``meta["offset"]`` (lo) and ``meta["scale"]`` (hi - lo) hold the
map per trace: raw = normalised * scale + offset.

Labels (``labels=True``): the pulse's polarity as a class, ``y`` = 1 (``positive``) where
the true signal's largest excursion from its zero level is positive, else 0
(``negative``; noise-only traces too), so a class-conditional GAN (acGAN) also trains on
traces. The label is read off the true signal, so it never changes the traces.

Splits: ``train`` and ``test`` are independent random streams of the same seed, so a
trace never appears in both and the test set does not depend on the size of train.
Generation runs in fixed chunks of 4096 traces, each from its own stream, so the first
k traces are the same whatever ``n`` is, and the same seed gives the same bytes on a
machine (float32 transcendental functions may differ in the last bit between CPU types).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from typing import Literal, Optional, Union

import numpy as np

from ..errors import UsageError
from ._common import (
    as_range,
    check_choice,
    check_count,
    check_fraction,
    check_seed,
    check_split,
    stream,
    warn,
)

SAMPLING_RATE_HZ = 180e6
TRACE_LENGTH = 500
NOISE_KINDS = ("realistic", "uniform", "cosine")
POLARITY_CLASSES = ("negative", "positive")
DEFAULT_N = {"train": 10_000, "test": 2_000}
CHUNK = 4096
_FORMAT_VERSION = 1  # bump when the simulation changes, so old caches are not reused

_MHZ = 1e6


def _band(f: np.ndarray, low: float, high: float, edge: float) -> np.ndarray:
    """A smooth band-pass: 1 inside [low, high], raised-cosine edges ``edge`` wide."""
    rise = np.clip((f - (low - edge)) / edge, 0.0, 1.0)
    fall = np.clip(((high + edge) - f) / edge, 0.0, 1.0)
    return np.sin(0.5 * np.pi * rise) ** 2 * np.sin(0.5 * np.pi * fall) ** 2


def _uniform(rng: np.random.Generator, low: float, high: float, shape) -> np.ndarray:
    # float32 throughout: twice as fast as float64 and ample for 500-sample traces
    return np.float32(low) + np.float32(high - low) * rng.random(shape, dtype=np.float32)


def _pulses(rng: np.random.Generator, m: int, freqs: np.ndarray, length: int) -> np.ndarray:
    """m band-limited pulses with peak |value| 1 and random polarity, shape (m, length)."""
    mhz = (freqs / _MHZ).astype(np.float32)
    centre = _uniform(rng, 45, 62, (m, 1))
    width = _uniform(rng, 8, 14, (m, 1))
    phase = _uniform(rng, 0, 2 * np.pi, (m, 1))
    # keep the pulse (and its few ringing samples) away from the trace ends
    position = _uniform(rng, 0.15 * length, 0.85 * length, (m, 1))
    polarity = np.where(rng.random((m, 1), dtype=np.float32) < 0.5, np.float32(-1), np.float32(1))
    amplitude = np.exp(-0.5 * ((mhz - centre) / width) ** 2) * _band(mhz, 30, 80, 8)
    angle = phase - np.float32(2 * np.pi / length) * np.arange(freqs.size, dtype=np.float32) * position
    pulse = np.fft.irfft(amplitude * (np.cos(angle) + 1j * np.sin(angle)), n=length, axis=1)
    return polarity * pulse / np.abs(pulse).max(axis=1, keepdims=True)


def _sinusoids(rng, m: int, count: int, f_low: float, f_high: float, length: int) -> np.ndarray:
    """``count`` unit-amplitude sinusoids per trace, shape (m, count, length)."""
    cycles_per_sample = _uniform(rng, f_low / SAMPLING_RATE_HZ, f_high / SAMPLING_RATE_HZ, (m, count, 1))
    phase = _uniform(rng, 0, 2 * np.pi, (m, count, 1))
    return np.cos(np.float32(2 * np.pi) * cycles_per_sample * np.arange(length, dtype=np.float32) + phase)


def _rms1(noise: np.ndarray) -> np.ndarray:
    return noise / np.sqrt(np.mean(noise**2, axis=-1, keepdims=True))


def _realistic_noise(rng, m: int, freqs: np.ndarray, length: int, rfi_lines: int) -> np.ndarray:
    mhz = (freqs / _MHZ).astype(np.float32)
    galactic = (np.maximum(mhz, 20) / 50) ** -1.3
    shape = ((galactic + 0.15) * _band(mhz, 25, 85, 10)).astype(np.float32)
    white = rng.standard_normal((m, freqs.size), dtype=np.float32) + 1j * rng.standard_normal((m, freqs.size), dtype=np.float32)
    noise = _rms1(np.fft.irfft(white * shape, n=length, axis=1))
    if rfi_lines:
        lines = _sinusoids(rng, m, rfi_lines, 30 * _MHZ, 85 * _MHZ, length)
        # each line's RMS is 0.15-0.5 of the coloured noise's (a sinusoid's RMS is amplitude / sqrt 2)
        strength = _uniform(rng, 0.15, 0.5, (m, rfi_lines, 1)) * np.float32(np.sqrt(2))
        noise += (strength * lines).sum(axis=1)
    return noise


def _noise(kind: str, rng, m: int, freqs: np.ndarray, length: int, rfi_lines: int, cosine_noise: float) -> np.ndarray:
    """Noise of the given kind with RMS exactly 1 per trace, shape (m, length)."""
    if kind == "realistic":
        noise = _realistic_noise(rng, m, freqs, length, rfi_lines)
    elif kind == "uniform":
        noise = _uniform(rng, -1.0, 1.0, (m, length))
    else:
        noise = _sinusoids(rng, m, 1, 5 * _MHZ, 85 * _MHZ, length)[:, 0]
        if cosine_noise:
            noise = _rms1(noise) + np.float32(cosine_noise) * rng.standard_normal((m, length), dtype=np.float32)
    return _rms1(noise)


def normalise(noisy: np.ndarray, clean: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Map each (noisy, clean) pair to [0, 1] by one affine map; returns x, target, offset, scale."""
    low = np.minimum(noisy.min(axis=1), clean.min(axis=1))[:, None]
    high = np.maximum(noisy.max(axis=1), clean.max(axis=1))[:, None]
    scale = np.maximum(high - low, np.finfo(np.float32).tiny)
    x = (noisy - low) / scale
    target = (clean - low) / scale
    # rounding can leave values a hair outside [0, 1]
    np.clip(x, 0, 1, out=x)
    np.clip(target, 0, 1, out=target)
    return x, target, low[:, 0], scale[:, 0]


def simulate(n: int, *, seed: int = 0, split_index: int = 0, noise: str = "realistic",
             snr: tuple[float, float] = (2.0, 8.0), noise_only: float = 0.0, rfi_lines: int = 3,
             cosine_noise: float = 0.0, normalize: bool = True, length: int = TRACE_LENGTH) -> dict[str, np.ndarray]:
    """Traces as float32 numpy arrays: x (noisy) and target (clean), (n, length); snr and
    has_signal (n,); offset and scale (n,) when normalised."""
    freqs = np.fft.rfftfreq(length, d=1.0 / SAMPLING_RATE_HZ)
    out = {"x": np.empty((n, length), np.float32), "target": np.empty((n, length), np.float32),
           "snr": np.empty(n, np.float32), "has_signal": np.empty(n, bool)}
    if normalize:
        out["offset"], out["scale"] = np.empty(n, np.float32), np.empty(n, np.float32)
    for chunk, start in enumerate(range(0, n, CHUNK)):
        # a full chunk's draws are made even when fewer traces are needed: the first
        # k traces do not depend on n
        rng = stream(seed, split_index, chunk)
        k = min(start + CHUNK, n) - start
        part = slice(start, start + k)
        ratio = _uniform(rng, snr[0], snr[1], CHUNK)
        signal_on = rng.random(CHUNK) >= noise_only
        clean = _pulses(rng, CHUNK, freqs, length)[:k] * (ratio * signal_on)[:k, None]
        noisy = clean + _noise(noise, rng, CHUNK, freqs, length, rfi_lines, cosine_noise)[:k]
        if normalize:  # chunk by chunk, while the chunk is in cache
            noisy, clean, out["offset"][part], out["scale"][part] = normalise(noisy, clean)
        out["x"][part], out["target"][part] = noisy, clean
        out["snr"][part] = np.where(signal_on[:k], ratio[:k], 0.0)
        out["has_signal"][part] = signal_on[:k]
    return out


def polarity(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """1 where the true signal's largest excursion from its zero level is positive, else 0 (int64)."""
    target = arrays["target"]
    # the true signal's zero level: 0 in raw units, -offset/scale after normalisation
    zero = -arrays["offset"] / arrays["scale"] if "offset" in arrays else np.zeros(len(target), np.float32)
    excursion = target - zero[:, None]
    peak = excursion[np.arange(len(target)), np.argmax(np.abs(excursion), axis=1)]
    return (peak > 0).astype(np.int64)


def _cache_file(cache: str, split: str, key: str) -> str:
    if cache.endswith(".npz"):
        return cache
    return os.path.join(cache, f"radio-{split}-{key[:16]}.npz")


def _load_cache(path: str, key: str) -> Optional[dict[str, np.ndarray]]:
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            if str(archive["key"]) != key:
                warn(f"radio: cache {path} holds other parameters; regenerating and overwriting it")
                return None
            return {name: archive[name] for name in archive.files if name != "key"}
    except Exception as exc:  # a truncated or foreign file: regenerate rather than fail
        warn(f"radio: cache {path} is unreadable ({type(exc).__name__}); regenerating it")
        return None


def _save_cache(path: str, key: str, arrays: dict[str, np.ndarray]) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # write then rename, so a crash never leaves a half-written cache
    handle, tmp = tempfile.mkstemp(suffix=".npz", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, key=np.array(key), **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def radio(split: str = "train", seed: int = 0, *, n: Optional[int] = None,
          noise: Literal["realistic", "uniform", "cosine"] = "realistic",
          snr: Union[float, tuple[float, float]] = (2.0, 8.0), noise_only: float = 0.0,
          normalize: bool = True, rfi_lines: int = 3, cosine_noise: float = 0.0,
          labels: bool = False, cache: Optional[str] = None):
    """Simulated cosmic-ray radio traces (see the module docstring for the physics).

    split         ``train`` or ``test`` (independent streams of ``seed``)
    seed          non-negative integer; the same seed gives the same bytes
    n             number of traces (default 10000 for train, 2000 for test)
    noise         ``realistic``, ``uniform`` or ``cosine``
    snr           max|signal| / RMS(noise): a number, or a range ``(low, high)`` drawn uniformly
    noise_only    fraction of traces without a pulse (their target is the zero level)
    normalize     map each trace and its target to [0, 1] with one affine map (else raw units:
                  noise RMS 1, pulse peak = snr)
    rfi_lines     narrow-band interference lines per trace (``realistic`` noise only)
    cosine_noise  RMS of extra Gaussian noise relative to the cosine (``cosine`` noise only)
    labels        also return the pulse polarity as the class label ``y`` (0 negative, 1 positive)
    cache         a directory (file name from the parameters) or a ``.npz`` file to reuse

    Returns an ArrayDataset with ``x`` (noisy) and ``target`` (clean), float32, shape
    (n, 1, 500), and ``y`` (n,) with ``labels``; ``meta`` holds sampling_rate_hz, snr and
    has_signal per trace, and offset/scale per trace when normalised.
    """
    import torch

    from .base import ArrayDataset

    split_index = check_split("radio", split)
    seed = check_seed("radio", seed)
    n = check_count("radio", "n", DEFAULT_N[split] if n is None else n)
    check_choice("radio", "noise", noise, NOISE_KINDS)
    snr = as_range("radio", "snr", snr, positive=True)
    noise_only = check_fraction("radio", "noise_only", noise_only)
    rfi_lines = check_count("radio", "rfi_lines", rfi_lines, minimum=0)
    cosine_noise = float(cosine_noise)
    if cosine_noise < 0:
        raise UsageError(f"radio: cosine_noise must be >= 0, got {cosine_noise}")
    params = dict(n=n, seed=seed, split=split, noise=noise, snr=snr, noise_only=noise_only,
                  normalize=bool(normalize), rfi_lines=rfi_lines, cosine_noise=cosine_noise,
                  version=_FORMAT_VERSION)

    arrays = None
    if cache:
        key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
        path = _cache_file(os.fspath(cache), split, key)
        arrays = _load_cache(path, key)
    if arrays is None:
        arrays = simulate(n, seed=seed, split_index=split_index, noise=noise, snr=snr, noise_only=noise_only,
                          rfi_lines=rfi_lines, cosine_noise=cosine_noise, normalize=bool(normalize))
        if cache:
            _save_cache(path, key, arrays)

    meta = {"sampling_rate_hz": SAMPLING_RATE_HZ, "params": params,
            "snr": torch.from_numpy(arrays["snr"]), "has_signal": torch.from_numpy(arrays["has_signal"])}
    if normalize:
        meta["offset"] = torch.from_numpy(arrays["offset"])
        meta["scale"] = torch.from_numpy(arrays["scale"])
    y = torch.from_numpy(polarity(arrays)) if labels else None
    return ArrayDataset(torch.from_numpy(arrays["x"]).unsqueeze(1), target=torch.from_numpy(arrays["target"]).unsqueeze(1),
                        y=y, class_names=POLARITY_CLASSES if labels else (), name="radio", meta=meta)
