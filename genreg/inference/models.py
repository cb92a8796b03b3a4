"""What :func:`genreg.load` returns: one class per model family, each with the calls that fit it.

=====================  ====================================================================
family                 methods
=====================  ====================================================================
``generator`` (GANs)   :meth:`GeneratorModel.sample`, :meth:`~GeneratorModel.generate`
``denoiser``           :meth:`DenoiserModel.denoise` (alias ``reconstruct``)
``autoencoder``        :meth:`AutoencoderModel.reconstruct`, ``encode``, ``decode``
``vae``                the autoencoder's, and ``sample`` (decoded prior latents)
=====================  ====================================================================

Arrays in, arrays out: a method given a NumPy array returns NumPy arrays, given a tensor
returns (CPU) tensors; values are float32. Inputs are checked against the model's input
shape (a one-line :class:`genreg.UsageError` naming both shapes) and mapped through the
training data's normalisation (:mod:`genreg.inference.units`), so outputs are in the
input's units. Work runs under ``torch.no_grad()`` in batches of ``batch_size`` samples.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from ..errors import UsageError
from ..models.base import describe_shape
from .units import DataUnits

Array = Union[np.ndarray, Tensor]
LATENT_CHUNK = 4096  # latents are drawn in fixed chunks, each from its own seeded stream


def default_batch_size(sample_shape: Sequence[int]) -> int:
    """About 1 MiB of float32 output per batch: 65536 points, 524 traces of 500, 64 images."""
    numel = int(np.prod(sample_shape)) if len(sample_shape) else 1
    return max(64, min(65536, (1 << 18) // max(numel, 1)))


def chunk_seed(seed: int, chunk: int) -> int:
    """The seed of latent chunk ``chunk`` for the user's ``seed`` (independent streams)."""
    return int(np.random.SeedSequence([int(seed), int(chunk)]).generate_state(1, np.uint64)[0])


class LoadedModel:
    """A trained model ready to use (base class; see the subclasses for the methods).

    Attributes: ``name`` (model entry), ``family``, ``step`` (training step of the
    checkpoint), ``checkpoint`` (its directory), ``run_dir``, ``config`` (the run's
    resolved config), ``device``, ``units`` (:class:`DataUnits` of the training data).
    """

    family = "model"

    def __init__(self, rebuilt, units: DataUnits) -> None:
        self.rebuilt = rebuilt
        self.name, self.step, self.config = rebuilt.cfg.model_name, rebuilt.step, rebuilt.cfg
        self.checkpoint, self.run_dir, self.device = rebuilt.path, rebuilt.run_dir, rebuilt.device
        self.units = units

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} ({self.family}) step {self.step} from {str(self.checkpoint)!r}>"

    # ------------------------------------------------------------------ helpers
    def _tensor(self, x: Array, shape: tuple, what: str) -> Tensor:
        if isinstance(x, np.ndarray):
            if x.dtype.kind not in "fiub":
                raise UsageError(f"{self.name}: {what} must hold real numbers, got dtype {x.dtype}")
            x = torch.from_numpy(np.asarray(x, dtype=np.float32))
        elif not isinstance(x, Tensor):
            raise UsageError(f"{self.name}: {what} must be a NumPy array or a tensor, got {type(x).__name__}")
        if shape and (x.dim() != len(shape) + 1 or tuple(x.shape[1:]) != tuple(shape)):  # () = not declared
            raise UsageError(f"{self.name} takes {what} of shape (batch, {describe_shape(shape)[1:-1].rstrip(',')}), "
                             f"got {tuple(x.shape)}")
        return x.float()

    def _batched(self, fn, x: Array, shape: tuple, what: str, batch_size: Optional[int]):
        """``fn`` over batches of ``x``; results concatenated, returned as ``x``'s kind."""
        numpy_in = isinstance(x, np.ndarray)
        t = self._tensor(x, shape, what)
        size = _check_batch(batch_size or default_batch_size(shape))
        parts = [fn(t[i:i + size]) for i in range(0, len(t), size)] or [fn(t[:0])]
        if isinstance(parts[0], dict):
            out = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
            return {k: v.numpy() for k, v in out.items()} if numpy_in else out
        out = torch.cat(parts)
        return out.numpy() if numpy_in else out

    def _run(self, module, *inputs) -> Tensor:
        with torch.no_grad():
            out = module(*[None if v is None else v.to(self.device) for v in inputs])
        return out


def _check_batch(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise UsageError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


class _Sampling:
    """Drawing samples from latents: shared by GANs and VAEs (prior latents)."""

    latent_shape: tuple = ()
    num_classes: int = 0
    sample_shape: tuple = ()

    def _decode(self, z: Tensor, y: Optional[Tensor]) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def latents(self, start: int, stop: int, seed: int) -> Tensor:
        """The latents of samples ``start .. stop-1`` for ``seed``: standard normal, float32,
        (stop - start, *latent_shape); sample i's latent depends only on (seed, i)."""
        parts = []
        for chunk in range(start // LATENT_CHUNK, (stop - 1) // LATENT_CHUNK + 1 if stop > start else 0):
            gen = torch.Generator().manual_seed(chunk_seed(seed, chunk))
            block = torch.randn((LATENT_CHUNK, *self.latent_shape), generator=gen)
            lo, hi = max(start - chunk * LATENT_CHUNK, 0), min(stop - chunk * LATENT_CHUNK, LATENT_CHUNK)
            parts.append(block[lo:hi])
        return torch.cat(parts) if parts else torch.zeros((0, *self.latent_shape))

    def labels(self, n: int, y=None) -> Optional[np.ndarray]:
        """Class labels for ``n`` samples: None (unconditional), ``y`` for all, a given
        sequence, or classes 0, 1, ..., C-1 in turn when ``y`` is None."""
        if not self.num_classes:
            if y is not None:
                raise UsageError(f"model {self.name!r} is not class-conditional; it takes no class labels")
            return None
        if y is None:
            return np.arange(n, dtype=np.int64) % self.num_classes
        labels = np.asarray(y.cpu() if isinstance(y, Tensor) else y)
        labels = np.full(n, labels) if labels.ndim == 0 else labels
        whole = labels.dtype.kind in "iu" or labels.dtype.kind == "f" and bool((labels == np.round(labels)).all())
        if labels.shape != (n,) or not whole:
            raise UsageError(f"class labels must be one integer or {n} integers, got {labels.dtype} of shape "
                             f"{labels.shape}")
        labels = labels.astype(np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            bad = int(labels.min() if labels.min() < 0 else labels.max())
            raise UsageError(f"class must lie in [0, {self.num_classes}), got {bad}")
        return labels

    def iter_samples(self, n: int, y=None, seed: Optional[int] = None, batch_size: Optional[int] = None
                     ) -> Iterator[tuple[int, np.ndarray, Optional[np.ndarray]]]:
        """Yield ``(start, samples, labels)`` batches of the ``n`` samples :meth:`sample` returns."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise UsageError(f"the number of samples must be a positive integer, got {n!r}")
        seed = _check_seed(seed)
        labels = self.labels(int(n), y)
        size = _check_batch(batch_size or default_batch_size(self.sample_shape))
        for start in range(0, int(n), size):
            stop = min(start + size, int(n))
            yb = None if labels is None else torch.from_numpy(labels[start:stop])
            x = self._decode(self.latents(start, stop, seed), yb)
            yield start, x.float().cpu().numpy(), None if labels is None else labels[start:stop]

    def sample(self, n: int, y=None, seed: Optional[int] = None, batch_size: Optional[int] = None, *,
               out: Optional[np.ndarray] = None, progress: bool = False) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """Draw ``n`` samples: ``(x, labels)``.

        x        float32 NumPy array (n, *sample_shape) in the training data's units and
                 value range (images in its pixel range, radio traces normalised to [0, 1],
                 mixture points raw); written into ``out`` (e.g. a
                 ``np.lib.format.open_memmap``) when given.
        labels   int64 (n,) class of each sample for class-conditional models, else None.
        y        None (classes in turn for conditional models), one class, or n classes.
        seed     sample i's latent depends only on (seed, i), never on the batch size; the
                 same seed and batch size give bitwise the same samples, another batch size
                 the same up to float rounding (BLAS picks kernels by matrix size). None
                 draws a fresh seed.
        Raises UsageError for n < 1, a bad class or labels for an unconditional model.
        """
        n = int(n)
        if out is None:
            out = np.empty((n, *self.sample_shape), np.float32)
        elif tuple(out.shape) != (n, *self.sample_shape):
            raise UsageError(f"out has shape {tuple(out.shape)}, expected {(n, *self.sample_shape)}")
        labels = None
        from tqdm.auto import tqdm

        with tqdm(total=n, unit="sample", disable=None if progress else True, leave=False) as bar:
            for start, x, yb in self.iter_samples(n, y, seed, batch_size):
                out[start:start + len(x)] = x
                if yb is not None:
                    labels = np.empty(n, np.int64) if labels is None else labels
                    labels[start:start + len(yb)] = yb
                bar.update(len(x))
        return out, labels


def _check_seed(seed) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy % (1 << 63))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


class GeneratorModel(_Sampling, LoadedModel):
    """A GAN's generator (its EMA copy when the run kept one).

    ``sample_shape`` one sample's shape, ``latent_shape`` (latent_dim,), ``num_classes``
    (0: unconditional), ``module`` the generator network.
    """

    family = "generator"

    def __init__(self, rebuilt, units: DataUnits) -> None:
        super().__init__(rebuilt, units)
        self.module = rebuilt.ema if rebuilt.ema is not None else rebuilt.model.generator
        self.sample_shape = tuple(self.module.output_shape)
        self.latent_shape = (int(self.module.latent_dim),)
        self.num_classes = int(self.module.num_classes)

    def _decode(self, z: Tensor, y: Optional[Tensor]) -> Tensor:
        return self._run(self.module, z, y).float().cpu()

    def generate(self, z: Array, y: Optional[Array] = None) -> Array:
        """Samples from given latents ``z`` (B, latent_dim) and labels ``y`` (B,) int (conditional
        models); returns (B, *sample_shape) float32 in the training data's units."""
        numpy_in = isinstance(z, np.ndarray)
        zt = self._tensor(z, self.latent_shape, "latents")
        yt = None
        if y is not None or self.num_classes:
            yt = torch.from_numpy(self.labels(len(zt), None if y is None else np.asarray(y)))
        out = self._decode(zt, yt)
        return out.numpy() if numpy_in else out


class DenoiserModel(LoadedModel):
    """A model mapping an input to a cleaned version of it (``dae1d``): ``input_shape``, ``module``."""

    family = "denoiser"
    output_keys = ("denoised",)

    def __init__(self, rebuilt, units: DataUnits) -> None:
        super().__init__(rebuilt, units)
        self.module = rebuilt.model.net
        self.input_shape = tuple(rebuilt.model.input_shape)

    def apply_batch(self, x: Tensor, input_range=None) -> dict[str, Tensor]:
        """One batch (B, *input_shape) in the input's units -> ``{"denoised": (B, *input_shape)}``."""
        xm, back = self.units.to_model(x, input_range)
        return {"denoised": self.units.from_model(self._run(self.module, xm).float().cpu(), back)}

    def denoise(self, x: Array, *, batch_size: Optional[int] = None, input_range=None) -> Array:
        """Denoise ``x`` (N, *input_shape), e.g. (N, 1, 500) traces in any units: the output has
        the same shape, dtype float32 and units (see :mod:`genreg.inference.units`).
        ``input_range`` is the pixel range of image inputs (default: the training data's)."""
        return self._batched(lambda b: self.apply_batch(b, input_range)["denoised"], x, self.input_shape,
                             "input", batch_size)

    reconstruct = denoise


class AutoencoderModel(_Sampling, LoadedModel):
    """An encoder + decoder (``vae``, ``mlp-ae``); family ``vae`` when variational.

    ``input_shape``, ``latent_shape`` (the code of one sample; a VAE's latent mean),
    ``sample_shape`` (= the decoder's output shape), ``encoder``, ``decoder``.
    """

    def __init__(self, rebuilt, units: DataUnits) -> None:
        super().__init__(rebuilt, units)
        model = rebuilt.model
        self.encoder, self.decoder, self.variational = model.encoder, model.decoder, model.variational
        self.family = "vae" if self.variational else "autoencoder"
        self.input_shape = tuple(model.input_shape)
        self.sample_shape = tuple(model.output_shape) or self.input_shape
        # the code's shape, from one zero input (encoders need not declare it)
        self.latent_shape = tuple(self._encode(torch.zeros((1, *self.input_shape))).shape[1:]) if self.input_shape else ()
        self.output_keys = ("reconstruction", "recon_error", "latent_mean" if self.variational else "latent")

    def _encode(self, xm: Tensor) -> Tensor:
        h = self._run(self.encoder, xm)
        return (h[0] if self.variational else h).float().cpu()

    def _decode(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        return self._run(self.decoder, z).float().cpu()

    def apply_batch(self, x: Tensor, input_range=None) -> dict[str, Tensor]:
        """One batch in the input's units -> ``reconstruction`` (B, *input_shape, input units),
        ``recon_error`` (B,) mean squared error per sample in the model's units (the training
        data's, comparable across inputs: an anomaly score) and ``latent_mean`` (VAE) or
        ``latent`` (B, *latent_shape)."""
        xm, back = self.units.to_model(x, input_range)
        code = self._encode(xm)
        recon = self._decode(code)
        error = ((recon - xm) ** 2).flatten(1).mean(1) if len(x) else torch.zeros(0)
        return {"reconstruction": self.units.from_model(recon, back), "recon_error": error,
                self.output_keys[2]: code}

    def reconstruct(self, x: Array, *, batch_size: Optional[int] = None, input_range=None) -> Array:
        """Decode the (mean) code of ``x`` (N, *input_shape): (N, *input_shape) float32, input units."""
        return self._batched(lambda b: self.apply_batch(b, input_range)["reconstruction"], x, self.input_shape,
                             "input", batch_size)

    def encode(self, x: Array, *, batch_size: Optional[int] = None, input_range=None) -> Array:
        """The code of ``x`` (N, *input_shape): (N, *latent_shape) float32; a VAE's latent mean."""
        return self._batched(lambda b: self._encode(self.units.to_model(b, input_range)[0]), x, self.input_shape,
                             "input", batch_size)

    def decode(self, z: Array, *, batch_size: Optional[int] = None) -> Array:
        """Codes (N, *latent_shape) -> samples (N, *sample_shape) float32 in the training data's units."""
        return self._batched(self._decode, z, self.latent_shape, "latents", batch_size)

    def iter_samples(self, *args, **kwargs):
        if not self.variational:
            raise UsageError(f"model {self.name!r} is a plain autoencoder: its codes have no prior to sample "
                             "from (a VAE's have); use reconstruct/encode/decode")
        return super().iter_samples(*args, **kwargs)


def wrap(rebuilt, units: DataUnits) -> LoadedModel:
    """The :class:`LoadedModel` subclass for a rebuilt model's family."""
    from ..models.base import AdversarialModel

    if isinstance(rebuilt.model, AdversarialModel):
        return GeneratorModel(rebuilt, units)
    if rebuilt.model.net is not None:
        return DenoiserModel(rebuilt, units)
    return AutoencoderModel(rebuilt, units)
