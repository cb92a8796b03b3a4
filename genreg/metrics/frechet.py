"""Fréchet distance between feature sets, the small network that provides the features, and
class fidelity of conditional samples.

Fréchet distance of two Gaussians fitted to feature sets (mean, covariance):

    d^2 = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2)

computed in float64 with symmetric eigen-decompositions only (S1^1/2 from eigh of S1, then
the eigenvalues of the symmetric PSD matrix S1^1/2 S2 S1^1/2), clipping the tiny negative
eigenvalues rounding produces; no scipy and no non-symmetric matrix square root.

The feature space is not a downloaded Inception network: :class:`FeatureNet` is a small
CNN (three conv-BatchNorm-pool stages, global average pooling, 64 features, linear classifier),
trained by :func:`train_feature_net` on genreg's own labelled data (the galaxies' three
classes) for a few epochs from a fixed seed, so the distance is reproducible from the
data, the seed and this file. Its classifier head also gives :func:`class_fidelity`.
Distances are comparable only between runs scored with the same feature network.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from torch import nn

from ..errors import UsageError
from ._arrays import as_points


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) (unbiased) of features (N, D), N >= 2."""
    x = as_points(features, "features")
    if x.shape[0] < 2:
        raise UsageError(f"frechet: need at least 2 feature vectors, got {x.shape[0]}")
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def _sym_sqrt(a: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_from_stats(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance (squared, as in FID) between N(mu1, sigma1) and N(mu2, sigma2)."""
    mu1, mu2 = np.asarray(mu1, np.float64).reshape(-1), np.asarray(mu2, np.float64).reshape(-1)
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    d = mu1.shape[0]
    if mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise UsageError(f"frechet: shapes do not match: mu1 {mu1.shape}, sigma1 {s1.shape}, "
                         f"mu2 {mu2.shape}, sigma2 {s2.shape}")
    root1 = _sym_sqrt(s1)
    middle = root1 @ s2 @ root1
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    value = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)
    return max(value, 0.0)  # rounding can leave -1e-12 for identical sets


def frechet_distance(features1, features2) -> float:
    """Fréchet distance between two feature sets (N1, D) and (N2, D)."""
    a, b = as_points(features1, "features1"), as_points(features2, "features2")
    if a.shape[1] != b.shape[1]:
        raise UsageError(f"frechet: feature sizes differ: {a.shape[1]} and {b.shape[1]}")
    return frechet_from_stats(*gaussian_stats(a), *gaussian_stats(b))


# --- the feature network -------------------------------------------------------------------------

class FeatureNet(nn.Module):
    """Small CNN for (C, H, W) images of any size >= 16: ``features(x)`` -> (B, feature_dim),
    ``forward(x)`` -> class logits (B, num_classes).

    Three conv-BatchNorm-ReLU-maxpool stages (widths w, 2w, 4w), a conv to ``feature_dim``
    channels, global average pooling, a linear head. ``input_size``: images are first
    average-pooled to at most this side (keeps the cost independent of the image size)."""

    def __init__(self, channels: int = 3, num_classes: int = 3, width: int = 16, feature_dim: int = 64,
                 input_size: Optional[int] = None) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.input_size = input_size

        def stage(i, o):
            return [nn.Conv2d(i, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]

        w = width
        self.body = nn.Sequential(
            *stage(channels, w), *stage(w, 2 * w), *stage(2 * w, 4 * w),
            nn.Conv2d(4 * w, feature_dim, 3, 1, 1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(feature_dim, num_classes)

    def _resize(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_size and max(x.shape[-2:]) > self.input_size:
            x = nn.functional.adaptive_avg_pool2d(x, self.input_size)
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self._resize(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _check_images(images, labels, num_classes: Optional[int]):
    x = images if isinstance(images, torch.Tensor) else torch.as_tensor(np.asarray(images))
    if x.dim() != 4 or x.shape[0] == 0:
        raise UsageError(f"feature net: expected images of shape (N, C, H, W), got {tuple(x.shape)}")
    x = x.float()
    if labels is None:
        return x, None
    y = labels if isinstance(labels, torch.Tensor) else torch.as_tensor(np.asarray(labels))
    if y.is_floating_point() or tuple(y.shape) != (x.shape[0],):
        raise UsageError(f"feature net: labels must be integers of shape ({x.shape[0]},), got "
                         f"{tuple(y.shape)} {y.dtype}")
    y = y.long()
    if num_classes is not None and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise UsageError(f"feature net: labels must lie in [0, {num_classes}), got [{int(y.min())}, {int(y.max())}]")
    return x, y


def train_feature_net(images, labels, num_classes: int = 3, epochs: int = 3, batch_size: int = 64,
                      lr: float = 1e-3, seed: int = 0, width: int = 16, feature_dim: int = 64,
                      device=None, augment: bool = False, input_size: Optional[int] = None):
    """Train a :class:`FeatureNet` classifier on labelled images and return it in eval mode.

    Deterministic for a given seed (initialisation, batch order and augmentation come from
    generators seeded here; the global RNG state is left as it was). Adam with a cosine
    decay of the learning rate to zero, cross-entropy. ``augment``: random flips and
    quarter turns per batch (for classes that do not change under them, e.g. galaxies).
    """
    x, y = _check_images(images, labels, num_classes)
    if epochs < 1 or batch_size < 1:
        raise UsageError(f"train_feature_net: epochs and batch_size must be >= 1, got {epochs}, {batch_size}")
    device = torch.device(device or "cpu")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = FeatureNet(x.shape[1], num_classes, width, feature_dim, input_size).to(device)
    order_rng = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    total = epochs * -(-x.shape[0] // batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.5 * (1 + np.cos(np.pi * min(k, total) / total)))
    square = x.shape[-1] == x.shape[-2]
    net.train()
    for _ in range(epochs):
        for idx in torch.randperm(x.shape[0], generator=order_rng).split(batch_size):
            xb, yb = x[idx].to(device), y[idx].to(device)
            if augment:
                flip, turns = torch.randint(0, 2, (1,), generator=order_rng), torch.randint(0, 4, (1,), generator=order_rng)
                xb = xb.flip(-1) if int(flip) else xb
                xb = torch.rot90(xb, int(turns), (-2, -1)) if square else xb
            loss = torch.nn.functional.cross_entropy(net(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return net.eval()


def _batched(net, images, batch_size: int, fn):
    x, _ = _check_images(images, None, None)
    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    with torch.no_grad():
        out = torch.cat([fn(x[i:i + batch_size].to(device)).cpu() for i in range(0, x.shape[0], batch_size)])
    net.train(was_training)
    return out


def extract_features(net, images, batch_size: int = 256) -> np.ndarray:
    """Features (N, feature_dim) of images under ``net.features``, as float64 numpy."""
    return _batched(net, images, batch_size, net.features).double().numpy()


def predict_classes(net, images, batch_size: int = 256) -> np.ndarray:
    """The classifier's predicted class per image, shape (N,)."""
    return _batched(net, images, batch_size, net).argmax(1).numpy()


def classifier_accuracy(net, images, labels, batch_size: int = 256) -> float:
    """Fraction of images the classifier labels correctly."""
    _, y = _check_images(images, labels, getattr(net, "num_classes", None))
    return float((predict_classes(net, images, batch_size) == y.numpy()).mean())


def class_fidelity(classifier, samples, requested, batch_size: int = 256) -> float:
    """Fraction of generated samples the classifier assigns to the class they were generated for."""
    return classifier_accuracy(classifier, samples, requested, batch_size)


def image_frechet_distance(net, real, fake, batch_size: int = 256) -> float:
    """Fréchet distance between real and generated images in ``net``'s feature space."""
    return frechet_distance(extract_features(net, real, batch_size), extract_features(net, fake, batch_size))
