"""``genreg export``: a trained generator, denoiser or decoder as a standalone artefact.

The artefact runs with plain PyTorch (or onnxruntime) and no genreg installed:

``torchscript``       ``torch.jit.trace`` -> ``torch.jit.save`` (``.pt``);
                      load with ``torch.jit.load(FILE)``
``exported-program``  ``torch.export.export`` with a dynamic batch -> ``torch.export.save``
                      (``.pt2``); load with ``torch.export.load(FILE).module()``
``onnx``              ``torch.onnx.export(..., dynamo=True)`` (opset 18) with a dynamic batch;
                      run with ``onnxruntime.InferenceSession(FILE)``. Needs the ``[onnx]``
                      extra (onnx, onnxscript, onnxruntime).

Fused ops are traced through their pure-PyTorch reference
(``genreg.kernels.use_backend("reference")``), so the graph holds only standard ATen ops.

What is exported, with its inputs and outputs (B any batch size):

generator (GANs)       ``z`` (B, latent_dim) float32 [, ``y`` (B,) int64 class labels for
                       conditional models] -> samples (B, *sample_shape) in the training data's
                       units (the EMA generator where the run kept one)
denoiser               ``x`` (B, *input_shape) float32 -> denoised (B, *input_shape) in the same
                       units; where the training data were normalised per sample (radio), that
                       map and its inverse are part of the graph, so raw units go in and come
                       out; otherwise the training data's units
autoencoder / VAE      the decoder: ``z`` (B, *latent_shape) -> (B, *sample_shape), training units

After writing, the artefact is loaded back and run on random inputs (another batch size
than the one traced) next to the model itself; the largest absolute difference is
reported and a difference above 1e-3 x max(1, max |output|) is an error.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch
from torch import Tensor, nn

from ..errors import GenregError, UsageError
from .models import AutoencoderModel, DenoiserModel, GeneratorModel, LoadedModel
from .units import DataUnits

FORMATS = ("torchscript", "onnx", "exported-program")
SUFFIXES = {"torchscript": ".pt", "exported-program": ".pt2", "onnx": ".onnx"}
TRACE_BATCH, CHECK_BATCH = 3, 5
TOLERANCE = 1e-3


class _Generate(nn.Module):
    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, z: Tensor) -> Tensor:
        return self.generator(z, None)


class _GenerateConditional(_Generate):
    def forward(self, z: Tensor, y: Tensor) -> Tensor:  # type: ignore[override]
        return self.generator(z, y)


class _Denoise(nn.Module):
    """The denoiser with the training data's normalisation around it (units in = units out)."""

    def __init__(self, net: nn.Module, units: DataUnits) -> None:
        super().__init__()
        self.net, self.per_sample = net, units.kind == "per_sample_minmax"

    def forward(self, x: Tensor) -> Tensor:
        if not self.per_sample:
            return self.net(x)
        dims = list(range(1, x.dim()))
        lo = x.amin(dim=dims, keepdim=True)
        scale = (x.amax(dim=dims, keepdim=True) - lo).clamp_min(torch.finfo(x.dtype).tiny)
        return self.net(((x - lo) / scale).clamp(0.0, 1.0)) * scale + lo


@dataclass
class Exportable:
    """A module to export, example inputs to trace it with, and names for ONNX."""

    module: nn.Module
    make_inputs: Any  # batch size, torch.Generator -> tuple of input tensors
    input_names: tuple[str, ...]
    what: str


def exportable(model: LoadedModel) -> Exportable:
    """What ``genreg export`` writes for ``model``'s family (see the module docstring)."""
    if isinstance(model, GeneratorModel):
        latent, classes = model.latent_shape, model.num_classes

        def inputs(b, gen):
            z = torch.randn((b, *latent), generator=gen)
            return (z, torch.randint(0, classes, (b,), generator=gen)) if classes else (z,)

        module = _GenerateConditional(model.module) if classes else _Generate(model.module)
        return Exportable(module, inputs, ("z", "y") if classes else ("z",), "generator")
    if isinstance(model, DenoiserModel):
        shape, per_sample = model.input_shape, model.units.kind == "per_sample_minmax"

        def inputs(b, gen):  # raw-unit traces when the model normalises them, else data-range values
            x = torch.randn((b, *shape), generator=gen)
            return (x * 50.0,) if per_sample else (torch.rand((b, *shape), generator=gen),)

        return Exportable(_Denoise(model.module, model.units), inputs, ("x",), "denoiser")
    if isinstance(model, AutoencoderModel):
        latent = model.latent_shape
        return Exportable(model.decoder, lambda b, gen: (torch.randn((b, *latent), generator=gen),), ("z",),
                          "decoder")
    raise UsageError(f"model {model.name!r} ({model.family}) has nothing genreg knows how to export")


def _need_onnx():
    try:
        import onnx  # noqa: F401
        import onnxruntime
        import onnxscript  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"ONNX export needs onnx, onnxscript and onnxruntime ({exc.name} is missing): "
                         "pip install 'genreg[onnx]'") from None
    return onnxruntime


def _write(fmt: str, ex: Exportable, example: tuple, out: Path) -> None:
    if fmt == "torchscript":
        traced = torch.jit.trace(ex.module, example, check_trace=False)
        torch.jit.save(traced, str(out))
        return
    batch = torch.export.Dim("batch", min=1)
    dynamic = {name: {0: batch} for name in ex.input_names}
    if fmt == "exported-program":
        program = torch.export.export(ex.module, example, dynamic_shapes=dynamic)
        torch.export.save(program, str(out))
        return
    _need_onnx()
    quiet = logging.getLogger("torch.onnx")  # it logs about optional torchvision ops at WARNING
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        program = torch.onnx.export(ex.module, example, input_names=list(ex.input_names), output_names=["output"],
                                    dynamic_shapes=dynamic, dynamo=True, opset_version=18, verbose=False)
    finally:
        quiet.setLevel(level)
    program.save(str(out))


def _run_artefact(fmt: str, out: Path, inputs: tuple) -> Tensor:
    if fmt == "torchscript":
        return torch.jit.load(str(out))(*inputs)
    if fmt == "exported-program":
        return torch.export.load(str(out)).module()(*inputs)
    ort = _need_onnx()
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return torch.from_numpy(session.run(None, {n: t.numpy() for n, t in zip(names, inputs)})[0])


def export(model: LoadedModel, fmt: str, out, *, seed: int = 0) -> dict:
    """Write ``model``'s artefact in format ``fmt`` to ``out`` and check it (see the module docstring).

    Returns ``{"path", "format", "what", "inputs", "max_abs_diff"}``. Raises UsageError for an
    unknown format or a missing ONNX extra, GenregError when the artefact cannot be written
    or its outputs differ from the model's.
    """
    from .. import kernels

    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out = Path(out)
    if not out.parent.exists():
        raise UsageError(f"--out: folder {str(out.parent)!r} does not exist")
    if fmt == "exported-program" and out.suffix != ".pt2":
        raise UsageError(f"an exported program is saved as a .pt2 file (torch.export.save), got {str(out)!r}")
    if fmt == "onnx":
        _need_onnx()
    ex = exportable(model)
    ex.module.to("cpu").eval()
    gen = torch.Generator().manual_seed(seed)
    example, check = ex.make_inputs(TRACE_BATCH, gen), ex.make_inputs(CHECK_BATCH, gen)
    part = out.with_name(f".{out.stem}.part{out.suffix}")  # only a checked artefact lands at `out`
    try:
        with torch.no_grad(), kernels.use_backend("reference"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python-side shape checks
            _write(fmt, ex, example, part)
            got = _run_artefact(fmt, part, check)
    except (GenregError, KeyboardInterrupt):
        part.unlink(missing_ok=True)
        raise
    except Exception as exc:
        part.unlink(missing_ok=True)
        raise GenregError(f"export to {fmt} failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}") from None
    finally:
        ex.module.to(model.device)
    with torch.no_grad():  # the model as genreg runs it (fused kernels where they pay off)
        expected = ex.module.to(model.device)(*[t.to(model.device) for t in check]).float().cpu()
    diff = float((got.float() - expected).abs().max()) if expected.numel() else 0.0
    limit = TOLERANCE * max(1.0, float(expected.abs().max()) if expected.numel() else 1.0)
    if not diff <= limit:
        part.unlink(missing_ok=True)
        raise GenregError(f"the exported {ex.what} differs from the model by {diff:.3g} (limit {limit:.3g})")
    os.replace(part, out)
    shapes = {name: [int(s) for s in t.shape[1:]] for name, t in zip(ex.input_names, check)}
    return {"path": str(out), "format": fmt, "what": ex.what, "inputs": shapes, "max_abs_diff": diff,
            "output_shape": [int(s) for s in expected.shape[1:]]}
