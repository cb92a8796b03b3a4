"""Mixed precision (``train.precision = fp32 | bf16 | fp16``) as one piece the loop builds.

``fp32``  no autocast.
``bf16``  ``torch.autocast(device, torch.bfloat16)`` around the forward passes (the
          gradient penalty's double backward included); the weights, gradients and Adam
          state stay float32. No loss scaling: bfloat16 has float32's exponent range.
``fp16``  autocast to float16 plus a :class:`torch.amp.GradScaler` (dynamic loss
          scaling). An overflowing gradient is then normal: the scaler skips that update
          and lowers the scale, so the non-finite guard checks only the loss terms.
          The penalty's inner input-gradient is taken on the unscaled loss. The scaler's
          ``step`` reads its overflow flag on the host (one sync per update on CUDA).

Source: PyTorch automatic mixed precision (torch.amp), "Gradient penalty" recipe.
"""

from __future__ import annotations

import contextlib
from typing import Optional

import torch
from torch import Tensor

from ..errors import UsageError

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class Precision:
    def __init__(self, name: str, device: torch.device, *, graph_safe: bool = False) -> None:
        if name not in DTYPES:
            raise UsageError(f"train.precision must be one of {', '.join(DTYPES)}, got {name!r}")
        self.name, self.device, self.dtype = name, device, DTYPES[name]
        # autocast's weight-cast cache must be off inside CUDA graph capture
        self.cache = not graph_safe
        self.scaler: Optional[torch.amp.GradScaler] = (torch.amp.GradScaler(device.type) if name == "fp16"
                                                        else None)

    @property
    def checks_gradients(self) -> bool:
        """False under fp16: the loss scaler owns overflowing gradients."""
        return self.scaler is None

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype, cache_enabled=self.cache)

    def backward(self, total: Tensor, inputs: Optional[list[Tensor]]) -> None:
        if self.scaler is not None:
            total = self.scaler.scale(total)
        if inputs is not None:
            torch.autograd.backward(total, inputs=inputs)
        else:
            total.backward()

    def unscale(self, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler is None:
            optimizer.step()
        else:
            self.scaler.step(optimizer)
            self.scaler.update()

    def state_dict(self) -> dict:
        return self.scaler.state_dict() if self.scaler is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)
