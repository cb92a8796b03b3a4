"""Procedural galaxies: determinism, shapes, ranges, balance, and separable classes."""

import pytest
import torch
import torch.nn as nn

from genreg.data.galaxies import CLASS_NAMES, galaxies
from genreg.errors import UsageError


def test_same_seed_same_bytes_and_other_seeds_differ(one_thread):
    a = galaxies(n=12, size=32, seed=5)
    b = galaxies(n=12, size=32, seed=5)
    assert a.x.numpy().tobytes() == b.x.numpy().tobytes() and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, galaxies(n=12, size=32, seed=6).x)
    assert not torch.equal(a.x, galaxies("test", n=12, size=32, seed=5).x)


@pytest.mark.parametrize("size", [32, 64, 128])
def test_shapes_dtypes_and_range(one_thread, size):
    d = galaxies(n=6, size=size)
    assert d.x.shape == (6, 3, size, size) and d.x.dtype == torch.float32
    assert d.y.shape == (6,) and d.y.dtype == torch.int64
    assert d.x.min() >= 0.0 and d.x.max() <= 1.0
    assert d.class_names == CLASS_NAMES == ("barred_spiral", "elliptical", "spiral") and d.num_classes == 3
    # a galaxy in the middle, dark sky at the corners
    centre = d.x[:, :, size // 2 - 2:size // 2 + 2, size // 2 - 2:size // 2 + 2].mean()
    corners = d.x[:, :, :4, :4].mean()
    assert centre > 0.5 and corners < 0.2
    assert set(d[0]) == {"x", "y"}


def test_signed_range_on_request(one_thread):
    d = galaxies(n=6, size=32, value_range=(-1, 1))
    u = galaxies(n=6, size=32)
    assert d.x.min() >= -1.0 and d.x.max() <= 1.0 and d.x.min() < -0.9
    torch.testing.assert_close(d.x, u.x * 2 - 1)


def test_classes_are_balanced_and_shuffled(one_thread):
    d = galaxies(n=100, size=32)
    assert sorted(torch.bincount(d.y, minlength=3).tolist()) == [33, 33, 34]
    assert not torch.equal(d.y[:9], torch.arange(9) % 3)
    assert len(galaxies("test", size=32)) == 300


def test_ellipticals_are_redder_than_spirals(one_thread):
    d = galaxies(n=60, size=32, noise=0.0, stars=0)
    light = d.x.clamp(min=0.02)
    ratio = (light[:, 0].sum(dim=(1, 2)) / light[:, 2].sum(dim=(1, 2)))
    assert ratio[d.y == 1].mean() > ratio[d.y == 2].mean() + 0.05


@pytest.mark.parametrize("params, words", [
    ({"size": 48}, "power of two >= 32"),
    ({"size": 16}, "size must be an integer >= 32"),
    ({"value_range": (1, 1)}, "finite low < high"),
    ({"n": 0}, "n must be an integer >= 1"),
    ({"noise": -1}, "noise must be >= 0"),
    ({"split": "val"}, "unknown split"),
])
def test_bad_parameters(params, words):
    with pytest.raises(UsageError, match=words):
        galaxies(**params)


def test_small_cnn_separates_the_classes(one_thread):
    torch.manual_seed(0)
    train = galaxies(n=900, size=32, seed=0)
    test = galaxies("test", n=300, size=32, seed=0)
    net = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(32, 3))
    epochs, batch = 8, 30
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=epochs * (len(train) // batch))
    for _ in range(epochs):
        order = torch.randperm(len(train))
        for i in range(0, len(train), batch):
            index = order[i:i + batch]
            # galaxies have no preferred orientation: quarter turns are free extra data
            images = torch.rot90(train.x[index], int(torch.randint(0, 4, ())), (2, 3))
            loss = nn.functional.cross_entropy(net(images), train.y[index])
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
    with torch.no_grad():
        predicted = net(test.x).argmax(dim=1)
    accuracy = (predicted == test.y).float().mean().item()
    recall = [(predicted[test.y == c] == c).float().mean().item() for c in range(3)]
    # chance is 1/3; telling ellipticals apart alone gives at most 2/3
    assert accuracy > 0.75, (accuracy, recall)
    assert min(recall) > 0.5, (accuracy, recall)
