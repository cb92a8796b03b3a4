"""Procedural RGB galaxy images in three classes: barred spiral (0), elliptical (1), spiral (2).

A stand-in for the reference study's small collection of 128x128 galaxy photographs,
drawn from simple photometric models so that no download is needed:

barred spiral  a bulge, an exponential disk, a bar (a flat-ended elongated profile) and two
               logarithmic spiral arms that start at the bar's tips
elliptical     one smooth Sérsic profile (index 3-5), yellow-red, no disk or arms
spiral         a bulge, an exponential disk and 2-4 logarithmic spiral arms starting near
               the bulge, bluer and clumpy (star-forming knots)

Random per image: centre offset, position angle, inclination (axis ratio), sizes, arm
count (spirals), winding direction and pitch, bar length and width, bulge/disk/arm colours
and brightness, sky level, pixel noise and 0-``stars`` field stars. The light is summed in
linear units, then compressed with an asinh stretch (as astronomers display images) into
[0, 1]. 32x32 images are rendered at twice the size and averaged down, so thin arms do
not alias.

All images are generated in torch on the CPU in chunks of 256, each chunk from its own
random stream of (seed, split, chunk): the same seed gives the same bytes on a machine
(float32 transcendental functions may differ in the last bit between CPU types).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from ..errors import UsageError
from ._common import check_count, check_seed, check_split, torch_seed

CLASS_NAMES = ("barred_spiral", "elliptical", "spiral")
BARRED, ELLIPTICAL, SPIRAL = 0, 1, 2
DEFAULT_N = {"train": 1200, "test": 300}
CHUNK = 256

# colours (R, G, B) of the components, jittered per image
_BULGE = (1.0, 0.80, 0.55)
_DISK = (0.85, 0.87, 0.95)
_ARMS = (0.60, 0.75, 1.0)
_KNOTS = (0.80, 0.80, 1.0)
_ELLIPTICAL = (1.0, 0.78, 0.52)


def _uniform(gen, low: float, high: float, b: int):
    import torch

    return low + (high - low) * torch.rand(b, generator=gen)


def _colour(gen, base: tuple[float, float, float], b: int, jitter: float = 0.08):
    import torch

    c = torch.tensor(base).expand(b, 3) * (1 + jitter * (2 * torch.rand(b, 3, generator=gen) - 1))
    return c  # (b, 3)


def _sersic(r, r_e, index):
    """Sérsic profile normalised to 1 at r_e (b_n by the usual 2n - 1/3 approximation)."""
    b_n = 2 * index - 1 / 3
    return (-b_n * ((r / r_e) ** (1 / index) - 1)).exp()


def _arms(phi, r, *, count, pitch, chirality, phase, start, sharpness):
    """Logarithmic spiral arms: 1 on an arm's ridge, falling to 0 between arms."""
    import torch

    wind = chirality * torch.log(torch.clamp(r, min=1e-3) / start) / torch.tan(pitch)
    wave = torch.cos(count * (phi - phase - wind))
    return ((1 + wave) / 2) ** sharpness


def _smooth_noise(gen, b: int, res: int, cells: int):
    """Blobby noise in [0, 1]: coarse random cells, bilinearly upsampled to res x res."""
    import torch
    import torch.nn.functional as F

    coarse = torch.rand(b, 1, cells, cells, generator=gen)
    return F.interpolate(coarse, size=(res, res), mode="bilinear", align_corners=False)


def _geometry(gen, b: int, res: int, axis_ratio):
    """Per-pixel radius and azimuth in each galaxy's own (de-projected) plane, (b, res, res)."""
    import torch

    v = lambda t: t[:, None, None]  # noqa: E731  per-image scalar -> broadcast over pixels
    axis = (torch.arange(res, dtype=torch.float32) + 0.5) / res * 2 - 1
    dx = axis[None, None, :] - v(_uniform(gen, -0.06, 0.06, b))
    dy = axis[None, :, None] - v(_uniform(gen, -0.06, 0.06, b))
    angle = _uniform(gen, 0, math.pi, b)
    cos_a, sin_a = v(torch.cos(angle)), v(torch.sin(angle))
    xg = cos_a * dx + sin_a * dy
    yg = (-sin_a * dx + cos_a * dy) / v(axis_ratio)
    soft = 0.5 / res  # keeps the central cusp finite at the pixel scale
    r = torch.sqrt(xg**2 + yg**2 + soft**2)
    return xg, yg, r


def _elliptical(gen, b: int, res: int):
    """Light maps (b, 1, res, res) and their colours (b, 1, 3): one smooth Sérsic profile."""
    import torch

    v = lambda t: t[:, None, None]  # noqa: E731
    _, _, r = _geometry(gen, b, res, _uniform(gen, 0.5, 1.0, b))
    light = v(_uniform(gen, 0.08, 0.16, b)) * _sersic(r, v(_uniform(gen, 0.12, 0.26, b)), v(_uniform(gen, 3.0, 5.0, b)))
    return light[:, None], _colour(gen, _ELLIPTICAL, b)[:, None]


def _disk_galaxy(gen, barred: bool, b: int, res: int):
    """Light maps (b, k, res, res) and colours (b, k, 3) of bulge, disk, arms, knots (and bar)."""
    import torch

    v = lambda t: t[:, None, None]  # noqa: E731
    # inclined enough to look real, not so much that the arms vanish
    axis_ratio = v(_uniform(gen, 0.55, 1.0, b))
    xg, yg, r = _geometry(gen, b, res, axis_ratio[:, 0, 0])
    phi = torch.atan2(yg, xg)
    # the bulge is a spheroid: seen less flattened than the disk (axis ratio sqrt(q), not q),
    # so that an inclined bulge does not pass for a bar
    r_bulge = torch.sqrt(xg**2 + (yg * axis_ratio / axis_ratio.sqrt()) ** 2 + (0.5 / res) ** 2)
    bulge = v(_uniform(gen, 0.25, 0.45, b)) * _sersic(r_bulge, v(_uniform(gen, 0.04, 0.07, b)),
                                                      v(_uniform(gen, 1.5, 2.5, b)))
    scale = v(_uniform(gen, 0.19, 0.30, b))
    disk_level = v(_uniform(gen, 0.10, 0.18, b))
    disk = disk_level * torch.exp(-r / scale)

    bar_length = _uniform(gen, 0.2, 0.32, b)  # half-length
    bar_angle = _uniform(gen, 0, 2 * math.pi, b)
    if barred:  # two arms from the bar's tips
        arm_count, arm_start, arm_phase = torch.full((b,), 2.0), bar_length, bar_angle
    else:  # 2-4 arms from just outside the bulge
        arm_count = torch.tensor([2.0, 2.0, 3.0, 4.0])[torch.randint(0, 4, (b,), generator=gen)]
        arm_start, arm_phase = _uniform(gen, 0.06, 0.12, b), _uniform(gen, 0, 2 * math.pi, b)
    chirality = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0)
    pitch = torch.deg2rad(_uniform(gen, 12, 26, b))
    ridge = _arms(phi, r, count=v(arm_count), pitch=v(pitch), chirality=v(chirality),
                  phase=v(arm_phase), start=v(arm_start), sharpness=v(_uniform(gen, 3.0, 6.0, b)))
    onset = torch.sigmoid((r - 0.9 * v(arm_start)) / 0.025)
    knots = _smooth_noise(gen, b, res, 14)[:, 0] ** 2  # star-forming clumps along the arms
    arms = disk_level * v(_uniform(gen, 0.9, 1.4, b)) * torch.exp(-r / (1.25 * scale)) * ridge * onset * (0.5 + 1.5 * knots)
    # bright blue knots make the arms clumpy
    maps = [bulge, disk, arms, arms * knots]
    colours = [_colour(gen, _BULGE, b), _colour(gen, _DISK, b), _colour(gen, _ARMS, b), _colour(gen, _KNOTS, b)]
    if barred:
        # flat-ended along its axis, narrow across, in the disk's plane
        cos_b, sin_b = v(torch.cos(bar_angle)), v(torch.sin(bar_angle))
        along = (cos_b * xg + sin_b * yg) / v(bar_length)
        across = (-sin_b * xg + cos_b * yg) / v(bar_length * _uniform(gen, 0.18, 0.28, b))
        maps.append(v(_uniform(gen, 0.3, 0.5, b)) * torch.exp(-along**4 - across**2))
        colours.append(_colour(gen, _BULGE, b, jitter=0.05))
    return torch.stack(maps, 1), torch.stack(colours, 1)


def _stars(gen, b: int, res: int, stars: int):
    """Field stars (b, 3, res, res): point sources with a small Gaussian PSF, built from
    separable x and y profiles so the cost is per row and column, not per pixel and star."""
    import torch

    axis = (torch.arange(res, dtype=torch.float32) + 0.5) / res * 2 - 1
    count = torch.randint(0, stars + 1, (b, 1), generator=gen)
    on = (torch.arange(stars)[None] < count).float()  # (b, stars)
    sx, sy = (_uniform(gen, -0.95, 0.95, b * stars).view(b, stars, 1) for _ in range(2))
    width = max(0.9 / 64, 1.0 / res)  # about a pixel at 128
    brightness = on * 10 ** _uniform(gen, -0.7, 0.3, b * stars).view(b, stars)
    profile_x = torch.exp(-((axis - sx) ** 2) / (2 * width**2))
    profile_y = torch.exp(-((axis - sy) ** 2) / (2 * width**2))
    tint = brightness[..., None] * (1 + 0.25 * (2 * torch.rand(b, stars, 3, generator=gen) - 1))
    return torch.einsum("bsh,bsw,bsc->bchw", profile_y, profile_x, tint)


def _render(gen, labels, res: int, stars: int):
    """Linear-light images (b, 3, res, res) of the given classes (b,) at resolution res."""
    import torch

    light = torch.zeros(labels.shape[0], 3, res, res)
    # each class is drawn on its own subset, in a fixed order, so no work is wasted on
    # components a class does not have
    for cls, draw in ((BARRED, lambda m: _disk_galaxy(gen, True, m, res)),
                      (ELLIPTICAL, lambda m: _elliptical(gen, m, res)),
                      (SPIRAL, lambda m: _disk_galaxy(gen, False, m, res))):
        index = (labels == cls).nonzero()[:, 0]
        if len(index):
            maps, colours = draw(len(index))
            light[index] = torch.einsum("bkhw,bkc->bchw", maps, colours)
    if stars:
        light += _stars(gen, labels.shape[0], res, stars)
    return light


def _stretch(light, gen, noise: float):
    """Sky + pixel noise, then an asinh stretch into [0, 1]."""
    import torch

    b, size = light.shape[0], light.shape[-1]
    sky = 0.004 + 0.004 * torch.rand(b, 1, 1, 1, generator=gen)
    # per-pixel noise scales with the pixel's side: a pixel of a smaller image covers
    # more sky, so its noise averages down
    light = light + sky + noise * 0.02 * (size / 128) * torch.randn(light.shape, generator=gen)
    soft = 0.03
    return (torch.asinh(light / soft) / math.asinh(1.0 / soft)).clamp(0, 1)


def generate(labels, *, size: int = 128, seed: int = 0, split_index: int = 0, noise: float = 1.0, stars: int = 3):
    """Images (n, 3, size, size) in [0, 1] for the given labels (n,), chunk by chunk."""
    import torch
    import torch.nn.functional as F

    oversample = 2 if size < 64 else 1
    out = torch.empty(labels.shape[0], 3, size, size)
    for chunk, start in enumerate(range(0, labels.shape[0], CHUNK)):
        gen = torch.Generator().manual_seed(torch_seed(seed, split_index, 1, chunk))
        part = labels[start:start + CHUNK]
        light = _render(gen, part, size * oversample, stars)
        if oversample > 1:
            light = F.avg_pool2d(light, oversample)
        out[start:start + CHUNK] = _stretch(light, gen, noise)
    return out


def galaxies(split: str = "train", seed: int = 0, *, n: Optional[int] = None, size: int = 128,
             value_range: tuple[float, float] = (0.0, 1.0), noise: float = 1.0, stars: int = 3):
    """Procedural RGB galaxy images with labels 0 barred spiral, 1 elliptical, 2 spiral.

    split        ``train`` or ``test`` (independent streams of ``seed``)
    seed         non-negative integer; the same seed gives the same bytes
    n            number of images (default 1200 for train, 300 for test); classes are
                 balanced (counts differ by at most one) and shuffled
    size         image side in pixels: a power of two >= 32 (default 128)
    value_range  pixel range, (0, 1) by default; (-1, 1) for tanh generators
    noise        pixel-noise level relative to the default (0 turns it off)
    stars        at most this many field stars per image

    Returns an ArrayDataset with ``x`` float32 (n, 3, size, size) and ``y`` int64 (n,). With
    ``noise`` > 0 its ``meta["clean"]`` is ``{"noise": 0.0}``: the parameters that give the
    noise-free images of the same galaxies (the noise is drawn last from each chunk's stream,
    so every other random choice is the same), which evaluations use as clean targets.
    """
    import torch

    from .base import ArrayDataset

    split_index = check_split("galaxies", split)
    seed = check_seed("galaxies", seed)
    n = check_count("galaxies", "n", DEFAULT_N[split] if n is None else n)
    size = check_count("galaxies", "size", size, minimum=32)
    if size & (size - 1):
        raise UsageError(f"galaxies: size must be a power of two >= 32 (32, 64, 128, ...), got {size}")
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise UsageError(f"galaxies: value_range must be a pair low,high; got {value_range!r}") from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise UsageError(f"galaxies: value_range needs finite low < high, got ({low}, {high})")
    noise = float(noise)
    if not noise >= 0:
        raise UsageError(f"galaxies: noise must be >= 0, got {noise}")
    stars = check_count("galaxies", "stars", stars, minimum=0)

    label_gen = torch.Generator().manual_seed(torch_seed(seed, split_index, 0))
    labels = (torch.arange(n) % len(CLASS_NAMES))[torch.randperm(n, generator=label_gen)]
    images = generate(labels, size=size, seed=seed, split_index=split_index, noise=noise, stars=stars)
    if (low, high) != (0.0, 1.0):
        images = images * (high - low) + low
    meta = {"value_range": (low, high), "size": size}
    if noise > 0:
        meta["clean"] = {"noise": 0.0}
    return ArrayDataset(images, y=labels, class_names=CLASS_NAMES, name="galaxies", meta=meta)
