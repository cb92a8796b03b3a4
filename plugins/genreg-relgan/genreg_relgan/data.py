"""Two moons: two interleaved half circles in the plane, a classic 2-D toy set."""

import math

import torch
from genreg.data.base import ArrayDataset
from genreg.errors import UsageError


def moons(split: str = "train", seed: int = 0, n: int = 4096, noise: float = 0.05) -> ArrayDataset:
    """``n`` points (half on each moon), Gaussian ``noise`` std; test split uses another stream."""
    if split not in ("train", "test"):
        raise UsageError(f"moons: split must be 'train' or 'test', got {split!r}")
    if n < 2 or noise < 0:
        raise UsageError(f"moons: need n >= 2 and noise >= 0, got n={n}, noise={noise}")
    gen = torch.Generator().manual_seed(seed * 2 + (split == "test"))
    y = torch.arange(n) % 2
    t = torch.rand(n, generator=gen) * math.pi
    upper = torch.stack([torch.cos(t), torch.sin(t)], 1)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], 1)
    x = torch.where(y[:, None] == 0, upper, lower) + noise * torch.randn(n, 2, generator=gen)
    return ArrayDataset(x, y=y.long(), class_names=("upper", "lower"), name="moons")
