"""Autoencoder / VAE evaluation (encoder + decoder reconstruction models).

On the test split: reconstruction MSE (pixel mean, from the mean code), the KL term of a
VAE, and the mean-image baseline's MSE (every test image predicted by the mean test image,
the best constant guess: a model that ignores its input scores about this, which is what
a VAE collapsed to its prior does). For VAEs the number of active latent units (Burda,
Grosse & Salakhutdinov 2016, "Importance Weighted Autoencoders": unit u is
active when Cov_x(E_q[z_u | x]) > 0.01). On labelled images the class agreement: how often
the evaluation's classifier (:mod:`genreg.eval.classifier`) gives a reconstruction its
original's class, next to that classifier's accuracy on the real test images.

Figures: 8 originals above their reconstructions; an 8-step interpolation along the line
between the mean codes of two test images (of different classes when labelled).
"""

from __future__ import annotations

from pathlib import Path

import torch

from .common import LoadedRun, data_spec, device_of, eval_dataset

ACTIVE_THRESHOLD = 0.01  # Burda et al. 2016


@torch.no_grad()
def _encode_all(run: LoadedRun, x: torch.Tensor):
    """Mean codes (N, ...) , reconstructions from them (N, ...) and the summed KL."""
    enc, dec = run.model.encoder, run.model.decoder
    device = device_of(enc)
    codes, recons, kl_sum = [], [], 0.0
    for i in range(0, len(x), 128):
        xb = x[i:i + 128].to(device)
        h = enc(xb)
        mu, logvar = h if run.model.variational else (h, None)
        recons.append(dec(mu).float().cpu())
        codes.append(mu.float().cpu())
        if logvar is not None:
            kl_sum += float((-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).flatten(1).sum(1)).sum())
    return torch.cat(codes), torch.cat(recons), kl_sum


def _interpolation_ends(data) -> tuple[int, int]:
    if data.y is not None and len(set(data.y.tolist())) > 1:
        first = int(data.y[0])
        return 0, int((data.y != first).nonzero()[0, 0])
    return 0, 1


def active_units(codes: torch.Tensor, threshold: float = ACTIVE_THRESHOLD) -> int:
    """Latent units whose mean code varies over the data by more than ``threshold``
    (variance over the samples of codes (N, D)); Burda et al. 2016."""
    if len(codes) < 2:
        return 0
    return int((codes.flatten(1).double().var(dim=0) > threshold).sum())


def evaluate(run: LoadedRun, out: Path, data_overrides=None, n=None, seed: int = 0) -> dict:
    from .. import plotting
    from ..metrics.frechet import predict_classes
    from ..nets.vae import interpolate_latents
    from .classifier import train_classifier

    data = eval_dataset(run, data_overrides, n)
    x = data.x.float()
    codes, recons, kl_sum = _encode_all(run, x)
    mse = float(((recons - x) ** 2).flatten(1).mean(1).mean())
    baseline = float(((x.mean(0, keepdim=True) - x) ** 2).mean())
    metrics: dict = {"kind": "autoencoder", "n_test": len(x), "mse": mse, "mse_mean_image": baseline,
                     "mse_ratio_to_mean_image": mse / baseline if baseline > 0 else None}
    if run.model.variational:
        metrics["kl"] = kl_sum / len(x)
        metrics["active_units"] = active_units(codes)
        metrics["latent_units"] = int(codes[0].numel())
    if data.y is not None and x.dim() == 4:
        clf = train_classifier(data_spec(run, data_overrides), run.cfg.train.seed, data, seed=seed)
        if clf is not None:
            agree = predict_classes(clf.net, recons) == data.y.numpy()
            metrics["class_agreement"] = float(agree.mean())
            metrics["classifier_test_accuracy"] = clf.info["test_accuracy"]
            metrics["feature_net"] = {**clf.info, "used_by": ["class_agreement"]}
    value_range = tuple(data.meta.get("value_range", (float(x.min()), float(x.max()))))
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    if x.dim() == 4 and x.shape[1] in (1, 3):
        files["reconstructions"] = plotting.plot_reconstructions(x[:8], recons[:8], out / "reconstructions.png",
                                                                 value_range=value_range)
    else:
        files["reconstructions"] = plotting.save_samples(recons[:8], out / "reconstructions.png", real=x[:8],
                                                         pairs=True, meta=data.meta, title="input and reconstruction")
    if len(x) >= 2 and codes.dim() == 2:
        a, b = _interpolation_ends(data)
        dec = run.model.decoder
        line = interpolate_latents(codes[a], codes[b], 8).to(device_of(dec))
        with torch.no_grad():
            path = dec(line).float().cpu()
        if path.dim() == 4 and path.shape[1] in (1, 3):
            files["interpolation"] = plotting.plot_interpolation(path, out / "interpolation.png", value_range=value_range,
                                                                 title=f"test image {a} to test image {b}")
        else:
            files["interpolation"] = plotting.save_samples(path, out / "interpolation.png", meta=data.meta)
    metrics["figures"] = files
    metrics["_inputs"] = {"reconstructions": recons, "originals": x, "data": data}
    return metrics
