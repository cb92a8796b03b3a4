"""Pictures of a data set for `genreg data preview`: traces, image grids or 2-D scatters.

The kind of plot follows the shape of a sample: (C, L) -> traces with their spectra,
(C, H, W) -> an image grid (one row per class when labelled), (D,) -> a scatter of the
first two coordinates with the mode centres when ``meta["centers"]`` exists.
"""

from __future__ import annotations

import os

from ..errors import UsageError


def plot_kind(dataset) -> str:
    shape = dataset.sample_shape
    if len(shape) == 1:
        return "points"
    if len(shape) == 2:
        return "traces"
    if len(shape) == 3:
        return "images"
    raise UsageError(f"{dataset.name}: cannot preview samples of shape {shape}")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def _traces(plt, dataset, count: int, title: str):
    import numpy as np

    count = min(count, len(dataset))
    rate = dataset.meta.get("sampling_rate_hz")
    length = dataset.sample_shape[-1]
    t = np.arange(length) / rate * 1e9 if rate else np.arange(length)
    freqs = np.fft.rfftfreq(length, d=1 / rate) / 1e6 if rate else np.fft.rfftfreq(length)
    snr = dataset.meta.get("snr")
    fig, axes = plt.subplots(count, 2, figsize=(12, 2.4 * count), squeeze=False,
                             gridspec_kw={"width_ratios": [2.2, 1]})
    for row in range(count):
        noisy = dataset.x[row, 0].numpy()
        clean = dataset.target[row, 0].numpy() if dataset.target is not None else None
        ax, spec = axes[row]
        ax.plot(t, noisy, color="0.55", lw=0.8, label="noisy (x)")
        if clean is not None:
            ax.plot(t, clean, color="tab:red", lw=1.0, alpha=0.85, label="true signal (target)")
        label = f"trace {row}" + (f", SNR {float(snr[row]):.1f}" if snr is not None else "")
        ax.set_title(label, fontsize=9, loc="left")
        ax.set_xlim(t[0], t[-1])
        # spectra of the zero-mean traces, so the normalisation offset does not show as DC
        spec.semilogy(freqs, np.abs(np.fft.rfft(noisy - noisy.mean())) + 1e-6, color="0.55", lw=0.8, label="noisy")
        if clean is not None:
            zero = np.median(clean)  # the pulse is short: the median is the zero level
            spec.semilogy(freqs, np.abs(np.fft.rfft(clean - zero)) + 1e-6, color="tab:red", lw=1.0, label="true")
        spec.set_xlim(freqs[0], freqs[-1])
        top = np.abs(np.fft.rfft(noisy - noisy.mean())).max()
        spec.set_ylim(top * 1e-3, top * 2)  # three decades: the noise's shape, not leakage at 1e-6
        if row == 0:
            ax.legend(fontsize=8, loc="upper right")
            spec.legend(fontsize=8, loc="upper right")
            spec.set_title("amplitude spectrum", fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("time [ns]" if rate else "sample")
    axes[-1, 1].set_xlabel("frequency [MHz]" if rate else "frequency [1/sample]")
    fig.suptitle(title)
    return fig


def _images(plt, dataset, per_row: int, title: str):
    import torch

    low, high = dataset.meta.get("value_range", (float(dataset.x.min()), float(dataset.x.max())))
    scale = (high - low) or 1.0
    if dataset.y is not None:
        rows = []
        for c in range(dataset.num_classes):
            index = (dataset.y == c).nonzero()[:, 0][:per_row]
            if len(index):
                name = dataset.class_names[c] if c < len(dataset.class_names) else str(c)
                rows.append((name, index))
    else:
        index = torch.arange(min(len(dataset), 3 * per_row))
        rows = [("", index[i:i + per_row]) for i in range(0, len(index), per_row)]
    fig, axes = plt.subplots(len(rows), per_row, figsize=(1.9 * per_row, 2.0 * len(rows)), squeeze=False)
    for r, (name, index) in enumerate(rows):
        for c in range(per_row):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_visible(False)
            if c < len(index):
                image = ((dataset.x[index[c]] - low) / scale).clamp(0, 1).permute(1, 2, 0).numpy()
                ax.imshow(image[..., 0] if image.shape[-1] == 1 else image[..., :3], cmap="gray", vmin=0, vmax=1,
                          interpolation="nearest")
        if name:
            axes[r, 0].set_ylabel(f"{name}", fontsize=10)
    fig.suptitle(title)
    return fig


def _points(plt, dataset, title: str):
    x = dataset.x[:, :2].numpy()
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.4, color="tab:blue", label=f"{len(x)} samples")
    centers = dataset.meta.get("centers")
    if centers is not None:
        c = centers.numpy()
        std = dataset.meta.get("std")
        ax.scatter(c[:, 0], c[:, 1], marker="x", s=60, color="tab:red",
                   label=f"{len(c)} mode centres" + (f" (std {std:g})" if std else ""))
    ax.set_aspect("equal")
    ax.margins(0.08)
    # below the axes, so it never hides a mode
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2, frameon=False)
    ax.set_title(title)
    return fig


def save_preview(dataset, out: str, *, title: str = "", count: int | None = None) -> str:
    """Write a PNG picture of ``dataset`` to ``out`` and return the plot kind."""
    kind = plot_kind(dataset)
    if len(dataset) == 0:
        raise UsageError(f"{dataset.name}: the data set is empty; nothing to preview")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write {out}: folder {folder} does not exist")
    plt = _pyplot()
    title = title or repr(dataset)
    if kind == "traces":
        fig = _traces(plt, dataset, count or 4, title)
    elif kind == "images":
        fig = _images(plt, dataset, count or 6, title)
    else:
        fig = _points(plt, dataset, title)
    fig.tight_layout()
    try:
        fig.savefig(out, dpi=100)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return kind
