"""How the process's C allocator hands memory back: genreg's compute commands keep it.

By default glibc's malloc gives freed memory back to the operating system past a
threshold that moves with the allocation history: a large block is unmapped when freed
(``munmap``) and the next tensor of that size is fresh memory, a page fault per 4 KiB
page, each zero-filled by the kernel. A training step that allocates its gradients and
activations anew every step then pays for zeroing them on top of computing them.
Measured on 2 CPU cores (the ``vae-galaxies`` preset, 49 M weights, whose two big
gradients are 98 MB each): 285 samples/s with glibc's default, 355 with freed memory
kept (1.25x); two copies of the same hand-written loop in one process differed by up
to 6 % from page faults alone. Kernel timings suffer the same way: the fused penalty at
64x3x128x128 took 2.7-4.3 ms with ~400-1200 faults per call after eager runs, 1.8 ms
with none, so every benchmark keeps freed memory too.

:func:`keep_freed_memory` raises both thresholds (``M_TRIM_THRESHOLD``,
``M_MMAP_THRESHOLD``, 1 GiB) so freed blocks stay in the heap and are reused: what
PyTorch's CPU performance guide gets from jemalloc or tcmalloc, with glibc's own
``mallopt``. The cost: the process keeps its peak heap until it exits. ``genreg``'s
compute commands (train, eval, reproduce, bench, sample, apply) call it at start-up;
``GENREG_KEEP_FREED_MEMORY=0`` leaves malloc as it is. A library call
(:func:`genreg.train` in your own program) does not touch your process's allocator:
call this function yourself if you want the same.

Source: glibc ``mallopt(3)``; PyTorch performance tuning guide, "Switch memory
allocator" (CPU).
"""

from __future__ import annotations

import os
import sys

ENV = "GENREG_KEEP_FREED_MEMORY"
_THRESHOLD = 1 << 30  # 1 GiB: larger than any single block a genreg step frees
_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse; returns whether it applied
    (False off Linux, on a C library without ``mallopt`` such as musl, or when glibc
    refuses the threshold). Idempotent."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    _applied = bool(mallopt(m_trim_threshold, _THRESHOLD)) and bool(mallopt(m_mmap_threshold, _THRESHOLD))
    return _applied


def keep_for_command() -> bool:
    """:func:`keep_freed_memory` unless ``GENREG_KEEP_FREED_MEMORY`` is 0/false/no/off."""
    if os.environ.get(ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return keep_freed_memory()
