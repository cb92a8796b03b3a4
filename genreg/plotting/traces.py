"""Trace figures: stacked traces, noisy / true / recovered triptychs, spectra, accuracy vs SNR
and the data preview's traces-with-spectra. Times in ns and frequencies in MHz when the
sampling rate is known (genreg's radio traces: 180 MHz)."""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np

from ..errors import UsageError
from ..metrics._arrays import as_numpy, as_traces
from . import pyplot, save


def _channels(x, name: str) -> np.ndarray:
    """(N, C, L) from (N, L) or (N, C, L)."""
    arr = as_numpy(x, name)
    if arr.ndim == 2:
        arr = arr[:, None, :]
    if arr.ndim < 2:
        raise UsageError(f"{name}: expected traces of shape (N, L) or (N, C, L), got {arr.shape}")
    return arr.reshape(arr.shape[0], -1, arr.shape[-1])


def plot_traces(traces, path, inputs=None, title: str = "", count: int = 8) -> str:
    """Up to ``count`` traces (N, L) or (N, C, L) stacked at offsets in one axes (many
    subplots are slow to draw); ``inputs`` of the same shape drawn in grey under them."""
    x = _channels(traces, "traces")[:count]
    ins = _channels(inputs, "inputs")[:count] if inputs is not None else None
    n = len(x)
    spread = float(np.abs(ins if ins is not None else x).max()) or 1.0
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 1.0 + 0.9 * n))
    for i in range(n):
        offset = -2.2 * spread * i
        if ins is not None:
            ax.plot(ins[i].T + offset, lw=0.7, color="0.6")
        ax.plot(x[i].T + offset, lw=0.9, color="tab:orange")
    ax.set_yticks([])
    ax.set_xlabel("sample")
    ax.set_title(title, fontsize=9)
    return save(fig, path)


def plot_trace_triptych(noisy, true, recovered, path, sampling_mhz: float = 180.0,
                        titles: Sequence[str] = ("noisy", "true signal", "recovered")) -> str:
    """One row per example trace, three panels: noisy input, true signal, recovered signal."""
    rows = [as_traces(a, name) for a, name in ((noisy, "noisy"), (true, "true"), (recovered, "recovered"))]
    if len({r.shape for r in rows}) != 1:
        raise UsageError(f"trace triptych: noisy, true and recovered differ in shape: {[r.shape for r in rows]}")
    n, length = rows[0].shape
    t_ns = np.arange(length) * 1e3 / sampling_mhz
    plt = pyplot()
    fig, axes = plt.subplots(n, 3, figsize=(12, 2.2 * n), squeeze=False, sharex=True)
    for i in range(n):
        for j, (data, title) in enumerate(zip(rows, titles)):
            ax = axes[i, j]
            ax.plot(t_ns, data[i], lw=0.8, color=("0.4", "tab:blue", "tab:orange")[j])
            if i == 0:
                ax.set_title(title)
            if i == n - 1:
                ax.set_xlabel("time / ns")
    return save(fig, path)


def plot_spectra(freq_mhz, true_mag, recovered_mag, path, log: bool = True,
                 others: Optional[Mapping[str, object]] = None) -> str:
    """Magnitude spectra of true and recovered signals against frequency in MHz;
    ``others``: more named spectra of the same shape (e.g. a baseline's)."""
    f = as_numpy(freq_mhz, "freq_mhz").reshape(-1)
    curves = {"true": as_numpy(true_mag, "true_mag").reshape(-1),
              "recovered": as_numpy(recovered_mag, "recovered_mag").reshape(-1)}
    for name, mag in (others or {}).items():
        curves[name] = as_numpy(mag, name).reshape(-1)
    if any(c.shape != f.shape for c in curves.values()):
        shapes = ", ".join(f"{k} {v.shape}" for k, v in curves.items())
        raise UsageError(f"spectra plot: shapes differ: freq {f.shape}, {shapes}")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, (name, mag) in enumerate(curves.items()):
        ax.plot(f, mag, label=name, lw=1.2, ls="-" if k == 0 else ("--", ":", "-.")[(k - 1) % 3])
    if log and all(np.all(c[1:] > 0) for c in curves.values()):
        ax.set_yscale("log")
    ax.set_xlabel("frequency / MHz")
    ax.set_ylabel("|FFT|")
    ax.legend()
    return save(fig, path)


def plot_accuracy_vs_snr(centres, accuracy, path, counts=None, label: Optional[str] = None,
                         others: Optional[Mapping[str, tuple]] = None) -> str:
    """Accuracy (in %) per SNR bin; empty bins (NaN) are left out; ``counts`` annotate the
    points; ``others``: more named ``(centres, accuracy)`` curves (baselines)."""
    curves = {label: (centres, accuracy), **(others or {})}
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for k, (name, (cen, acc)) in enumerate(curves.items()):
        c, a = as_numpy(cen, "centres").reshape(-1), as_numpy(acc, "accuracy").reshape(-1)
        if c.shape != a.shape:
            raise UsageError(f"accuracy plot: centres {c.shape} and accuracy {a.shape} differ in shape")
        keep = np.isfinite(a)
        ax.plot(c[keep], 100 * a[keep], "o-", label=name)
        if k == 0 and counts is not None:
            for x, y, n in zip(c[keep], 100 * a[keep], np.asarray(counts).reshape(-1)[keep]):
                ax.annotate(str(int(n)), (x, y), textcoords="offset points", xytext=(0, 5), fontsize=7, ha="center")
    ax.set_ylim(0, 105)
    ax.set_xlabel("SNR (max |signal| / noise RMS)")
    ax.set_ylabel("accuracy / %")
    if any(name for name in curves):
        ax.legend()
    return save(fig, path)


def plot_trace_preview(noisy, path, clean=None, snr=None, sampling_rate_hz: Optional[float] = None,
                       title: str = "") -> str:
    """Traces (N, C, L) (first channel shown) with their amplitude spectra beside them; the
    clean targets in red over the noisy inputs, when given."""
    noisy, clean = _channels(noisy, "traces")[:, 0], None if clean is None else _channels(clean, "target")[:, 0]
    count, length = noisy.shape
    rate = sampling_rate_hz
    t = np.arange(length) / rate * 1e9 if rate else np.arange(length)
    freqs = np.fft.rfftfreq(length, d=1 / rate) / 1e6 if rate else np.fft.rfftfreq(length)
    plt = pyplot()
    fig, axes = plt.subplots(count, 2, figsize=(12, 2.4 * count), squeeze=False, gridspec_kw={"width_ratios": [2.2, 1]})
    for row in range(count):
        ax, spec = axes[row]
        ax.plot(t, noisy[row], color="0.55", lw=0.8, label="noisy (x)")
        if clean is not None:
            ax.plot(t, clean[row], color="tab:red", lw=1.0, alpha=0.85, label="true signal (target)")
        label = f"trace {row}" + (f", SNR {float(snr[row]):.1f}" if snr is not None else "")
        ax.set_title(label, fontsize=9, loc="left")
        ax.set_xlim(t[0], t[-1])
        # spectra of the zero-mean traces, so the normalisation offset does not show as DC
        top = np.abs(np.fft.rfft(noisy[row] - noisy[row].mean()))
        spec.semilogy(freqs, top + 1e-6, color="0.55", lw=0.8, label="noisy")
        if clean is not None:
            zero = np.median(clean[row])  # the pulse is short: the median is the zero level
            spec.semilogy(freqs, np.abs(np.fft.rfft(clean[row] - zero)) + 1e-6, color="tab:red", lw=1.0, label="true")
        spec.set_xlim(freqs[0], freqs[-1])
        spec.set_ylim(top.max() * 1e-3 + 1e-9, top.max() * 2 + 1e-6)  # three decades: the noise's shape
        if row == 0:
            ax.legend(fontsize=8, loc="upper right")
            spec.legend(fontsize=8, loc="upper right")
            spec.set_title("amplitude spectrum", fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("time [ns]" if rate else "sample")
    axes[-1, 1].set_xlabel("frequency [MHz]" if rate else "frequency [1/sample]")
    fig.suptitle(title)
    return save(fig, path)
