"""Data for the trainers: build the configured data set and stream batches in a resumable order.

The order of samples depends only on ``train.seed``, the epoch and the process's shard
(:class:`torch.utils.data.DistributedSampler`, also with one process), never on the global
RNG, so the position "epoch e, batch b" is all a checkpoint needs to continue the same
order. Each epoch drops the last incomplete batch of the shard.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..errors import UsageError


def build_dataset(spec: dict[str, Any], split: str, seed: int):
    """The data set named by ``spec["name"]`` (a registry name or ``npz:PATH``-style spec, see
    :func:`genreg.data.load_dataset`) with the rest of ``spec`` as parameters."""
    from ..data import load_dataset
    from ..data.base import ArrayDataset

    params = {k: v for k, v in spec.items() if k != "name"}
    name = spec["name"]
    try:
        dataset = load_dataset(name, split=split, seed=seed, **params)
    except TypeError as exc:  # a factory that rejects a parameter its signature seemed to allow
        raise UsageError(f"data set {name!r} rejected its parameters ({', '.join(params) or 'none'}): "
                         f"{' '.join(str(exc).split())}") from None
    if not isinstance(dataset, ArrayDataset):
        raise UsageError(f"data set {name!r} returned {type(dataset).__name__}, the trainers need a "
                         "genreg.data.base.ArrayDataset")
    return dataset


class BatchStream:
    """An endless stream of index batches over one process's shard, resumable exactly."""

    def __init__(self, dataset, batch_size: int, *, seed: int, rank: int = 0, world_size: int = 1,
                 device: torch.device | str = "cpu", memory_format: torch.memory_format | None = None) -> None:
        from torch.utils.data import DistributedSampler

        self.dataset = dataset
        self.device = torch.device(device)
        self.memory_format = memory_format
        self._tensors = {k: v.to(self.device) for k, v in dataset[slice(None)].items()}
        self.batch_size = batch_size
        self.sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True,
                                          seed=seed, drop_last=True)
        self.batches_per_epoch = len(self.sampler) // batch_size
        if self.batches_per_epoch < 1:
            raise UsageError(f"data set {dataset.name!r} has {len(dataset)} samples: too few for one batch of "
                             f"{batch_size} per process over {world_size} process(es)")
        self.epoch = 0
        self.batch = 0  # next batch within the epoch
        self._order: Tensor | None = None

    def _indices(self) -> Tensor:
        if self._order is None:
            self.sampler.set_epoch(self.epoch)
            self._order = torch.tensor(list(iter(self.sampler)), dtype=torch.long).to(self.device, non_blocking=True)
        return self._order

    def next_indices(self) -> Tensor:
        if self.batch >= self.batches_per_epoch:
            self.epoch, self.batch, self._order = self.epoch + 1, 0, None
        start = self.batch * self.batch_size
        idx = self._indices()[start:start + self.batch_size]
        self.batch += 1
        return idx

    def next(self) -> dict[str, Tensor]:
        """The next batch, on the device: ``{"x": ..., "y"?: ..., "target"?: ...}``."""
        idx = self.next_indices()
        batch = {k: v.index_select(0, idx) for k, v in self._tensors.items()}
        if self.memory_format is not None:
            batch = {k: v.contiguous(memory_format=self.memory_format) if v.dim() == 4 else v
                     for k, v in batch.items()}
        return batch

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "batch": self.batch, "batches_per_epoch": self.batches_per_epoch,
                "batch_size": self.batch_size, "world_size": self.sampler.num_replicas}

    def load_state_dict(self, state: dict) -> None:
        mine = self.state_dict()
        for key in ("batch_size", "world_size", "batches_per_epoch"):
            if state.get(key) != mine[key]:
                raise UsageError(f"cannot resume the data order: the checkpoint has {key}={state.get(key)}, "
                                 f"this run has {key}={mine[key]}")
        self.epoch, self.batch, self._order = int(state["epoch"]), int(state["batch"]), None
