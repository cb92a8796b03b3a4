"""The generator's exponential moving average (EMA) and its normalisation statistics.

The EMA copy's weights are ``e_t = d * e_{t-1} + (1 - d) * g_t`` after each good generator
update (``d`` = ``model.ema_decay``, ``e_0`` the initial generator; Yazici et al. 2019, "The
Unusual Effectiveness of Averaging in GAN Training"). Its normalisation layers with running
statistics (BatchNorm1d/2d/3d, InstanceNorm with ``track_running_stats``, any layer of that
kind in a plugin's generator) cannot take the live generator's statistics: those describe
the activations of other weights, and an averaged network run with them draws wrong images
(acGAN on galaxies: class fidelity 33 %). Nor can the statistics be averaged: they are
not linear in the weights. So before the EMA copy is used (sample figures, checkpoints, and
through the checkpoint every loader: ``genreg eval``, ``genreg sample``, ``genreg.load``)
its statistics are recomputed from its own activations, "standing statistics" (Brock et al.
2019, BigGAN, Sec. 3.1 / appendix C): reset, then the plain average of the batch mean and
unbiased variance over :data:`STANDING_BATCHES` batches of fresh latents and uniform labels. The latents come from a generator seeded from ``train.seed``
alone, so the statistics are a function of the EMA weights only: a resumed run stores the
same tensors as an uninterrupted one.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

STANDING_BATCHES = 16  # batches of train.batch_size latents (BigGAN used 16 accumulations)
STANDING_SEED_OFFSET = 2_000_003  # the standing latents' seed is train.seed + this
# stored in a checkpoint's state.json "trainer" section: its EMA statistics are standing ones
# (checkpoints written before have the live generator's, recomputed when loaded)
STATS_KEY, STANDING = "ema_norm_stats", "standing"


def running_stat_layers(module: nn.Module) -> list[nn.Module]:
    """The layers of ``module`` that keep running statistics for eval mode: those with
    ``track_running_stats`` set, a ``reset_running_stats()`` method and ``running_mean``
    (every torch BatchNorm / InstanceNorm variant, and plugin layers that follow them)."""
    return [m for m in module.modules()
            if getattr(m, "track_running_stats", False) and callable(getattr(m, "reset_running_stats", None))
            and getattr(m, "running_mean", None) is not None]


def standing_seed(train_seed: int) -> int:
    return int(train_seed) + STANDING_SEED_OFFSET


@torch.no_grad()
def standing_stats(generator: nn.Module, *, batch_size: int, seed: int, batches: int = STANDING_BATCHES,
                   device: Optional[torch.device] = None) -> int:
    """Recompute the running statistics of ``generator``'s normalisation layers from its own
    outputs on ``batches`` batches of ``batch_size`` latents (``generator.sample_latent``)
    and, for a conditional generator, labels uniform over ``num_classes``, both drawn from a
    ``torch.Generator`` seeded with ``seed`` (the global RNG does not move).

    Only the normalisation layers run in training mode (dropout and the like stay in eval
    mode); afterwards every module's mode and momentum are what they were. Returns the number
    of layers recomputed (0: nothing to do, nothing was run). ``batch_size`` must be >= 2
    (ValueError): a batch of one has no variance.
    """
    layers = running_stat_layers(generator)
    if not layers:
        return 0
    if batch_size < 2 or batches < 1:
        raise ValueError(f"standing statistics need batch_size >= 2 and batches >= 1, got {batch_size}, {batches}")
    if device is None:
        device = next(generator.parameters()).device
    modes = {m: m.training for m in generator.modules()}
    momenta = {m: m.momentum for m in layers}
    gen = torch.Generator(device=device).manual_seed(int(seed))
    num_classes = int(getattr(generator, "num_classes", 0) or 0)
    try:
        generator.eval()
        for m in layers:
            m.reset_running_stats()
            m.train()
        for k in range(1, batches + 1):
            # momentum 1/k makes the running value the plain mean over batches 1..k (what
            # BatchNorm's momentum=None does; InstanceNorm reads None as 0 and never updates)
            for m in layers:
                m.momentum = 1.0 / k
            z = generator.sample_latent(batch_size, generator=gen, device=device)
            y = torch.randint(num_classes, (batch_size,), generator=gen, device=device) if num_classes else None
            generator(z, y)
    finally:
        for m, momentum in momenta.items():
            m.momentum = momentum
        for m, training in modes.items():
            m.training = training
    return len(layers)


class GeneratorEMA:
    """The EMA copy (``module``) of ``generator`` with standing statistics on demand.

    ``update(params, ok)`` after each generator update; ``ready()`` before the copy is used
    or saved; ``loaded(standing)`` after its tensors were loaded from a checkpoint. Whether
    the statistics are current is decided by comparing the weights with those they were
    computed for, not by a flag set in ``update``: under ``train.cuda_graph`` the update is
    replayed from a graph and no Python code of it runs.
    """

    def __init__(self, generator: nn.Module, decay: float, *, batch_size: int, train_seed: int) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.module = _frozen_copy(generator)
        self.decay = float(decay)
        self.batch_size, self.seed = int(batch_size), standing_seed(train_seed)
        self.has_stats = bool(running_stat_layers(self.module))
        self._stats_for: Optional[list[torch.Tensor]] = None  # the weights the statistics belong to

    @torch.no_grad()
    def update(self, params: list[torch.Tensor], ok) -> None:
        """One EMA step towards ``params`` (the generator's, in ``module.parameters()`` order)
        when ``ok`` (bool, or a 0-d device flag: weight 0 after a bad update, no host read)."""
        if ok is False:
            return
        ema = list(self.module.parameters())
        if ok is True:
            torch._foreach_lerp_(ema, params, 1.0 - self.decay)
        else:  # the Tensor overload of _foreach_mul_; _foreach_lerp_ would read a tensor weight on the host
            step = torch._foreach_sub(params, ema)
            torch._foreach_mul_(step, ok.to(params[0].dtype) * (1.0 - self.decay))
            torch._foreach_add_(ema, step)

    @torch.no_grad()
    def ready(self) -> nn.Module:
        """The copy with statistics that belong to its current weights."""
        if self.has_stats and not self._current():
            standing_stats(self.module, batch_size=self.batch_size, seed=self.seed)
            self._remember()
        return self.module

    def loaded(self, standing: bool) -> None:
        """Tensors were loaded into ``module``: its statistics are current when they were
        ``standing`` ones (a checkpoint written with :meth:`ready`), else recomputed on use."""
        self._stats_for = None
        if standing and self.has_stats:
            self._remember()

    def _current(self) -> bool:
        return self._stats_for is not None and all(
            torch.equal(a, b) for a, b in zip(self._stats_for, self.module.parameters()))

    def _remember(self) -> None:
        self._stats_for = [p.detach().clone() for p in self.module.parameters()]


def _frozen_copy(generator: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(generator).requires_grad_(False)
