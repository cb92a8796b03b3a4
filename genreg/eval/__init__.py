"""Evaluation of trained runs: ``genreg eval`` and ``genreg sample`` call into here.

:func:`load_run` rebuilds a run's model through the checkpoint module's public
:func:`genreg.training.checkpoint.load_run` (safetensors + JSON, never pickle).
:func:`evaluate` scores it on the test split of its data set with the evaluator of its
family (one module each):

``denoiser``     :mod:`genreg.eval.denoiser`    accuracy, noisy-input and classical baselines
``autoencoder``  :mod:`genreg.eval.autoencoder` MSE vs mean image, KL, active units, class agreement
``gan``          :mod:`genreg.eval.gan`         mode coverage, Fréchet distances, class fidelity
``mae``          :mod:`genreg.eval.mae`         masked-patch MSE vs baseline, linear probe vs random encoders

then runs every registered metric that declares it applies (:mod:`genreg.eval.registered`)
and draws the run's loss curves from its metrics.jsonl. Everything lands in ``OUT/eval.json``
and ``OUT/*.png``. The family of a model is :func:`model_family`; a plugin may add a family
with :func:`register_family`. All randomness comes from generators seeded by ``seed``; the
global RNG is left as it was.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Callable, Optional, Union

import torch

from .common import LoadedRun, data_spec, eval_dataset, generate, load_run, model_family, to_jsonable

__all__ = ["LoadedRun", "load_run", "eval_dataset", "generate", "to_jsonable", "model_family", "evaluate",
           "save_samples", "register_family", "FAMILIES"]

# family -> evaluator ``fn(run, out, data_overrides, n, seed) -> dict``, as "module:attr" so
# that only the family in use is imported
FAMILIES: dict[str, Union[str, Callable]] = {
    "denoiser": "genreg.eval.denoiser:evaluate",
    "autoencoder": "genreg.eval.autoencoder:evaluate",
    "gan": "genreg.eval.gan:evaluate",
    "mae": "genreg.eval.mae:evaluate_mae",
}


def register_family(name: str, evaluator: Union[str, Callable]) -> None:
    """Add (or replace) the evaluator of a model family: a callable or ``"module:attr"``
    with the signature ``(run, out, data_overrides, n, seed) -> dict of metrics``. Its
    result may hold ``"_inputs"``: the arrays registered metrics receive."""
    FAMILIES[name] = evaluator


def _evaluator(kind: str) -> Callable:
    from ..errors import UsageError

    found = FAMILIES.get(kind)
    if found is None:
        raise UsageError(f"no evaluation for model family {kind!r}; families: {', '.join(sorted(FAMILIES))}")
    if callable(found):
        return found
    module, _, attr = found.partition(":")
    return getattr(importlib.import_module(module), attr)


def save_samples(samples, path, *, labels=None, class_names=(), real=None, meta=None, title: str = "") -> str:
    """One PNG of samples by sample shape (see :func:`genreg.plotting.save_samples`)."""
    from ..plotting import save_samples as draw

    return draw(samples, path, labels=labels, class_names=class_names, real=real, meta=meta, title=title)


def evaluate(run_path, out=None, *, n: Optional[int] = None, seed: int = 0, data_overrides: Optional[dict] = None,
             device: str = "cpu") -> dict:
    """Evaluate a run; figures and ``eval.json`` go to ``out`` (default RUN/eval). Returns the metrics."""
    from ..plotting import sample_kind
    from .registered import run_registered

    run = load_run(run_path, device)
    out = Path(out) if out is not None else run.run_dir / "eval"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        metrics = _evaluator(run.kind)(run, out, data_overrides, n, seed)
        inputs = metrics.pop("_inputs", None) or {}
        data = inputs.get("data")
        if data is not None:
            spec = data_spec(run, data_overrides)
            inputs = {**inputs, "meta": data.meta, "seed": seed}
            metrics.update(run_registered(run.kind, sample_kind(data.sample_shape), str(spec.get("name")), inputs))
    curves = loss_curves(run.run_dir, out, title=f"{run.cfg.model_name}: {run.run_dir.name}")
    if curves:
        metrics.setdefault("figures", {})["loss_curves"] = curves
    metrics = {"model": run.cfg.model_name, "step": run.step, "checkpoint": str(run.path), **metrics}
    metrics = to_jsonable(metrics)
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval.json").write_text(json.dumps(metrics, indent=1, allow_nan=False) + "\n")
    return metrics


def loss_curves(run_dir, out, title: str = "") -> Optional[str]:
    """``OUT/loss_curves.png`` from ``RUN/metrics.jsonl``, or None when the run logged nothing."""
    from ..errors import UsageError
    from ..plotting.curves import plot_loss_curves

    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return None
    try:
        return plot_loss_curves(path, Path(out) / "loss_curves.png", title=title)
    except UsageError:  # an empty log: nothing to draw
        return None
