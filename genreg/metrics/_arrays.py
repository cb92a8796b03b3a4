"""Turning tensors / arrays into float64 numpy arrays with checked shapes."""

from __future__ import annotations

import numpy as np

from ..errors import UsageError


def as_numpy(x, name: str) -> np.ndarray:
    """A float64 numpy copy of a torch tensor, numpy array or nested list."""
    if hasattr(x, "detach"):  # a torch tensor, without importing torch here
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{name}: expected numbers, got {type(x).__name__} ({exc})") from None
    return arr


def as_traces(x, name: str) -> np.ndarray:
    """(N, L) from traces given as (N, L) or (N, 1, L)."""
    arr = as_numpy(x, name)
    if arr.ndim == 3 and arr.shape[1] == 1:
        arr = arr[:, 0, :]
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise UsageError(f"{name}: expected traces of shape (N, L) or (N, 1, L), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise UsageError(f"{name}: contains non-finite values")
    return arr


def as_points(x, name: str, dim: int | None = None) -> np.ndarray:
    """(N, D) points."""
    arr = as_numpy(x, name)
    if arr.ndim != 2 or (dim is not None and arr.shape[1] != dim):
        want = f"(N, {dim})" if dim is not None else "(N, D)"
        raise UsageError(f"{name}: expected an array of shape {want}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise UsageError(f"{name}: contains non-finite values")
    return arr
