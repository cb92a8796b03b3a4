"""Autocast rules for genreg's ops: each does under ``torch.autocast`` what torch's
autocast does to the ops its reference is built from, on both backends.

Under ``torch.autocast(device_type, dtype)`` (CPU or CUDA):

  ``conv1d_block``, ``upconv1d_block``  lower precision: x, weight and bias are cast
      to the autocast dtype (as ``F.conv1d`` is), so a float16/bfloat16 activation
      meets float32 parameters without an error;
  ``gp_interpolate``  promote: real, fake and eps are cast to their widest dtype (the
      reference's add, sub and mul promote);
  ``grad_penalty``  on CUDA float32 (torch's autocast runs linalg_vector_norm, pow and
      sum in float32 there); on CPU the input dtype is kept (CPU autocast leaves them).

As in torch, float64 tensors are never cast down, and the casts are differentiable,
so gradients reach float32 parameters in their own dtype. The raw ops
(``torch.ops.genreg.*``) have no autocast rule: call them with one dtype.
"""

from __future__ import annotations

import torch
from torch import Tensor

# device types whose autocast runs the penalty's reductions in float32
_PENALTY_FLOAT32 = {"cuda"}


def autocast_dtype(device_type: str) -> torch.dtype | None:
    """The dtype of the autocast region enabled for ``device_type``, else None."""
    if device_type not in ("cpu", "cuda") or not torch.is_autocast_enabled(device_type):
        return None
    return torch.get_autocast_dtype(device_type)


def _eligible(t, device_type: str) -> bool:
    return (isinstance(t, Tensor) and t.is_floating_point() and t.dtype != torch.float64
            and t.device.type == device_type)


def cast_to(dtype: torch.dtype, device_type: str, *tensors):
    """``tensors`` with the autocast-eligible ones in ``dtype`` (others, None included, as given)."""
    return tuple(t.to(dtype) if _eligible(t, device_type) and t.dtype != dtype else t for t in tensors)


def lower_precision(device_type: str, *tensors):
    """The conv blocks' rule: eligible tensors in the autocast dtype, when autocast is on."""
    dtype = autocast_dtype(device_type)
    return tensors if dtype is None else cast_to(dtype, device_type, *tensors)


def promote(device_type: str, *tensors):
    """gp_interpolate's rule: all in the widest floating dtype, when autocast is on."""
    if autocast_dtype(device_type) is None or not all(isinstance(t, Tensor) for t in tensors):
        return tensors
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) == 1 or not all(d.is_floating_point for d in dtypes):
        return tensors
    widest = tensors[0].dtype
    for t in tensors[1:]:
        widest = torch.promote_types(widest, t.dtype)
    return tuple(t.to(widest) for t in tensors)


def penalty_input(device_type: str, grads):
    """grad_penalty's rule: float32 under CUDA autocast, unchanged elsewhere."""
    if device_type in _PENALTY_FLOAT32 and autocast_dtype(device_type) is not None:
        return cast_to(torch.float32, device_type, grads)[0]
    return grads
