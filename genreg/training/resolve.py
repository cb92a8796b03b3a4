"""The configuration of a run, resolved without training: what ``genreg train --print-config``
prints and what :func:`genreg.training.loop.train` starts from (a preset, a resumed run's stored
config, a config file and ``KEY=VALUE`` overrides, in that order)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from .. import config as config_mod
from ..errors import UsageError
from ..provenance import note_provenance
from . import checkpoint as ckpt


def resolve_run(model: Optional[str] = None, *, config: Optional[str | Path] = None,
                overrides: Sequence[str] | Mapping[str, Any] = (), resume: Optional[str | Path] = None,
                device: Optional[str] = None, trust_callbacks: bool = False,
                preset: Optional[str] = None) -> tuple[config_mod.RunConfig, Optional[Path]]:
    """The resolved config of a run (and its checkpoint when resuming), without training.

    Callbacks stored in a resumed run's config are withheld (with a notice) unless named again
    or ``trust_callbacks``: nothing read from a checkpoint imports code.
    ``preset``: a preset entry's overrides, the first layer above the model's defaults."""
    checkpoint_path, base = None, None
    if preset is not None:
        from ..presets import preset_layer

        if resume is not None:
            raise UsageError("--preset starts a new run; a resumed run keeps its stored config")
        base = preset_layer(preset, model)
    if resume is not None:
        checkpoint_path = ckpt.find(resume)
        _, state = ckpt.load(checkpoint_path)
        note_provenance(state, checkpoint_path)
        base = state.get("config")
        if not isinstance(base, dict):
            raise ckpt.CheckpointError(f"checkpoint {str(checkpoint_path)!r} has no stored config")
    if device is not None:
        if isinstance(overrides, Mapping):
            overrides = {**overrides, "train.device": device}
        else:
            overrides = [*overrides, f"train.device={device}"]
    cfg = config_mod.resolve(model, config_file=config, overrides=overrides, base=base,
                             trust_base_code=trust_callbacks)
    config_mod.print_withheld_notice(cfg)
    return cfg, checkpoint_path
