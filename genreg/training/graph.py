"""``train.cuda_graph = true``: the whole training step replayed as one CUDA graph.

A WGAN-GP step on a GPU is launch-bound (hundreds of small kernels: n_critic critic
updates with their gradient penalty's double backward, then the generator update), and
torch.compile cannot compile a double backward, so the step is captured with
:class:`torch.cuda.CUDAGraph` instead:

* the first ``WARMUP`` steps run eagerly on a side stream (they are real training steps;
  they also create the optimiser state and lazily initialised library handles);
* the next step is captured (the trainer's ``step`` reading its batches from static
  buffers) and replayed; every later step copies its batches into those buffers (a
  device-side gather, the data set being resident) and replays the graph.

Requires: a CUDA device, one process (no DDP), the deferred non-finite guard (no host
reads inside the step), ``Adam(capturable=True)``, autocast without its weight cache, and
not fp16 (the loss scaler reads its overflow flag on the host). Random numbers inside the
graph come from the CUDA generator's graph-safe philox offsets, so a replayed step draws
the same numbers an eager step would from the same generator state.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..errors import UsageError
from .trainer import StepOutput

WARMUP = 3


def check_graph_config(device: torch.device, world_size: int, precision: str) -> None:
    if device.type != "cuda":
        raise UsageError(f"train.cuda_graph=true needs a CUDA device, this run is on {device.type} "
                         "(set train.device=cuda, or train.cuda_graph=false)")
    if world_size > 1:
        raise UsageError("train.cuda_graph=true supports one process only, not torchrun (DDP) runs")
    if precision == "fp16":
        raise UsageError("train.cuda_graph=true cannot use train.precision=fp16 (its loss scaler reads the "
                         "host); use bf16")


class GraphedStep:
    """``trainer.step`` captured once and replayed (see the module docstring)."""

    def __init__(self, trainer, device: torch.device) -> None:
        self.trainer, self.device = trainer, device
        self.eager_steps = 0
        self.graph = None
        self.static: list[dict] = []
        self.out: StepOutput | None = None

    def __call__(self, step: int, next_batch: Callable[[], dict]) -> StepOutput:
        if self.graph is None and self.eager_steps < WARMUP:
            self.eager_steps += 1
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                out = self.trainer.step(step, next_batch)
            torch.cuda.current_stream(self.device).wait_stream(side)
            return out
        batches = [next_batch() for _ in range(self.trainer.batches_per_step())]
        if self.graph is None:
            self.static = [{k: v.clone() for k, v in b.items()} for b in batches]
            feed = iter(self.static)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                self.out = self.trainer.step(step, lambda: next(feed))
        else:
            for buffers, batch in zip(self.static, batches):
                for k, v in batch.items():
                    buffers[k].copy_(v)
        self.graph.replay()
        # the graph's outputs are overwritten by the next replay: hand out copies
        return StepOutput(self.out.names, self.out.values.clone(), self.out.updates)
