"""Point figures: scatter of 2-D samples with mode centres and real points."""

from __future__ import annotations

from typing import Optional

from ..metrics._arrays import as_points
from . import pyplot, save


def plot_points_2d(samples, path, centres=None, std: Optional[float] = None, n_std: float = 3.0,
                   real=None, title: str = "", label: str = "generated") -> str:
    """Scatter of the first two coordinates of points (N, D >= 2) (D = 1: against the index),
    with mode centres (and their ``n_std`` circles) and optional real points in grey."""
    s = _xy(samples, "samples")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    if real is not None:
        r = _xy(real, "real")
        ax.scatter(r[:, 0], r[:, 1], s=3, alpha=0.3, color="0.6", label="real")
    ax.scatter(s[:, 0], s[:, 1], s=3, alpha=0.6, color="tab:blue", label=f"{label} ({len(s)})")
    if centres is not None:
        c = _xy(centres, "centres")
        ax.scatter(c[:, 0], c[:, 1], marker="x", color="tab:red", s=40,
                   label=f"{len(c)} mode centres" + (f" (std {std:g})" if std else ""))
        if std is not None:
            for cx, cy in c:
                ax.add_patch(plt.Circle((cx, cy), n_std * float(std), fill=False, color="tab:red", lw=0.6, alpha=0.6))
    ax.set_aspect("equal", adjustable="datalim")
    ax.margins(0.08)
    # below the axes, so it never hides a mode
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.05), ncol=3, frameon=False)
    if title:
        ax.set_title(title, fontsize=9)
    return save(fig, path)


def _xy(x, name: str):
    import numpy as np

    arr = as_points(x, name)
    if arr.shape[1] == 1:
        return np.concatenate([np.arange(len(arr))[:, None], arr], axis=1)
    return arr[:, :2]
