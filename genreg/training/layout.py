"""``train.channels_last``: image networks in channels-last (NHWC) memory layout.

Convolutions on GPUs (cuDNN, tensor cores) and oneDNN on CPUs run fastest with NHWC
activations; the weights of 4-D convolutions are converted here, the batches by
:class:`~genreg.training.data.BatchStream`. Networks without 4-D weights are unchanged.
"""

from __future__ import annotations

from typing import Iterable

import torch


def use_channels_last(modules: Iterable[torch.nn.Module]) -> None:
    """Convert each module's 4-D parameters and buffers to channels-last, in place."""
    for module in modules:
        module.to(memory_format=torch.channels_last)
