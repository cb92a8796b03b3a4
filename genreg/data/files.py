"""Users' own data: numpy arrays (``npz:PATH``, ``npy:PATH``) and image folders (``images:DIR``).

Arrays hold one sample per row. ``x`` is converted to float32 (``uint8`` is scaled by 1/255,
as for 8-bit images); labels must be non-negative integers and become int64. The layout
is adapted to what the models expect (``layout="auto"``):

* 2-D ``(N, L)`` with L > 4: traces, given a channel axis -> ``(N, 1, L)``
  (2-D ``(N, D)`` with D <= 4 stays as points, e.g. a 2-D mixture)
* 4-D ``(N, H, W, C)`` with C in 1, 3, 4 and ``N, C, H, W`` not plausible: channels-last
  images, moved to ``(N, C, H, W)``
* anything else is kept as it is; ``layout="keep"`` turns all adaptation off,
  ``layout="channel"`` always inserts a channel axis at 1, ``layout="nhwc"`` always moves
  the last axis to 1.

Splits: files hold fixed data, so ``train`` and ``test`` are a fixed partition of it
(``test_fraction`` of the samples, chosen by ``split_seed``, stratified by class when
labels exist, at least one per class of two or more samples) that does not change with the run's ``seed``; ``all`` is every sample.

Nothing is dropped silently: samples with NaN/Inf are an error unless ``nonfinite="drop"``
(then a warning says how many went), unreadable images are an error unless
``bad_images="skip"`` (likewise), and files in an image folder that are not images are
reported by a warning with their count (hidden files, starting with ``.``, are ignored).
"""

from __future__ import annotations

import os
import zipfile
from typing import Literal, Optional

import numpy as np

from ..errors import UsageError
from ._common import check_choice, check_count, warn
from .image_decode import NOTE_CLIPPED, NOTE_FRAMES, NOTE_ICC, read_image

FILE_SPLITS = ("train", "test", "all")
LAYOUTS = ("auto", "keep", "channel", "nhwc")
_NOTE_TEXT = {NOTE_FRAMES: "have several frames (animated or multi-page); the first frame was used",
              NOTE_CLIPPED: "had values outside their full scale (float outside [0, 1] or negative ints), clipped",
              NOTE_ICC: "carry an ICC profile that could not be used; their stored values were kept"}
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


# ----------------------------------------------------------------------------- splits

def split_indices(n: int, split: str, test_fraction: float, split_seed: int, labels: Optional[np.ndarray] = None,
                  *, name: str = "data") -> np.ndarray:
    """Sorted indices of the split; the partition depends only on n, the labels and split_seed."""
    check_choice(name, "split", split, FILE_SPLITS)
    test_fraction = float(test_fraction)
    if not 0.0 <= test_fraction < 1.0:
        raise UsageError(f"{name}: test_fraction must lie in [0, 1), got {test_fraction}")
    if split == "all":
        return np.arange(n)
    rng = np.random.default_rng(np.random.SeedSequence([int(split_seed), 0x5B1D]))
    groups = [np.arange(n)] if labels is None else [np.flatnonzero(labels == c) for c in np.unique(labels)]
    test = []
    for group in groups:
        chosen = rng.permutation(group)
        count = int(round(len(group) * test_fraction))
        if test_fraction > 0 and len(group) >= 2:
            count = max(count, 1)  # tiny classes still get one test sample
        test.append(chosen[:count])
    is_test = np.zeros(n, bool)
    is_test[np.concatenate(test)] = True
    picked = np.flatnonzero(is_test if split == "test" else ~is_test)
    if picked.size == 0:
        raise UsageError(f"{name}: the {split} split is empty ({n} samples, test_fraction={test_fraction}); "
                         "change test_fraction or use split=all")
    return picked


# ----------------------------------------------------------------------------- arrays

def _as_float(name: str, what: str, array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype.kind in "fiub":
        return array.astype(np.float32)
    raise UsageError(f"{name}: {what} has dtype {array.dtype}; expected real numbers (float, int or uint8)")


def _as_labels(name: str, what: str, array: np.ndarray, n: int) -> np.ndarray:
    if array.shape != (n,):
        raise UsageError(f"{name}: {what} must have shape ({n},) (one label per sample), got {array.shape}")
    if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        array = array.astype(np.int64)
    if array.dtype.kind not in "iub":
        raise UsageError(f"{name}: {what} has dtype {array.dtype}; labels must be integers")
    if array.size and array.min() < 0:
        raise UsageError(f"{name}: {what} has negative labels (min {array.min()}); labels must be 0, 1, 2, ...")
    return array.astype(np.int64)


def _layout(name: str, array: np.ndarray, layout: str) -> np.ndarray:
    if layout == "keep":
        return array
    if layout == "channel":
        return array[:, None]
    if layout == "nhwc":
        return np.moveaxis(array, -1, 1)
    if array.ndim == 2 and array.shape[1] > 4:
        return array[:, None]
    if array.ndim == 4 and array.shape[-1] in (1, 3, 4) and array.shape[1] not in (1, 3, 4):
        return np.moveaxis(array, -1, 1)
    return array


def _finite_rows(name: str, arrays: dict[str, np.ndarray], nonfinite: str) -> np.ndarray:
    """A mask of the samples whose every value is finite; an error unless nonfinite == "drop"."""
    n = next(iter(arrays.values())).shape[0]
    good = np.ones(n, bool)
    for what, array in arrays.items():
        bad_rows = ~np.isfinite(array.reshape(n, -1)).all(axis=1)
        if bad_rows.any() and nonfinite == "error":
            raise UsageError(f"{name}: {what} has {int(bad_rows.sum())} samples with NaN or Inf (first at index "
                             f"{int(np.flatnonzero(bad_rows)[0])}); fix the data or pass nonfinite=drop")
        good &= ~bad_rows
    if not good.all():
        warn(f"{name}: dropped {int((~good).sum())} of {n} samples with NaN or Inf values")
    return good


def _build(name: str, path: str, x: np.ndarray, target: Optional[np.ndarray], y: Optional[np.ndarray], *,
           x_what: str, target_what: str, y_what: str, split: str, test_fraction: float, split_seed: int,
           nonfinite: str, layout: str):
    import torch

    from .base import ArrayDataset

    check_choice(name, "nonfinite", nonfinite, ("error", "drop"))
    check_choice(name, "layout", layout, LAYOUTS)
    if x.ndim < 2:
        raise UsageError(f"{name}: {x_what} must have a sample axis and at least one more, got shape {x.shape}")
    n = x.shape[0]
    if n == 0:
        raise UsageError(f"{name}: {x_what} holds no samples (shape {x.shape})")
    x = _as_float(name, x_what, x)
    if target is not None:
        if target.shape != x.shape:
            raise UsageError(f"{name}: {target_what} has shape {target.shape}, but {x_what} has shape {x.shape}; "
                             "they must match")
        target = _as_float(name, target_what, target)
    if y is not None:
        y = _as_labels(name, y_what, y, n)
    arrays = {x_what: x} if target is None else {x_what: x, target_what: target}
    keep = _finite_rows(name, arrays, nonfinite)
    if not keep.any():
        raise UsageError(f"{name}: no sample is left after dropping NaN/Inf")
    if not keep.all():
        x, target, y = x[keep], None if target is None else target[keep], None if y is None else y[keep]
    # class names from all labels, so that train and test agree on the number of classes
    classes = () if y is None else tuple(str(c) for c in range(int(y.max()) + 1))
    chosen = split_indices(x.shape[0], split, test_fraction, split_seed, y, name=name)
    x = _layout(name, x[chosen], layout)
    target = None if target is None else _layout(name, target[chosen], layout)
    y = None if y is None else y[chosen]
    return ArrayDataset(torch.from_numpy(np.ascontiguousarray(x)),
                        target=None if target is None else torch.from_numpy(np.ascontiguousarray(target)),
                        y=None if y is None else torch.from_numpy(y), class_names=classes, name=name,
                        meta={"path": path, "split": split})


def _check_file(name: str, path) -> str:
    if path is None or str(path) == "":
        raise UsageError(f"{name}: needs a file: use {name}:PATH")
    path = os.path.expanduser(os.fspath(path))
    if not os.path.exists(path):
        raise UsageError(f"{name}: file not found: {path}")
    if os.path.isdir(path):
        raise UsageError(f"{name}: {path} is a folder, expected a file" +
                         (" (image folders are images:DIR)" if name != "images" else ""))
    return path


def _read_npy(name: str, path: str, what: str) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise UsageError(f"{name}: {path} holds Python objects (pickled), not a numeric array") from None
        raise UsageError(f"{name}: cannot read {what} {path}: {' '.join(str(exc).split())}") from None
    except (OSError, EOFError) as exc:
        raise UsageError(f"{name}: cannot read {what} {path}: {' '.join(str(exc).split()) or type(exc).__name__}") from None
    if isinstance(array, np.lib.npyio.NpzFile):
        array.close()
        raise UsageError(f"{name}: {path} is a .npz archive; use npz:{path}")
    return array


_AUTO_KEYS = {
    "x": ("x", "traces", "images", "data", "inputs"),
    "target": ("target", "signals", "clean", "targets"),
    "y": ("y", "labels", "label", "classes"),
}


def _pick_key(name: str, path: str, all_keys: list[str], taken: tuple, role: str, requested: Optional[str],
              required: bool):
    """The key for ``role`` (x, target, y): the requested one, or the first conventional name present."""
    keys = [k for k in all_keys if k not in taken]
    if requested not in (None, "auto", ""):
        if requested in ("none", "None"):
            if required:
                raise UsageError(f"{name}: the {role} key cannot be none")
            return None
        if requested not in all_keys:
            raise UsageError(f"{name}: {path} has no key {requested!r}; keys are: {', '.join(all_keys) or '(none)'}")
        return requested
    for key in _AUTO_KEYS[role]:
        if key in keys:
            return key
    if required:
        if len(keys) == 1:
            return keys[0]
        raise UsageError(f"{name}: {path} has no key named {' or '.join(_AUTO_KEYS[role])}; pass x_key=KEY "
                         f"(keys are: {', '.join(all_keys) or '(none)'})")
    return None


def load_npz(split: str = "train", seed: int = 0, *, path: str = "", x_key: str = "auto", target_key: str = "auto",
             y_key: str = "auto", test_fraction: float = 0.1, split_seed: int = 0,
             nonfinite: Literal["error", "drop"] = "error", layout: Literal["auto", "keep", "channel", "nhwc"] = "auto"):
    """Arrays from a .npz archive: ``npz:PATH``.

    x_key          the inputs; ``auto`` takes the first of x, traces, images, data, inputs
                   (or the only array in the file)
    target_key     clean targets for a denoiser (same shape as x); ``auto`` looks for target,
                   signals, clean, targets; ``none`` ignores them. The "Deep Learning for
                   Physics Research" radio file works as is: ``traces`` and ``signals``.
    y_key          integer class labels; ``auto`` looks for y, labels, label, classes; ``none`` ignores them
    test_fraction  share of samples in the test split (fixed by ``split_seed``, not by ``seed``)
    nonfinite      ``error`` (default) or ``drop`` samples with NaN/Inf, with a warning
    layout         ``auto``, ``keep``, ``channel`` or ``nhwc`` (see the module docstring)

    ``seed`` is accepted for the common signature; file data does not depend on it.
    """
    name = "npz"
    path = _check_file(name, path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise UsageError(f"npz: cannot read {path}: {' '.join(str(exc).split()) or type(exc).__name__}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise UsageError(f"npz: {path} is a single array, not a .npz archive; use npy:{path}")
    with archive:
        keys = list(archive.files)
        xk = _pick_key(name, path, keys, (), "x", x_key, required=True)
        tk = _pick_key(name, path, keys, (xk,), "target", target_key, required=False)
        yk = _pick_key(name, path, keys, (xk, tk), "y", y_key, required=False)

        def read(key):
            try:
                return archive[key]
            except ValueError as exc:
                if "pickle" in str(exc).lower():
                    raise UsageError(f"npz: {path} key {key!r} holds Python objects (pickled), not a numeric array") \
                        from None
                raise UsageError(f"npz: cannot read key {key!r} of {path}: {' '.join(str(exc).split())}") from None
            except (OSError, EOFError, zipfile.BadZipFile) as exc:
                raise UsageError(f"npz: cannot read key {key!r} of {path}: {exc}") from None

        x, target, y = read(xk), None if tk is None else read(tk), None if yk is None else read(yk)
    return _build(name, path, x, target, y, x_what=f"key {xk!r}", target_what=f"key {tk!r}", y_what=f"key {yk!r}",
                  split=split, test_fraction=test_fraction, split_seed=split_seed, nonfinite=nonfinite, layout=layout)


def load_npy(split: str = "train", seed: int = 0, *, path: str = "", target_path: Optional[str] = None,
             y_path: Optional[str] = None, test_fraction: float = 0.1, split_seed: int = 0,
             nonfinite: Literal["error", "drop"] = "error", layout: Literal["auto", "keep", "channel", "nhwc"] = "auto"):
    """One array from a .npy file: ``npy:PATH`` (inputs only, unless sibling files are given).

    target_path    a .npy file of clean targets, same shape as x
    y_path         a .npy file of integer class labels, one per sample
    test_fraction, nonfinite, layout: as for ``npz``.
    """
    name = "npy"
    path = _check_file(name, path)
    x = _read_npy(name, path, "file")
    target = None if target_path in (None, "") else _read_npy(name, _check_file(name, target_path), "target file")
    y = None if y_path in (None, "") else _read_npy(name, _check_file(name, y_path), "label file")
    return _build(name, path, x, target, y, x_what=os.path.basename(path),
                  target_what=os.path.basename(target_path or ""), y_what=os.path.basename(y_path or ""),
                  split=split, test_fraction=test_fraction, split_seed=split_seed, nonfinite=nonfinite, layout=layout)


# ----------------------------------------------------------------------------- images

def _list_images(folder: str) -> tuple[list[str], int]:
    """Image files in a folder (sorted) and the number of other visible files."""
    files = sorted(f for f in os.listdir(folder) if not f.startswith(".") and os.path.isfile(os.path.join(folder, f)))
    images = [os.path.join(folder, f) for f in files if f.lower().endswith(IMAGE_EXTENSIONS)]
    return images, len(files) - len(images)


def load_images(split: str = "train", seed: int = 0, *, path: str = "", size: int = 128, channels: int = 3,
                value_range: tuple[float, float] = (0.0, 1.0), crop: bool = True, background: float = 1.0,
                bad_images: Literal["error", "skip"] = "error", test_fraction: float = 0.1, split_seed: int = 0):
    """A folder of images: ``images:DIR``, one sub-folder per class (sorted names -> labels 0, 1, ...).

    Images directly in DIR (no sub-folders) load without labels. Formats: whatever Pillow
    reads among .png .jpg .jpeg .bmp .gif .tif .tiff .webp .ppm .pgm. Each image loads as a
    viewer shows it, at full precision (16-bit, float, EXIF orientation, ICC, palette,
    transparency): see genreg.data.image_decode for the rules.

    size           side of the square output in pixels (default 128)
    channels       3 (RGB) or 1 (grey)
    value_range    pixel range, (0, 1) by default; (-1, 1) for tanh generators
    crop           take the central square before resizing (default), else stretch; resizing
                   is Lanczos in float32
    background     grey level in [0, 1] that transparent pixels are composited over
                   (default 1.0, white, as on a page; 0.0 is black)
    bad_images     ``error`` (default) or ``skip`` unreadable files, with a warning
    test_fraction  share of each class in the test split (fixed by ``split_seed``)
    """
    import torch

    from .base import ArrayDataset

    name = "images"
    if path in (None, ""):
        raise UsageError("images: needs a folder: use images:DIR")
    folder = os.path.expanduser(os.fspath(path))
    if not os.path.exists(folder):
        raise UsageError(f"images: folder not found: {folder}")
    if not os.path.isdir(folder):
        raise UsageError(f"images: {folder} is not a folder (one sub-folder per class expected)")
    size = check_count(name, "size", size, minimum=1)
    if channels not in (1, 3):
        raise UsageError(f"images: channels must be 1 or 3, got {channels!r}")
    check_choice(name, "bad_images", bad_images, ("error", "skip"))
    background = float(background)
    if not 0.0 <= background <= 1.0:
        raise UsageError(f"images: background must lie in [0, 1] (a grey level), got {background}")
    low, high = (float(v) for v in value_range)
    if not low < high:
        raise UsageError(f"images: value_range needs low < high, got ({low}, {high})")

    classes = sorted(d for d in os.listdir(folder) if not d.startswith(".") and os.path.isdir(os.path.join(folder, d)))
    loose, loose_other = _list_images(folder)
    files: list[tuple[str, int]] = []
    other = 0
    if classes:
        for label, cls in enumerate(classes):
            images, skipped = _list_images(os.path.join(folder, cls))
            if not images:
                raise UsageError(f"images: class folder {os.path.join(folder, cls)} has no images "
                                 f"({', '.join(IMAGE_EXTENSIONS)})")
            files += [(f, label) for f in images]
            other += skipped
        if loose or loose_other:
            warn(f"images: ignored {len(loose) + loose_other} files directly in {folder} (classes are its sub-folders)")
    else:
        if not loose:
            raise UsageError(f"images: no images in {folder} (expected one sub-folder per class holding "
                             f"{', '.join(IMAGE_EXTENSIONS)} files)")
        files = [(f, -1) for f in loose]
        other = loose_other
    if other:
        warn(f"images: ignored {other} files in {folder} that are not images ({', '.join(IMAGE_EXTENSIONS)})")

    labels = np.array([label for _, label in files]) if classes else None
    chosen = split_indices(len(files), split, test_fraction, split_seed, labels, name=name)
    pixels, kept, bad = [], [], []
    noted: dict[str, list[str]] = {}
    for i in chosen:
        notes: set = set()
        try:
            pixels.append(read_image(files[i][0], size, channels, bool(crop), background, notes))
            kept.append(i)
        except Exception as exc:  # Pillow raises many types for a broken file
            if bad_images == "error":
                raise UsageError(f"images: cannot read image {files[i][0]}: {' '.join(str(exc).split()) or type(exc).__name__}"
                                 "; remove it or pass bad_images=skip") from None
            bad.append(files[i][0])
        for note in notes:
            noted.setdefault(note, []).append(files[i][0])
    if bad:
        warn(f"images: skipped {len(bad)} unreadable images (first: {bad[0]})")
    for note, paths in sorted(noted.items()):
        warn(f"images: {len(paths)} images {_NOTE_TEXT[note]} (first: {paths[0]})")
    if not pixels:
        raise UsageError(f"images: none of the images in {folder} could be read")
    x = torch.from_numpy(np.stack(pixels))
    if (low, high) != (0.0, 1.0):
        x = x * (high - low) + low
    y = None if labels is None else torch.from_numpy(labels[kept]).long()
    return ArrayDataset(x, y=y, class_names=classes, name=name,
                        meta={"path": folder, "split": split, "files": [files[i][0] for i in kept],
                              "value_range": (low, high)})
