"""The ``vae-galaxies`` recipe (issue 14): the study's 128x128 MLP VAE trained by its preset,
scored by `genreg eval`'s functions (slow: 2000 steps of a 49M-weight MLP; run with
`pytest -m slow`).

The first test asserts the recipe's floor from before its data-dependent starts (the preset
without them, 2000 steps with cosine learning-rate decay, CPU: test MSE 0.862 of the mean
image's against the noisy test images, 0.583 against the clean images, 50/50 active units,
class agreement 86.9 %). The third asserts issue 14's own targets, which the preset with the
decoder started at the mean image and the encoder input centred on it reaches (this test's
run, train.seed 0, CPU: 0.835 noisy, 0.442 clean, KL 125, 50/50 active units, class agreement
94.4 %): class agreement >= 90 % and, against the noise-free images of the same galaxies (the
galaxies' pixel noise alone is 79 % of the mean-image MSE on noisy targets, see
genreg.models.vae), an MSE <= 50 % of the mean clean image's.
"""

import pytest
import torch

import genreg
from genreg.eval import evaluate, load_run
from genreg.nets.vae import interpolate_latents

from tiny_runs import TRAIN

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    out = tmp_path_factory.mktemp("vae-galaxies")
    result = genreg.train("vae", preset="vae-galaxies", overrides=[*TRAIN[1:], "train.log_every=50"],
                          out=out / "run", quiet=True)
    metrics = evaluate(result.run_dir, out / "eval")
    return result.run_dir, metrics


def test_vae_galaxies_keeps_class_and_uses_its_latents(recipe):
    run_dir, m = recipe
    assert m["active_units"] >= 10, m["active_units"]  # Burda et al. 2016: Cov_x E[z|x] > 0.01
    assert m["mse_ratio_to_mean_image"] <= 0.92, m["mse_ratio_to_mean_image"]  # noise floor ~0.79
    # the same reconstructions against the noise-free images: well below the mean clean image
    assert m["mse_ratio_to_mean_image_clean"] <= 0.75, m["mse_ratio_to_mean_image_clean"]
    assert m["mse"] > m["mse_input_noise"]  # no reconstruction predicts the noise
    assert m["classifier_test_accuracy"] >= 0.95, m["classifier_test_accuracy"]
    assert m["class_agreement"] >= 0.8, m["class_agreement"]


def test_vae_galaxies_interpolation_changes_shape_along_the_path(recipe):
    run_dir, _ = recipe
    run = load_run(run_dir, "cpu")
    data = genreg.eval.eval_dataset(run, None, 64)
    a = 0
    b = int((data.y != data.y[a]).nonzero()[0, 0])  # an image of another class
    with torch.no_grad():
        mu, _ = run.model.encoder(data.x[[a, b]].float())
        path = run.model.decoder(interpolate_latents(mu[0], mu[1], 8))
    ends = float((path[0] - path[-1]).abs().mean())
    steps = (path[1:] - path[:-1]).flatten(1).abs().mean(1)
    assert ends > 0.02, ends  # the two decoded ends differ
    assert bool((steps > 0.05 * ends).all()), (steps, ends)  # every step moves: no jump at one end
    middle = path[4]
    for end in (path[0], path[-1]):  # the middle is neither end: the shape changes along the path
        assert float((middle - end).abs().mean()) > 0.25 * ends


def test_vae_galaxies_issue_targets(recipe):
    _, m = recipe
    assert m["mse_ratio_to_mean_image_clean"] <= 0.5, m["mse_ratio_to_mean_image_clean"]
    assert m["class_agreement"] >= 0.9, m["class_agreement"]
