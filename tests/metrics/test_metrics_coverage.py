"""Mode coverage on ring8 / grid25 layouts built here."""

import numpy as np
import pytest

from genreg.errors import UsageError
from genreg.metrics.coverage import mode_coverage, nearest_modes

STD = 0.02


def ring8(radius=2.0):
    a = 2 * np.pi * np.arange(8) / 8
    return np.stack([radius * np.cos(a), radius * np.sin(a)], axis=1)


def grid25():
    g = np.arange(-2, 3) * 2.0
    return np.array([(x, y) for x in g for y in g])


def around(centres, per_mode, rng, std=STD):
    return np.concatenate([c + std * rng.standard_normal((per_mode, 2)) for c in centres])


def test_collapsed_generator_covers_exactly_one_mode():
    rng = np.random.default_rng(0)
    samples = around(ring8()[3:4], 1000, rng)
    out = mode_coverage(samples, ring8(), STD)
    assert out["modes_covered"] == 1 and out["num_modes"] == 8
    assert out["counts"][3] == out["counts"].sum()
    assert out["high_quality"] > 0.95


@pytest.mark.parametrize("layout", [ring8, grid25])
def test_samples_spread_over_all_modes_cover_all(layout):
    rng = np.random.default_rng(1)
    centres = layout()
    out = mode_coverage(around(centres, 100, rng), centres, STD)
    assert out["modes_covered"] == len(centres)
    assert out["high_quality"] > 0.95  # 3 std of a 2-D Gaussian hold 98.9 %


def test_exact_high_quality_share():
    centres = ring8()
    inside = centres + np.array([2.9 * STD, 0.0])    # within 3 std of their mode
    outside = centres + np.array([0.0, 3.1 * STD])   # just outside
    out = mode_coverage(np.vstack([inside, outside]), centres, STD, min_count=1)
    assert out["high_quality"] == 0.5 and out["modes_covered"] == 8


def test_samples_far_from_every_mode_cover_nothing():
    out = mode_coverage(np.zeros((500, 2)), ring8(), STD)
    assert out["modes_covered"] == 0 and out["high_quality"] == 0.0


def test_threshold_for_a_mode_to_count():
    rng = np.random.default_rng(2)
    centres = ring8()
    samples = np.vstack([around(centres[:1], 995, rng, std=0.0), around(centres[1:2], 5, rng, std=0.0)])
    assert mode_coverage(samples, centres, STD)["min_count"] == 10          # 1 % of 1000
    assert mode_coverage(samples, centres, STD)["modes_covered"] == 1       # 5 stray samples do not count
    assert mode_coverage(samples, centres, STD, min_count=5)["modes_covered"] == 2


def test_per_mode_std():
    centres = ring8()
    samples = centres + np.array([0.1, 0.0])
    stds = np.where(np.arange(8) < 4, 0.05, 0.01)     # 0.1 is within 3 std only for the first four
    out = mode_coverage(samples, centres, stds, min_count=1)
    assert out["modes_covered"] == 4 and out["high_quality"] == 0.5


def test_nearest_modes():
    idx, dist = nearest_modes([[0.0, 2.1], [-2.0, 0.0]], ring8())
    np.testing.assert_array_equal(idx, [2, 4])
    np.testing.assert_allclose(dist, [0.1, 0.0], atol=1e-12)


def test_bad_inputs():
    with pytest.raises(UsageError, match="samples have 3 coordinates but centres have 2"):
        mode_coverage(np.zeros((4, 3)), ring8(), STD)
    with pytest.raises(UsageError, match="std"):
        mode_coverage(np.zeros((4, 2)), ring8(), -1.0)
    with pytest.raises(UsageError, match="empty"):
        mode_coverage(np.zeros((0, 2)), ring8(), STD)
