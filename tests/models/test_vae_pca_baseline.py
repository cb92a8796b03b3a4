"""scripts/vae_pca_baseline.py: the linear (principal-component) reference quoted for the
vae-galaxies preset, on a tiny set of 32x32 galaxies."""

import math

import pytest
import torch

from genreg.training.data import build_dataset
from script_module import load_script


@pytest.fixture(scope="module")
def script():
    return load_script("vae_pca_baseline")


def test_principal_components_beat_the_mean_image_and_denoise(script):
    scores = script.pca_scores(n_train=96, n_test=48, size=32, ks=[1, 8])
    assert sorted(scores) == [1, 8]
    for m in scores.values():
        assert all(math.isfinite(m[key]) for key in ("mse", "mse_clean", "mse_input_noise"))
    best = scores[8]
    # the components of the training images carry over to the test images: below the mean image
    assert best["mse_ratio_to_mean_image"] < 1 and best["mse_ratio_to_mean_image_clean"] < 1
    # the randomised SVD finds the leading components: the same scores as an exact SVD's
    spec = {"name": "galaxies", "size": 32}
    train = build_dataset({**spec, "n": 96}, "train", 0).x.float().flatten(1)
    test = build_dataset({**spec, "n": 48}, "test", 0)
    clean = build_dataset({**spec, "n": 48, **test.meta["clean"]}, "test", 0).x.float().flatten(1)
    mean = train.mean(0, keepdim=True)
    basis = torch.linalg.svd(train - mean, full_matrices=False).Vh[:8].T
    x = test.x.float().flatten(1)
    recon = ((x - mean) @ basis) @ basis.T + mean
    assert best["mse"] == pytest.approx(float(((recon - x) ** 2).mean()), rel=0.02)
    assert best["mse_clean"] == pytest.approx(float(((recon - clean) ** 2).mean()), rel=0.02)
