"""Inputs of ``genreg apply``, read in batches so that files larger than memory stream through.

A source is opened from a data spec and its ``key=value`` parameters, as genreg reads data
everywhere (:func:`genreg.data.split_spec`, :func:`genreg.data.parse_params`):

``npy:PATH``    memory-mapped (``np.load(mmap_mode="r")``): batches are read as needed.
``npz:PATH``    the chosen member (``x_key``) is read sequentially from the archive, stored or
                compressed alike (zip members stream through ``zipfile``), one batch of rows
                at a time; labels (``y_key``), small, are read whole and passed through.
                Fortran-ordered members are the exception: they are read whole.
``images:DIR``  the file list is made first (one sub-folder per class, as for training),
                then images are decoded one batch at a time; ``size`` and ``channels``
                default to the model's input.
anything else   a registered data set (``radio``, ``galaxies``, ...), built in memory with
                its parameters (``split`` defaults to ``test``, the held-out data).

File sources take every sample in file order (``split=all``) unless ``split=train|test``
is given (the same fixed partition as in training). Layouts are adapted as in training
(``(N, L)`` traces gain a channel axis, ``(N, H, W, C)`` images move channels first;
``layout=``) and outputs are given back in the file's own layout.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

import numpy as np

from ..errors import UsageError

FILE_SOURCES = ("npy", "npz", "images")
_READ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError)


@dataclass
class Source:
    """A batched input: ``n`` samples of ``raw_shape`` (the file's layout); ``batches(size)``
    yields raw float32-able arrays; ``to_model`` / ``from_model`` convert layouts."""

    name: str
    n: int
    raw_shape: tuple
    dtype: np.dtype
    read: Callable[[int], Iterator[np.ndarray]]
    layout: str = "keep"  # keep | channel | nhwc
    extras: dict = field(default_factory=dict)  # per-sample arrays passed through (labels, file names)
    input_range: Optional[tuple] = None  # pixel range of image inputs, when the source knows it

    @property
    def model_shape(self) -> tuple:
        return tuple(self.to_model(np.empty((1, *self.raw_shape), np.float32)).shape[1:])

    def to_model(self, batch: np.ndarray) -> np.ndarray:
        if self.layout == "channel":
            return batch[:, None]
        if self.layout == "nhwc":
            return np.moveaxis(batch, -1, 1)
        return batch

    def from_model(self, batch: np.ndarray) -> np.ndarray:
        if self.layout == "channel":
            return batch[:, 0]
        if self.layout == "nhwc":
            return np.moveaxis(batch, 1, -1)
        return batch

    def batches(self, size: int) -> Iterator[np.ndarray]:
        return self.read(size)


def _layout_of(name: str, shape: tuple, layout: str) -> str:
    """What the training loaders' ``layout`` rule does to arrays of ``shape`` (keep|channel|nhwc)."""
    from ..data.files import _layout

    if layout != "auto":
        return layout
    probe = _layout(name, np.empty((1, *shape[1:]), np.float32), "auto")
    if probe.ndim == len(shape) + 1:
        return "channel"
    return "nhwc" if probe.shape[1:] != tuple(shape[1:]) else "keep"


def _check_dtype(name: str, what: str, dtype: np.dtype) -> None:
    if dtype.kind not in "fiub":
        raise UsageError(f"{name}: {what} has dtype {dtype}; expected real numbers (float, int or uint8)")


def _selection(name: str, n: int, params: dict, labels: Optional[np.ndarray]) -> Optional[np.ndarray]:
    """None (every sample, in order) or the sorted indices of split=train|test."""
    from ..data.files import split_indices

    split = params.get("split", "all")
    if split == "all":
        return None
    return split_indices(n, split, params.get("test_fraction", 0.1), params.get("split_seed", 0), labels, name=name)


def _rows_in_order(chunks: Iterator[np.ndarray], keep: Optional[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """Re-batch consecutive row chunks into batches of ``size``, keeping only rows in ``keep``."""
    pending, start = [], 0
    for chunk in chunks:
        if keep is not None:
            first = start
            start += len(chunk)
            lo, hi = np.searchsorted(keep, [first, start])
            chunk = chunk[keep[lo:hi] - first]
        pending.append(chunk)
        while sum(len(p) for p in pending) >= size:
            whole = np.concatenate(pending) if len(pending) > 1 else pending[0]
            yield whole[:size]
            pending = [whole[size:]] if len(whole) > size else []
    rest = [p for p in pending if len(p)]
    if rest:
        yield np.concatenate(rest)


def _npy_source(path: str, params: dict) -> Source:
    from ..data.files import _check_file, _read_npy

    path = _check_file("npy", path)
    try:
        x = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise UsageError(f"npy: cannot read {path}: {' '.join(str(exc).split())}") from None
    except (OSError, EOFError) as exc:
        raise UsageError(f"npy: cannot read {path}: {exc or type(exc).__name__}") from None
    if not isinstance(x, np.ndarray):
        raise UsageError(f"npy: {path} is a .npz archive; use npz:{path}")
    _check_dtype("npy", os.path.basename(path), x.dtype)
    if x.ndim < 2 or x.shape[0] == 0:
        raise UsageError(f"npy: {path} must hold samples along its first axis, got shape {x.shape}")
    labels = None
    if params.get("y_path"):
        labels = _read_npy("npy", _check_file("npy", params["y_path"]), "label file")
        if labels.shape != (x.shape[0],):
            raise UsageError(f"npy: label file must have shape ({x.shape[0]},) (one label per sample), got {labels.shape}")
    keep = _selection("npy", x.shape[0], params, labels)

    def read(size):
        idx = np.arange(x.shape[0]) if keep is None else keep
        for i in range(0, len(idx), size):
            part = idx[i:i + size]
            yield np.asarray(x[part[0]:part[-1] + 1] if keep is None else x[part])

    n = x.shape[0] if keep is None else len(keep)
    extras = {} if labels is None else {"y": labels if keep is None else labels[keep]}
    return Source("npy", n, tuple(x.shape[1:]), x.dtype, read, _layout_of("npy", x.shape, params.get("layout", "auto")),
                  extras)


def _npz_member(path: str, archive: zipfile.ZipFile, key: str):
    """(file object positioned at the data, shape, fortran_order, dtype) of member ``key``."""
    fh = archive.open(key + ".npy")
    version = np.lib.format.read_magic(fh)
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    if version not in readers:
        raise UsageError(f"npz: key {key!r} of {path} has .npy format version {version}, not readable in a stream")
    shape, fortran, dtype = readers[version](fh)
    return fh, shape, fortran, dtype


def _npz_source(path: str, params: dict) -> Source:
    from ..data.files import _check_file, _pick_key

    path = _check_file("npz", path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UsageError(f"npz: cannot read {path}: {exc}") from None
    keys = [n[:-4] for n in archive.namelist() if n.endswith(".npy")]
    xk = _pick_key("npz", path, keys, (), "x", params.get("x_key", "auto"), required=True)
    tk = _pick_key("npz", path, keys, (xk,), "target", params.get("target_key", "auto"), required=False)
    yk = _pick_key("npz", path, keys, (xk, tk), "y", params.get("y_key", "auto"), required=False)
    try:
        fh, shape, fortran, dtype = _npz_member(path, archive, xk)
        fh.close()
    except _READ_ERRORS as exc:
        raise UsageError(f"npz: cannot read key {xk!r} of {path}: {' '.join(str(exc).split())}") from None
    _check_dtype("npz", f"key {xk!r}", dtype)
    if len(shape) < 2 or shape[0] == 0:
        raise UsageError(f"npz: key {xk!r} of {path} must hold samples along its first axis, got shape {shape}")
    labels = None
    if yk is not None:
        try:
            with np.load(path, allow_pickle=False) as whole:
                labels = whole[yk]
        except _READ_ERRORS as exc:
            raise UsageError(f"npz: cannot read key {yk!r} of {path}: {' '.join(str(exc).split())}") from None
        if labels.shape != (shape[0],):
            raise UsageError(f"npz: key {yk!r} must have shape ({shape[0]},) (one label per sample), got {labels.shape}")
    keep = _selection("npz", shape[0], params, labels)
    row = int(np.prod(shape[1:])) * dtype.itemsize

    def chunks(size):
        fh, _, _, _ = _npz_member(path, archive, xk)
        with fh:
            if fortran:  # rows are not contiguous on disk: read it whole (documented)
                yield np.asfortranarray(np.frombuffer(fh.read(), dtype).reshape(shape[::-1]).T)
                return
            for start in range(0, shape[0], size):
                k = min(size, shape[0] - start)
                try:
                    data = fh.read(k * row)
                except _READ_ERRORS as exc:
                    raise UsageError(f"npz: cannot read key {xk!r} of {path} at row {start}: {exc}") from None
                if len(data) != k * row:
                    raise UsageError(f"npz: key {xk!r} of {path} is truncated (row {start + len(data) // max(row, 1)} "
                                     f"of {shape[0]})")
                yield np.frombuffer(data, dtype).reshape((k, *shape[1:]))

    n = shape[0] if keep is None else len(keep)
    extras = {} if labels is None else {"y": labels if keep is None else labels[keep]}
    return Source("npz", n, tuple(shape[1:]), dtype, lambda size: _rows_in_order(chunks(size), keep, size),
                  _layout_of("npz", shape, params.get("layout", "auto")), extras)


def _images_source(path: str, params: dict, model_shape: tuple) -> Source:
    from ..data.files import IMAGE_EXTENSIONS, _list_images, _read_image

    folder = os.path.expanduser(os.fspath(path or ""))
    if not os.path.isdir(folder):
        raise UsageError(f"images: folder not found: {folder}")
    default_ch, default_size = (model_shape[0], model_shape[-1]) if len(model_shape) == 3 else (3, 128)
    channels, size = params.get("channels", default_ch), params.get("size", default_size)
    if channels not in (1, 3):
        raise UsageError(f"images: channels must be 1 or 3, got {channels!r}")
    low, high = (float(v) for v in params.get("value_range", (0.0, 1.0)))
    if not low < high:
        raise UsageError(f"images: value_range needs low < high, got ({low}, {high})")
    classes = sorted(d for d in os.listdir(folder) if not d.startswith(".") and os.path.isdir(os.path.join(folder, d)))
    files, labels = [], []
    for label, cls in enumerate(classes):
        found = _list_images(os.path.join(folder, cls))[0]
        files += found
        labels += [label] * len(found)
    if not classes:
        files = _list_images(folder)[0]
    if not files:
        raise UsageError(f"images: no images in {folder} ({', '.join(IMAGE_EXTENSIONS)})")
    y = np.array(labels, np.int64) if classes else None
    keep = _selection("images", len(files), params, y)
    chosen = list(range(len(files))) if keep is None else keep.tolist()
    mode, crop = ("RGB" if channels == 3 else "L"), bool(params.get("crop", True))

    def read(batch):
        for i in range(0, len(chosen), batch):
            pixels = []
            for j in chosen[i:i + batch]:
                try:
                    pixels.append(_read_image(files[j], size, mode, crop))
                except Exception as exc:  # Pillow raises many types for a broken file
                    raise UsageError(f"images: cannot read image {files[j]}: "
                                     f"{' '.join(str(exc).split()) or type(exc).__name__}") from None
            yield np.stack(pixels).astype(np.float32) / 255.0 * (high - low) + low

    extras = {"files": np.array([files[j] for j in chosen])}
    if y is not None:
        extras["y"] = y[chosen]
        extras["class_names"] = np.array(classes)
    return Source("images", len(chosen), (channels, size, size), np.dtype(np.float32), read, "keep", extras,
                  input_range=(low, high))


def _dataset_source(name: str, spec: str, params: dict) -> Source:
    from ..data import load_dataset

    params = dict(params)
    split, seed = params.pop("split", "test"), params.pop("seed", 0)
    try:
        seed = int(seed)
    except ValueError:
        raise UsageError(f"dataset {name!r}: seed={seed!r} is not an integer") from None
    data = load_dataset(spec, split=split, seed=seed, **params)
    x = data.x.float().numpy()

    def read(size):
        for i in range(0, len(x), size):
            yield x[i:i + size]

    extras = {} if data.y is None else {"y": data.y.numpy()}
    vr = data.meta.get("value_range")
    return Source(name, len(x), tuple(x.shape[1:]), x.dtype, read, "keep", extras,
                  input_range=None if vr is None else tuple(vr))


def open_source(spec: str, params: dict[str, Any], model_shape: tuple = ()) -> Source:
    """The batched input named by a data ``spec`` with ``params`` (strings are converted to
    the data set's parameter types; unknown names are a one-line error)."""
    from .. import get_entry
    from ..data import parse_params, split_spec

    name, path = split_spec(spec)
    if name not in FILE_SOURCES:
        return _dataset_source(name, spec, params)
    factory = get_entry("dataset", name).load()
    if path is None and not params.get("path"):
        raise UsageError(f"dataset {name!r} needs a path: use {name}:PATH")
    reserved = {k: params[k] for k in ("split", "seed") if k in params}  # not factory parameters
    params = parse_params(name, factory, {k: v for k, v in params.items() if k not in reserved})
    params["split"] = reserved.get("split", "all")
    path = params.pop("path", None) or path
    if params.get("nonfinite", "error") != "error" or params.get("bad_images", "error") != "error":
        raise UsageError(f"{name}: apply keeps every input sample (one output row per input row); "
                         "nonfinite=drop and bad_images=skip are not supported here")
    if name == "npy":
        return _npy_source(path, params)
    if name == "npz":
        return _npz_source(path, params)
    return _images_source(path, params, model_shape)
