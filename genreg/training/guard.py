"""The non-finite guard (``train.nonfinite = stop | skip``) of every optimiser update.

After each backward pass the loss terms and the gradients are checked. ``stop`` raises
:class:`NonFiniteError` naming the step, the phase and the first bad term (or the
gradients); ``skip`` drops the update (parameters and optimiser state as they were) and
counts it. Two strategies, the same behaviour:

``immediate`` (CPU): the check is read at once (on a CPU there is no device to wait for),
    so ``stop`` raises inside the bad update and ``skip`` simply does not step.
``deferred`` (CUDA, and required by CUDA graphs): nothing is read on the host per update.
    The flags stay on the device: a per-update ``ok`` tensor, a skipped-update counter and
    a small record ``[step, phase, term, value]`` of the first bad update. :meth:`check`
    reads them at log, sample and checkpoint steps and at the end, and raises there for
    ``stop`` (before any checkpoint is written, so the last checkpoint is a good one);
    ``skip`` restores the parameters and optimiser state of a bad update on the device
    with ``torch.where`` against a snapshot taken before the step.

Gradient norms use ``torch._foreach_norm`` (one call for all parameters). On CPU under
``stop`` the optimiser checks the gradients itself as it applies them
(:class:`.checked_adam.CheckedAdam`: no pass of its own over them); a bad gradient then
stops the run with that update partly applied in memory, and no checkpoint is written
after it, as always.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
from torch import Tensor

from ..errors import GenregError
from . import distributed
from .distributed import DistContext
from .trainer import stack_values


class NonFiniteError(GenregError):
    """A loss term or gradient became NaN/Inf and ``train.nonfinite = stop``."""


def grad_norm(norms: Sequence[Tensor]) -> Tensor:
    """The global L2 norm from per-tensor norms (``torch._foreach_norm(grads)``: one call)."""
    return torch.linalg.vector_norm(torch.stack(list(norms)))


class Guard:
    """See the module docstring. ``deferred``: keep the flags on the device."""

    def __init__(self, mode: str, dist: DistContext, device: torch.device, *, deferred: bool = False) -> None:
        self.mode, self.dist, self.device, self.deferred = mode, dist, device, deferred
        self._skipped = 0
        self._phases: list[str] = []
        self._names: dict[int, list[str]] = {}
        if deferred:
            f64 = dict(dtype=torch.float64, device=device)
            self.step_t = torch.zeros((), **f64)  # the step being computed, on the device
            self._skipped_t = torch.zeros((), dtype=torch.int64, device=device)
            self._first_bad = torch.full((4,), -1.0, **f64)  # step, phase, term index, value
            self._phase_t: dict[str, Tensor] = {}
            self._snapshots: dict[int, list[Tensor]] = {}
            # updated in place (never rebound): a CUDA graph captures its address
            self._step_ok_t = torch.ones((), dtype=torch.bool, device=device)
        self._step_ok = True

    @property
    def step_ok(self) -> Tensor | bool:
        """Whether all updates of the current step were good (a device flag when deferred)."""
        return self._step_ok_t if self.deferred else self._step_ok

    # -- per step / per update ------------------------------------------------------

    def begin_step(self, step: int) -> None:
        if self.deferred:
            self.step_t.fill_(step)
            self._step_ok_t.fill_(True)
        self._step_ok = True
        self._step = step

    def check_update(self, phase: str, terms: dict[str, Tensor], total: Tensor, norms: Optional[list[Tensor]]):
        """The flag (``bool``, or a 0-d bool tensor when deferred) of one update.

        ``total``: the sum of ``terms``; ``norms``: per-parameter gradient norms (None: the
        gradients are not checked here, e.g. under fp16 loss scaling)."""
        if not self.deferred:
            # one host read: a sum is finite only if every term and norm is
            with torch.no_grad():
                checked = stack_values([*norms, total]).sum() if norms else total.detach()
            ok = math.isfinite(float(checked))
            if self.dist.enabled:
                ok = not distributed.any_rank(not ok, self.dist, self.device)
            if not ok:
                if self.mode == "stop":
                    raise NonFiniteError(self._message_now(phase, terms, norms))
                self._skipped += 1
                self._step_ok = False
            return ok
        with torch.no_grad():
            values = [t.reshape(()) for t in terms.values()]
            if norms:
                values.append(torch.linalg.vector_norm(torch.stack(norms)))
            values = stack_values(values)
            bad = (values - values) != 0  # NaN and +-Inf give NaN: isfinite in two kernels
            if self.dist.enabled:  # a device collective: the ranks agree without a host read
                bad = distributed.all_reduce_max(bad.to(values.dtype), self.dist) > 0
            any_bad = bad.any()
            if self.mode == "stop":
                self._remember(phase, list(terms))
                first = torch.argmax(bad.to(torch.uint8))
                record = torch.stack([self.step_t, self._phase_t[phase], first.to(torch.float64),
                                      values[first].to(torch.float64)])
                torch.where(any_bad & (self._first_bad[0] < 0), record, self._first_bad, out=self._first_bad)
            self._skipped_t.add_(any_bad)
            ok = ~any_bad
            self._step_ok_t.logical_and_(ok)
        return ok

    # -- when the optimiser checks the gradients (immediate stop: Updater) ---------------

    def check_terms(self, phase: str, terms: dict[str, Tensor], total: Tensor) -> None:
        """Raise :class:`NonFiniteError` naming the first bad loss term (one host read)."""
        if not math.isfinite(float(total.detach())):
            raise NonFiniteError(self._message_now(phase, terms, None))

    def fail_gradients(self, phase: str, grads: list[Tensor]) -> None:
        """Raise :class:`NonFiniteError` for gradients the optimiser found not finite."""
        norm = float(grad_norm(torch._foreach_norm(grads))) if grads else float("nan")
        raise NonFiniteError(f"step {self._step}: {phase} gradients are not finite (norm {norm}) "
                             "(train.nonfinite=stop)")

    def _remember(self, phase: str, names: list[str]) -> None:
        """The host side of the record: phase ids and their term names (no device read)."""
        if phase not in self._phase_t:
            self._phases.append(phase)
            self._phase_t[phase] = torch.full((), float(len(self._phases) - 1), dtype=torch.float64,
                                              device=self.device)
        self._names[self._phases.index(phase)] = names

    # -- skip without a host read ---------------------------------------------------

    def snapshot(self, key: int, tensors: list[Tensor]) -> None:
        """Keep a copy of ``tensors`` (parameters and optimiser state) before an update."""
        saved = self._snapshots.get(key)
        if saved is None or len(saved) != len(tensors) or any(s.shape != t.shape for s, t in zip(saved, tensors)):
            self._snapshots[key] = [t.detach().clone() for t in tensors]
        else:
            torch._foreach_copy_(saved, [t.detach() for t in tensors])

    def restore_if_bad(self, key: int, tensors: list[Tensor], ok: Tensor) -> None:
        """Put back the snapshot where ``ok`` is false (a device-side select, no read)."""
        with torch.no_grad():
            for t, s in zip(tensors, self._snapshots[key]):
                torch.where(ok, t, s, out=t)

    # -- reading the flags ----------------------------------------------------------

    @property
    def skipped(self) -> int:
        """Updates skipped so far (a host read in deferred mode)."""
        return self._skipped + (int(self._skipped_t) if self.deferred else 0)

    @skipped.setter
    def skipped(self, value: int) -> None:
        self._skipped = int(value)
        if self.deferred:
            self._skipped_t.zero_()

    def check(self) -> None:
        """Raise the deferred ``stop`` error, if any update was bad (one host read)."""
        if not self.deferred or self.mode != "stop":
            return
        step, pid, index, value = self._first_bad.tolist()
        if step < 0:
            return
        phase = self._phases[int(pid)]
        names = self._names.get(int(pid), [])
        index = int(index)
        if index < len(names):
            where = f"{phase} loss term {names[index]!r} is {value}"
            if value == value and abs(value) != float("inf"):  # finite here: bad on another process
                where = f"{phase} loss term {names[index]!r} is not finite on another process"
        else:
            where = f"{phase} gradients are not finite (norm {value})"
        raise NonFiniteError(f"step {int(step)}: {where} (train.nonfinite=stop)")

    def _message_now(self, phase: str, terms: dict[str, Tensor], norms: Optional[list[Tensor]]) -> str:
        step = self._step
        norm = grad_norm(norms) if norms else None
        for name, value in terms.items():
            v = float(value.detach())
            if v != v or abs(v) == float("inf"):
                return f"step {step}: {phase} loss term {name!r} is {v} (train.nonfinite=stop)"
        if norm is None or bool(torch.isfinite(norm)):
            # finite here: the bad value was on another process
            return f"step {step}: {phase} loss or gradients are not finite on another process (train.nonfinite=stop)"
        return f"step {step}: {phase} gradients are not finite (norm {float(norm)}) (train.nonfinite=stop)"
