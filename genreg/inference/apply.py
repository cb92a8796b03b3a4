"""``genreg apply``: run a denoiser or autoencoder over a data spec into an ``.npz``, streaming.

Output keys (N = the number of input samples, in input order; shapes in the input's own
layout, e.g. ``(N, 500)`` for a file of ``(N, 500)`` traces):

denoiser      ``denoised``        (N, ...) float32, in the input's units
autoencoder   ``reconstruction``  (N, ...) float32, in the input's units
              ``recon_error``     (N,) float32: mean squared error of the reconstruction in the
                                  model's (training data's) units, an anomaly score
              ``latent_mean``     (N, *latent) float32 (VAE: the encoder's mean), or ``latent``
passed through, where the input has them: ``y`` (N,) int64 labels; for ``images:DIR``
``files`` (N,) the image paths and ``class_names`` (sub-folder names).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch

from ..errors import UsageError
from ..models.base import describe_shape
from .models import LoadedModel, default_batch_size
from .sources import open_source
from .writers import OutputStore, check_output


def apply_to_file(model: LoadedModel, spec: str, params: dict[str, Any], out, *, batch_size: Optional[int] = None,
                  input_range=None, progress: bool = True) -> dict:
    """Apply ``model`` to every sample of ``spec`` (with data ``params``) and write ``out`` (.npz).

    ``batch_size`` samples are read, mapped and written at a time (memory stays bounded
    by it, not by the input's size); ``input_range`` is the pixel range of image inputs
    (default: the source's own ``value_range``, (0, 255) for uint8 arrays, else the
    training data's range). Returns a summary dict (n, keys and shapes, output path).
    Raises UsageError for a generator model, an input of the wrong shape, NaN/Inf in the
    input or an unreadable file (one line each).
    """
    from tqdm.auto import tqdm

    if not hasattr(model, "apply_batch"):
        raise UsageError(f"model {model.name!r} is a {model.family}: it draws samples (`genreg sample`) and takes "
                         "no inputs; apply works with denoisers and autoencoders")
    out = check_output(out, (".npz",))
    source = open_source(spec, params, model.input_shape)
    if model.input_shape and source.model_shape != tuple(model.input_shape):
        seen = describe_shape(source.raw_shape)
        as_model = "" if source.model_shape == source.raw_shape else f" (as model input {describe_shape(source.model_shape)})"
        raise UsageError(f"input {spec} has samples of shape {seen}{as_model} but model {model.name!r} takes "
                         f"{describe_shape(model.input_shape)}")
    if input_range is None:
        input_range = source.input_range or ((0.0, 255.0) if source.dtype == np.uint8 else None)
    size = batch_size or default_batch_size(model.input_shape)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise UsageError(f"--batch-size must be a positive integer, got {size!r}")
    main_key = model.output_keys[0]
    done = 0
    with OutputStore(out) as store, tqdm(total=source.n, unit="sample", disable=None if progress else True,
                                         desc=f"{model.name} apply", leave=False) as bar:
        targets: dict[str, np.ndarray] = {}
        for raw in source.batches(size):
            batch = np.array(raw, dtype=np.float32)  # a writable copy: frombuffer rows are read-only
            bad = ~np.isfinite(batch.reshape(len(batch), -1)).all(axis=1)
            if bad.any():
                raise UsageError(f"input {spec} has NaN or Inf in sample {done + int(np.flatnonzero(bad)[0])}; "
                                 "fix or remove such samples first")
            results = model.apply_batch(torch.from_numpy(np.ascontiguousarray(source.to_model(batch))), input_range)
            for key, value in results.items():
                value = value.numpy()
                if key == main_key:
                    value = source.from_model(value)
                if key not in targets:
                    targets[key] = store.array(key, (source.n, *value.shape[1:]), np.float32)
                targets[key][done:done + len(value)] = value
            done += len(batch)
            bar.update(len(batch))
        if done != source.n:  # a reader that lost rows must not pass silently
            raise UsageError(f"input {spec}: read {done} samples, expected {source.n}")
        for key, value in source.extras.items():
            store.put(key, value)
        shapes = {k: list(v.shape) for k, v in store.arrays.items()}
        store.commit_npz()
    return {"model": model.name, "step": model.step, "n": source.n, "out": str(out), "keys": shapes,
            "units": model.units.describe()}
