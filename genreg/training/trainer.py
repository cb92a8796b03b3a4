"""The trainer contract: what the training loop (:mod:`.loop`) calls on a trainer, and when.

A trainer owns the networks, optimisers and objective of one model family; the loop owns
everything around them (data order, seeding, logging, figures, checkpoints, events,
signals, precision, the non-finite guard, CUDA graphs). Two trainers implement it:
:class:`~genreg.training.adversarial.AdversarialTrainer` and
:class:`~genreg.training.reconstruction.ReconstructionTrainer`.

The kind of trainer is decided in one place: the model's config dataclass declares it
(the ``trainer`` class attribute, inherited from
:class:`~genreg.models.base.AdversarialConfig` or ``ReconstructionConfig``); it chooses the
``[opt]`` section, the trainer class (:data:`TRAINERS`), and the checkpoint's
``trainer_kind``. :func:`trainer_class` checks that the built model is of that kind and
says so in one line if not.

Order of calls in a run::

    trainer = Cls(model=..., cfg=..., device=..., dist=..., update=...)   # keyword-only
    trainer.check_data(dataset)
    trainer.load_state(tensors, meta, where)            # when resuming
    for each step:  out = trainer.step(step, next_batch)   # -> StepOutput
        every log step:        trainer.learning_rates(), trainer.samples_per_step()
        every sample step:     trainer.save_samples(path, step, dataset)   (rank 0)
        every checkpoint step: trainer.state()
    trainer.modules()                                   # any time: the raw networks

A model may supply its own loss terms: a reconstruction model's ``net`` with
``loss_terms(x, target) -> dict[str, Tensor]`` (see :mod:`.reconstruction`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, NamedTuple, Protocol

import torch
from torch import Tensor

from ..errors import UsageError

Batch = dict  # {"x": Tensor, "y"?: Tensor, "target"?: Tensor}, on the training device


class Update(NamedTuple):
    """One optimiser update of a step, for the ``critic_step`` / ``generator_step`` events."""

    phase: str  # "critic", "generator" or "reconstruction"
    index: int  # the update's index within the step's updates of that phase
    names: tuple  # its terms' names...
    values: Tensor  # ...and values, one vector (detached)

    @property
    def terms(self) -> dict[str, Tensor]:
        return dict(zip(self.names, self.values.unbind()))


class StepOutput(NamedTuple):
    """A step's metrics as one detached vector on the device (one add to the log's sums)."""

    names: tuple  # metric names, the same every step
    values: Tensor  # 1-D, one value per name
    updates: tuple  # the step's Update records, in order

    @property
    def metrics(self) -> dict[str, Tensor]:
        """name -> 0-d tensor (built on demand: for ``step_end`` callbacks)."""
        return dict(zip(self.names, self.values.unbind()))


class Trainer(Protocol):
    """What the loop relies on. Tensors stay on the device: the loop decides when to read them.
    (A trainer has no ``kind`` of its own: see :func:`trainer_kind`.)"""

    def check_data(self, dataset: Any) -> None:
        """Raise :class:`~genreg.errors.UsageError` (one line) if the data set's sample shape,
        dtype or labels do not fit the model. Called once, before the first step."""

    def step(self, step: int, next_batch: Callable[[], Batch]) -> StepOutput:
        """Compute training step ``step`` (1-based): draw ``batches_per_step()`` batches with
        ``next_batch()``, run the updates through ``self.update`` (the loop's
        :class:`~genreg.training.update.Updater`: precision, guard, clipping; forward passes
        inside ``self.update.autocast()``) and return the metrics of the step (names and one
        detached vector, the loop averages them over log intervals) and its updates. Must not read device values on the host
        (no ``.item()``, ``bool(tensor)``): a CUDA graph may capture it."""

    def batches_per_step(self) -> int:
        """How many times :meth:`step` calls ``next_batch`` (static buffers of CUDA graphs)."""

    def samples_per_step(self) -> int:
        """Samples consumed per step over all processes (for ``samples_per_s``)."""

    def learning_rates(self) -> dict[str, float]:
        """``{"lr": ...}`` or ``{"lr_g": ..., "lr_d": ...}``, logged every log step."""

    def save_samples(self, path: Path, step: int, dataset: Any) -> Path:
        """Write a sample figure to ``path`` (rank 0 only), without moving the training RNG."""

    def state(self) -> tuple[dict[str, Tensor], dict]:
        """Checkpoint content: tensors (weights, optimiser state) and JSON-able metadata."""

    def load_state(self, tensors: dict[str, Tensor], meta: dict, where: str) -> None:
        """Restore :meth:`state`'s content; optimiser hyper-parameters come from the config.
        A missing or mismatched tensor raises CheckpointError naming ``where``."""

    def modules(self) -> dict[str, torch.nn.Module]:
        """The raw (not DDP-wrapped) networks by checkpoint prefix."""


def stack_values(values: list[Tensor]) -> Tensor:
    """0-d tensors as one vector (float64 if their dtypes differ, e.g. under autocast)."""
    try:
        return torch.stack(values)
    except RuntimeError:
        return torch.stack([v.reshape(()).to(torch.float64) for v in values])


# kind -> (model class name in genreg.models.base, trainer "module:class")
TRAINERS = {
    "adversarial": ("AdversarialModel", "genreg.training.adversarial:AdversarialTrainer"),
    "reconstruction": ("ReconstructionModel", "genreg.training.reconstruction:ReconstructionTrainer"),
}


def trainer_kind(model_config: Any, model_name: str) -> str:
    """The trainer kind a model's config declares (its ``trainer`` class attribute)."""
    kind = getattr(type(model_config), "trainer", None)
    if kind not in TRAINERS:
        raise UsageError(f"model {model_name!r}: its config class {type(model_config).__name__} declares trainer "
                         f"{kind!r}; subclass genreg.models.base.AdversarialConfig or ReconstructionConfig")
    return kind


def trainer_class(model_config: Any, model_obj: Any, model_name: str) -> type:
    """The trainer class for ``model_obj``, checked against the kind its config declares."""
    import importlib

    from ..models import base

    kind = trainer_kind(model_config, model_name)
    model_cls_name, spec = TRAINERS[kind]
    want = getattr(base, model_cls_name)
    if not isinstance(model_obj, want):
        raise UsageError(f"model {model_name!r}: its config declares the {kind} trainer, but its factory built "
                         f"a {type(model_obj).__name__}, not a genreg.models.base.{model_cls_name}")
    module_name, _, cls_name = spec.partition(":")
    return getattr(importlib.import_module(module_name), cls_name)
