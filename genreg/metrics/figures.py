"""PNG figures for evaluation: traces, spectra, accuracy vs SNR, image grids, 2-D scatter.

matplotlib is imported on first use, with the non-interactive Agg backend, so importing
this module is cheap and works without a display. Every helper writes one PNG to
``path`` (creating its folder) and returns the path.
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np

from ..errors import UsageError
from ._arrays import as_numpy, as_points, as_traces


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> str:
    path = os.fspath(path)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    _pyplot().close(fig)
    return path


def plot_trace_triptych(noisy, true, recovered, path, sampling_mhz: float = 180.0,
                        titles: Sequence[str] = ("noisy", "true signal", "recovered")) -> str:
    """One row per example trace, three panels: noisy input, true signal, recovered signal."""
    rows = [as_traces(a, name) for a, name in ((noisy, "noisy"), (true, "true"), (recovered, "recovered"))]
    if len({r.shape for r in rows}) != 1:
        raise UsageError(f"trace triptych: noisy, true and recovered differ in shape: {[r.shape for r in rows]}")
    n, length = rows[0].shape
    t_ns = np.arange(length) * 1e3 / sampling_mhz
    plt = _pyplot()
    fig, axes = plt.subplots(n, 3, figsize=(12, 2.2 * n), squeeze=False, sharex=True)
    for i in range(n):
        for j, (data, title) in enumerate(zip(rows, titles)):
            ax = axes[i, j]
            ax.plot(t_ns, data[i], lw=0.8, color=("0.4", "tab:blue", "tab:orange")[j])
            if i == 0:
                ax.set_title(title)
            if i == n - 1:
                ax.set_xlabel("time / ns")
    return _save(fig, path)


def plot_spectra(freq_mhz, true_mag, recovered_mag, path, log: bool = True) -> str:
    """Magnitude spectra of true and recovered signals against frequency in MHz."""
    f = as_numpy(freq_mhz, "freq_mhz").reshape(-1)
    a, b = as_numpy(true_mag, "true_mag").reshape(-1), as_numpy(recovered_mag, "recovered_mag").reshape(-1)
    if not (f.shape == a.shape == b.shape):
        raise UsageError(f"spectra plot: shapes differ: freq {f.shape}, true {a.shape}, recovered {b.shape}")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(f, a, label="true", lw=1.2)
    ax.plot(f, b, label="recovered", lw=1.2, ls="--")
    if log and np.all(a[1:] > 0) and np.all(b[1:] > 0):
        ax.set_yscale("log")
    ax.set_xlabel("frequency / MHz")
    ax.set_ylabel("|FFT|")
    ax.legend()
    return _save(fig, path)


def plot_accuracy_vs_snr(centres, accuracy, path, counts=None, label: Optional[str] = None) -> str:
    """Accuracy (in %) per SNR bin; empty bins (NaN) are left out; ``counts`` annotate the points."""
    c, acc = as_numpy(centres, "centres").reshape(-1), as_numpy(accuracy, "accuracy").reshape(-1)
    if c.shape != acc.shape:
        raise UsageError(f"accuracy plot: centres {c.shape} and accuracy {acc.shape} differ in shape")
    keep = np.isfinite(acc)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(c[keep], 100 * acc[keep], "o-", label=label)
    if counts is not None:
        for x, y, k in zip(c[keep], 100 * acc[keep], np.asarray(counts).reshape(-1)[keep]):
            ax.annotate(str(int(k)), (x, y), textcoords="offset points", xytext=(0, 5), fontsize=7, ha="center")
    ax.set_ylim(0, 105)
    ax.set_xlabel("SNR")
    ax.set_ylabel("accuracy / %")
    if label:
        ax.legend()
    return _save(fig, path)


def _to_hwc(images, value_range) -> np.ndarray:
    x = as_numpy(images, "images")
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise UsageError(f"image grid: expected images of shape (N, 1 or 3, H, W), got {x.shape}")
    lo, hi = value_range
    x = np.clip((x - lo) / (hi - lo), 0, 1).transpose(0, 2, 3, 1)
    return x[..., 0] if x.shape[-1] == 1 else x


def image_grid(images, path, nrow: int = 8, row_labels: Optional[Sequence[str]] = None,
               value_range: tuple[float, float] = (0.0, 1.0)) -> str:
    """Images (N, C, H, W) in a grid of ``nrow`` per row, optional label per row."""
    x = _to_hwc(images, value_range)
    n = x.shape[0]
    cols = max(1, min(nrow, n))
    rows = -(-n // cols)
    if row_labels is not None and len(row_labels) != rows:
        raise UsageError(f"image grid: {len(row_labels)} row labels for {rows} rows")
    plt = _pyplot()
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols + (1.2 if row_labels else 0), 1.3 * rows),
                             squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ax.spines.values():
            side.set_visible(False)
        if k < n:
            ax.imshow(x[k], cmap="gray" if x.ndim == 3 else None, vmin=0, vmax=1)
    if row_labels:
        for r, text in enumerate(row_labels):
            axes[r, 0].set_ylabel(str(text), rotation=0, ha="right", va="center")
    return _save(fig, path)


def plot_reconstructions(originals, reconstructions, path, value_range: tuple[float, float] = (0.0, 1.0)) -> str:
    """Originals in the top row, their reconstructions below."""
    a, b = as_numpy(originals, "originals"), as_numpy(reconstructions, "reconstructions")
    if a.shape != b.shape:
        raise UsageError(f"reconstruction plot: originals {a.shape} and reconstructions {b.shape} differ in shape")
    return image_grid(np.concatenate([a, b]), path, nrow=a.shape[0], row_labels=("original", "reconstruction"),
                      value_range=value_range)


def plot_interpolation(images, path, value_range: tuple[float, float] = (0.0, 1.0)) -> str:
    """One strip of images, e.g. decodings along a line between two latent codes."""
    x = as_numpy(images, "images")
    return image_grid(x, path, nrow=max(1, x.shape[0]), value_range=value_range)


def plot_points_2d(samples, path, centres=None, std: Optional[float] = None, n_std: float = 3.0,
                   real=None) -> str:
    """Scatter of 2-D samples, with mode centres (and their n_std circles) and optional real points."""
    s = as_points(samples, "samples", 2)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    if real is not None:
        r = as_points(real, "real", 2)
        ax.scatter(r[:, 0], r[:, 1], s=3, alpha=0.3, color="0.6", label="real")
    ax.scatter(s[:, 0], s[:, 1], s=3, alpha=0.6, color="tab:blue", label="generated")
    if centres is not None:
        c = as_points(centres, "centres", 2)
        ax.scatter(c[:, 0], c[:, 1], marker="x", color="tab:red", s=40, label="mode centres")
        if std is not None:
            for cx, cy in c:
                ax.add_patch(plt.Circle((cx, cy), n_std * std, fill=False, color="tab:red", lw=0.6, alpha=0.6))
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    return _save(fig, path)
