"""One optimiser update with the non-finite guard (``train.nonfinite = stop | skip``).

After the backward pass the loss terms and the global gradient norm are checked in one
device sync (and agreed on by all ranks). ``stop`` raises :class:`NonFiniteError` naming
the step, the phase and the first bad term (or the gradients); ``skip`` drops the update
(gradients zeroed, parameters and optimiser state untouched) and counts it.
"""

from __future__ import annotations

from typing import Iterable, Optional

import torch
from torch import Tensor

from ..errors import GenregError
from .distributed import DistContext, any_rank


class NonFiniteError(GenregError):
    """A loss term or gradient became NaN/Inf and ``train.nonfinite = stop``."""


class Guard:
    def __init__(self, mode: str, ctx: DistContext, device: torch.device) -> None:
        self.mode, self.ctx, self.device = mode, ctx, device
        self.skipped = 0

    def update(self, step: int, phase: str, terms: dict[str, Tensor], optimizer: torch.optim.Optimizer,
               params: list[torch.nn.Parameter], grad_clip: float = 0.0,
               backward_inputs: Optional[Iterable[Tensor]] = None) -> bool:
        """Backward of the sum of ``terms``, check, then step (or stop / skip). True if stepped."""
        total = sum(terms.values())
        optimizer.zero_grad(set_to_none=True)
        if backward_inputs is not None:
            torch.autograd.backward(total, inputs=list(backward_inputs))
        else:
            total.backward()
        grads = [p.grad for p in params if p.grad is not None]
        norm = (torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.detach()) for g in grads]))
                if grads else total.new_zeros(()))
        checks = torch.stack([t.detach().float().reshape(()) for t in terms.values()] + [norm.float()])
        bad = any_rank(not bool(torch.isfinite(checks).all()), self.ctx, self.device)
        if bad:
            if self.mode == "stop":
                raise NonFiniteError(self._message(step, phase, terms, norm))
            optimizer.zero_grad(set_to_none=True)
            self.skipped += 1
            return False
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, grad_clip)
        optimizer.step()
        return True

    def _message(self, step: int, phase: str, terms: dict[str, Tensor], norm: Tensor) -> str:
        for name, value in terms.items():
            v = float(value.detach())
            if not torch.isfinite(torch.tensor(v)):
                return f"step {step}: {phase} loss term {name!r} is {v} (train.nonfinite=stop)"
        if torch.isfinite(norm):
            # finite here: the bad value was on another process
            return f"step {step}: {phase} loss or gradients are not finite on another process (train.nonfinite=stop)"
        return f"step {step}: {phase} gradients are not finite (norm {float(norm)}) (train.nonfinite=stop)"
