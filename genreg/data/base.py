"""The one data-set shape the trainers consume: in-memory tensors, one row per sample.

A dataset entry's factory is called as ``factory(split="train", seed=0, **params)`` and
returns an :class:`ArrayDataset`. Items are dicts of tensors, so the default DataLoader
collate stacks them into batches:

``x``       the model input (noisy trace, image, 2-D point), float
``target``  optional reconstruction target (the clean trace for a denoiser); trainers
            use ``x`` itself when absent
``y``       optional class label (int64), for class-conditional models
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..errors import UsageError


class ArrayDataset(Dataset):
    """In-memory samples: ``ArrayDataset(x, *, target=None, y=None, class_names=(), name="data", meta=None)``.

    ``x``            float ``(N, *sample_shape)``, one row per sample
    ``target``       optional ``(N, ...)`` reconstruction target (a denoiser's clean traces)
    ``y``            optional int64 labels ``(N,)``
    ``class_names``  one name per class (else ``num_classes`` is ``max(y) + 1``)
    ``name``         used in messages; ``meta`` a free dict (plots read e.g. mode centres;
                     ``meta["clean"]``: data parameters that give the noise-free version of the
                     same samples, the clean targets of an autoencoder's evaluation)

    Raises :class:`genreg.errors.UsageError` naming the data set on a wrong shape or dtype.
    """

    def __init__(self, x: Tensor, *, target: Optional[Tensor] = None, y: Optional[Tensor] = None,
                 class_names: Sequence[str] = (), name: str = "data", meta: Optional[dict] = None) -> None:
        if not isinstance(x, Tensor) or x.dim() < 2:
            raise UsageError(f"{name}: x must be a tensor with a sample dimension first, got "
                             f"{type(x).__name__} of shape {tuple(getattr(x, 'shape', ()))}")
        if not x.is_floating_point():
            raise UsageError(f"{name}: x must be floating point, got {x.dtype}")
        if target is not None and target.shape[0] != x.shape[0]:
            raise UsageError(f"{name}: target has {target.shape[0]} samples, x has {x.shape[0]}")
        if y is not None:
            if y.shape != (x.shape[0],):
                raise UsageError(f"{name}: labels y must have shape ({x.shape[0]},), got {tuple(y.shape)}")
            if y.dtype != torch.int64:
                raise UsageError(f"{name}: labels y must be int64, got {y.dtype}")
        self.x, self.target, self.y = x, target, y
        self.class_names = tuple(class_names)
        self.name = name
        self.meta = dict(meta or {})

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    @property
    def num_classes(self) -> int:
        if self.class_names:
            return len(self.class_names)
        return int(self.y.max().item()) + 1 if self.y is not None and len(self.y) else 0

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, index) -> dict[str, Tensor]:
        item = {"x": self.x[index]}
        if self.target is not None:
            item["target"] = self.target[index]
        if self.y is not None:
            item["y"] = self.y[index]
        return item

    def __repr__(self) -> str:
        extras = [f"target{tuple(self.target.shape[1:])}"] if self.target is not None else []
        if self.y is not None:
            extras.append(f"classes={self.num_classes}")
        return f"ArrayDataset({self.name}: {len(self)} x {self.sample_shape}{', ' + ', '.join(extras) if extras else ''})"
