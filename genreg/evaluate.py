"""Evaluation of trained runs: ``genreg eval`` and ``genreg sample`` call into here.

:func:`load_run` rebuilds a run's model from the config stored in its newest checkpoint
(or a given checkpoint directory) and loads the weights (safetensors + JSON, never
pickle). :func:`evaluate` scores it on the test split of its data set, by what the model
is:

denoiser (``dae1d``: a reconstruction model whose data has clean targets)
    the study's accuracy (recovered argmax within 2 % of the trace length of the true
    one), its ``peak="abs"`` reading and the peak-height reading, all also for the
    do-nothing baseline (the noisy input used as the output: on genreg's radio data it
    already scores high, so a denoiser is only as good as its margin over it), accuracy
    vs SNR, FFT spectra true vs recovered, three example traces.
autoencoder (``vae``)
    test MSE and KL, 8 reconstructions next to their originals, an 8-step latent
    interpolation between two test images.
GAN (adversarial models)
    a sample grid (one row per class for class-conditional models); on point data with
    mode centres (ring8, grid25) the mode coverage; on labelled images the Fréchet distance
    in the feature space of a small classifier trained on the data set's training split
    (fixed seed: reproducible, no downloaded weights), next to the same distance between
    real training and real test images as its floor, and for acGANs the class fidelity of
    the samples under that classifier; on traces the gap between the mean FFT spectra of
    generated and real traces.

All randomness comes from generators seeded by ``seed``; the global RNG is untouched.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from torch import Tensor

from .errors import UsageError
from .train import checkpoint as ckpt


@dataclass
class LoadedRun:
    """A trained model rebuilt from a checkpoint."""

    path: Path  # the checkpoint directory
    cfg: Any  # the run's resolved config (genreg.config.RunConfig)
    model: Any  # AdversarialModel or ReconstructionModel, weights loaded, eval mode
    step: int
    sampler: Any = None  # the generator used for samples (the EMA copy when the run kept one)

    @property
    def kind(self) -> str:
        from .models.base import AdversarialModel

        if isinstance(self.model, AdversarialModel):
            return "gan"
        family = getattr(self.model.net, "eval_family", None)  # e.g. "mae": scored by its own module
        if family in EVALUATORS:
            return family
        if self.model.net is not None:
            return "denoiser"
        return "autoencoder"


def load_run(path, device: str = "cpu") -> LoadedRun:
    """Rebuild the model of a run directory (newest checkpoint) or a checkpoint directory."""
    from . import config as config_mod
    from . import get_entry
    from .models.base import AdversarialModel

    where = ckpt.find(path)
    tensors, state = ckpt.load(where)
    stored = state.get("config")
    if not isinstance(stored, dict):
        raise ckpt.CheckpointError(f"checkpoint {str(where)!r} has no stored config")
    cfg = config_mod.resolve(None, base=stored)
    model = get_entry("model", cfg.model_name).create(**{
        f.name: getattr(cfg.model, f.name) for f in dataclasses.fields(cfg.model) if f.init})
    label = repr(str(where))
    if isinstance(model, AdversarialModel):
        ckpt.load_module("generator", model.generator, tensors, label)
        ckpt.load_module("critic", model.critic, tensors, label)
        sampler = model.generator
        if any(k.startswith("ema.") for k in tensors):
            import copy

            sampler = copy.deepcopy(model.generator)
            ckpt.load_module("ema", sampler, tensors, label)
        for m in (model.generator, model.critic, sampler):
            m.to(device).eval()
    else:
        from .train.reconstruction import _Pipeline

        pipeline = _Pipeline(model)
        ckpt.load_module("model", pipeline, tensors, label)  # shares the model's modules
        pipeline.to(device).eval()
        sampler = None
    return LoadedRun(path=where, cfg=cfg, model=model, step=int(state["step"]), sampler=sampler)


def _device_of(module) -> torch.device:
    return next(module.parameters()).device


def eval_dataset(run: LoadedRun, data_overrides: Optional[dict] = None, n: Optional[int] = None):
    """The test split of the run's data set (with ``data_overrides``; ``n`` samples)."""
    from .train.data import build_dataset

    spec = dict(run.cfg.data)
    spec.update(data_overrides or {})
    if n is not None:
        spec["n"] = n
    return build_dataset(spec, "test", run.cfg.train.seed)


@torch.no_grad()
def _batched(fn, x: Tensor, device, batch: int = 256) -> Tensor:
    return torch.cat([fn(x[i:i + batch].to(device)).float().cpu() for i in range(0, len(x), batch)])


@torch.no_grad()
def generate(run: LoadedRun, n: int, seed: int = 0, label: Optional[int] = None) -> tuple[Tensor, Optional[Tensor]]:
    """``n`` samples of a GAN (or of a VAE's prior): ``(samples, labels)``.

    Class-conditional generators get ``label`` for every sample, or labels cycling over the
    classes when ``label`` is None.
    """
    if n < 1:
        raise UsageError(f"the number of samples must be >= 1, got {n}")
    gen = torch.Generator().manual_seed(seed)
    if run.kind == "gan":
        g = run.sampler
        classes = g.num_classes
        if label is not None and not classes:
            raise UsageError(f"model {run.cfg.model_name!r} is not class-conditional: --class needs an acGAN-type model")
        if label is not None and not 0 <= label < classes:
            raise UsageError(f"--class must lie in [0, {classes}), got {label}")
        z = torch.randn(n, g.latent_dim, generator=gen)
        y = None
        if classes:
            y = torch.full((n,), label, dtype=torch.long) if label is not None else torch.arange(n) % classes
        device = _device_of(g)
        out = [g(z[i:i + 256].to(device), None if y is None else y[i:i + 256].to(device)).float().cpu()
               for i in range(0, n, 256)]
        return torch.cat(out), y
    if run.kind == "mae":  # a masked autoencoder's samples: test inputs filled in from random masks
        if label is not None:
            raise UsageError(f"model {run.cfg.model_name!r} is not class-conditional; drop --class")
        from .eval_mae import inpaint

        return inpaint(run, n, seed), None
    if run.kind == "autoencoder" and run.model.variational:
        if label is not None:
            raise UsageError(f"model {run.cfg.model_name!r} is not class-conditional; drop --class")
        dec = run.model.decoder
        z = torch.randn(n, dec.latent_dim, generator=gen)
        return _batched(dec, z, _device_of(dec)), None
    raise UsageError(f"model {run.cfg.model_name!r} is a {run.kind}: it maps inputs to outputs and draws no "
                     "samples of its own; use `genreg eval` for its test-set figures")


def to_jsonable(value):
    """Numpy arrays and scalars as lists / floats; NaN becomes None (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, Tensor):
        return to_jsonable(value.detach().cpu().numpy())
    return value


# ------------------------------------------------------------------------------- denoiser


def _accuracy_block(recovered, true, snr, edges) -> dict:
    from .metrics.denoiser import accuracy_vs_snr, denoise_summary

    out = denoise_summary(recovered, true)
    out["accuracy_abs_peak"] = denoise_summary(recovered, true, peak="abs")["accuracy"]
    out["accuracy_height_10pct"] = denoise_summary(recovered, true, criterion="height")["accuracy"]
    curve = accuracy_vs_snr(recovered, true, snr, bins=edges)
    out["vs_snr"] = {"centres": curve["centres"], "accuracy": curve["accuracy"], "counts": curve["counts"]}
    return out


def _plot_accuracy_curves(curves: dict, path: Path) -> str:
    from .metrics import figures

    plt = figures._pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, (centres, acc) in curves.items():
        c, a = np.asarray(centres, float), np.asarray(acc, float)
        keep = np.isfinite(a)
        ax.plot(c[keep], 100 * a[keep], "o-", label=label)
    ax.set_ylim(0, 105)
    ax.set_xlabel("SNR (max |signal| / noise RMS)")
    ax.set_ylabel("accuracy / %")
    ax.legend()
    return figures._save(fig, path)


def evaluate_denoiser(run: LoadedRun, out: Path, data_overrides=None, n=None, seed: int = 0) -> dict:
    from .metrics import figures
    from .metrics.denoiser import compare_spectra

    data = eval_dataset(run, data_overrides, n)
    if data.target is None:
        raise UsageError(f"data {data.name!r} has no clean targets: a denoiser is scored on (noisy, clean) pairs")
    net = run.model.net
    recovered = _batched(net, data.x, _device_of(net))
    noisy, true = data.x.float(), data.target.float()
    snr = data.meta.get("snr")
    if snr is None:
        snr = torch.zeros(len(data))
    snr = np.asarray(snr, dtype=np.float64).reshape(-1)
    lo, hi = float(snr.min()), float(snr.max())
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, 7)
    model_block = _accuracy_block(recovered, true, snr, edges)
    baseline_block = _accuracy_block(noisy, true, snr, edges)
    spectra = compare_spectra(recovered, true)
    spectra_noisy = compare_spectra(noisy, true)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "accuracy_vs_snr": _plot_accuracy_curves({
            f"{run.cfg.model_name}": (model_block["vs_snr"]["centres"], model_block["vs_snr"]["accuracy"]),
            "baseline (noisy input)": (baseline_block["vs_snr"]["centres"], baseline_block["vs_snr"]["accuracy"])},
            out / "accuracy_vs_snr.png"),
        "spectra": figures.plot_spectra(spectra["freq_mhz"], spectra["true"], spectra["recovered"],
                                        out / "spectra.png"),
    }
    has_signal = np.flatnonzero(np.asarray(data.meta.get("has_signal", torch.ones(len(data), dtype=torch.bool))))
    pick = torch.from_numpy(has_signal[:3] if len(has_signal) >= 3 else np.arange(min(3, len(data))))
    files["examples"] = figures.plot_trace_triptych(noisy[pick], true[pick], recovered[pick], out / "examples.png")
    mse = float(torch.mean((recovered - true) ** 2))
    return {
        "kind": "denoiser", "data": dict(data.meta.get("params", {})) or dict(run.cfg.data),
        "n_test": len(data), "mse": mse, "mse_baseline": float(torch.mean((noisy - true) ** 2)),
        "accuracy": model_block["accuracy"], "accuracy_baseline": baseline_block["accuracy"],
        "denoised": model_block, "baseline": baseline_block,
        "spectrum_relative_l2": spectra["relative_l2"], "spectrum_relative_l2_baseline": spectra_noisy["relative_l2"],
        "figures": files,
    }


# ------------------------------------------------------------------------------- autoencoder


@torch.no_grad()
def evaluate_autoencoder(run: LoadedRun, out: Path, data_overrides=None, n=None, seed: int = 0) -> dict:
    from .metrics import figures
    from .nets.vae import interpolate_latents

    data = eval_dataset(run, data_overrides, n)
    enc, dec = run.model.encoder, run.model.decoder
    device = _device_of(enc)
    x = data.x.float()
    mse_sum, kl_sum = 0.0, 0.0
    for i in range(0, len(x), 128):
        xb = x[i:i + 128].to(device)
        h = enc(xb)
        mu, logvar = h if run.model.variational else (h, None)
        recon = dec(mu).float()
        mse_sum += float(((recon - xb) ** 2).flatten(1).mean(1).sum())
        if logvar is not None:
            kl_sum += float((-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).flatten(1).sum(1)).sum())
    metrics: dict = {"kind": "autoencoder", "n_test": len(x), "mse": mse_sum / len(x)}
    if run.model.variational:
        metrics["kl"] = kl_sum / len(x)
    first = x[:8].to(device)
    h = enc(first)
    mu = h[0] if run.model.variational else h
    value_range = tuple(data.meta.get("value_range", (0.0, 1.0)))
    out.mkdir(parents=True, exist_ok=True)
    files = {"reconstructions": figures.plot_reconstructions(first.cpu(), dec(mu).float().cpu(),
                                                              out / "reconstructions.png", value_range=value_range)}
    if len(x) >= 2 and mu.dim() == 2:
        line = interpolate_latents(mu[0], mu[1], 8)
        files["interpolation"] = figures.plot_interpolation(dec(line).float().cpu(), out / "interpolation.png",
                                                            value_range=value_range)
    metrics["figures"] = files
    return metrics


# ------------------------------------------------------------------------------- GANs


def _feature_net(run: LoadedRun, seed: int, data_overrides=None):
    """A FeatureNet trained (fixed seed) on the run's training split, and that split;
    ``(None, split)`` when the data has no labels to train it on."""
    from .metrics.frechet import train_feature_net
    from .train.data import build_dataset

    spec = dict(run.cfg.data)
    spec.update(data_overrides or {})
    train = build_dataset(spec, "train", run.cfg.train.seed)
    if train.y is None:
        return None, train
    net = train_feature_net(train.x, train.y, num_classes=max(train.num_classes, 1), epochs=3, seed=seed)
    return net, train


def _plot_traces(traces: Tensor, path: Path, title: str) -> str:
    from .metrics import figures

    x = traces.reshape(len(traces), -1).numpy()
    plt = figures._pyplot()
    fig, axes = plt.subplots(len(x), 1, figsize=(8, 1.3 * len(x)), squeeze=False, sharex=True)
    for i, ax in enumerate(axes[:, 0]):
        ax.plot(x[i], lw=0.8)
        ax.set_yticks([])
    axes[0, 0].set_title(title)
    axes[-1, 0].set_xlabel("sample")
    return figures._save(fig, path)


def save_samples(samples: Tensor, path: Path, *, labels: Optional[Tensor] = None, class_names=(), real=None,
                 meta: Optional[dict] = None, title: str = "") -> str:
    """One PNG of samples, by sample shape: image grid, 2-D scatter, or stacked traces."""
    from .metrics import figures

    shape = tuple(samples.shape[1:])
    meta = meta or {}
    if len(shape) == 3:
        value_range = tuple(meta.get("value_range", (0.0, 1.0)))
        if labels is not None and len(labels):
            # one row per class: sort by label, as many per row as the smallest class has
            classes = sorted(set(labels.tolist()))
            per = min(int((labels == c).sum()) for c in classes)
            per = max(1, min(per, 8))
            rows = [samples[labels == c][:per] for c in classes]
            names = [class_names[c] if c < len(class_names) else f"class {c}" for c in classes]
            return figures.image_grid(torch.cat(rows), path, nrow=per, row_labels=names, value_range=value_range)
        return figures.image_grid(samples[:64], path, nrow=8, value_range=value_range)
    if shape == (2,):
        centres = meta.get("centers")
        return figures.plot_points_2d(samples, path, centres=centres, std=meta.get("std"), real=real)
    return _plot_traces(samples[:8].float(), path, title or "generated traces")


def evaluate_gan(run: LoadedRun, out: Path, data_overrides=None, n=None, seed: int = 0) -> dict:
    from .metrics.coverage import mode_coverage
    from .metrics.denoiser import compare_spectra

    data = eval_dataset(run, data_overrides, None)
    shape = tuple(data.sample_shape)
    n = n or (1000 if len(shape) == 1 else 300)
    samples, labels = generate(run, n, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    metrics: dict = {"kind": "gan", "n_samples": n, "sample_shape": list(shape), "figures": {}}
    metrics["figures"]["samples"] = save_samples(
        samples, out / "samples.png", labels=labels, class_names=data.class_names, real=data.x[:n],
        meta=data.meta, title=f"{run.cfg.model_name} step {run.step}")
    if len(shape) == 1 and "centers" in data.meta:
        cov = mode_coverage(samples, data.meta["centers"], data.meta["std"])
        metrics.update({"modes_covered": cov["modes_covered"], "num_modes": cov["num_modes"],
                        "high_quality": cov["high_quality"], "mode_counts": cov["counts"],
                        "min_count": cov["min_count"]})
        if labels is not None and data.y is not None and len(data.meta["centers"]) == run.sampler.num_classes:
            # labelled mixtures (data.labels=true): class c is mode c, so a sample is faithful
            # when it is a high-quality sample of the mode it was asked for
            from .metrics.coverage import nearest_modes

            idx, dist = nearest_modes(samples, data.meta["centers"])
            good = dist <= 3.0 * float(data.meta["std"])
            metrics["class_fidelity"] = float(((idx == labels.numpy()) & good).mean())
        real_cov = mode_coverage(data.x[:n], data.meta["centers"], data.meta["std"])
        metrics["real_data_reference"] = {"modes_covered": real_cov["modes_covered"],
                                          "high_quality": real_cov["high_quality"]}
    elif len(shape) == 3:
        from .metrics.frechet import class_fidelity, classifier_accuracy, image_frechet_distance

        net, train = _feature_net(run, seed, data_overrides)
        if net is None:
            metrics["frechet_distance"] = None
            metrics["frechet_note"] = "the data set has no labels to train the feature network on"
        else:
            real_test = data.x[:n]
            metrics["feature_net"] = {"trained_on": f"{train.name} train split ({len(train)} images)",
                                      "epochs": 3, "seed": seed,
                                      "test_accuracy": classifier_accuracy(net, data.x, data.y)}
            metrics["frechet_distance"] = image_frechet_distance(net, real_test, samples)
            metrics["frechet_distance_real_train_vs_test"] = image_frechet_distance(net, train.x[:n], real_test)
            if labels is not None:
                metrics["class_fidelity"] = class_fidelity(net, samples, labels)
    elif len(shape) == 2:
        m = min(n, len(data))  # as many real traces as samples, where the test split has them
        gap = compare_spectra(samples[:m], data.x[:m].float())
        metrics["spectrum_relative_l2"] = gap["relative_l2"]
        ref = compare_spectra(data.x[n:2 * n].float(), data.x[:n].float()) if len(data) >= 2 * n else None
        metrics["spectrum_relative_l2_real_vs_real"] = ref["relative_l2"] if ref else None
        if labels is not None and data.y is not None and data.class_names == ("negative", "positive"):
            # radio labelled by pulse polarity: the polarity is read off each trace directly (the
            # sign of its largest excursion from the median), no classifier needed; the same rule
            # on real test traces is the ceiling the noise leaves
            metrics["class_fidelity"] = float((_polarity(samples) == labels.numpy()).mean())
            metrics["class_fidelity_real"] = float((_polarity(data.x[:m]) == data.y[:m].numpy()).mean())
    return metrics


def _polarity(traces: Tensor):
    """1 where a trace's largest excursion from its median is positive, else 0."""
    from .metrics.denoiser import peak_positions

    x = traces.reshape(len(traces), -1).float().numpy()
    excursion = x - np.median(x, axis=1, keepdims=True)
    return (excursion[np.arange(len(x)), peak_positions(x, "abs")] > 0).astype(np.int64)


def _evaluate_mae(*args):
    from .eval_mae import evaluate_mae

    return evaluate_mae(*args)


EVALUATORS = {"denoiser": evaluate_denoiser, "autoencoder": evaluate_autoencoder, "gan": evaluate_gan,
              "mae": _evaluate_mae}


def evaluate(run_path, out=None, *, n: Optional[int] = None, seed: int = 0, data_overrides: Optional[dict] = None,
             device: str = "cpu") -> dict:
    """Evaluate a run; figures and ``eval.json`` go to ``out`` (default RUN/eval). Returns the metrics."""
    run = load_run(run_path, device)
    run_dir = run.path.parent.parent if run.path.parent.name == "checkpoints" else run.path
    out = Path(out) if out is not None else run_dir / "eval"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        metrics = EVALUATORS[run.kind](run, out, data_overrides, n, seed)
    metrics = {"model": run.cfg.model_name, "step": run.step, "checkpoint": str(run.path), **metrics}
    metrics = to_jsonable(metrics)
    (out / "eval.json").write_text(json.dumps(metrics, indent=1, allow_nan=False) + "\n")
    return metrics
