"""Loads the compiled extension genreg._C once and remembers why, if it could not.

Nothing is ever compiled here: the extension is built at install time (setup.py).
A failed load is recorded, never retried per call; genreg then uses its reference
kernels. ``GENREG_DISABLE_EXT=1`` skips loading (to test the fallback path).
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass, field

_lock = threading.Lock()


@dataclass
class ExtensionState:
    loaded: bool
    error: str | None = None
    built_with_torch: str | None = None
    with_openmp: bool = False
    with_cuda: bool = False
    cpu_isa: str | None = None  # instruction set of the CPU conv1d loops (avx512, avx2, baseline)
    path: str | None = None
    ops: list[str] = field(default_factory=list)


_state: ExtensionState | None = None


def _load() -> ExtensionState:
    import torch

    if os.environ.get("GENREG_DISABLE_EXT", "").strip().lower() in ("1", "true", "yes", "on"):
        return ExtensionState(False, "disabled by GENREG_DISABLE_EXT")
    try:
        from genreg import _C  # registers the ops with the dispatcher
    except ImportError as exc:
        msg = " ".join(str(exc).split())
        if "No module named" in msg:
            msg = ("genreg._C is not built (installed without a compiler, with GENREG_NO_EXT=1, "
                   "or the build failed); reinstall with `pip install --no-build-isolation -e .`")
        else:
            msg = f"genreg._C failed to load with torch {torch.__version__}: {msg}"
        return ExtensionState(False, msg)
    built = getattr(_C, "BUILT_WITH_TORCH", None)
    state = ExtensionState(
        True,
        built_with_torch=built,
        with_openmp=bool(getattr(_C, "WITH_OPENMP", 0)),
        with_cuda=bool(getattr(_C, "WITH_CUDA", 0)),
        cpu_isa=getattr(_C, "CPU_ISA", None),
        path=getattr(_C, "__file__", None),
    )
    try:
        from . import _ops  # the op list (from genreg._C) and their fake-tensor rules
    except (ImportError, AttributeError) as exc:
        return ExtensionState(False, f"genreg._C does not match genreg's Python code ({' '.join(str(exc).split())}); "
                                     "rebuild it with `pip install --no-build-isolation -e .`")
    state.ops = list(_ops.OPS)
    return state


def extension_state() -> ExtensionState:
    """Load genreg._C if not yet tried; return what happened (cached)."""
    global _state
    if _state is None:
        with _lock:
            if _state is None:
                _state = _load()
    return _state


# The kernel op that decides whether a genreg.kernels function runs fused, where the names differ.
_KERNEL_OP = {"grad_penalty": "grad_penalty_forward", "conv1d_block": "conv1d_block_forward",
              "upconv1d_block": "upconv1d_block_forward"}


def has_kernel(op: str, device_type: str) -> bool:
    """Whether the extension provides ``op`` (an op of ``genreg._C.OPS``, or a function of
    genreg.kernels) for tensors on ``device_type`` ("cpu", "cuda")."""
    state = extension_state()
    return state.loaded and _has_dispatch_kernel(_KERNEL_OP.get(op, op), device_type, tuple(state.ops))


@functools.lru_cache(maxsize=None)
def _has_dispatch_kernel(op: str, device_type: str, ops: tuple[str, ...]) -> bool:
    # Cached: the dispatcher query costs ~5 us, as much as the penalty kernel at small
    # sizes, and a loaded extension's kernels never change.
    import torch

    key = {"cpu": "CPU", "cuda": "CUDA"}.get(device_type)
    return op in ops and key is not None and torch._C._dispatch_has_kernel_for_dispatch_key(f"genreg::{op}", key)
