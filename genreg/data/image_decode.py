"""Image files decoded as a viewer shows them, at full precision: used by ``images:DIR``.

``read_image(path, size, channels, crop, background)`` returns float32 ``(C, size, size)`` in
[0, 1] and a set of notes (what was clipped, dropped or ignored) that the loader reports once
per data set. The steps, in order:

1. Pixels at their stored precision, each mode divided by its full scale: 1 (bit) -> 0 or 1;
   8-bit modes (L, P, RGB, CMYK, YCbCr, ...) / 255; 16-bit grey (I;16, I;16B, I;16L) / 65535;
   32-bit int (I) / 65535 when the file stores 16 bits, else / (2**31 - 1); float (F) as it
   is, the viewer's convention of [0, 1], with values outside clipped (note ``clipped``).
   Negative ints are clipped to 0 likewise; NaN/Inf make the image unreadable.
   16-bit-per-channel colour PNGs (48/64-bit RGB(A), 32-bit grey+alpha), which Pillow truncates
   to 8 bits, are read with pypng instead; other 16-bit colour files (TIFF, PPM) are refused
   with an error that says so rather than truncated.
2. Palette images (P, PA) are expanded through their palette; CMYK, YCbCr and other colour
   modes go to RGB through Pillow. An embedded ICC profile of an 8-bit RGB(A)/CMYK image is
   converted to sRGB with Pillow's ImageCms (LittleCMS); a profile that cannot be used is
   ignored (note ``icc``).
3. EXIF orientation (tag 274, values 2..8) is applied: rotated/flipped as viewers show it
   (the same result as ``PIL.ImageOps.exif_transpose``).
4. Transparency (an alpha channel, or a ``transparency`` colour/palette entry) is composited
   in float over a uniform ``background`` grey level (1.0 = white, like a page or browser;
   0.0 = black): ``value * alpha + background * (1 - alpha)``.
5. Channels: grey -> 3 copies; colour -> 1 by ITU-R 601-2 luma
   ``0.299 R + 0.587 G + 0.114 B`` (Pillow's "L" formula, computed in float).
6. Crop to the central square (``crop=True``) or stretch, then resize in float32 with Pillow's
   Lanczos filter per channel (mode "F"), and clip to [0, 1] (Lanczos overshoots at edges).

Multi-frame files (animated GIF/WebP/PNG, multi-page TIFF) give their first frame (note
``frames``).
"""

from __future__ import annotations

import numpy as np

# notes (a loader turns each into one warning with a count)
NOTE_FRAMES = "frames"
NOTE_CLIPPED = "clipped"
NOTE_ICC = "icc"

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601-2, as Pillow's convert("L")
_INT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_DIRECT = {"1": 1.0, "L": 255.0, "LA": 255.0, "RGB": 255.0, "RGBA": 255.0}


def _rawmode(image) -> str:
    """The raw (file) mode of the first tile, before loading: tells the stored bit depth."""
    tile = getattr(image, "tile", None) or []
    if not tile:
        return ""
    args = tile[0][3] if not hasattr(tile[0], "args") else tile[0].args
    if isinstance(args, tuple):
        args = args[0] if args else ""
    return args if isinstance(args, str) else ""


def _read_png16(path: str) -> tuple[np.ndarray, bool]:
    """A 16-bit-per-channel PNG at full depth with pypng: (H, W, C) float in [0, 1], has alpha."""
    import png

    width, height, rows, info = png.Reader(filename=path).asDirect()
    planes = int(info["planes"])
    array = np.vstack([np.asarray(row, np.float64) for row in rows]).reshape(height, width, planes)
    return (array / float(2 ** int(info["bitdepth"]) - 1)).astype(np.float32), bool(info["alpha"])


def _apply_icc(image, notes: set):
    """An 8-bit RGB(A)/CMYK image with an embedded ICC profile, converted to sRGB."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    import io

    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        if "srgb" in ImageCms.getProfileDescription(source).lower().replace(" ", ""):
            return image  # already sRGB: skip the 8-bit round trip
        out_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=out_mode)
    except Exception:  # a broken or unsupported profile: show the stored values, as most viewers do
        notes.add(NOTE_ICC)
        return image


def _to_float(image, rawmode: str, notes: set) -> tuple[np.ndarray, bool]:
    """The loaded Pillow image as (H, W, C) float32 in [0, 1] (C = 1/2 grey, 3/4 colour), has alpha."""
    mode = image.mode
    transparency = image.info.get("transparency")
    if mode in ("La", "RGBa"):  # premultiplied: Pillow un-premultiplies
        image, mode = image.convert(mode.upper()), mode.upper()
    elif mode in ("RGBX",):
        image, mode = image.convert("RGB"), "RGB"
    elif mode not in _DIRECT and mode not in _INT_MODES and mode != "F":
        try:  # CMYK, YCbCr, HSV, ...: Pillow's conversion to RGB
            image, mode = image.convert("RGB"), "RGB"
        except ValueError:
            raise ValueError(f"image mode {mode} is not supported; save it as RGB, grey or 16-bit PNG") from None
    raw = np.asarray(image)
    if mode in _DIRECT:
        array = raw.astype(np.float32) / np.float32(_DIRECT[mode])
    elif mode in _INT_MODES:
        scale = 65535.0 if mode != "I" or "16" in rawmode else float(2 ** 31 - 1)
        array = raw.astype(np.float64) / scale
    else:  # F
        array = raw.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError("the image holds NaN or Inf values")
    if array.size and (array.min() < 0.0 or array.max() > 1.0):
        notes.add(NOTE_CLIPPED)
        array = np.clip(array, 0.0, 1.0)
    array = array.astype(np.float32)
    if array.ndim == 2:
        array = array[:, :, None]
    has_alpha = mode in ("LA", "RGBA")
    if isinstance(transparency, (int, tuple)) and not has_alpha and mode != "1":
        # a colour key (tRNS): pixels equal to it are transparent
        key = np.atleast_1d(np.asarray(transparency, np.float64))
        if key.size == array.shape[2]:
            alpha = ~np.all(raw.reshape(array.shape) == key.astype(raw.dtype), axis=2, keepdims=True)
            array, has_alpha = np.concatenate([array, alpha.astype(np.float32)], axis=2), True
    return array, has_alpha


def _orient(array: np.ndarray, orientation) -> np.ndarray:
    """EXIF orientation 1..8 applied to an (H, W, C) array, as PIL.ImageOps.exif_transpose does."""
    ops = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: a.transpose(1, 0, 2), 6: lambda a: np.rot90(a, -1),
           7: lambda a: a[::-1, ::-1].transpose(1, 0, 2), 8: lambda a: np.rot90(a, 1)}
    try:
        op = ops.get(int(orientation))
    except (TypeError, ValueError):
        op = None
    return array if op is None else np.ascontiguousarray(op(array))


def _composite(array: np.ndarray, has_alpha: bool, background: float) -> np.ndarray:
    if not has_alpha:
        return array
    colour, alpha = array[:, :, :-1], array[:, :, -1:]
    return colour * alpha + np.float32(background) * (np.float32(1.0) - alpha)


def _channels(array: np.ndarray, channels: int) -> np.ndarray:
    if array.shape[2] == channels:
        return array
    if channels == 3:  # grey shown as grey
        return np.repeat(array, 3, axis=2)
    return np.tensordot(array, _LUMA, axes=([2], [0]))[:, :, None].astype(np.float32)


def resize(array: np.ndarray, size: int, crop: bool) -> np.ndarray:
    """(H, W, C) float32 -> (C, size, size) float32 in [0, 1]: central square (``crop``) or
    stretched, Lanczos per channel in Pillow's float mode "F", then clipped to [0, 1]."""
    from PIL import Image

    h, w = array.shape[:2]
    if crop:
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        array = array[top:top + side, left:left + side]
    resample = Image.Resampling.LANCZOS if hasattr(Image, "Resampling") else Image.LANCZOS
    planes = []
    for c in range(array.shape[2]):
        plane = np.ascontiguousarray(array[:, :, c], dtype=np.float32)
        if plane.shape != (size, size):
            plane = np.asarray(Image.fromarray(plane, mode="F").resize((size, size), resample), np.float32)
        planes.append(plane)
    return np.clip(np.stack(planes), 0.0, 1.0)


def decode(path: str, notes: set) -> np.ndarray:
    """The image at ``path`` as ``(array, has_alpha)``: (H, W, C) float32 in [0, 1], oriented, not yet
    composited (the last channel is alpha when has_alpha). Adds NOTE_* strings to ``notes``.
    Raises Pillow's/pypng's errors for a broken file and ValueError for an unsupported one."""
    from PIL import Image

    with Image.open(path) as image:
        if getattr(image, "n_frames", 1) > 1:
            notes.add(NOTE_FRAMES)
        rawmode = _rawmode(image)
        orientation = image.getexif().get(0x0112)
        deep_colour = ";16" in rawmode and image.mode in ("RGB", "RGBA", "LA")
        if deep_colour and image.format != "PNG":
            raise ValueError(f"16-bit-per-channel colour {image.format} files are not read at full precision "
                             "by Pillow; save it as 16-bit PNG (or 8-bit)")
        if deep_colour:
            array, has_alpha = _read_png16(path)
        else:
            image.load()
            if image.mode in ("P", "PA"):  # through the palette (8-bit, lossless), keeping transparency
                transparent = image.mode == "PA" or "transparency" in image.info
                image = image.convert("RGBA" if transparent else "RGB")
            image = _apply_icc(image, notes)
            array, has_alpha = _to_float(image, rawmode, notes)
    return _orient(array, orientation), has_alpha


def read_image(path: str, size: int, channels: int, crop: bool = True, background: float = 1.0,
               notes: set | None = None) -> np.ndarray:
    """One image file -> float32 ``(channels, size, size)`` in [0, 1] (see the module docstring).

    channels    1 (grey) or 3 (RGB); background: grey level in [0, 1] under transparent pixels.
    notes       a set that receives NOTE_* strings for what the caller should report.
    Raises whatever Pillow/pypng raise for a broken file, and ValueError for an unsupported one.
    """
    notes = set() if notes is None else notes
    array, has_alpha = decode(path, notes)
    array = _channels(_composite(array, has_alpha, background), channels)
    return resize(array, size, crop)
