"""Mode coverage on the 2-D Gaussian mixtures (ring8, grid25), as in the mode-collapse literature.

A sample is *high quality* when it lies within ``n_std`` (3) standard deviations of its
nearest mode centre (Euclidean distance; the mixtures' components are isotropic). Each
high-quality sample is assigned to that nearest mode. A mode is *covered* when it
receives at least ``min_count`` high-quality samples; by default
``min_count = max(1, ceil(min_fraction * N))`` with ``min_fraction = 0.01``, i.e. 1 % of
all samples (10 of 1000), so that a handful of stray samples does not count as covering
a mode, while a generator spreading its samples evenly (N / M per mode: 125 for ring8, 40
for grid25 at N = 1000) covers every mode comfortably.
"""

from __future__ import annotations

import math
from typing import Optional, Union

import numpy as np

from ..errors import UsageError
from ._arrays import as_numpy, as_points


def nearest_modes(samples, centres) -> tuple[np.ndarray, np.ndarray]:
    """``(index, distance)`` of each sample's nearest centre, both of shape (N,)."""
    x, c = as_points(samples, "samples"), as_points(centres, "centres")
    if x.shape[1] != c.shape[1]:
        raise UsageError(f"mode coverage: samples have {x.shape[1]} coordinates but centres have {c.shape[1]}")
    if c.shape[0] == 0:
        raise UsageError("mode coverage: centres is empty")
    d2 = ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    idx = np.argmin(d2, axis=1)
    return idx, np.sqrt(d2[np.arange(len(x)), idx])


def mode_coverage(samples, centres, std: Union[float, np.ndarray], n_std: float = 3.0,
                  min_count: Optional[int] = None, min_fraction: float = 0.01) -> dict:
    """Modes covered and share of high-quality samples.

    ``samples`` (N, 2), ``centres`` (M, 2), ``std`` the components' standard deviation (a
    scalar or one per mode). Returns ``{"modes_covered", "num_modes", "high_quality",
    "counts", "min_count"}``: ``high_quality`` the fraction of samples within ``n_std``
    std of their nearest centre, ``counts`` (M,) high-quality samples per mode.
    """
    idx, dist = nearest_modes(samples, centres)
    n, m = len(idx), as_numpy(centres, "centres").shape[0]
    if n == 0:
        raise UsageError("mode coverage: samples is empty")
    std_arr = as_numpy(std, "std").reshape(-1)
    if std_arr.size not in (1, m) or np.any(std_arr <= 0):
        raise UsageError(f"mode coverage: std must be one positive value or one per mode ({m}), got {std_arr}")
    radius = n_std * (std_arr[0] if std_arr.size == 1 else std_arr[idx])
    good = dist <= radius
    counts = np.bincount(idx[good], minlength=m)
    if min_count is None:
        if not 0 <= min_fraction <= 1:
            raise UsageError(f"mode coverage: min_fraction must lie in [0, 1], got {min_fraction}")
        min_count = max(1, math.ceil(min_fraction * n))
    if min_count < 1:
        raise UsageError(f"mode coverage: min_count must be >= 1, got {min_count}")
    return {"modes_covered": int((counts >= min_count).sum()), "num_modes": m,
            "high_quality": float(good.mean()), "counts": counts, "min_count": int(min_count)}
