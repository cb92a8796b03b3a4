"""Images load as a viewer shows them, at full precision (issue 13, point 2).

Every file is written here with Pillow (or pypng for 16-bit colour) under tmp_path, and the
loaded values are checked against the known pixel values divided by the mode's full scale.
"""

import tempfile
import warnings

import numpy as np
import png
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, ImageOps

from genreg.data.files import load_images
from genreg.data.image_decode import NOTE_CLIPPED, NOTE_FRAMES, decode, read_image
from genreg.errors import UsageError


def _load(path, size, **kw):
    """The single image of the folder holding ``path``, as (C, H, W) numpy, with the warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d = load_images("all", path=str(path.parent), size=size, crop=False, **kw)
    return d.x[0].numpy(), [str(w.message) for w in caught]


def _hwc(x):
    return np.moveaxis(x, 0, -1)


def _write_png16(path, array):
    """(H, W, C) uint16 -> a 16-bit PNG (grey, grey+alpha, RGB or RGBA by C)."""
    h, w, c = array.shape
    writer = png.Writer(w, h, greyscale=c in (1, 2), alpha=c in (2, 4), bitdepth=16)
    with open(path, "wb") as f:
        writer.write(f, array.reshape(h, w * c).tolist())


# ----------------------------------------------------------------------------- bit depth

def test_16bit_grey_ramp_regression(tmp_path):
    """A ramp 0..65535 in a 16-bit grey PNG loaded as 0, 255, 255, ... (clipped) before."""
    ramp = np.linspace(0, 65535, 256).round().astype(np.uint16).reshape(16, 16)
    (tmp_path / "d").mkdir()
    Image.frombytes("I;16", (16, 16), ramp.astype("<u2").tobytes()).save(tmp_path / "d" / "ramp.png")
    x, _ = _load(tmp_path / "d" / "ramp.png", 16, channels=1)
    np.testing.assert_allclose(x[0], ramp / 65535.0, rtol=0, atol=1e-6)
    x3, _ = _load(tmp_path / "d" / "ramp.png", 16, channels=3, value_range=(-1, 1))
    for c in range(3):
        np.testing.assert_allclose(x3[c], ramp / 65535.0 * 2 - 1, rtol=0, atol=2e-6)


def _write(kind, path, values):
    """Write ``values`` (H, W[, C]) as ``kind``; returns the full scale the loader must divide by."""
    if kind in ("I;16-png", "I;16-tif", "I;16B-tif", "I;16L-tif"):
        mode = kind.split("-")[0]
        dtype = ">u2" if mode == "I;16B" else "<u2"
        Image.frombytes(mode, values.shape[::-1], values.astype(dtype).tobytes()).save(path)
        return 65535.0
    if kind in ("L-png", "L-tif"):
        Image.fromarray(values.astype(np.uint8), mode="L").save(path)
        return 255.0
    if kind == "I-tif":
        Image.fromarray(values.astype(np.int32)).save(path)
        return float(2 ** 31 - 1)
    if kind == "F-tif":
        Image.fromarray(values.astype(np.float32)).save(path)
        return 1.0
    if kind.startswith("png16-"):
        _write_png16(path, values.astype(np.uint16))
        return 65535.0
    raise AssertionError(kind)


_DEPTH_CASES = {  # kind -> (file suffix, values drawn in [0, top), channels in the file)
    "I;16-png": (".png", 65536, 1), "I;16-tif": (".tif", 65536, 1), "I;16B-tif": (".tif", 65536, 1),
    "I;16L-tif": (".tif", 65536, 1), "L-png": (".png", 256, 1), "L-tif": (".tif", 256, 1),
    "I-tif": (".tif", 2 ** 31, 1), "F-tif": (".tif", None, 1),
    "png16-rgb": (".png", 65536, 3), "png16-grey": (".png", 65536, 1),
}


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(sorted(_DEPTH_CASES)), h=st.integers(1, 6), w=st.integers(1, 6),
       seed=st.integers(0, 2 ** 32 - 1))
def test_loaded_values_are_pixels_over_full_scale(kind, h, w, seed):
    suffix, top, c = _DEPTH_CASES[kind]
    rng = np.random.default_rng(seed)
    shape = (h, w) if c == 1 and not kind.startswith("png16") else (h, w, c)
    values = rng.random(shape, np.float32) if top is None else rng.integers(0, top, shape, dtype=np.int64)
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/image{suffix}"
        scale = _write(kind, path, values)
        array, has_alpha = decode(path, set())
    expected = values.astype(np.float64).reshape(h, w, c) / scale
    # half a step of the stored type, or float32's resolution where that is finer
    tol = max(0.25 / scale, 2.0 ** -23) if top is not None else 2.0 ** -24
    assert not has_alpha and array.dtype == np.float32 and array.shape == (h, w, c)
    np.testing.assert_allclose(array, expected, rtol=0, atol=tol)


def test_16bit_colour_png_with_alpha_full_depth(tmp_path):
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 65536, (4, 4, 4)).astype(np.uint16)
    (tmp_path / "d").mkdir()
    _write_png16(tmp_path / "d" / "a.png", rgba)
    x, _ = _load(tmp_path / "d" / "a.png", 4, background=0.0)
    expected = rgba[..., :3] / 65535.0 * (rgba[..., 3:] / 65535.0)
    np.testing.assert_allclose(_hwc(x), expected, rtol=0, atol=1e-6)
    la = rng.integers(0, 65536, (3, 3, 2)).astype(np.uint16)
    _write_png16(tmp_path / "la.png", la)
    array, has_alpha = decode(str(tmp_path / "la.png"), set())
    assert has_alpha
    np.testing.assert_allclose(array, la / 65535.0, rtol=0, atol=1e-6)


def test_int_and_float_out_of_range_are_clipped_with_a_warning(tmp_path):
    (tmp_path / "d").mkdir()
    values = np.array([[-0.5, 0.25], [0.75, 1.5]], np.float32)
    Image.fromarray(values).save(tmp_path / "d" / "f.tif")
    x, messages = _load(tmp_path / "d" / "f.tif", 2, channels=1)
    np.testing.assert_allclose(x[0], [[0, 0.25], [0.75, 1]], rtol=0, atol=1e-7)
    assert any("clipped" in m and "f.tif" in m for m in messages), messages
    notes = set()
    Image.fromarray(np.array([[-5, 2 ** 30]], np.int32)).save(tmp_path / "i.tif")
    array, _ = decode(str(tmp_path / "i.tif"), notes)
    assert notes == {NOTE_CLIPPED}
    np.testing.assert_allclose(array[..., 0], [[0, 2 ** 30 / (2 ** 31 - 1)]], rtol=1e-6)


def test_nan_float_image_is_unreadable(tmp_path):
    (tmp_path / "d").mkdir()
    Image.fromarray(np.array([[np.nan, 0.5]], np.float32)).save(tmp_path / "d" / "nan.tif")
    Image.fromarray(np.array([[0.5, 0.5]], np.float32)).save(tmp_path / "d" / "ok.tif")
    with pytest.raises(UsageError, match="nan.tif.*NaN"):
        load_images("all", path=str(tmp_path / "d"), size=2)
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        assert len(load_images("all", path=str(tmp_path / "d"), size=2, bad_images="skip")) == 1


# ----------------------------------------------------------------------------- modes

RGB = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [40, 80, 120]]], np.uint8)


@pytest.mark.parametrize("background", [0.0, 1.0, 0.5])
def test_8bit_modes_and_transparency(tmp_path, background):
    alpha = np.array([[255, 0], [128, 64]], np.uint8)
    a = alpha[..., None] / 255.0
    over = lambda colour: colour * a + background * (1 - a)  # noqa: E731
    grey = RGB[..., 0]
    palette = Image.fromarray(RGB).quantize(4)  # 4 colours, an exact palette
    pal_rgb = np.asarray(palette.convert("RGB")) / 255.0
    pal_idx = np.asarray(palette)
    cmyk = Image.fromarray(RGB).convert("CMYK")
    cases = {
        "one.png": (Image.fromarray(grey > 100).convert("1"), np.repeat((grey > 100)[..., None], 3, 2) * 1.0),
        "l.png": (Image.fromarray(grey, "L"), np.repeat(grey[..., None] / 255.0, 3, 2)),
        "la.png": (Image.fromarray(np.dstack([grey, alpha]), "LA"), over(np.repeat(grey[..., None] / 255.0, 3, 2))),
        "rgb.png": (Image.fromarray(RGB), RGB / 255.0),
        "rgba.png": (Image.fromarray(np.dstack([RGB, alpha]), "RGBA"), over(RGB / 255.0)),
        "p.png": (palette, pal_rgb),
        "cmyk.tif": (cmyk, np.asarray(cmyk.convert("RGB")) / 255.0),
    }
    transparent_index = int(pal_idx[0, 1])
    p_t = palette.copy()
    p_t.info["transparency"] = transparent_index
    keyed = np.where((pal_idx == transparent_index)[..., None], background, pal_rgb)
    cases["p_transparent.png"] = (p_t, keyed)
    # colour keys (PNG tRNS) on grey and RGB images: pixels of that value are transparent
    grey_key, rgb_key = grey == grey[1, 0], np.all(RGB == RGB[0, 0], axis=2)
    cases["l_keyed.png"] = (Image.fromarray(grey, "L"), np.where(grey_key[..., None], background,
                                                                 np.repeat(grey[..., None] / 255.0, 3, 2)))
    cases["rgb_keyed.png"] = (Image.fromarray(RGB), np.where(rgb_key[..., None], background, RGB / 255.0))
    keys = {"p_transparent.png": transparent_index, "l_keyed.png": int(grey[1, 0]),
            "rgb_keyed.png": tuple(int(v) for v in RGB[0, 0])}
    for name, (image, expected) in cases.items():
        folder = tmp_path / name.split(".")[0]
        folder.mkdir()
        image.save(folder / name, **({"transparency": keys[name]} if name in keys else {}))
        assert Image.open(folder / name).mode == image.mode
        x, _ = _load(folder / name, 2, background=background)
        np.testing.assert_allclose(_hwc(x), expected, rtol=0, atol=1e-6, err_msg=name)


def test_pa_mode_decodes_through_its_palette(tmp_path, monkeypatch):
    """Pillow writes no PA files; feed a PA image to the decoder through Image.open."""
    alpha = np.array([[255, 0], [128, 64]], np.uint8)
    pa = Image.fromarray(np.dstack([RGB, alpha]), "RGBA").convert("PA")
    expected = np.asarray(pa.convert("RGBA")) / 255.0
    assert pa.mode == "PA"
    import PIL.Image

    monkeypatch.setattr(PIL.Image, "open", lambda path: pa)
    array, has_alpha = decode("unused.png", set())
    assert has_alpha
    np.testing.assert_allclose(array, expected, rtol=0, atol=1e-7)


def test_ycbcr_jpeg_loads_as_rgb(tmp_path):
    (tmp_path / "d").mkdir()
    Image.fromarray(np.kron(RGB, np.ones((8, 8, 1), np.uint8))).convert("YCbCr").save(tmp_path / "d" / "y.jpg")
    x, _ = _load(tmp_path / "d" / "y.jpg", 16)
    np.testing.assert_allclose(_hwc(x), np.asarray(Image.open(tmp_path / "d" / "y.jpg").convert("RGB")) / 255.0,
                               rtol=0, atol=1e-6)
    assert abs(float(x[0, 2, 2]) - 1.0) < 0.1 and float(x[1, 2, 2]) < 0.1  # red stays red


def test_grey_to_three_channels_and_colour_to_luma(tmp_path):
    (tmp_path / "d").mkdir()
    Image.fromarray(RGB).save(tmp_path / "d" / "c.png")
    x, _ = _load(tmp_path / "d" / "c.png", 2, channels=1)
    luma = RGB.astype(np.float64) @ [0.299, 0.587, 0.114] / 255.0
    np.testing.assert_allclose(x[0], luma, rtol=0, atol=1e-6)
    np.testing.assert_allclose(x[0], np.asarray(Image.fromarray(RGB).convert("L")) / 255.0, atol=1 / 255 + 1e-6)


# ----------------------------------------------------------------------------- metadata

@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_as_exif_transpose(tmp_path, orientation):
    image = Image.fromarray(np.arange(24, dtype=np.uint8).reshape(2, 4, 3) * 10)
    exif = image.getexif()
    exif[0x0112] = orientation
    image.save(tmp_path / "o.png", exif=exif)
    array, _ = decode(str(tmp_path / "o.png"), set())
    expected = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "o.png"))) / 255.0
    np.testing.assert_allclose(array, expected, rtol=0, atol=1e-7)


@pytest.mark.parametrize("orientation, top", [(6, "red"), (8, "blue"), (1, None)])
def test_exif_rotated_jpeg_loads_upright(tmp_path, orientation, top):
    red_blue = np.zeros((16, 32, 3), np.uint8)
    red_blue[:, :16, 0] = 255
    red_blue[:, 16:, 2] = 255
    image = Image.fromarray(red_blue)
    exif = image.getexif()
    exif[0x0112] = orientation
    (tmp_path / "d").mkdir()
    image.save(tmp_path / "d" / "r.jpg", exif=exif, quality=95)
    x, _ = _load(tmp_path / "d" / "r.jpg", 16)
    if top is None:  # unrotated: left red, right blue
        assert x[0, 8, 2] > 0.8 and x[2, 8, 13] > 0.8
    else:
        first, second = (0, 2) if top == "red" else (2, 0)
        assert x[first, 2, 8] > 0.8 and x[second, 2, 8] < 0.2 and x[second, 13, 8] > 0.8


def _linear_rgb_profile() -> bytes:
    """An ICC v4 display profile with sRGB's primaries and a linear (gamma 1.0) tone curve, written
    by hand (ImageCms can create only sRGB, Lab and XYZ profiles)."""
    import struct

    def s15(v):
        return struct.pack(">i", round(v * 65536))

    def xyz(x, y, z):
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)

    text = "linear test RGB".encode("utf-16-be")
    desc = b"mluc\0\0\0\0" + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(text), 28) + text
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0100) + b"\0\0"
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", xyz(0.4361, 0.2225, 0.0139)),
            (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)), (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve), (b"cprt", desc)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = struct.pack(">I", len(tags)), b""
    for sig, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x04300000) + b"mntrRGB XYZ " + b"\0" * 12
              + b"acsp" + b"\0" * 24 + struct.pack(">I", 0) + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 48)
    assert len(header) == 128
    return header + table + data


def test_icc_profiles(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(RGB).save(tmp_path / "a" / "srgb.png", icc_profile=srgb)
    x, messages = _load(tmp_path / "a" / "srgb.png", 2)
    np.testing.assert_allclose(_hwc(x), RGB / 255.0, rtol=0, atol=1e-6)
    assert not any("ICC" in m for m in messages)
    Image.fromarray(RGB).save(tmp_path / "b" / "broken.png", icc_profile=b"not a profile at all")
    x, messages = _load(tmp_path / "b" / "broken.png", 2)
    np.testing.assert_allclose(_hwc(x), RGB / 255.0, rtol=0, atol=1e-6)
    assert any("ICC" in m and "broken.png" in m for m in messages), messages
    # a profile that does not fit the image (Lab for RGB data): stored values kept, noted
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    Image.fromarray(RGB).save(tmp_path / "lab.png", icc_profile=lab)
    notes = set()
    array, _ = decode(str(tmp_path / "lab.png"), notes)
    np.testing.assert_allclose(array, RGB / 255.0, rtol=0, atol=1e-6)
    assert notes == {"icc"}


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P"])
def test_icc_profile_is_converted_to_srgb(tmp_path, mode):
    """Linear-light values under a gamma-1.0 profile become sRGB-encoded values, as a viewer shows them."""
    grey = np.array([[0, 64], [128, 255]], np.uint8)
    image = Image.fromarray(np.repeat(grey[..., None], 3, 2))
    image = image.convert(mode) if mode != "P" else image.quantize(4)
    image.save(tmp_path / "lin.png", icc_profile=_linear_rgb_profile())
    notes = set()
    array, _ = decode(str(tmp_path / "lin.png"), notes)
    linear = grey / 255.0
    srgb = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)  # IEC 61966-2-1
    assert not notes
    for c in range(3):
        np.testing.assert_allclose(array[..., c], srgb, rtol=0, atol=2 / 255)


def test_multi_frame_files_give_first_frame_with_a_warning(tmp_path):
    (tmp_path / "gif").mkdir()
    (tmp_path / "tif").mkdir()
    first = Image.fromarray(np.full((4, 4), 200, np.uint8), "L")
    second = Image.fromarray(np.full((4, 4), 10, np.uint8), "L")
    first.save(tmp_path / "gif" / "anim.gif", save_all=True, append_images=[second])
    first.save(tmp_path / "tif" / "pages.tif", save_all=True, append_images=[second])
    for path in (tmp_path / "gif" / "anim.gif", tmp_path / "tif" / "pages.tif"):
        x, messages = _load(path, 4, channels=1)
        np.testing.assert_allclose(x[0], np.full((4, 4), 200 / 255.0), rtol=0, atol=1e-6)
        assert any("first frame" in m for m in messages), messages
    notes = set()
    read_image(str(tmp_path / "gif" / "anim.gif"), 4, 1, notes=notes)
    assert notes == {NOTE_FRAMES}


# ----------------------------------------------------------------------------- resizing

def test_resize_keeps_16bit_precision(tmp_path):
    """Values 1000..1100 of 65535 hold one or two 8-bit levels; a float resize keeps many."""
    rng = np.random.default_rng(3)
    values = (1000 + rng.integers(0, 101, (32, 32))).astype(np.uint16)
    (tmp_path / "d").mkdir()
    Image.frombytes("I;16", (32, 32), values.astype("<u2").tobytes()).save(tmp_path / "d" / "v.png")
    x, _ = _load(tmp_path / "d" / "v.png", 16, channels=1)
    assert x.dtype == np.float32 and x.shape == (1, 16, 16)
    assert len(np.unique(x)) > 50
    assert x.min() >= 990 / 65535 and x.max() <= 1110 / 65535
    assert abs(float(x.mean()) - values.mean() / 65535) < 5 / 65535
    expected = np.asarray(Image.fromarray(values.astype(np.float32) / 65535, "F").resize((16, 16), Image.LANCZOS))
    np.testing.assert_allclose(x[0], np.clip(expected, 0, 1), rtol=0, atol=1e-6)


def test_background_is_checked(tmp_path):
    (tmp_path / "d").mkdir()
    Image.fromarray(RGB).save(tmp_path / "d" / "c.png")
    with pytest.raises(UsageError, match="background"):
        load_images("all", path=str(tmp_path / "d"), size=2, background=2)



def _write_rgb48_tiff(path, array):
    """(H, W, 3) uint16 -> an uncompressed 48-bit RGB TIFF, written by hand (Pillow cannot)."""
    import struct

    h, w, _ = array.shape
    pixels = array.astype("<u2").tobytes()
    entries = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 3, 8 + 2 + 10 * 12 + 4), (259, 3, 1, 1), (262, 3, 1, 2),
               (273, 4, 1, 8 + 2 + 10 * 12 + 4 + 6), (277, 3, 1, 3), (278, 3, 1, h), (279, 4, 1, len(pixels)),
               (284, 3, 1, 1)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHI", tag, kind, count) + (struct.pack("<HH", value, 0) if kind == 3 and count == 1
                                                  else struct.pack("<I", value))
        for tag, kind, count, value in entries) + struct.pack("<I", 0)
    with open(path, "wb") as f:
        f.write(b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<HHH", 16, 16, 16) + pixels)


def test_16bit_colour_tiff_is_refused_not_truncated(tmp_path):
    (tmp_path / "d").mkdir()
    _write_rgb48_tiff(tmp_path / "d" / "rgb48.tif", np.full((2, 2, 3), 40000, np.uint16))
    with Image.open(tmp_path / "d" / "rgb48.tif") as image:
        assert image.mode == "RGB"  # what Pillow would silently truncate to 8 bits
    with pytest.raises(UsageError, match="rgb48.tif: 16-bit-per-channel colour TIFF .* full precision"):
        load_images("all", path=str(tmp_path / "d"), size=2)


def test_apply_image_source_uses_the_same_decoder(tmp_path):
    """`genreg apply --in images:DIR` streams the same values as the training loader (16-bit ramp)."""
    from genreg.inference.sources import open_source

    ramp = np.linspace(0, 65535, 64).round().astype(np.uint16).reshape(8, 8)
    (tmp_path / "d").mkdir()
    Image.frombytes("I;16", (8, 8), ramp.astype("<u2").tobytes()).save(tmp_path / "d" / "ramp.png")
    Image.fromarray(np.array([[[255, 0, 0, 0]] * 8] * 8, np.uint8), "RGBA").save(tmp_path / "d" / "clear.png")
    source = open_source(f"images:{tmp_path / 'd'}", {"size": 8, "channels": 1, "value_range": (-1, 1),
                                                        "background": 0.0})
    (batch,) = list(source.batches(4))
    np.testing.assert_allclose(batch[1, 0], ramp / 65535.0 * 2 - 1, rtol=0, atol=2e-6)  # files sorted: clear, ramp
    np.testing.assert_allclose(batch[1], load_images("all", path=str(tmp_path / "d"), size=8, channels=1,
                                                     value_range=(-1, 1), background=0.0, crop=False).x[1].numpy(),
                               rtol=0, atol=1e-6)
    np.testing.assert_allclose(batch[0], -1.0, rtol=0, atol=1e-6)  # fully transparent over black
