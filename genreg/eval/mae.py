"""Evaluation of masked autoencoders (``mae1d``, ``mae``; any net with ``eval_family = "mae"``).

``genreg eval`` on such a run reports, on the test split of its data:

masked-patch MSE
    the mean squared error over the hidden patches only, under random masks at the run's
    ``mask_ratio`` (drawn from a generator seeded by ``seed``), next to a baseline that sees
    the same visible patches: for traces each hidden sample linearly interpolated from the
    nearest visible samples on either side (held flat beyond the first/last one); for
    images each hidden patch predicted as the element-wise mean of the same image's visible
    patches. With ``norm_pix_loss`` both are scored against the per-patch normalised
    targets the model was trained on (the baseline's patches normalised the same way).
linear probe
    where the data has labels -- radio traces with noise-only ones (``data.noise_only`` > 0):
    signal vs noise only, from ``meta["has_signal"]``; otherwise the data's classes ``y``
    (the three galaxy classes) -- a logistic regression (scikit-learn, on standardised
    features: MAE's linear probe puts a BatchNorm without affine before its linear layer)
    on the frozen encoder's pooled features (mean over all patch tokens, nothing masked:
    ``net.features``), fitted ``PROBE_REPEATS`` times, each on its own
    ``PROBE_TRAIN`` training samples, and scored on the test split; next to the same probe,
    same features and same fits on randomly initialised encoders of the same architecture
    (``RANDOM_ENCODERS`` seeds: one random encoder's probe varies by a point or two with its
    seed) and the majority-class rate. Each accuracy is the mean over its fits, with their
    standard deviation beside it (``*_std``).
figure
    ``masked.png``: input with the hidden patches blanked, reconstruction (visible patches
    copied, hidden ones predicted), original.

``inpaint`` gives ``genreg sample`` its pictures: test inputs reconstructed from random masks.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from ..errors import UsageError

PROBE_TRAIN = 2000  # training samples each fit of the linear probe sees (at most)
PROBE_REPEATS = 3  # fits on disjoint training draws: the spread of the probe's accuracy
RANDOM_ENCODERS = 3  # randomly initialised encoders (seeds seed, seed+1, ...) whose mean probe is the control
BATCH = 256


def linear_interpolation(x: Tensor, hidden: Tensor) -> Tensor:
    """Traces ``x`` (N, C, T) with every sample where ``hidden`` (N, C, T, bool) is true
    replaced by linear interpolation between the nearest visible samples (flat beyond the
    ends). Each (trace, channel) needs one visible sample."""
    xs, hs = x.detach().cpu().double().numpy(), hidden.cpu().numpy()
    out = xs.copy()
    t = np.arange(xs.shape[-1])
    for i in range(xs.shape[0]):
        for c in range(xs.shape[1]):
            seen = ~hs[i, c]
            out[i, c, hs[i, c]] = np.interp(t[hs[i, c]], t[seen], xs[i, c, seen])
    return torch.from_numpy(out).to(x.dtype)


def mean_patch(patches: Tensor, mask: Tensor) -> Tensor:
    """Patches (N, L, D) with each hidden one (``mask`` (N, L) 1.0) replaced by the
    element-wise mean of the same sample's visible patches."""
    visible = (1 - mask)[..., None]
    mean = (patches * visible).sum(1, keepdim=True) / visible.sum(1, keepdim=True)
    return torch.where(mask[..., None].bool(), mean.expand_as(patches), patches)


def masked_mse(pred: Tensor, target: Tensor, mask: Tensor) -> tuple[float, float]:
    """(sum of squared errors over the hidden patches, number of hidden values)."""
    sq = (pred.float() - target.float()).pow(2) * mask[..., None].float()
    return float(sq.sum()), float(mask.sum()) * pred.shape[-1]


def _baseline_patches(net, x: Tensor, mask: Tensor) -> Tensor:
    from ..nets.mae import normalise_patches

    if x.dim() == 3:  # traces: interpolate sample by sample
        hidden = net.unpatchify(mask[..., None].expand(-1, -1, net.patch_dim).to(x.dtype)).bool()
        guess = net.patchify(linear_interpolation(x, hidden).to(x.device))
    else:
        guess = mean_patch(net.patchify(x), mask)
    return normalise_patches(guess) if net.norm_pix_loss else guess


@torch.no_grad()
def masked_scores(net, x: Tensor, target: Optional[Tensor] = None, seed: int = 0) -> dict:
    """Masked-patch MSE of ``net`` and of its baseline on inputs ``x``, the same random
    masks, against what the net predicts (x, or ``target`` for a ``target="data"`` net)."""
    gen = torch.Generator().manual_seed(seed)
    device = next(net.parameters()).device
    model_sse = base_sse = count = 0.0
    for i in range(0, len(x), BATCH):
        xb = x[i:i + BATCH].to(device)
        pred, mask = net.masked_prediction(xb, gen)
        want = net.target_patches(xb, None if target is None else target[i:i + BATCH].to(device))
        sse, k = masked_mse(pred, want, mask)
        model_sse, count = model_sse + sse, count + k
        base_sse += masked_mse(_baseline_patches(net, xb, mask), want, mask)[0]
    return {"masked_mse": model_sse / count, "masked_mse_baseline": base_sse / count}


@torch.no_grad()
def pooled_features(net, x: Tensor) -> np.ndarray:
    device = next(net.parameters()).device
    return torch.cat([net.features(x[i:i + BATCH].to(device)).float().cpu()
                      for i in range(0, len(x), BATCH)]).numpy()


def probe_labels(data) -> tuple[Optional[np.ndarray], str]:
    """``(labels, task)`` the probe predicts, or ``(None, why not)``."""
    has_signal = data.meta.get("has_signal")
    if has_signal is not None and 0 < int(np.asarray(has_signal).sum()) < len(data):
        return np.asarray(has_signal).astype(np.int64), "signal vs noise only"
    if data.y is not None:
        names = ", ".join(data.class_names) if data.class_names else f"{data.num_classes} classes"
        return data.y.numpy().astype(np.int64), f"classes: {names}"
    return None, ("no labels: radio needs data.noise_only > 0 (signal vs noise), other data sets labels y")


def probe_accuracy(train_features, train_y, test_features, test_y, seed: int = 0) -> float:
    """Test accuracy of a logistic regression fitted on standardised training features."""
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        raise UsageError("the linear probe needs scikit-learn: pip install 'genreg[mae]'") from None
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    clf.fit(train_features, train_y)
    return float(clf.score(test_features, test_y))


def random_encoder(run, seed: int):
    """A net of the run's architecture with fresh weights from ``seed`` (the probe's control)."""
    from .. import get_entry

    cfg = run.cfg.model
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = get_entry("model", run.cfg.model_name).create(
            **{f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.init})
    return model.net.to(next(run.model.net.parameters()).device).eval()


def linear_probe(run, data, seed: int = 0, data_overrides=None) -> dict:
    """The probe of the run's encoder and of ``RANDOM_ENCODERS`` random ones (see the module)."""
    from ..training.data import build_dataset

    test_y, task = probe_labels(data)
    if test_y is None:
        return {"linear_probe": None, "probe_task": task}
    spec = dict(run.cfg.data)
    spec.update(data_overrides or {})
    spec["n"] = PROBE_TRAIN * PROBE_REPEATS
    train = build_dataset(spec, "train", run.cfg.train.seed)
    train_y, _ = probe_labels(train)
    draws = np.array_split(np.arange(len(train)), PROBE_REPEATS)
    if train_y is None or any(len(np.unique(train_y[d])) < 2 for d in draws):
        return {"linear_probe": None, "probe_task": f"{task}: a probe's training draw has one class only"}

    def probe(net) -> list[float]:  # one accuracy per training draw, the same draws for every encoder
        f_train, f_test = pooled_features(net, train.x), pooled_features(net, data.x)
        return [probe_accuracy(f_train[d], train_y[d], f_test, test_y, seed) for d in draws]

    trained = probe(run.model.net)
    controls = [probe(random_encoder(run, seed + k)) for k in range(RANDOM_ENCODERS)]
    counts = np.bincount(test_y)
    return {"linear_probe": float(np.mean(trained)), "linear_probe_std": float(np.std(trained)),
            "linear_probe_random_encoder": float(np.mean(controls)),
            "linear_probe_random_encoder_std": float(np.std(controls)),
            "linear_probe_random_encoders": [float(np.mean(c)) for c in controls],
            "probe_chance": float(counts.max() / counts.sum()), "probe_task": task,
            "probe_train": len(draws[0]), "probe_repeats": PROBE_REPEATS, "probe_test": len(data)}


def _blank(net, x: Tensor, mask: Tensor, fill: float) -> Tensor:
    hidden = net.unpatchify(mask[..., None].expand(-1, -1, net.patch_dim).to(x.dtype)).bool()
    return x.masked_fill(hidden, fill)


def plot_masked(net, x: Tensor, path: Path, *, seed: int = 0, value_range=(0.0, 1.0)) -> str:
    """Input with hidden patches blanked / reconstruction / original, for a few samples."""
    from .. import plotting
    from ..plotting.images import image_grid

    with torch.no_grad():
        recon, mask = net.reconstruct(x, torch.Generator().manual_seed(seed))
    x, recon, mask = x.float().cpu(), recon.float().cpu(), mask.cpu()
    ratio = f"{100 * net.mask_ratio:.0f} % hidden"
    if x.dim() == 4:
        grey = 0.5 * (value_range[0] + value_range[1])
        rows = torch.cat([_blank(net, x, mask, grey), recon, x])
        return image_grid(rows, path, nrow=len(x), value_range=tuple(value_range),
                                  row_labels=[f"input ({ratio})", "reconstruction", "original"])
    masked = _blank(net, x, mask, float("nan"))
    plt = plotting.pyplot()
    fig, axes = plt.subplots(len(x), 3, figsize=(12, 2.0 * len(x)), squeeze=False, sharex=True)
    for i in range(len(x)):
        for j, (trace, title, colour) in enumerate(((masked, f"input ({ratio})", "0.3"),
                                                     (recon, "reconstruction", "tab:orange"),
                                                     (x, "original", "tab:blue"))):
            axes[i, j].plot(trace[i, 0].numpy(), lw=0.8, color=colour)
            if i == 0:
                axes[i, j].set_title(title)
    for ax in axes[-1]:
        ax.set_xlabel("sample")
    return plotting.save(fig, path)


def evaluate_mae(run, out: Path, data_overrides=None, n=None, seed: int = 0) -> dict:
    from .common import eval_dataset

    data = eval_dataset(run, data_overrides, n)
    net = run.model.net
    x = data.x
    metrics = {"kind": "mae", "n_test": len(x), "mask_ratio": net.mask_ratio, "num_patches": net.num_patches,
               "norm_pix_loss": net.norm_pix_loss,
               "baseline": "linear interpolation" if x.dim() == 3 else "mean visible patch",
               "target": net.target, **masked_scores(net, x, data.target, seed)}
    metrics.update(linear_probe(run, data, seed, data_overrides))
    out.mkdir(parents=True, exist_ok=True)
    device = next(net.parameters()).device
    metrics["figures"] = {"masked": plot_masked(net, x[:8 if x.dim() == 4 else 4].to(device), out / "masked.png",
                                                seed=seed, value_range=data.meta.get("value_range", (0.0, 1.0)))}
    return metrics


def inpaint(run, n: int, seed: int = 0) -> Tensor:
    """``n`` test samples (cycling when the split is smaller) reconstructed from random masks."""
    from .common import eval_dataset

    data = eval_dataset(run)
    x = data.x[torch.arange(n) % len(data)]
    net = run.model.net
    gen = torch.Generator().manual_seed(seed)
    device = next(net.parameters()).device
    with torch.no_grad():
        return torch.cat([net.reconstruct(x[i:i + BATCH].to(device), gen)[0].float().cpu()
                          for i in range(0, n, BATCH)])


def summary(metrics: dict) -> str:
    """The one line ``genreg eval`` prints."""
    line = (f"{metrics['model']} step {metrics['step']}: masked-patch MSE {metrics['masked_mse']:.4g} "
            f"({metrics['baseline']} baseline {metrics['masked_mse_baseline']:.4g}) on {metrics['n_test']} test samples")
    if metrics.get("linear_probe") is not None:
        line += (f"; linear probe ({metrics['probe_task']}) {100 * metrics['linear_probe']:.1f} "
                 f"± {100 * metrics['linear_probe_std']:.1f} % (random encoders "
                 f"{100 * metrics['linear_probe_random_encoder']:.1f} ± "
                 f"{100 * metrics['linear_probe_random_encoder_std']:.1f} %, "
                 f"majority class {100 * metrics['probe_chance']:.1f} %)")
    else:
        line += f"; no linear probe ({metrics['probe_task']})"
    return line
