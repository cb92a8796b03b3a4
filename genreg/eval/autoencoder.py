"""Autoencoder / VAE evaluation (encoder + decoder reconstruction models).

On the test split: reconstruction MSE (pixel mean, from the mean code), the KL term of a
VAE, and the mean-image baseline's MSE (every test image predicted by the mean test image,
the best constant guess: a model that ignores its input scores about this, which is what
a VAE collapsed to its prior does). For VAEs the number of active latent units (Burda,
Grosse & Salakhutdinov 2016, "Importance Weighted Autoencoders": unit u is
active when Cov_x(E_q[z_u | x]) > 0.01). On labelled images the class agreement: how often
the evaluation's classifier (:mod:`genreg.eval.classifier`) gives a reconstruction its
original's class, next to that classifier's accuracy on the real test images.

Noisy and clean targets: the inputs are the (noisy) test images and ``mse`` scores the
reconstruction against them, but no model can predict pixel noise, so on noisy data that MSE
has a floor (on the default galaxies the noise alone is 79 % of the mean-image MSE). When
the data set names its noise-free version (``meta["clean"]``, e.g. galaxies with
``noise=0``), the reconstructions of the same noisy inputs are also scored against the clean
images (``mse_clean``, as in a denoising evaluation), beside the mean clean image's MSE
(``mse_mean_image_clean``) and the input's own noise (``mse_input_noise``, noisy vs clean).

Figures: 8 originals above their reconstructions; an 8-step interpolation along the line
between the mean codes of two test images (of different classes when labelled).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import UsageError
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


def _mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a.double() - b.double()) ** 2).mean())


def reconstruction_mse(recons: torch.Tensor, x: torch.Tensor, clean: torch.Tensor | None = None) -> dict:
    """Reconstruction MSEs (pixel mean) of ``recons`` (N, ...) of the inputs ``x`` (N, ...).

    ``mse`` against the inputs; ``mse_mean_image`` the same for the mean input image (the best
    constant guess) and ``mse_ratio_to_mean_image`` their ratio (None when the baseline is 0).
    With ``clean`` (N, ...), the noise-free images of the same samples: ``mse_clean``
    (reconstructions vs clean images), ``mse_mean_image_clean`` (the mean clean image vs the clean
    images), ``mse_ratio_to_mean_image_clean`` and ``mse_input_noise`` (inputs vs clean images).
    Raises UsageError when the shapes differ."""
    for name, t in (("inputs", x), ("clean images", clean)):
        if t is not None and t.shape != recons.shape:
            raise UsageError(f"reconstruction_mse: {name} {tuple(t.shape)} and reconstructions "
                             f"{tuple(recons.shape)} differ in shape")
    out = {}
    for suffix, target in (("", x), ("_clean", clean)):
        if target is None:
            continue
        mse, base = _mse(recons, target), _mse(target.double().mean(0, keepdim=True), target)
        out.update({f"mse{suffix}": mse, f"mse_mean_image{suffix}": base,
                    f"mse_ratio_to_mean_image{suffix}": mse / base if base > 0 else None})
    if clean is not None:
        out["mse_input_noise"] = _mse(x, clean)
    return out


def clean_images(run: LoadedRun, data, data_overrides=None, n=None) -> torch.Tensor | None:
    """The noise-free images of the test samples ``data`` (the data set's ``meta["clean"]``
    parameters over the run's), or None when the data set names no clean version.
    Raises UsageError when the clean data set's images or labels do not match ``data``'s."""
    clean = data.meta.get("clean")
    if not clean:
        return None
    ref = eval_dataset(run, {**(data_overrides or {}), **clean}, n)
    same = ref.x.shape == data.x.shape and (data.y is None or (ref.y is not None and torch.equal(ref.y, data.y)))
    if not same:
        raise UsageError(f"the clean version of data set {data.name!r} ({clean}) does not hold the same samples: "
                         f"shape {tuple(ref.x.shape)} vs {tuple(data.x.shape)}")
    return ref.x.float()


def evaluate(run: LoadedRun, out: Path, data_overrides=None, n=None, seed: int = 0) -> dict:
    from .. import plotting
    from ..metrics.frechet import predict_classes
    from ..nets.vae import interpolate_latents
    from .classifier import train_classifier

    data = eval_dataset(run, data_overrides, n)
    x = data.x.float()
    codes, recons, kl_sum = _encode_all(run, x)
    clean = clean_images(run, data, data_overrides, n)
    metrics: dict = {"kind": "autoencoder", "n_test": len(x), **reconstruction_mse(recons, x, clean)}
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
