"""The evaluation's own classifier: cached per data configuration, and accurate enough that
the numbers read through it (class fidelity, class agreement, Fréchet distance) mean something."""

import numpy as np
import pytest
import torch

from genreg.eval import classifier as clf_mod
from genreg.eval.classifier import train_classifier
from genreg.training.data import build_dataset


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENREG_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(clf_mod, "MIN_UPDATES", 20)  # a quick classifier: the cache is under test here
    return tmp_path / "eval-classifiers"


def _colour_images(path, n=60, size=16):
    """Class c images: channel c bright, plus noise (quick to tell apart)."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 3
    x = 0.3 * torch.rand(n, 3, size, size, generator=g)
    x[torch.arange(n), y] += 0.6
    np.savez(path, x=x.numpy(), y=y.numpy())
    return f"npz:{path}"


def test_the_classifier_is_cached_per_data_configuration(cache, tmp_path):
    spec = {"name": _colour_images(tmp_path / "colours.npz"), "test_fraction": 0.25}
    test = build_dataset(spec, "test", 0)
    first = train_classifier(spec, 0, test)
    assert not first.info["cached"] and not first.info["augmented"]  # a file is not tagged rotation-invariant
    assert 0.0 <= first.info["test_accuracy"] <= 1.0 and len(list(cache.glob("*.safetensors"))) == 1
    again = train_classifier(spec, 0, test)
    assert again.info["cached"] and again.info["test_accuracy"] == first.info["test_accuracy"]
    for p, q in zip(first.net.state_dict().values(), again.net.state_dict().values()):
        assert torch.equal(p, q)
    other = train_classifier({**spec, "test_fraction": 0.2}, 0, test)  # another configuration: another entry
    assert not other.info["cached"] and len(list(cache.glob("*.safetensors"))) == 2
    path = next(iter(sorted(cache.glob("*.safetensors"))))
    path.write_bytes(b"not safetensors")  # a corrupt entry is retrained, not fatal
    assert {train_classifier(s, 0, test).info["cached"] for s in (spec, {**spec, "test_fraction": 0.2})} == {True,
                                                                                                        False}


def test_rotation_invariant_data_sets_are_augmented():
    assert clf_mod._augmented({"name": "galaxies"}) and not clf_mod._augmented({"name": "ring8"})
    assert not clf_mod._augmented({"name": "npz:/some/file.npz"})


def test_unlabelled_or_non_image_data_get_no_classifier(cache):
    spec = {"name": "ring8", "n": 64}
    assert train_classifier(spec, 0, build_dataset(spec, "test", 0)) is None


@pytest.mark.slow
@pytest.mark.parametrize("size", [32, 64, 128])
def test_the_classifier_reaches_95_percent_on_real_galaxies(tmp_path, monkeypatch, size):
    monkeypatch.setenv("GENREG_CACHE_DIR", str(tmp_path))
    spec = {"name": "galaxies", "size": size}
    clf = train_classifier(spec, 0, build_dataset(spec, "test", 0))
    assert clf.info["test_accuracy"] >= 0.95, clf.info
