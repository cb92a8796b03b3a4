"""Use a trained run: :func:`load` it and call it (``genreg apply``, ``sample``, ``export`` do the same).

>>> import genreg
>>> dae = genreg.load("runs/dae")                 # a run directory or a checkpoint directory
>>> clean = dae.denoise(traces_mv)                # (N, 1, 500) in mV -> (N, 1, 500) in mV
>>> gan = genreg.load("runs/ring8")
>>> x, labels = gan.sample(1000, seed=0)          # x (1000, 2) float32; labels None (unconditional)

See :mod:`genreg.inference.models` for the families and their methods,
:mod:`genreg.inference.units` for how inputs and outputs keep the user's units, and
:mod:`genreg.inference.export` for standalone artefacts.
"""

from __future__ import annotations

from .models import AutoencoderModel, DenoiserModel, GeneratorModel, LoadedModel

__all__ = ["load", "LoadedModel", "GeneratorModel", "DenoiserModel", "AutoencoderModel"]


def load(run, device="cpu") -> LoadedModel:
    """Load a trained run for use.

    ``run``     a run directory (its newest complete checkpoint is used) or a checkpoint
                directory (``RUN/checkpoints/step-N``)
    ``device``  ``"cpu"`` (default), ``"cuda"``, ``"cuda:N"`` or a torch.device

    Returns a :class:`GeneratorModel` (GANs: ``sample``, ``generate``), a
    :class:`DenoiserModel` (``denoise`` / ``reconstruct``) or an :class:`AutoencoderModel`
    (``reconstruct``, ``encode``, ``decode``; VAEs also ``sample``), weights loaded (a GAN's
    EMA generator where the run kept one), in eval mode. Raises
    :class:`genreg.training.checkpoint.CheckpointError` for a missing, incomplete, corrupt or
    foreign checkpoint and :class:`genreg.UsageError` for an unusable device or a run whose
    model is no longer registered; both print one line in the CLI.
    """
    from .loading import rebuild
    from .models import wrap
    from .units import units_of

    rebuilt = rebuild(run, device)
    return wrap(rebuilt, units_of(dict(rebuilt.cfg.data)))
