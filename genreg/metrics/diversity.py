"""Intra-class diversity: mean pairwise feature distance within each class.

A class-conditional generator can reach perfect class fidelity by drawing one image per
class (intra-class mode collapse, the failure AC-GAN is known for: Odena et al. 2017,
Sec. 4.3 measure it with MS-SSIM within a class; Shu et al. 2017 and Gong et al. 2019
explain why the auxiliary classifier pushes towards it). Here the spread of a set of
samples is their mean pairwise Euclidean distance in a feature space (the evaluation's
classifier features), per class; generated over real gives a ratio that is ~1 for a
generator as varied as the data and 0 for one image per class.

In pixels the distance is taken between images average-pooled to at most 8x8
(:func:`pooled_pixels`): noise that is independent from pixel to pixel and from sample to
sample adds ``sqrt(2 * D) * sigma`` to every pairwise distance, so at full resolution a
generator drawing one galaxy per class plus noise of std 0.05 (the images' own std is 0.12)
scores 0.75-0.85 of the real spread, and with std 0.1 above 1.5. Pooling over 4x4 pixels
divides that noise term by 4 while shape, size, orientation and colour survive at 8x8.
"""

from __future__ import annotations

import numpy as np

from ..errors import UsageError


def mean_pairwise_distance(features) -> float:
    """Mean Euclidean distance over all unordered pairs of rows of ``features`` (N, D), N >= 2.

    Float64; raises UsageError for fewer than 2 rows or a non-2-D array.
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise UsageError(f"mean pairwise distance: expected (N, D) features with N >= 2, got shape {f.shape}")
    sq = np.sum(f * f, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * f @ f.T, 0.0)  # rounding can go slightly below 0
    iu = np.triu_indices(len(f), k=1)
    return float(np.sqrt(d2[iu]).mean())


POOLED_SIZE = 8  # side of the pooled images whose pixel distances count as diversity


def pooled_pixels(images, size: int = POOLED_SIZE) -> np.ndarray:
    """(N, C, H, W) images -> (N, C * h * w) float64 rows of their average over ``h x w``
    cells, ``h = min(size, H)``, ``w = min(size, W)`` (torch's adaptive average pooling);
    other ranks: (N, ...) flattened unchanged. UsageError for fewer than two dimensions."""
    import torch

    x = torch.as_tensor(images)
    if x.ndim < 2:
        raise UsageError(f"pooled pixels: expected (N, ...) samples, got shape {tuple(x.shape)}")
    if x.ndim == 4:
        x = torch.nn.functional.adaptive_avg_pool2d(x.double(), (min(size, x.shape[2]), min(size, x.shape[3])))
    return x.reshape(len(x), -1).double().numpy()


def intra_class_diversity(gen_features, gen_labels, real_features, real_labels) -> dict:
    """Per-class mean pairwise feature distance of generated vs real samples.

    ``*_features``: (N, D) arrays; ``*_labels``: (N,) integer class per row. Classes with
    fewer than 2 samples on either side are skipped. Returns ``{"per_class": {c: {"generated",
    "real", "ratio"}}, "ratio_mean", "ratio_min"}`` (ratios generated / real; None when no class
    has 2 samples on both sides).
    """
    gf, rf = np.asarray(gen_features, np.float64), np.asarray(real_features, np.float64)
    gy, ry = np.asarray(gen_labels).reshape(-1), np.asarray(real_labels).reshape(-1)
    if gf.ndim != 2 or rf.ndim != 2 or len(gf) != len(gy) or len(rf) != len(ry) or gf.shape[1] != rf.shape[1]:
        raise UsageError(f"intra-class diversity: features {gf.shape} / {rf.shape} do not match labels "
                         f"{gy.shape} / {ry.shape}")
    per_class = {}
    for c in sorted(set(gy.tolist()) & set(ry.tolist())):
        g, r = gf[gy == c], rf[ry == c]
        if len(g) < 2 or len(r) < 2:
            continue
        dg, dr = mean_pairwise_distance(g), mean_pairwise_distance(r)
        per_class[int(c)] = {"generated": dg, "real": dr, "ratio": dg / dr if dr > 0 else None}
    ratios = [v["ratio"] for v in per_class.values() if v["ratio"] is not None]
    return {"per_class": per_class, "ratio_mean": float(np.mean(ratios)) if ratios else None,
            "ratio_min": float(min(ratios)) if ratios else None}
