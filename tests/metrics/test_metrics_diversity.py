"""Intra-class diversity (genreg.metrics.diversity): mean pairwise feature distance per class."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genreg.errors import UsageError
from genreg.metrics.diversity import intra_class_diversity, mean_pairwise_distance


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
