"""The ops genreg's models call. Each picks the fused kernel or the reference.

Backend choice, per call:
  ``auto``       fused where the extension has a kernel for the tensors' device, else reference
  ``fused``      fused, or a clear error saying why it is not available
  ``reference``  always the pure-PyTorch implementation

Set it with ``GENREG_KERNELS=auto|fused|reference``, :func:`set_backend`, or the
:func:`use_backend` context manager.
"""

from __future__ import annotations

import contextlib
import math
import os
from typing import Iterator

import torch
from torch import Tensor

from ..errors import KernelError, UsageError
from . import _autocast, reference
from ._loader import extension_state, has_kernel

BACKENDS = ("auto", "fused", "reference")

__all__ = ["BACKENDS", "get_backend", "set_backend", "use_backend", "gp_interpolate",
           "grad_penalty", "conv1d_block", "upconv1d_block", "extension_state", "has_kernel", "resolve"]


def _check_backend(name: str, source: str) -> str:
    name = name.strip().lower()
    if name not in BACKENDS:
        raise UsageError(f"{source}: unknown kernel backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return name


_backend = _check_backend(os.environ.get("GENREG_KERNELS", "auto") or "auto", "GENREG_KERNELS")


def get_backend() -> str:
    return _backend


def set_backend(name: str) -> str:
    """Set the process-wide backend; returns the previous one."""
    global _backend
    previous, _backend = _backend, _check_backend(name, "set_backend")
    return previous


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    previous = set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def resolve(op: str, device_type: str) -> str:
    """'fused' or 'reference': what a call of ``op`` on ``device_type`` will run."""
    if _backend == "reference":
        return "reference"
    if has_kernel(op, device_type):
        return "fused"
    if _backend == "fused":
        state = extension_state()
        why = state.error if not state.loaded else f"the extension has no {device_type} kernel for {op}"
        raise KernelError(f"GENREG_KERNELS=fused but {op} cannot run fused: {why}")
    return "reference"


def _check_per_sample(op: str, x: Tensor, others: dict[str, Tensor], per_sample: dict[str, Tensor]) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected tensors, got {type(x).__name__}")
    if x.dim() < 1:
        raise ValueError(f"{op}: inputs need a batch dimension, got a 0-d tensor")
    if not x.is_floating_point():
        raise TypeError(f"{op}: expected floating-point tensors, got {x.dtype}")
    for name, t in {**others, **per_sample}.items():
        if t.dtype != x.dtype:
            raise TypeError(f"{op}: {name} has dtype {t.dtype}, expected {x.dtype}")
        if t.device != x.device:
            raise ValueError(f"{op}: {name} is on {t.device}, expected {x.device}")
    for name, t in others.items():
        if t.shape != x.shape:
            raise ValueError(f"{op}: {name} has shape {tuple(t.shape)}, expected {tuple(x.shape)}")
    for name, t in per_sample.items():
        if t.numel() != x.shape[0] or (t.dim() > 0 and t.shape[0] != x.shape[0]):
            raise ValueError(f"{op}: {name} needs one value per sample, shape ({x.shape[0]},), "
                             f"got {tuple(t.shape)}")


def gp_interpolate(real: Tensor, fake: Tensor, eps: Tensor) -> Tensor:
    """Per-sample interpolate ``eps * real + (1 - eps) * fake`` for the gradient penalty.

    ``real`` and ``fake`` of any rank >= 1 with the batch first; ``eps`` has one value per
    sample (shape ``(B,)`` or ``(B, 1, ..., 1)``). Differentiable in all three inputs.
    Under ``torch.autocast`` the three are promoted to their widest dtype (see
    :mod:`genreg.kernels._autocast`).
    """
    if isinstance(real, Tensor):
        real, fake, eps = _autocast.promote(real.device.type, real, fake, eps)
    _check_per_sample("gp_interpolate", real, {"fake": fake}, {"eps": eps})
    if resolve("gp_interpolate", real.device.type) == "fused":
        return torch.ops.genreg.gp_interpolate(real, fake, eps.reshape(real.shape[0]))
    return reference.gp_interpolate(real, fake, eps)


def grad_penalty(grads: Tensor, mode: str = "gp", center: float = 1.0, p: float = 6.0) -> Tensor:
    """Per-sample gradient penalty (see :func:`genreg.kernels.reference.grad_penalty`).

    ``grads`` of any rank >= 1 with the batch first, typically from
    ``torch.autograd.grad(..., create_graph=True)``; returns shape ``(B,)``.

    Differentiable any number of times. Where a sample's gradient is all zeros its
    penalty's gradient is 0 (never NaN), on both paths for ``gp`` and, for ``div``,
    on the fused path (the reference gives NaN there when p < 2). Under CUDA autocast
    the penalty is computed in float32 (see :mod:`genreg.kernels._autocast`).
    """
    if isinstance(grads, Tensor):
        grads = _autocast.penalty_input(grads.device.type, grads)
    _check_per_sample("grad_penalty", grads, {}, {})
    if mode not in reference.GRAD_PENALTY_MODES:
        raise ValueError(f"grad_penalty: unknown mode {mode!r}; modes are {', '.join(reference.GRAD_PENALTY_MODES)}")
    if not (math.isfinite(center) and math.isfinite(p)):
        raise ValueError(f"grad_penalty: center and p must be finite, got center={center}, p={p}")
    if mode == "div" and p <= 0:
        raise ValueError(f"grad_penalty: mode div needs p > 0, got p={p}")
    if resolve("grad_penalty", grads.device.type) == "fused":
        return torch.ops.genreg.grad_penalty_forward(grads, mode, float(center), float(p))[0]
    return reference.grad_penalty(grads, mode, center, p)


def _conv1d_fused_pays_off(x: Tensor, weight: Tensor) -> bool:
    """Where the fused CPU kernels (conv1d_block, upconv1d_block) beat eager PyTorch with
    oneDNN's convolution, forward + backward (measured in docs/kernels.md): up to 128 x 128
    channels (1.1-7x; from 256 x 256 on oneDNN is faster), with at least one sample per
    thread (the fused backward runs samples in parallel; oneDNN's also splits channels).
    Other devices: wherever the extension has a kernel."""
    if x.device.type != "cpu":
        return True
    return (weight.shape[0] * weight.shape[1] <= CONV1D_FUSED_MAX_CHANNEL_PRODUCT
            and x.shape[0] >= torch.get_num_threads())


# out_channels * in_channels up to which `auto` picks the fused conv1d kernels on CPU.
CONV1D_FUSED_MAX_CHANNEL_PRODUCT = 128 * 128

# in_channels * kernel_size (multiply-adds per output) up to which `auto` picks the
# fused conv1d_block on CUDA. Provisional, not yet measured on a GPU: with few taps per
# output a layer is memory- and launch-bound, where one fused pass should beat cuDNN's
# conv + activation + pool (separate kernels, the pre-activation written out and read
# back); with many it is compute-bound, where cuDNN's tensor-core kernels should win.
CONV1D_CUDA_FUSED_MAX_TAPS = 64

# Kernel sizes the CUDA kernel takes (its shared-memory tiles are sized for them).
CONV1D_CUDA_MAX_KERNEL = 513

# dtypes with a fused conv1d_block, per device type (CUDA: half types accumulate in float32).
CONV1D_FUSED_DTYPES = {"cpu": (torch.float32, torch.float64),
                       "cuda": (torch.float32, torch.float64, torch.float16, torch.bfloat16)}


def _conv1d_cuda_fused_pays_off(x: Tensor, weight: Tensor) -> bool:
    return weight.shape[1] * weight.shape[2] <= CONV1D_CUDA_FUSED_MAX_TAPS


def _check_conv1d_args(op: str, x: Tensor, weight: Tensor, bias: Tensor | None, activation: str) -> None:
    if not isinstance(x, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{op}: x and weight must be tensors")
    if x.dim() != 3:
        raise ValueError(f"{op}: x must be (batch, channels, length), got shape {tuple(x.shape)}")
    if weight.dim() != 3 or weight.shape[1] != x.shape[1]:
        raise ValueError(f"{op}: weight must be (out_channels, {x.shape[1]}, kernel), got shape {tuple(weight.shape)}")
    if x.shape[1] < 1 or weight.shape[0] < 1:
        raise ValueError(f"{op}: needs at least one input channel and one output channel, got x of shape "
                         f"{tuple(x.shape)} and weight of shape {tuple(weight.shape)}")
    if weight.shape[2] % 2 == 0:
        raise ValueError(f"{op}: kernel size must be odd for 'same' padding, got {weight.shape[2]}")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"{op}: bias must have shape ({weight.shape[0]},), got {tuple(bias.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.dtype != x.dtype or t.device != x.device):
            raise TypeError(f"{op}: {name} is {t.dtype} on {t.device}, expected {x.dtype} on {x.device}")
    if not x.is_floating_point():
        raise TypeError(f"{op}: expected floating-point tensors, got {x.dtype}")
    if activation not in reference.CONV1D_ACTIVATIONS:
        raise ValueError(f"{op}: unknown activation {activation!r}; choose {', '.join(reference.CONV1D_ACTIVATIONS)}")


def _conv1d_backend(op: str, kernel_op: str, x: Tensor, weight: Tensor, pays_off: bool) -> str:
    """'fused' or 'reference' for a conv1d block op: fused kernels take the dtypes of
    CONV1D_FUSED_DTYPES for their device; `auto` also needs them to pay off there."""
    device = x.device.type
    dtypes = CONV1D_FUSED_DTYPES.get(device, ())
    fits = device != "cuda" or weight.shape[2] <= CONV1D_CUDA_MAX_KERNEL
    fusable = x.dtype in dtypes and fits
    if _backend == "auto" and not (fusable and pays_off):
        return "reference"
    if fusable and resolve(kernel_op, device) == "fused":
        return "fused"
    if _backend == "fused" and not fusable:
        if not dtypes:
            why = f"there is no fused kernel for {device} tensors"
        elif x.dtype not in dtypes:
            why = f"its {device} kernels take {'/'.join(str(d).removeprefix('torch.') for d in dtypes)}, got {x.dtype}"
        else:
            why = f"its CUDA kernel takes kernel sizes up to {CONV1D_CUDA_MAX_KERNEL}, got {weight.shape[2]}"
        raise KernelError(f"GENREG_KERNELS=fused but {op} cannot run fused: {why}")
    return "reference"


def conv1d_block(x: Tensor, weight: Tensor, bias: Tensor | None = None, activation: str = "relu",
                 negative_slope: float = 0.01, pool: bool = True) -> Tensor:
    """``max_pool1d(act(conv1d(x, weight, bias, padding=K//2)), 2)`` (the pool optional).

    ``x`` (B, C_in, L), ``weight`` (C_out, C_in, K) with K odd, ``bias`` (C_out,) or None;
    ``activation`` relu, leaky_relu (with ``negative_slope``) or none; ``pool`` a bool
    (True: max-pool 2, output length L // 2). Differentiable any number of times. With
    backend ``auto`` the fused CPU kernel runs for float32/float64 where it measures
    faster than oneDNN (see ``_conv1d_fused_pays_off``); on CUDA the fused kernel
    (float32/64, float16, bfloat16) runs for layers with few taps per output
    (``CONV1D_CUDA_FUSED_MAX_TAPS``, provisional until measured on a GPU), cuDNN otherwise.
    """
    op = "conv1d_block"
    if isinstance(x, Tensor):
        x, weight, bias = _autocast.lower_precision(x.device.type, x, weight, bias)
    _check_conv1d_args(op, x, weight, bias, activation)
    if not isinstance(pool, bool):
        raise TypeError(f"{op}: pool must be a bool (True: max-pool 2), got {pool!r}")
    if pool and x.shape[2] < 2:
        raise ValueError(f"{op}: max-pool 2 needs length >= 2, got {x.shape[2]}")
    if x.shape[2] < 1:
        raise ValueError(f"{op}: x must have length >= 1, got {x.shape[2]}")
    pays_off = (_conv1d_cuda_fused_pays_off if x.device.type == "cuda" else _conv1d_fused_pays_off)(x, weight)
    if _conv1d_backend(op, "conv1d_block_forward", x, weight, pays_off) == "fused":
        return torch.ops.genreg.conv1d_block_forward(x, weight, bias, activation, float(negative_slope), pool)[0]
    return reference.conv1d_block(x, weight, bias, activation, negative_slope, pool)


def upconv1d_block(x: Tensor, weight: Tensor, bias: Tensor | None, size: int, activation: str = "relu",
                   negative_slope: float = 0.01) -> Tensor:
    """``act(conv1d(interpolate(x, size, 'nearest'), weight, bias, padding=K//2))``: the
    denoiser's decoder block, upsampling to exactly ``size`` positions.

    ``x`` (B, C_in, L), ``weight`` (C_out, C_in, K) with K odd, ``bias`` (C_out,) or None,
    ``size`` >= 1; returns (B, C_out, size). Differentiable any number of times. With
    backend ``auto`` the fused CPU kernel runs for float32/float64 (see
    ``_conv1d_fused_pays_off``); on CUDA the fused kernel (float32/64, float16, bfloat16)
    runs by the same few-taps rule as conv1d_block's (``CONV1D_CUDA_FUSED_MAX_TAPS``).
    """
    op = "upconv1d_block"
    if isinstance(x, Tensor):
        x, weight, bias = _autocast.lower_precision(x.device.type, x, weight, bias)
    _check_conv1d_args(op, x, weight, bias, activation)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"{op}: size must be an int >= 1, got {size!r}")
    if x.shape[2] < 1:
        raise ValueError(f"{op}: x must have length >= 1, got {x.shape[2]}")
    pays_off = (_conv1d_cuda_fused_pays_off if x.device.type == "cuda" else _conv1d_fused_pays_off)(x, weight)
    if _conv1d_backend(op, "upconv1d_block_forward", x, weight, pays_off) == "fused":
        return torch.ops.genreg.upconv1d_block_forward(x, weight, bias, size, activation, float(negative_slope))[0]
    return reference.upconv1d_block(x, weight, bias, size, activation, negative_slope)
