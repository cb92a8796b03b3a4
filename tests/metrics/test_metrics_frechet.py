"""Fréchet distance on sets with known answers; the feature network; class fidelity."""

import numpy as np
import pytest
import torch

from genreg.errors import UsageError
from genreg.metrics.frechet import (FeatureNet, class_fidelity, classifier_accuracy, extract_features,
                                    frechet_distance, frechet_from_stats, gaussian_stats, image_frechet_distance,
                                    train_feature_net)


def test_identical_sets_have_distance_zero():
    x = np.random.default_rng(0).standard_normal((500, 16))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_shifted_set_with_equal_covariance_gives_squared_mean_difference():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((400, 8)) @ rng.standard_normal((8, 8))  # correlated features
    shift = rng.standard_normal(8)
    assert frechet_distance(a, a + shift) == pytest.approx(float(shift @ shift), rel=1e-8, abs=1e-8)


def test_closed_forms_from_stats():
    # diagonal covariances: sum (sqrt(a) - sqrt(b))^2
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    assert frechet_from_stats(np.zeros(3), np.diag(a), np.zeros(3), np.diag(b)) == pytest.approx(
        float(((np.sqrt(a) - np.sqrt(b)) ** 2).sum()))
    # one dimension: (m1 - m2)^2 + (s1 - s2)^2
    assert frechet_from_stats([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0)


def test_non_commuting_covariances_against_an_independent_route():
    rng = np.random.default_rng(2)
    m1, m2 = rng.standard_normal((6, 6)), rng.standard_normal((6, 6))
    s1, s2 = m1 @ m1.T + 0.1 * np.eye(6), m2 @ m2.T + 0.1 * np.eye(6)
    # tr sqrt(S1 S2) from the eigenvalues of the (non-symmetric) product, which are real and >= 0
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None)).sum()
    want = np.trace(s1) + np.trace(s2) - 2 * tr_sqrt
    assert frechet_from_stats(np.zeros(6), s1, np.zeros(6), s2) == pytest.approx(want, rel=1e-9)
    assert frechet_from_stats(np.zeros(6), s1, np.zeros(6), s2) == pytest.approx(
        frechet_from_stats(np.zeros(6), s2, np.zeros(6), s1), rel=1e-9)


def test_singular_covariance_is_fine():
    rng = np.random.default_rng(3)
    a = np.zeros((100, 4))
    a[:, 0] = rng.standard_normal(100)  # rank-one covariance
    assert np.isfinite(frechet_distance(a, a)) and frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_bad_inputs():
    with pytest.raises(UsageError, match="feature sizes differ"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(UsageError, match="at least 2"):
        gaussian_stats(np.zeros((1, 3)))


def colour_images(n, size=16, seed=0):
    """Class c images: channel c bright, plus noise, so a small CNN separates them quickly."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 3
    x = 0.3 * torch.rand(n, 3, size, size, generator=g)
    x[torch.arange(n), labels] += 0.6
    return x, labels


def test_feature_net_trains_deterministically_and_classifies():
    x, y = colour_images(96)
    state = torch.get_rng_state()
    a = train_feature_net(x, y, epochs=5, batch_size=16, lr=3e-3, seed=7, width=4, feature_dim=16)
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is left alone
    b = train_feature_net(x, y, epochs=5, batch_size=16, lr=3e-3, seed=7, width=4, feature_dim=16)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    assert not a.training
    x_test, y_test = colour_images(60, seed=1)
    assert classifier_accuracy(a, x_test, y_test) > 0.9
    assert extract_features(a, x_test).shape == (60, 16)


def test_class_fidelity_and_image_frechet():
    x, y = colour_images(96)
    net = train_feature_net(x, y, epochs=5, batch_size=16, lr=3e-3, seed=0, width=4, feature_dim=16)
    samples, requested = colour_images(60, seed=2)
    assert class_fidelity(net, samples, requested) > 0.9
    assert class_fidelity(net, samples, (requested + 1) % 3) < 0.1
    real, _ = colour_images(90, seed=3)
    same = image_frechet_distance(net, real, colour_images(90, seed=4)[0])
    only_red = colour_images(90, seed=5)
    reds = only_red[0][only_red[1] == 0]
    assert image_frechet_distance(net, real, real) == pytest.approx(0.0, abs=1e-6)
    assert image_frechet_distance(net, real, reds) > 5 * same  # a collapsed set is far from the real one


def test_feature_net_any_size_and_label_errors():
    net = FeatureNet(width=4, feature_dim=8)
    assert net(torch.rand(2, 3, 128, 128)).shape == (2, 3)
    assert net.features(torch.rand(2, 3, 64, 64)).shape == (2, 8)
    x, _ = colour_images(6)
    with pytest.raises(UsageError, match=r"\[0, 3\)"):
        train_feature_net(x, torch.tensor([0, 1, 2, 3, 0, 1]), epochs=1)
    with pytest.raises(UsageError, match=r"\(N, C, H, W\)"):
        train_feature_net(torch.rand(6, 16, 16), torch.zeros(6, dtype=torch.long), epochs=1)
