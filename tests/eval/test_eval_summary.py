"""`genreg eval`'s one-line summary of a class-conditional GAN states both diversity ratios."""

from genreg.commands.eval import _summary


def test_gan_summary_states_fidelity_accuracy_and_both_diversity_ratios():
    m = {"kind": "gan", "model": "acgan", "step": 1500, "frechet_distance": 80.0,
         "frechet_distance_real_train_vs_test": 1.0, "class_fidelity": 0.93, "classifier_test_accuracy": 0.977,
         "intra_class_diversity": {"ratio_mean": 0.81, "ratio_min": 0.62},
         "intra_class_diversity_pixels": {"ratio_mean": 0.33, "ratio_min": 0.12}}
    line = _summary(m)
    assert "class fidelity 93.0 % (classifier test accuracy 97.7 %)" in line
    assert "intra-class diversity / real's: features mean 0.81 min 0.62, 8x8 pixels mean 0.33 min 0.12" in line
    del m["intra_class_diversity"], m["intra_class_diversity_pixels"]
    assert "diversity" not in _summary(m)  # unconditional models: no such number, no such words
