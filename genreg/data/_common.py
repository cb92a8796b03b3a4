"""Small checks and seeding shared by the data sets (numpy only, no torch)."""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from ..errors import UsageError

# Simulated splits come from independent random streams of the same seed, so a sample
# never appears in both and the test set does not depend on how large train is.
SPLITS = ("train", "test")


class DataWarning(UserWarning):
    """Something was dropped or changed while loading data (the message says what)."""


def warn(message: str) -> None:
    warnings.warn(message, DataWarning, stacklevel=3)


def check_split(name: str, split: str, allowed: Sequence[str] = SPLITS) -> int:
    """The split's index in ``allowed``; an unknown split is a one-line error."""
    if split not in allowed:
        raise UsageError(f"{name}: unknown split {split!r}; splits are: {', '.join(allowed)}")
    return list(allowed).index(split)


def check_seed(name: str, seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UsageError(f"{name}: seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_choice(name: str, param: str, value, choices: Sequence[str]):
    if value not in choices:
        raise UsageError(f"{name}: {param} must be one of {', '.join(choices)}; got {value!r}")
    return value


def check_count(name: str, param: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise UsageError(f"{name}: {param} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_fraction(name: str, param: str, value) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"{name}: {param} must lie in [0, 1], got {value}")
    return value


def as_range(name: str, param: str, value, *, positive: bool = False) -> tuple[float, float]:
    """A fixed value or a (low, high) pair, as a (low, high) pair of floats."""
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        low = high = float(value)
    else:
        try:
            low, high = (float(v) for v in value)
        except (TypeError, ValueError):
            raise UsageError(f"{name}: {param} must be a number or a pair low,high; got {value!r}") from None
    if not (np.isfinite(low) and np.isfinite(high)) or low > high:
        raise UsageError(f"{name}: {param} must be finite with low <= high, got ({low}, {high})")
    if positive and low <= 0:
        raise UsageError(f"{name}: {param} must be > 0, got ({low}, {high})")
    return low, high


def stream(seed: int, *keys: int) -> np.random.Generator:
    """An independent numpy random stream for (seed, split, chunk, ...)."""
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


def torch_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed for torch.Generator derived from (seed, keys) like :func:`stream`."""
    state = np.random.SeedSequence([seed, *keys]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 ^ int(state[1])
