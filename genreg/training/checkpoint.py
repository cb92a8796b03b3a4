"""Checkpoints: safetensors for tensors, JSON for everything else, written atomically.

A checkpoint is a directory ``<run>/checkpoints/step-00000100/`` holding

``tensors.safetensors``  model weights, optimiser state tensors, EMA weights, RNG state
                         tensors (torch CPU/CUDA generators), metric accumulators
``state.json``           step, resolved config, optimiser hyper-parameters, python and
                         numpy RNG states, data-order position, anything else JSON-able
``manifest.json``        format tag, version, step, size and SHA-256 of the two files above;
                         written last, so a directory with a valid manifest is complete

It is written into a hidden temporary directory next to its final place, fsync'ed and then
renamed with ``os.replace``: a crash leaves either the complete checkpoint or nothing
(stale ``.tmp-*`` directories are ignored and cleaned up). Loading reads JSON and
safetensors only -- it never unpickles -- and a missing, truncated, corrupt or foreign
checkpoint raises :class:`CheckpointError` saying which file and what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, NamedTuple, Optional

import torch
from torch import Tensor

from ..errors import GenregError

FORMAT = "genreg-checkpoint"
VERSION = 1
TENSORS = "tensors.safetensors"
STATE = "state.json"
MANIFEST = "manifest.json"
_STEP_RE = re.compile(r"^step-(\d+)$")


class CheckpointError(GenregError):
    """A checkpoint that cannot be used: missing, incomplete, corrupt or not genreg's."""


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def save(directory: str | Path, tensors: dict[str, Tensor], state: dict[str, Any]) -> Path:
    """Write a checkpoint directory atomically; an existing one of that name is replaced."""
    from safetensors.torch import save as st_save

    final = Path(directory)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        flat = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
        _write_file(tmp / TENSORS, st_save(flat, metadata={"format": FORMAT}))
        _write_file(tmp / STATE, json.dumps(state, indent=1, allow_nan=False).encode())
        files = {name: {"bytes": (tmp / name).stat().st_size, "sha256": _sha256(tmp / name)}
                 for name in (TENSORS, STATE)}
        manifest = {"format": FORMAT, "version": VERSION, "step": state.get("step"), "files": files}
        _write_file(tmp / MANIFEST, json.dumps(manifest, indent=1).encode())
        _fsync_dir(tmp)
        if final.exists():  # re-saving the same step (e.g. a signal right after a periodic save)
            old = final.parent / f".old-{final.name}-{os.getpid()}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
        _fsync_dir(final.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def load(directory: str | Path, device: str | torch.device = "cpu") -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Read and verify a checkpoint directory: ``(tensors, state)``."""
    from safetensors import SafetensorError
    from safetensors.torch import load as st_load

    path = Path(directory)
    if not path.exists():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    if not path.is_dir():
        raise CheckpointError(f"checkpoint {str(path)!r} is not a directory (expected a genreg checkpoint directory)")
    manifest_path = path / MANIFEST
    if not manifest_path.exists():
        raise CheckpointError(f"{str(path)!r} is not a complete genreg checkpoint: {MANIFEST} is missing")
    try:
        manifest = json.loads(manifest_path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        raise CheckpointError(f"checkpoint {str(path)!r}: {MANIFEST} is corrupt (not valid JSON)") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a genreg checkpoint ({MANIFEST} has no format {FORMAT!r})")
    if manifest.get("version") != VERSION:
        raise CheckpointError(f"checkpoint {str(path)!r} has format version {manifest.get('version')!r}; "
                              f"this genreg reads version {VERSION}")
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != {TENSORS, STATE}:
        raise CheckpointError(f"checkpoint {str(path)!r}: {MANIFEST} does not list {TENSORS} and {STATE}")
    blobs = {}
    for name, info in files.items():
        file = path / name
        if not file.exists():
            raise CheckpointError(f"checkpoint {str(path)!r}: {name} is missing")
        data = file.read_bytes()
        expected = info.get("bytes") if isinstance(info, dict) else None
        if len(data) != expected:
            raise CheckpointError(f"checkpoint {str(path)!r}: {name} is truncated or altered "
                                  f"({len(data)} bytes, the manifest says {expected})")
        if hashlib.sha256(data).hexdigest() != info.get("sha256"):
            raise CheckpointError(f"checkpoint {str(path)!r}: {name} is corrupt (SHA-256 does not match the manifest)")
        blobs[name] = data
    try:
        tensors = st_load(blobs[TENSORS])
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint {str(path)!r}: {TENSORS} cannot be read: {exc}") from None
    try:
        state = json.loads(blobs[STATE])
    except (ValueError, UnicodeDecodeError):
        raise CheckpointError(f"checkpoint {str(path)!r}: {STATE} is not valid JSON") from None
    if not isinstance(state, dict) or "step" not in state:
        raise CheckpointError(f"checkpoint {str(path)!r}: {STATE} has no step")
    if str(device) != "cpu":
        tensors = {k: v.to(device) for k, v in tensors.items()}
    return tensors, state


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """Completed checkpoints of a run (those with a manifest), oldest first."""
    root = Path(run_dir) / "checkpoints"
    found = []
    if root.is_dir():
        for child in root.iterdir():
            m = _STEP_RE.match(child.name)
            if m and (child / MANIFEST).exists():
                found.append((int(m.group(1)), child))
    return sorted(found)


def find(path: str | Path) -> Path:
    """A checkpoint directory, or a run directory (its newest complete checkpoint)."""
    path = Path(path)
    if (path / MANIFEST).exists():
        return path
    if not path.exists():
        raise CheckpointError(f"{str(path)!r} does not exist (expected a run directory or a checkpoint)")
    found = list_checkpoints(path)
    if not found:
        if _STEP_RE.match(path.name) or path.parent.name == "checkpoints":
            raise CheckpointError(f"{str(path)!r} is not a complete genreg checkpoint: {MANIFEST} is missing")
        raise CheckpointError(f"{str(path)!r} holds no complete checkpoint (looked in {str(path / 'checkpoints')!r})")
    return found[-1][1]


def prune(run_dir: str | Path, keep: int, protect: tuple[Path, ...] = ()) -> None:
    """Delete all but the newest ``keep`` checkpoints (0 keeps all) and stale temporaries."""
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return
    for child in root.iterdir():
        if child.name.startswith((".tmp-", ".old-")) and not child.name.endswith(f"-{os.getpid()}"):
            shutil.rmtree(child, ignore_errors=True)
    if keep <= 0:
        return
    found = list_checkpoints(run_dir)
    for _, path in found[:-keep]:
        if path not in protect:
            shutil.rmtree(path, ignore_errors=True)


# ----------------------------------------------------------------------------- state helpers


def module_tensors(prefix: str, module: torch.nn.Module) -> dict[str, Tensor]:
    return {f"{prefix}.{k}": v for k, v in module.state_dict().items()}


def load_module(prefix: str, module: torch.nn.Module, tensors: dict[str, Tensor], where: str) -> None:
    own = module.state_dict()
    given = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    missing = sorted(set(own) - set(given))
    extra = sorted(set(given) - set(own))
    if missing or extra:
        what = f"missing {prefix}.{missing[0]}" if missing else f"unexpected {prefix}.{extra[0]}"
        raise CheckpointError(f"checkpoint {where} does not fit this model's {prefix}: {what}")
    for key, value in given.items():
        if tuple(value.shape) != tuple(own[key].shape):
            raise CheckpointError(f"checkpoint {where}: {prefix}.{key} has shape {tuple(value.shape)}, "
                                  f"the model has {tuple(own[key].shape)}")
    module.load_state_dict(given)


def optimizer_state(prefix: str, optimizer: torch.optim.Optimizer) -> tuple[dict[str, Tensor], dict]:
    """Split an optimiser's state into tensors and a JSON-able rest."""
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, slots in sd["state"].items():
        for key, value in slots.items():
            if isinstance(value, Tensor):
                tensors[f"{prefix}.state.{index}.{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in sd["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


def load_optimizer(prefix: str, optimizer: torch.optim.Optimizer, tensors: dict[str, Tensor], meta: dict,
                   where: str) -> None:
    state: dict[int, dict] = {}
    head = f"{prefix}.state."
    for name, value in tensors.items():
        if name.startswith(head):
            index, _, key = name[len(head):].partition(".")
            state.setdefault(int(index), {})[key] = value
    for index, slots in meta.get("scalars", {}).items():
        state.setdefault(int(index), {}).update(slots)
    groups = []
    for g in meta.get("param_groups", []):
        groups.append({k: (tuple(v) if k == "betas" and isinstance(v, list) else v) for k, v in g.items()})
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint {where}: optimiser {prefix} does not fit: {' '.join(str(exc).split())}") from None


# ----------------------------------------------------------------------------- loading a run

# Where the trainers store each network (see their ``state()``): adversarial runs under the
# names of ``model.modules()`` ("generator", "critic") and, when kept, "ema" (the
# generator's moving average); reconstruction runs under "model." + those names ("net",
# or "encoder" and "decoder").
EMA_PREFIX = "ema"
RECONSTRUCTION_PREFIX = "model"


class StoredRun(NamedTuple):
    """A trained model rebuilt from a checkpoint by :func:`load_run`.

    ``config``  the run's resolved config (genreg.config.RunConfig) as stored in the checkpoint
    ``model``   the model entry's object (AdversarialModel or ReconstructionModel) with the
                weights loaded, on ``device``, in eval mode
    ``step``    the checkpoint's step
    ``path``    the checkpoint directory read
    ``ema``     the EMA copy of the generator (adversarial runs that kept one), else None; its
                normalisation statistics are its own (genreg.training.ema: stored standing
                statistics, recomputed here for checkpoints written before they were kept)
    """

    config: Any
    model: Any
    step: int
    path: Path
    ema: Optional[torch.nn.Module] = None


def stored_config(where: Path, state: dict) -> dict:
    """The config dict a checkpoint's state.json holds; CheckpointError when it has none."""
    stored = state.get("config")
    if not isinstance(stored, dict):
        raise CheckpointError(f"checkpoint {str(where)!r} has no stored config")
    return stored


def load_run(path: str | Path, device: str | torch.device = "cpu") -> StoredRun:
    """Rebuild the model of a run directory (its newest checkpoint) or a checkpoint directory.

    The model is built from the registry entry and config stored in the checkpoint, and
    its weights are loaded from safetensors (no code is unpickled or imported beyond the
    registry entry the config names). Raises CheckpointError for a missing, corrupt or
    foreign checkpoint or weights that do not fit the model, UsageError (via the registry
    or config) for an entry that is no longer registered.
    """
    import copy
    import dataclasses

    from .. import config as config_mod
    from .. import get_entry
    from . import ema as ema_mod
    from ..models.base import AdversarialModel
    from ..provenance import note_provenance

    where = find(path)
    tensors, state = load(where)
    note_provenance(state, where)  # a plugin the run needed that is missing or changed: one line
    cfg = config_mod.resolve(None, base=stored_config(where, state))
    model = get_entry("model", cfg.model_name).create(**{
        f.name: getattr(cfg.model, f.name) for f in dataclasses.fields(cfg.model) if f.init})
    label = repr(str(where))
    ema = None
    if isinstance(model, AdversarialModel):
        modules = dict(model.modules())  # {"generator": ..., "critic": ...}
        if any(k.startswith(EMA_PREFIX + ".") for k in tensors):
            ema = copy.deepcopy(model.generator)
            modules[EMA_PREFIX] = ema
    else:
        modules = {f"{RECONSTRUCTION_PREFIX}.{name}": m for name, m in model.modules().items()}
        known = tuple(p + "." for p in modules)
        stray = [k for k in tensors if k.startswith(RECONSTRUCTION_PREFIX + ".") and not k.startswith(known)]
        if stray:
            raise CheckpointError(f"checkpoint {label} does not fit this model: unexpected {stray[0]}")
    for prefix, module in modules.items():
        load_module(prefix, module, tensors, label)
        module.to(device).eval()
    if ema is not None and (state.get("trainer") or {}).get(ema_mod.STATS_KEY) != ema_mod.STANDING:
        # written before standing statistics: its EMA ran with the live generator's statistics
        ema_mod.standing_stats(ema, batch_size=max(2, cfg.train.batch_size), seed=ema_mod.standing_seed(cfg.train.seed))
    return StoredRun(config=cfg, model=model, step=int(state["step"]), path=where, ema=ema)
