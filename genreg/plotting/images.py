"""Image figures: one tiled grid per PNG (a single ``imshow``: fast however many tiles),
optionally with one labelled row per class; reconstructions; interpolation strips."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..errors import UsageError
from ..metrics._arrays import as_numpy
from . import pyplot, save

_GAP = 1  # pixels between tiles


def _to_hwc(images, value_range) -> np.ndarray:
    x = as_numpy(images, "images")
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise UsageError(f"image grid: expected images of shape (N, 1 or 3, H, W), got {x.shape}")
    lo, hi = (float(v) for v in value_range)
    if not hi > lo:
        hi = lo + 1.0
    return np.clip((np.nan_to_num(x, nan=lo) - lo) / (hi - lo), 0, 1).transpose(0, 2, 3, 1)


def tile(images, nrow: int = 8, value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """Images (N, C, H, W) as one (rows*(H+gap), cols*(W+gap), 3) array in [0, 1], white gaps."""
    x = _to_hwc(images, value_range)
    n, h, w, c = x.shape
    cols = max(1, min(int(nrow), n))
    rows = -(-n // cols)
    grid = np.ones((rows * (h + _GAP) - _GAP, cols * (w + _GAP) - _GAP, 3))
    for k in range(n):
        r, q = divmod(k, cols)
        grid[r * (h + _GAP):r * (h + _GAP) + h, q * (w + _GAP):q * (w + _GAP) + w] = x[k] if c == 3 else x[k, :, :, :1]
    return grid


def image_grid(images, path, nrow: int = 8, row_labels: Optional[Sequence[str]] = None,
               value_range: tuple[float, float] = (0.0, 1.0), title: str = "") -> str:
    """Images (N, C, H, W) in a grid of ``nrow`` per row, an optional label per row.

    Values are mapped from ``value_range`` to black..white (clipped); grey images are
    shown in grey, RGB in colour.
    """
    x = as_numpy(images, "images")
    grid = tile(x, nrow, value_range)
    n = x.shape[0]
    cols = max(1, min(int(nrow), n))
    rows = -(-n // cols)
    if row_labels is not None and len(row_labels) != rows:
        raise UsageError(f"image grid: {len(row_labels)} row labels for {rows} rows")
    h, w = x.shape[2], x.shape[3]
    scale = max(0.9, min(2.0, 48 / max(h, w)))  # small images drawn bigger, big ones smaller
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(2.5, scale * cols * w / 40 + (1.2 if row_labels else 0)),
                                    max(1.5, scale * rows * h / 40)))
    ax.imshow(grid, interpolation="nearest")
    ax.set_xticks([])
    if row_labels:
        ax.set_yticks([(r + 0.5) * (h + _GAP) for r in range(rows)], [str(t) for t in row_labels])
        ax.tick_params(length=0)
    else:
        ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title, fontsize=9)
    return save(fig, path)


def class_rows(samples, labels, class_names: Sequence[str] = (), per_row: int = 8):
    """Samples sorted into one row per class: ``(images, row names)``; as many per row as
    the smallest class has (at most ``per_row``)."""
    import torch

    labels = torch.as_tensor(labels).reshape(-1)
    classes = sorted(set(labels.tolist()))
    per = max(1, min(min(int((labels == c).sum()) for c in classes), per_row))
    rows = [torch.as_tensor(samples)[labels == c][:per] for c in classes]
    names = [class_names[c] if c < len(class_names) else f"class {c}" for c in classes]
    return torch.cat(rows), names


def plot_reconstructions(originals, reconstructions, path, value_range: tuple[float, float] = (0.0, 1.0)) -> str:
    """Originals in the top row, their reconstructions below."""
    a, b = as_numpy(originals, "originals"), as_numpy(reconstructions, "reconstructions")
    if a.shape != b.shape:
        raise UsageError(f"reconstruction plot: originals {a.shape} and reconstructions {b.shape} differ in shape")
    return image_grid(np.concatenate([a, b]), path, nrow=a.shape[0], row_labels=("original", "reconstruction"),
                      value_range=value_range)


def plot_interpolation(images, path, value_range: tuple[float, float] = (0.0, 1.0), title: str = "") -> str:
    """One strip of images, e.g. decodings along a line between two latent codes."""
    x = as_numpy(images, "images")
    return image_grid(x, path, nrow=max(1, x.shape[0]), value_range=value_range, title=title)
