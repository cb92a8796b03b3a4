"""One optimiser update, as every trainer does it: the piece that composes the precision
(:mod:`.precision`), the non-finite guard (:mod:`.guard`) and gradient clipping.

``Updater(phase, terms, optimizer, params)``: zero the gradients, backward of the sum of
``terms`` (scaled under fp16), unscale, global gradient norm (``torch._foreach_norm``),
guard check, clip to ``opt.grad_clip`` with a device-side coefficient (no host read),
optimiser step; returns the update's ok flag (a ``bool``, or a 0-d bool tensor when the
guard is deferred).
"""

from __future__ import annotations

from typing import Iterable, Optional

import torch
from torch import Tensor

from .checked_adam import CheckedAdam
from .guard import Guard, grad_norm
from .precision import Precision


FUSED_ADAM_DEVICES = ("cpu", "cuda")  # where torch 2.11+ has a fused Adam kernel


def adam(params, *, lr: float, betas, weight_decay: float, device: torch.device,
         capturable: bool = False, impl: str = "fused") -> torch.optim.Adam:
    """The trainers' Adam. ``capturable``: step counters on the device (CUDA graphs, and
    deferred skipping: its restore must reach every piece of optimiser state). ``impl``
    (``opt.adam_impl``): ``fused`` (torch's fused kernel, CPU and CUDA; on CPU a
    :class:`.checked_adam.CheckedAdam`, whose checked update the loop uses under
    ``train.nonfinite=stop``), ``foreach`` or ``for-loop``; they agree to float rounding,
    not bitwise."""
    extra = {"capturable": True} if capturable and device.type == "cuda" else {}
    if impl == "fused" and device.type not in FUSED_ADAM_DEVICES:
        impl = "foreach"  # no fused kernel for this device: the next fastest
    if impl == "fused" and device.type == "cpu":
        return CheckedAdam(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay)
    if impl == "fused":
        extra["fused"] = True
    else:
        extra["foreach"] = impl == "foreach"
    return torch.optim.Adam(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay, **extra)


def _checks_in_step_possible(guard: Guard, precision: Precision, grad_clip: float) -> bool:
    """Whether an update may leave the gradient check to the optimiser: a bad gradient
    then ends the run (``stop``, read at once, one process), no norm is needed for
    clipping, and no loss scaler steps the optimiser."""
    return (guard.mode == "stop" and not guard.deferred and not guard.dist.enabled and grad_clip <= 0
            and precision.scaler is None)


def _optimizer_tensors(optimizer: torch.optim.Optimizer, params: list[Tensor]) -> list[Tensor]:
    out = list(params)
    for p in params:
        out.extend(v for v in optimizer.state.get(p, {}).values() if isinstance(v, Tensor))
    return out


class Updater:
    def __init__(self, guard: Guard, precision: Precision, grad_clip: float = 0.0, *,
                 capturable: bool = False) -> None:
        self.guard, self.precision, self.grad_clip = guard, precision, grad_clip
        self.capturable = capturable  # trainers build their Adam with this (see adam())
        self._in_step = _checks_in_step_possible(guard, precision, grad_clip)

    def checks_in_step(self, optimizer: torch.optim.Optimizer) -> bool:
        """Whether an update with ``optimizer`` leaves the gradient check to its step."""
        return self._in_step and isinstance(optimizer, CheckedAdam) and optimizer.can_check()

    def autocast(self):
        """The forward-pass context of the run's precision."""
        return self.precision.autocast()

    def __call__(self, phase: str, terms: dict[str, Tensor], optimizer: torch.optim.Optimizer,
                 params: list[torch.nn.Parameter], backward_inputs: Optional[Iterable[Tensor]] = None):
        guard = self.guard
        optimizer.zero_grad(set_to_none=True)
        values = iter(terms.values())
        total = next(values)
        for value in values:  # (not sum(): that adds a 0 first)
            total = total + value
        self.precision.backward(total, list(backward_inputs) if backward_inputs is not None else None)
        self.precision.unscale(optimizer)
        if self.checks_in_step(optimizer):
            # the gradients are checked by the update itself, as it reads them (CPU)
            guard.check_terms(phase, terms, total)
            if not optimizer.checked_step():
                guard.fail_gradients(phase, [p.grad for p in params if p.grad is not None])
            return True
        grads = [p.grad for p in params if p.grad is not None]
        norms = torch._foreach_norm(grads) if grads else []
        ok = guard.check_update(phase, terms, total, norms if self.precision.checks_gradients else None)
        if ok is False:  # immediate guard, skip mode: no step
            optimizer.zero_grad(set_to_none=True)
            return False
        if self.grad_clip > 0 and norms:
            # clip_grad_norm_'s rule, with the coefficient kept on the device
            coef = torch.clamp(self.grad_clip / (grad_norm(norms) + 1e-6), max=1.0)
            torch._foreach_mul_(grads, coef)
        snapped = False
        if guard.deferred and guard.mode == "skip":
            if not optimizer.state:  # the first update creates the state: read its flag once
                if not bool(ok):
                    optimizer.zero_grad(set_to_none=True)
                    return ok
            else:
                guard.snapshot(id(optimizer), _optimizer_tensors(optimizer, params))
                snapped = True
        self.precision.step(optimizer)
        if snapped:
            guard.restore_if_bad(id(optimizer), _optimizer_tensors(optimizer, params), ok)
        return ok
