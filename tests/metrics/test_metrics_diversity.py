"""Intra-class diversity (genreg.metrics.diversity): mean pairwise feature distance per class."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genreg.errors import UsageError
from genreg.metrics.diversity import intra_class_diversity, mean_pairwise_distance, pooled_pixels


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 12), st.integers(1, 5), st.integers(0, 10_000))
def test_mean_pairwise_distance_matches_the_definition(n, d, seed):
    f = np.random.default_rng(seed).normal(size=(n, d)) * 3.0
    want = np.mean([np.linalg.norm(a - b) for a, b in itertools.combinations(f, 2)])
    assert mean_pairwise_distance(f) == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_identical_rows_have_zero_distance():
    assert mean_pairwise_distance(np.ones((5, 3)) * 7.0) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("shape", [(1, 3), (0, 3), (4,)])
def test_too_few_rows_or_wrong_rank_is_a_usage_error(shape):
    with pytest.raises(UsageError, match="N >= 2"):
        mean_pairwise_distance(np.zeros(shape))


def test_collapsed_generator_scores_zero_and_a_copy_of_the_data_scores_one():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(60, 8))
    labels = np.arange(60) % 3
    same = intra_class_diversity(real, labels, real, labels)
    assert same["ratio_mean"] == pytest.approx(1.0) and same["ratio_min"] == pytest.approx(1.0)
    # one image per class: every generated sample of class c is the same feature vector
    collapsed = np.stack([real[labels == c][0] for c in labels])
    out = intra_class_diversity(collapsed, labels, real, labels)
    assert out["ratio_mean"] == pytest.approx(0.0, abs=1e-6)
    assert set(out["per_class"]) == {0, 1, 2}


def test_ratio_scales_with_the_spread_and_min_picks_the_worst_class():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(90, 4))
    labels = np.arange(90) % 3
    gen = real.copy()
    gen[labels == 2] *= 0.25  # class 2 a quarter as spread out (about its mean ~0)
    out = intra_class_diversity(gen, labels, real, labels)
    assert out["per_class"][0]["ratio"] == pytest.approx(1.0)
    assert out["per_class"][2]["ratio"] == pytest.approx(0.25)
    assert out["ratio_min"] == pytest.approx(0.25)
    assert out["ratio_mean"] == pytest.approx(0.75)


def test_classes_with_fewer_than_two_samples_are_skipped():
    f = np.arange(12.0).reshape(6, 2)
    out = intra_class_diversity(f, np.array([0, 0, 0, 1, 2, 2]), f, np.array([0, 0, 1, 1, 2, 2]))
    assert set(out["per_class"]) == {0, 2}


def test_mismatched_shapes_are_a_usage_error():
    with pytest.raises(UsageError, match="do not match"):
        intra_class_diversity(np.zeros((4, 2)), np.zeros(3, int), np.zeros((4, 2)), np.zeros(4, int))
    with pytest.raises(UsageError, match="do not match"):
        intra_class_diversity(np.zeros((4, 2)), np.zeros(4, int), np.zeros((4, 3)), np.zeros(4, int))


# ----------------------------------------------------------------------------- in pixels


def _blobs(n, seed, size=32):
    """Galaxy-like images: an elongated Gaussian blob per image with its own orientation,
    axis ratio, size and colour on a black background, (n, 3, size, size) in [0, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    out = np.empty((n, 3, size, size))
    for i in range(n):
        angle, scale, ratio = rng.uniform(0, np.pi), rng.uniform(3, 7), rng.uniform(0.3, 1.0)
        u = xx * np.cos(angle) + yy * np.sin(angle)
        v = -xx * np.sin(angle) + yy * np.cos(angle)
        blob = np.exp(-0.5 * ((u / scale) ** 2 + (v / (scale * ratio)) ** 2))
        out[i] = rng.uniform(0.4, 1.0, size=(3, 1, 1)) * blob
    return out


@pytest.mark.parametrize("sigma", [0.0, 0.02, 0.05])
def test_near_copies_score_low_in_pooled_pixels_even_with_pixel_noise(sigma):
    real = _blobs(90, 0)
    labels = np.arange(90) % 3
    rng = np.random.default_rng(1)
    copies = np.stack([real[labels == c][0] for c in labels])  # one image per class ...
    copies = copies + sigma * rng.normal(size=copies.shape)  # ... plus independent pixel noise
    pooled = intra_class_diversity(pooled_pixels(copies), labels, pooled_pixels(real), labels)
    assert pooled["ratio_min"] >= 0 and pooled["ratio_mean"] < 0.5, pooled
    if sigma >= 0.05:  # why the pooling: at full resolution the noise alone looks like variety
        flat = intra_class_diversity(copies.reshape(90, -1), labels, real.reshape(90, -1), labels)
        assert flat["ratio_mean"] > pooled["ratio_mean"] + 0.3, (flat, pooled)
    # a generator as varied as the data (other draws of the same kind) scores about 1
    other = intra_class_diversity(pooled_pixels(_blobs(90, 2)), labels, pooled_pixels(real), labels)
    assert 0.8 < other["ratio_min"] and other["ratio_mean"] < 1.25, other


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.sampled_from([1, 2, 4]), st.integers(1, 10), st.integers(0, 999))
def test_pooled_pixels_are_block_means(n, c, block, cells, seed):
    side = cells * block
    x = np.random.default_rng(seed).normal(size=(n, c, side, side))
    got = pooled_pixels(x, size=cells)
    want = x.reshape(n, c, cells, block, cells, block).mean(axis=(3, 5)).reshape(n, -1)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    small = pooled_pixels(x, size=side + 3)  # never upsampled: smaller images stay as they are
    np.testing.assert_allclose(small, x.reshape(n, -1), rtol=1e-12, atol=1e-12)
    assert pooled_pixels(x[:, 0, 0]).shape == (n, side)  # (N, L) samples are flattened as they are


def test_pooled_pixels_of_a_single_number_is_a_usage_error():
    with pytest.raises(UsageError, match="expected"):
        pooled_pixels(np.zeros(3))
