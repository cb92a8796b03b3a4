"""Sample figures as PNG, chosen by the shape of one sample.

``(2,)``                 scatter plot of generated points over real ones
``(C, H, W)``, C in 1/3  image grid (values clipped to the data's range)
anything else            up to 8 traces stacked at offsets (``(L,)`` or ``(C, L)``)

Reconstruction runs show inputs and their reconstructions side by side.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import torch
from torch import Tensor


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_figure(path: Path, fake: Tensor, real: Optional[Tensor] = None, *, title: str = "",
                pairs: bool = False) -> Path:
    """Write ``fake`` samples (and ``real`` ones for reference) to ``path``.

    ``pairs=True``: ``real[i]`` is the input of ``fake[i]`` (reconstructions).
    """
    fake = fake.detach().float().cpu()
    real = real.detach().float().cpu() if real is not None else None
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = tuple(fake.shape[1:])
    if shape == (2,) and not pairs:
        _scatter(path, fake, real, title)
    elif len(shape) == 3 and shape[0] in (1, 3):
        _image_grid(path, fake, real if pairs else None, real)
    else:
        _traces(path, fake, real if pairs else None, title)
    return path


def _scatter(path: Path, fake: Tensor, real: Optional[Tensor], title: str) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    if real is not None:
        ax.scatter(real[:, 0], real[:, 1], s=4, alpha=0.4, label="data", color="tab:blue")
    ax.scatter(fake[:, 0], fake[:, 1], s=4, alpha=0.6, label="generated", color="tab:orange")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _traces(path: Path, fake: Tensor, inputs: Optional[Tensor], title: str) -> None:
    # one axes with the traces stacked at offsets: many subplots are slow to draw
    plt = _pyplot()
    n = min(len(fake), 8)
    flat = fake[:n].reshape(n, -1, fake.shape[-1])  # (n, channels, length)
    ins = inputs[:n].reshape(n, -1, inputs.shape[-1]) if inputs is not None else None
    spread = float((ins if ins is not None else flat).abs().max()) or 1.0
    fig, ax = plt.subplots(figsize=(8, 1.0 + 0.9 * n), dpi=100)
    for i in range(n):
        offset = -2.2 * spread * i
        if ins is not None:
            ax.plot((ins[i].T + offset).numpy(), lw=0.7, color="0.6")
        ax.plot((flat[i].T + offset).numpy(), lw=0.9, color="tab:orange")
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _image_grid(path: Path, fake: Tensor, inputs: Optional[Tensor], real: Optional[Tensor]) -> None:
    from PIL import Image

    ref = real if real is not None else fake
    lo, hi = float(ref.min()), float(ref.max())
    if hi <= lo:
        hi = lo + 1.0
    n = min(len(fake), 64)
    tiles = fake[:n] if inputs is None else torch.stack([t for pair in zip(inputs[:n // 2], fake[:n // 2]) for t in pair])
    cols = int(math.ceil(math.sqrt(len(tiles))))
    if inputs is not None and cols % 2:
        cols += 1
    rows = int(math.ceil(len(tiles) / cols))
    c, h, w = tiles.shape[1:]
    grid = torch.zeros(c, rows * (h + 2), cols * (w + 2))
    for i, tile in enumerate(tiles):
        r, q = divmod(i, cols)
        grid[:, r * (h + 2) + 1:r * (h + 2) + 1 + h, q * (w + 2) + 1:q * (w + 2) + 1 + w] = tile
    pixels = ((grid.clamp(lo, hi) - lo) / (hi - lo) * 255).round().to(torch.uint8)
    array = pixels.permute(1, 2, 0).squeeze(-1).numpy() if c == 1 else pixels.permute(1, 2, 0).numpy()
    Image.fromarray(array).save(path)
