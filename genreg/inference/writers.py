"""Output files written with bounded memory: rows go into temporary ``.npy`` memory maps,
which are then packed into the ``.npz`` (or moved to the ``.npy``) in one atomic rename.

The ``.npz`` is a plain uncompressed zip of ``.npy`` members, as ``np.savez`` writes it
(``np.load`` reads it, also with ``mmap_mode`` after extraction); members are copied in
1 MiB pieces, so neither the arrays nor the archive are ever held in memory. A failure
leaves no partial output (temporaries are removed; an existing file is only replaced at
the end).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path
import numpy as np

from ..errors import UsageError

COPY_BYTES = 1 << 20


def check_output(path, suffixes: tuple[str, ...]) -> Path:
    """``path`` as a Path whose suffix is one of ``suffixes`` and whose folder exists."""
    out = Path(path)
    if out.suffix.lower() not in suffixes:
        raise UsageError(f"--out must name a {' or '.join(suffixes)} file, got {str(path)!r}")
    if out.is_dir():
        raise UsageError(f"--out {str(path)!r} is a folder, expected a file")
    if not out.parent.exists():
        raise UsageError(f"--out: folder {str(out.parent)!r} does not exist")
    return out


class OutputStore:
    """Arrays for one output file; use as a context manager (temporaries go on exit)."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", dir=self.out.parent))
        self.arrays: dict[str, np.ndarray] = {}

    def __enter__(self) -> "OutputStore":
        return self

    def __exit__(self, *exc) -> None:
        self.arrays.clear()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def array(self, key: str, shape: tuple, dtype=np.float32) -> np.ndarray:
        """A writable (memory-mapped) array for member ``key``."""
        self.arrays[key] = np.lib.format.open_memmap(self.tmp / f"{key}.npy", mode="w+", dtype=dtype,
                                                     shape=tuple(int(s) for s in shape))
        return self.arrays[key]

    def put(self, key: str, value: np.ndarray) -> None:
        """A small array kept as it is (labels, file names)."""
        self.arrays[key] = np.asarray(value)

    def commit_npz(self) -> Path:
        part = self.tmp / "out.npz"
        with zipfile.ZipFile(part, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            for key, array in self.arrays.items():
                with archive.open(f"{key}.npy", "w", force_zip64=True) as fh:
                    _write_npy(fh, array)
        os.replace(part, self.out)
        return self.out

    def commit_npy(self, key: str) -> Path:
        array = self.arrays[key]
        if isinstance(array, np.memmap):
            array.flush()
            os.replace(array.filename, self.out)
        else:
            np.save(self.out, array)
        return self.out


def _write_npy(fh, array: np.ndarray) -> None:
    header = {"descr": np.lib.format.dtype_to_descr(array.dtype), "fortran_order": False,
              "shape": tuple(array.shape)}
    np.lib.format.write_array_header_2_0(fh, header)
    if array.ndim == 0 or array.shape[0] == 0:
        fh.write(np.ascontiguousarray(array).tobytes())
        return
    row = max(array[0].nbytes, 1)
    step = max(1, COPY_BYTES // row)
    for start in range(0, array.shape[0], step):
        fh.write(np.ascontiguousarray(array[start:start + step]).tobytes())

