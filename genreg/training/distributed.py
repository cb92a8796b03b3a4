"""Multi-process training under ``torchrun``: process group, device, DDP, rank-0 duties.

``torchrun --nproc_per_node=K -m genreg train ...`` (or ``torchrun ... $(which genreg)
train ...``) sets ``WORLD_SIZE``/``RANK``/``LOCAL_RANK``/``MASTER_ADDR``/``MASTER_PORT``;
:func:`setup` then joins the process group with ``nccl`` on CUDA and ``gloo`` on CPU.
Each process gets ``train.batch_size / K`` samples per step from a
:class:`torch.utils.data.DistributedSampler` shard, gradients are averaged by
:class:`~torch.nn.parallel.DistributedDataParallel`, so K processes take the same steps
as one process with the whole global batch. Only rank 0 logs, draws samples and writes
checkpoints; the others wait at a barrier. A one-process ``torchrun`` still joins a
process group (``TORCHELASTIC_RUN_ID`` is set) and wraps the networks in DDP, so the
NCCL / Gloo path can be checked on one device. Without those variables everything runs
in-process with no process group.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..errors import UsageError


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None  # None: single process, no process group
    owns_group: bool = False  # we initialised it, so we tear it down

    @property
    def enabled(self) -> bool:
        """Whether this process is in a process group (DDP, collectives)."""
        return self.backend is not None

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def resolve_device(preference: str, local_rank: int = 0) -> torch.device:
    if preference == "auto":
        preference = "cuda" if torch.cuda.is_available() else "cpu"
    if preference == "cuda":
        if not torch.cuda.is_available():
            raise UsageError("device cuda was requested but torch sees no CUDA device (use --device cpu or auto)")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    if preference == "cpu":
        return torch.device("cpu")
    raise UsageError(f"unknown device {preference!r}: use cpu, cuda or auto")


def setup(device_preference: str) -> tuple[DistContext, torch.device]:
    """Join the torchrun process group if there is one; pick this process's device."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1 and not os.environ.get("TORCHELASTIC_RUN_ID"):  # not launched by torchrun
        return DistContext(), resolve_device(device_preference)
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_preference, local_rank)
    backend = "nccl" if device.type == "cuda" else "gloo"
    owns = False
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
        owns = True
    return DistContext(rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local_rank,
                       backend=dist.get_backend(), owns_group=owns), device


def teardown(ctx: DistContext) -> None:
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def wrap(module: torch.nn.Module, ctx: DistContext, device: torch.device) -> torch.nn.Module:
    """DDP around a module with trainable parameters (the module itself when single-process)."""
    if not ctx.enabled or not any(p.requires_grad for p in module.parameters()):
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def unwrap(module: torch.nn.Module) -> torch.nn.Module:
    return getattr(module, "module", module)


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        dist.barrier()


def all_reduce_mean(t: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    if ctx.enabled:
        t = t.clone()
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        t /= ctx.world_size
    return t


def all_reduce_max(t: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Element-wise max over the ranks, on the tensor's device (no host read)."""
    if ctx.enabled:
        t = t.clone()
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t


def any_rank(flag: bool, ctx: DistContext, device: torch.device) -> bool:
    """True on every rank if ``flag`` is true on any (keeps the ranks in lock step)."""
    if not ctx.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def any_rank_each(flags: list[bool], ctx: DistContext, device: torch.device) -> list[bool]:
    """:func:`any_rank` for several flags in one collective."""
    if not ctx.enabled:
        return list(flags)
    t = torch.tensor([1.0 if f else 0.0 for f in flags], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v > 0) for v in t.tolist()]


def gather_tensors(t: torch.Tensor, ctx: DistContext) -> list[torch.Tensor]:
    """Every rank's copy of a same-shaped tensor (all ranks call this)."""
    if not ctx.enabled:
        return [t]
    out = [torch.empty_like(t) for _ in range(ctx.world_size)]
    dist.all_gather(out, t)
    return out
