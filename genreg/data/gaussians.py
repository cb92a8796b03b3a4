"""2-D Gaussian mixtures that show mode collapse: ``ring8`` and ``grid25``.

``ring8``   8 modes evenly spaced on a circle of radius 2, std 0.02 (as in Metz et al.,
            "Unrolled GANs", 2017)
``grid25``  25 modes on a 5x5 grid at {-4, -2, 0, 2, 4}^2, std 0.05 (as in Srivastava et al.,
            "VEEGAN", 2017)

Every sample belongs to one mode, and modes are balanced (counts differ by at most one).
``meta["centers"]`` (k, 2), ``meta["std"]`` and ``meta["mode"]`` (the mode of each sample)
let metrics count covered modes and high-quality samples (within 3 std of a centre).
With ``labels=True`` the mode index is also returned as the class label ``y``.
"""

from __future__ import annotations

import math
from typing import Optional

from ..errors import UsageError
from ._common import check_count, check_seed, check_split, torch_seed

DEFAULT_N = {"train": 10_000, "test": 2_000}


def _positive(name: str, key: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise UsageError(f"{name}: {key} must be a positive number, got {value}")
    return value


def _mixture(name: str, centers, split: str, seed: int, n: Optional[int], std: float, labels: bool):
    import torch

    from .base import ArrayDataset

    split_index = check_split(name, split)
    seed = check_seed(name, seed)
    n = check_count(name, "n", DEFAULT_N[split] if n is None else n)
    std = _positive(name, "std", std)
    gen = torch.Generator().manual_seed(torch_seed(seed, split_index))
    k = centers.shape[0]
    mode = (torch.arange(n) % k)[torch.randperm(n, generator=gen)]
    x = centers[mode] + std * torch.randn(n, 2, generator=gen)
    return ArrayDataset(x, y=mode if labels else None, class_names=[f"mode{i}" for i in range(k)] if labels else (),
                        name=name, meta={"centers": centers, "std": std, "mode": mode})


def ring8(split: str = "train", seed: int = 0, *, n: Optional[int] = None, radius: float = 2.0,
          std: float = 0.02, labels: bool = False):
    """8 Gaussian modes evenly spaced on a circle.

    split   ``train`` or ``test`` (independent streams of ``seed``)
    n       number of points (default 10000 for train, 2000 for test)
    radius  circle radius (default 2)
    std     standard deviation of each mode (default 0.02)
    labels  also return the mode index as ``y``

    Returns an ArrayDataset with ``x`` float32 (n, 2); meta: centers (8, 2), std, mode (n,).
    """
    import torch

    radius = _positive("ring8", "radius", radius)
    angle = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    centers = (radius * torch.stack([torch.cos(angle), torch.sin(angle)], 1)).float()
    return _mixture("ring8", centers, split, seed, n, std, labels)


def grid25(split: str = "train", seed: int = 0, *, n: Optional[int] = None, spacing: float = 2.0,
           std: float = 0.05, labels: bool = False):
    """25 Gaussian modes on a 5x5 grid centred on the origin.

    split    ``train`` or ``test`` (independent streams of ``seed``)
    n        number of points (default 10000 for train, 2000 for test)
    spacing  distance between neighbouring modes (default 2: centres at -4, -2, 0, 2, 4)
    std      standard deviation of each mode (default 0.05)
    labels   also return the mode index as ``y``

    Returns an ArrayDataset with ``x`` float32 (n, 2); meta: centers (25, 2), std, mode (n,).
    """
    import torch

    spacing = _positive("grid25", "spacing", spacing)
    ticks = (torch.arange(5, dtype=torch.float32) - 2) * spacing
    centers = torch.cartesian_prod(ticks, ticks)
    return _mixture("grid25", centers, split, seed, n, std, labels)
