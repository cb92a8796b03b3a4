"""ring8 and grid25: centres, spread, balance, determinism."""

import math

import pytest
import torch

from genreg.data.gaussians import grid25, ring8
from genreg.errors import UsageError


def test_ring8_centres_on_the_circle():
    d = ring8(n=800)
    centers = d.meta["centers"]
    assert centers.shape == (8, 2) and d.meta["std"] == 0.02
    torch.testing.assert_close(centers.norm(dim=1), torch.full((8,), 2.0))
    angles = torch.sort(torch.atan2(centers[:, 1], centers[:, 0]) % (2 * math.pi)).values
    torch.testing.assert_close(angles.diff(), torch.full((7,), 2 * math.pi / 8), atol=1e-5, rtol=0)


def test_grid25_centres_on_the_grid():
    d = grid25(n=500)
    centers = d.meta["centers"]
    assert centers.shape == (25, 2) and d.meta["std"] == 0.05
    assert sorted(set(centers[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert len({tuple(c) for c in centers.tolist()}) == 25
    assert grid25(n=10, spacing=1.0).meta["centers"].abs().max() == 2.0


@pytest.mark.parametrize("make", [ring8, grid25])
def test_points_lie_around_their_mode_with_the_given_std(make):
    d = make(n=5000, seed=1)
    assert d.x.shape == (5000, 2) and d.x.dtype == torch.float32 and d.y is None
    centers, std, mode = d.meta["centers"], d.meta["std"], d.meta["mode"]
    offset = d.x - centers[mode]
    # each coordinate is N(0, std^2)
    assert abs(offset.std().item() - std) < 0.05 * std
    assert offset.mean(dim=0).abs().max() < 0.1 * std
    # in 2-D, P(r < 3 std) = 1 - exp(-4.5) = 0.989
    within = (offset.norm(dim=1) < 3 * std).float().mean().item()
    assert abs(within - 0.989) < 0.01
    # the nearest centre is the sample's own mode: modes are well separated
    nearest = torch.cdist(d.x, centers).argmin(dim=1)
    assert torch.equal(nearest, mode)


@pytest.mark.parametrize("make, k", [(ring8, 8), (grid25, 25)])
def test_modes_are_balanced(make, k):
    counts = torch.bincount(make(n=1003).meta["mode"], minlength=k)
    assert counts.max() - counts.min() <= 1


def test_labels_option_returns_the_mode_as_y():
    d = ring8(n=100, labels=True)
    assert torch.equal(d.y, d.meta["mode"]) and d.y.dtype == torch.int64 and d.num_classes == 8
    assert set(d[0]) == {"x", "y"}


@pytest.mark.parametrize("make", [ring8, grid25])
def test_same_seed_same_bytes(make):
    assert make(n=300, seed=2).x.numpy().tobytes() == make(n=300, seed=2).x.numpy().tobytes()
    assert not torch.equal(make(n=300, seed=2).x, make(n=300, seed=3).x)
    assert not torch.equal(make(n=300, seed=2).x, make("test", n=300, seed=2).x)


@pytest.mark.parametrize("params, words", [
    ({"std": 0}, "std must be a positive number"),
    ({"std": float("nan")}, "std must be a positive number"),
    ({"radius": -1}, "radius must be a positive number"),
    ({"n": 0}, "n must be an integer >= 1"),
    ({"split": "dev"}, "unknown split"),
])
def test_bad_parameters(params, words):
    with pytest.raises(UsageError, match=words):
        ring8(**params)
