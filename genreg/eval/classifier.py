"""The evaluation's own image classifier: trained once per data-set configuration, cached.

Several numbers of ``genreg eval`` are read through a classifier of the data set's classes
(class fidelity of conditional GANs, a VAE's class agreement) or its features (the Fréchet
distance), so they are only as trustworthy as the classifier is accurate: its accuracy on
the real test images is reported next to each of them (``classifier_test_accuracy``).

The network is :class:`genreg.metrics.frechet.FeatureNet` (BatchNorm CNN) seeing images
average-pooled to at most 32x32, trained on the run's training split (its data parameters,
the run's data seed) with Adam and a cosine learning-rate decay for at least
``MIN_UPDATES`` updates; data sets whose registry entry is tagged ``rotation-invariant``
(the galaxies) are augmented with flips and quarter turns. The weights are cached as
safetensors under ``$GENREG_CACHE_DIR`` (default ``~/.cache/genreg``)/``eval-classifiers``,
keyed by a hash of the data configuration, the seed and :data:`VERSION`, so the second
evaluation of a data set reuses them. A corrupt cache file is retrained and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

VERSION = 3  # bump when the network or its training changes: old cache entries are ignored
MIN_UPDATES = 400
MAX_EPOCHS = 30
WIDTH = 32
BATCH = 64
INPUT_SIZE = 32


@dataclass
class EvalClassifier:
    net: object  # FeatureNet, eval mode
    info: dict  # trained_on, epochs, seed, cached, test_accuracy (filled by the caller)


def cache_dir() -> Path:
    return Path(os.environ.get("GENREG_CACHE_DIR") or Path.home() / ".cache" / "genreg") / "eval-classifiers"


def _augmented(spec: dict) -> bool:
    from .. import get_registry

    try:
        entry = get_registry().get("dataset", str(spec.get("name")))
    except Exception:  # a file spec (npz:PATH, images:DIR) is no registry entry
        return False
    return "rotation-invariant" in entry.tags


def train_classifier(spec: dict, data_seed: int, test, seed: int = 0) -> Optional[EvalClassifier]:
    """The classifier for the data set ``spec`` (cached), with its accuracy on ``test``
    (the real test split) in ``info["test_accuracy"]``; None when the data are not
    labelled images. The training split is built only when the cache has no weights."""
    from safetensors.torch import load_file, save_file

    from ..metrics.frechet import FeatureNet, train_feature_net
    from ..training.data import build_dataset

    key = hashlib.sha256(json.dumps({"data": spec, "data_seed": data_seed, "seed": seed, "version": VERSION},
                                    sort_keys=True, default=str).encode()).hexdigest()[:24]
    path = cache_dir() / f"{key}.safetensors"
    if test.y is None or test.x.dim() != 4:
        return None
    classes = max(test.num_classes, int(test.y.max()) + 1, 1)
    net = None
    if path.is_file():
        try:
            net = FeatureNet(test.x.shape[1], classes, width=WIDTH, input_size=INPUT_SIZE)
            net.load_state_dict(load_file(str(path)))
            meta = json.loads(path.with_suffix(".json").read_text())
            return _finish(net.eval(), {**meta, "cached": True}, test)
        except Exception:  # corrupt or from another layout: retrain below
            pass
    train = build_dataset(spec, "train", data_seed)
    if train.y is None:
        return None
    classes = max(classes, train.num_classes, int(train.y.max()) + 1)
    augment = _augmented(spec)
    epochs = max(1, min(MAX_EPOCHS, -(-MIN_UPDATES // -(-len(train) // BATCH))))
    info = {"trained_on": f"{train.name} train split ({len(train)} images)", "epochs": epochs, "seed": seed,
            "augmented": augment, "input_size": INPUT_SIZE}
    net = train_feature_net(train.x, train.y, num_classes=classes, epochs=epochs, batch_size=BATCH, lr=3e-3,
                            seed=seed, augment=augment, width=WIDTH, input_size=INPUT_SIZE)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp-{os.getpid()}")
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp))
        path.with_suffix(".json").write_text(json.dumps(info))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs the retraining next time
    return _finish(net, {**info, "cached": False}, test)


def _finish(net, info: dict, test) -> EvalClassifier:
    from ..metrics.frechet import classifier_accuracy

    info["test_accuracy"] = classifier_accuracy(net, test.x, test.y)
    info["tested_on"] = f"{test.name} test split ({len(test)} images)"
    return EvalClassifier(net, info)
