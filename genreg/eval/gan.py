"""GAN evaluation (adversarial models): samples against the real test split, by data shape.

Every run gets a sample figure (one row per class for class-conditional models). Then:

points (D,)      with mode centres (ring8, grid25): mode coverage and the share of
                 high-quality samples (within 3 std of a mode), the same for real test
                 points as reference, and for conditional models on labelled mixtures the
                 class fidelity; any point data: the Fréchet distance of the raw
                 coordinates, generated vs real, next to real train vs real test
images (C,H,W)   labelled: the Fréchet distance in the feature space of the evaluation's
                 classifier (:mod:`genreg.eval.classifier`), real train vs test as its
                 floor, class fidelity of conditional samples and their intra-class
                 diversity (mean pairwise feature distance within a class, generated over
                 real: :mod:`genreg.metrics.diversity`; also in pixels pooled to 8x8,
                 which the classifier cannot blur and pixel noise cannot inflate), and the
                 classifier's own test
                 accuracy next to them; unlabelled: the Fréchet distance of the
                 images average-pooled to 4x4 (a crude but classifier-free measure)
traces (C, L)    the gap between the mean FFT spectra of generated and real traces; on radio
                 traces labelled by pulse polarity, the class fidelity read off the traces
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .common import LoadedRun, data_spec, eval_dataset, generate


def polarity(traces: Tensor):
    """1 where a trace's largest excursion from its median is positive, else 0."""
    from ..metrics.denoiser import peak_positions

    x = traces.reshape(len(traces), -1).float().numpy()
    excursion = x - np.median(x, axis=1, keepdims=True)
    return (excursion[np.arange(len(x)), peak_positions(x, "abs")] > 0).astype(np.int64)


def _points(run, data, samples, labels, n, metrics, data_overrides):
    from ..metrics.coverage import mode_coverage, nearest_modes
    from ..metrics.frechet import frechet_distance

    real = data.x[:n].double().numpy()
    metrics["frechet_distance_points"] = frechet_distance(samples.double().numpy(), real)
    train = eval_dataset(run, data_overrides, n=None, split="train")
    metrics["frechet_distance_points_real_train_vs_test"] = frechet_distance(train.x[:n].double().numpy(), real)
    if "centers" not in data.meta:
        return
    cov = mode_coverage(samples, data.meta["centers"], data.meta["std"])
    metrics.update({"modes_covered": cov["modes_covered"], "num_modes": cov["num_modes"],
                    "high_quality": cov["high_quality"], "mode_counts": cov["counts"], "min_count": cov["min_count"]})
    if labels is not None and data.y is not None and len(data.meta["centers"]) == run.sampler.num_classes:
        # labelled mixtures (data.labels=true): class c is mode c, so a sample is faithful
        # when it is a high-quality sample of the mode it was asked for
        idx, dist = nearest_modes(samples, data.meta["centers"])
        good = dist <= 3.0 * float(data.meta["std"])
        metrics["class_fidelity"] = float(((idx == labels.numpy()) & good).mean())
    real_cov = mode_coverage(data.x[:n], data.meta["centers"], data.meta["std"])
    metrics["real_data_reference"] = {"modes_covered": real_cov["modes_covered"],
                                      "high_quality": real_cov["high_quality"]}


def _images(run, data, samples, labels, n, metrics, data_overrides, seed):
    from ..metrics.frechet import class_fidelity, frechet_distance, image_frechet_distance
    from .classifier import train_classifier

    real_test = data.x[:n]
    clf = train_classifier(data_spec(run, data_overrides), run.cfg.train.seed, data, seed=seed)
    train = eval_dataset(run, data_overrides, n=None, split="train")
    if clf is None:
        def pooled(x):
            return torch.nn.functional.adaptive_avg_pool2d(x.float(), 4).flatten(1).double().numpy()

        metrics["frechet_distance"] = None
        metrics["frechet_note"] = "the data set has no labels to train the feature network on"
        metrics["frechet_distance_pixels4"] = frechet_distance(pooled(samples), pooled(real_test))
        metrics["frechet_distance_pixels4_real_train_vs_test"] = frechet_distance(pooled(train.x[:n]),
                                                                                  pooled(real_test))
        return
    used = ["frechet_distance", "frechet_distance_real_train_vs_test"]
    metrics["frechet_distance"] = image_frechet_distance(clf.net, real_test, samples)
    metrics["frechet_distance_real_train_vs_test"] = image_frechet_distance(clf.net, train.x[:n], real_test)
    if labels is not None:
        metrics["class_fidelity"] = class_fidelity(clf.net, samples, labels)
        used.append("class_fidelity")
        if data.y is not None:
            metrics["intra_class_diversity"] = _diversity(clf.net, samples, labels, real_test, data.y[:n])
            used.append("intra_class_diversity")
            metrics["intra_class_diversity_pixels"] = _diversity(None, samples, labels, real_test, data.y[:n])
    metrics["classifier_test_accuracy"] = clf.info["test_accuracy"]
    metrics["feature_net"] = {**clf.info, "used_by": used}


def _diversity(net, samples, labels, real, real_labels) -> dict:
    """Mean pairwise distance within each class, generated vs real: in ``net``'s classifier
    features, or in pixels average-pooled to 8x8 (``net=None``, see
    :func:`genreg.metrics.diversity.pooled_pixels`). The classifier is trained to ignore
    within-class variation, so its features understate it (near-copies can still score ~0.5
    there); the pooled-pixel distance is the stricter check of collapse."""
    from ..metrics.diversity import intra_class_diversity, pooled_pixels
    from ..metrics.frechet import extract_features

    def feats(x):
        return pooled_pixels(x.float()) if net is None else extract_features(net, x)

    out = intra_class_diversity(feats(samples), labels.numpy(), feats(real), real_labels.numpy())
    out["per_class"] = {str(c): v for c, v in out["per_class"].items()}  # JSON keys
    return out


def _traces(run, data, samples, labels, n, metrics):
    from ..metrics.denoiser import compare_spectra

    m = min(n, len(data))  # as many real traces as samples, where the test split has them
    rate = data.meta.get("sampling_rate_hz")
    mhz = float(rate) / 1e6 if rate else 180.0
    metrics["spectrum_relative_l2"] = compare_spectra(samples[:m].reshape(m, -1), data.x[:m].float().reshape(m, -1),
                                                      mhz)["relative_l2"]
    ref = None
    if len(data) >= 2 * n:
        ref = compare_spectra(data.x[n:2 * n].float().reshape(n, -1), data.x[:n].float().reshape(n, -1), mhz)
    metrics["spectrum_relative_l2_real_vs_real"] = ref["relative_l2"] if ref else None
    if labels is not None and data.y is not None and data.class_names == ("negative", "positive"):
        # radio labelled by pulse polarity: the polarity is read off each trace directly (the
        # sign of its largest excursion from the median), no classifier needed; the same rule
        # on real test traces is the ceiling the noise leaves
        metrics["class_fidelity"] = float((polarity(samples) == labels.numpy()).mean())
        metrics["class_fidelity_real"] = float((polarity(data.x[:m]) == data.y[:m].numpy()).mean())


def evaluate(run: LoadedRun, out: Path, data_overrides=None, n=None, seed: int = 0) -> dict:
    from .. import plotting

    data = eval_dataset(run, data_overrides, None)
    shape = tuple(data.sample_shape)
    n = n or (1000 if len(shape) == 1 else 300)
    samples, labels = generate(run, n, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    metrics: dict = {"kind": "gan", "n_samples": n, "sample_shape": list(shape), "figures": {}}
    metrics["figures"]["samples"] = plotting.save_samples(
        samples, out / "samples.png", labels=labels, class_names=data.class_names, real=data.x[:n],
        meta=data.meta, title=f"{run.cfg.model_name} step {run.step}")
    kind = plotting.sample_kind(shape)
    if kind == "points":
        _points(run, data, samples, labels, n, metrics, data_overrides)
    elif kind == "images":
        _images(run, data, samples, labels, n, metrics, data_overrides, seed)
    else:
        _traces(run, data, samples, labels, n, metrics)
    metrics["_inputs"] = {"samples": samples, "labels": labels, "real": data.x[:n], "real_labels":
                          None if data.y is None else data.y[:n], "data": data}
    return metrics
