"""The galaxies 32x32 presets (issue 14) reach their stated targets, scored by `genreg eval`'s
functions (slow: the full step budget of each preset on CPU; run with `pytest -m slow`).

Targets: acGAN class fidelity >= 90 % with intra-class diversity >= 50 % of the real images'
(mean pairwise classifier-feature distance within each class); WGAN-GP / WGAN-div state their
Fréchet distance (10 CPU-minutes each; one CPU run gave 96 / 59), held here at about twice that
to allow for seed and thread-count spread, far below what the models' defaults gave after 600 steps
(1180 / 733).
Each number is read through the eval classifier, whose own test accuracy must be >= 95 %.
"""

import pytest

from genreg.cli import main
from genreg.eval import evaluate

pytestmark = pytest.mark.slow


def _train_preset(tmp_path, model):
    run = tmp_path / model
    assert main(["train", model, "--preset", f"{model}-galaxies32", "--out", str(run), "--quiet",
                 "train.device=cpu", "train.sample_every=0"]) == 0
    return evaluate(run, run / "eval")


def test_acgan_galaxies32_is_faithful_and_varied_within_each_class(tmp_path):
    m = _train_preset(tmp_path, "acgan")
    assert m["classifier_test_accuracy"] >= 0.95, m["classifier_test_accuracy"]
    assert m["class_fidelity"] >= 0.90, m["class_fidelity"]
    assert m["intra_class_diversity"]["ratio_min"] >= 0.5, m["intra_class_diversity"]
    # in pixels too: classifier features understate within-class variation
    assert m["intra_class_diversity_pixels"]["ratio_min"] >= 0.5, m["intra_class_diversity_pixels"]


@pytest.mark.parametrize("model, bound", [("wgan-gp", 200.0), ("wgan-div", 120.0)])
def test_wasserstein_galaxies32_states_its_frechet_distance(tmp_path, model, bound):
    m = _train_preset(tmp_path, model)
    assert m["classifier_test_accuracy"] >= 0.95, m["classifier_test_accuracy"]
    assert 0.0 <= m["frechet_distance"] < bound, m["frechet_distance"]
