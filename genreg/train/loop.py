"""The one training loop both trainers share.

:func:`train` resolves the configuration, joins the torchrun process group (if any),
seeds, builds the model and the data set, checks the data against the model, restores a
checkpoint (``resume``) and runs ``train.steps`` steps of the model's trainer
(:class:`~genreg.train.adversarial.AdversarialTrainer` or
:class:`~genreg.train.reconstruction.ReconstructionTrainer`). Around each step it fires
callbacks, and on rank 0 it writes, inside the run directory:

``config.toml``          the resolved configuration (usable as ``--config``)
``metrics.jsonl``        one JSON object per ``train.log_every`` steps: the mean of each loss
                         term over those steps, learning rates, skipped updates, and the
                         wall-clock fields ``samples_per_s`` and ``time_s``
``samples/step-N.png``   every ``train.sample_every`` steps and at the end
``checkpoints/step-N/``  every ``train.checkpoint_every`` steps, at the end (also an early end
                         at ``train.max_minutes``), and on SIGINT/SIGTERM (the run then
                         stops after the current step)
``summary.json``         final step, elapsed time, last metrics, final checkpoint

Exact resume: a checkpoint holds the weights, optimiser states, data-order position,
metric accumulators and the RNG states of python, numpy, torch and CUDA (per process), so a
run of 2N steps and a run stopped after N steps and resumed end with bitwise identical
weights and metrics on CPU (wall-clock fields aside). Randomness of sample figures comes from
separate generators, so figures do not disturb it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from .. import config as config_mod
from ..errors import UsageError
from ..provenance import note_provenance, provenance
from . import checkpoint as ckpt
from . import distributed
from .callbacks import Callbacks, load_spec
from .loggers import make_loggers
from .data import BatchStream, build_dataset
from .guard import Guard, NonFiniteError

WALL_CLOCK_FIELDS = ("samples_per_s", "time_s")
STOP_SIGNALS = ("SIGINT", "SIGTERM")


@dataclass
class TrainResult:
    run_dir: Path
    step: int  # steps completed in total
    steps_this_run: int
    checkpoint: Optional[Path]
    metrics: dict = field(default_factory=dict)  # the last metrics.jsonl record
    interrupted: Optional[str] = None  # "SIGINT" / "SIGTERM" when stopped by a signal
    time_limited: bool = False  # stopped early by train.max_minutes
    elapsed_s: float = 0.0
    summary: str = ""


class _StopRequest:
    """SIGINT/SIGTERM set a flag the loop checks after each step; a second signal aborts."""

    def __init__(self) -> None:
        self.signal: Optional[str] = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum, frame) -> None:
        if self.signal is not None:
            raise KeyboardInterrupt  # asked twice: stop now (a checkpoint in progress stays atomic)
        self.signal = signal.Signals(signum).name

    def __enter__(self) -> "_StopRequest":
        if threading.current_thread() is threading.main_thread():
            for name in STOP_SIGNALS:
                num = getattr(signal, name)
                self._previous[num] = signal.signal(num, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for num, handler in self._previous.items():
            signal.signal(num, handler)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also every CUDA device


def _python_rng_state() -> list:
    version, internal, gauss = random.getstate()
    return [version, list(internal), gauss]


def _numpy_rng_state() -> dict:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {"kind": kind, "keys": [int(k) for k in keys], "pos": int(pos), "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached)}


def _json_safe(value: float) -> Optional[float]:
    return value if math.isfinite(value) else None


class TrainingRun:
    """The state of one training run; callbacks receive it as ``run``."""

    def __init__(self, cfg: config_mod.RunConfig, *, run_dir: Path, resume_from: Optional[Path],
                 quiet: bool, callbacks: Callbacks) -> None:
        self.cfg, self.run_dir, self.resume_from, self.quiet = cfg, run_dir, resume_from, quiet
        self.callbacks = callbacks
        self.step = 0
        self.last_checkpoint: Optional[Path] = None
        self.last_record: dict = {}
        self._acc: dict[str, Tensor] = {}
        self._acc_count = 0

    # -- set-up --------------------------------------------------------------------

    def setup(self) -> None:
        cfg = self.cfg
        self.dist, self.device = distributed.setup(cfg.train.device)
        if cfg.train.batch_size % self.dist.world_size:
            raise UsageError(f"train.batch_size={cfg.train.batch_size} does not split evenly over "
                             f"{self.dist.world_size} processes")
        self.per_rank_batch = cfg.train.batch_size // self.dist.world_size
        from .. import get_entry

        self.dataset = build_dataset(cfg.data, "train", cfg.train.seed)
        # a model config may take sizes / network family from the data ("auto" fields);
        # the resolved values are what config.toml and the checkpoints store
        fit = getattr(cfg.model, "fit_data", None)
        if callable(fit):
            cfg.model = fit(tuple(self.dataset.sample_shape), self.dataset.num_classes)
        seed_everything(cfg.train.seed + self.dist.rank)
        model_obj = get_entry("model", cfg.model_name).create(**{
            f.name: getattr(cfg.model, f.name) for f in dataclasses.fields(cfg.model) if f.init})
        self.guard = Guard(cfg.train.nonfinite, self.dist, self.device)
        trainer_cls = _trainer_class(model_obj, cfg.model_name)
        self.trainer = trainer_cls(model_obj, cfg, self.device, self.dist, self.guard, self.callbacks, self)
        self.trainer.check_data(self.dataset)
        self.stream = BatchStream(self.dataset, self.per_rank_batch, seed=cfg.train.seed,
                                  rank=self.dist.rank, world_size=self.dist.world_size)
        if self.resume_from is not None:
            self._restore(self.resume_from)
        if self.dist.is_main:
            self._prepare_run_dir()

    def _prepare_run_dir(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "config.toml").write_text(self.cfg.to_toml())
        metrics = self.run_dir / "metrics.jsonl"
        if self.resume_from is not None and metrics.exists():
            # drop lines logged after the checkpoint: the resumed run logs them again
            kept = [line for line in metrics.read_text().splitlines()
                    if line.strip() and json.loads(line).get("step", 0) <= self.step]
            metrics.write_text("".join(line + "\n" for line in kept))
        if self.resume_from is not None:
            # checkpoints after the resumed one belong to the abandoned continuation
            for step, path in ckpt.list_checkpoints(self.run_dir):
                if step > self.step:
                    shutil.rmtree(path, ignore_errors=True)
        elif self.resume_from is None and metrics.exists():
            metrics.unlink()

    def _restore(self, path: Path) -> None:
        tensors, state = ckpt.load(path)
        where = repr(str(path))
        if state.get("trainer_kind") != self.trainer.kind:
            raise ckpt.CheckpointError(f"checkpoint {where} is from a {state.get('trainer_kind')} model, "
                                       f"{self.cfg.model_name!r} is {self.trainer.kind}")
        self.trainer.load_state(tensors, state.get("trainer", {}), where)
        self.stream.load_state_dict(state.get("data", {}))
        self.step = int(state["step"])
        rank = self.dist.rank
        acc = state.get("metrics_acc", {})
        self._acc_count = int(acc.get("count", 0))
        self._acc = {name: tensors[f"acc.{name}.rank{rank}"].to(self.device) for name in acc.get("names", [])}
        rng = state.get("rng", {})
        try:
            torch.set_rng_state(tensors[f"rng.torch.rank{rank}"])
            if self.device.type == "cuda" and f"rng.cuda.rank{rank}" in tensors:
                torch.cuda.set_rng_state(tensors[f"rng.cuda.rank{rank}"].cpu(), self.device)
            version, internal, gauss = rng["python"]
            random.setstate((version, tuple(internal), gauss))
            npst = rng["numpy"]
            np.random.set_state((npst["kind"], np.array(npst["keys"], dtype=np.uint32), npst["pos"],
                                 npst["has_gauss"], npst["cached_gaussian"]))
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ckpt.CheckpointError(f"checkpoint {where}: its RNG state is missing or invalid ({exc})") from None
        self.last_checkpoint = path

    # -- checkpoints ---------------------------------------------------------------

    def _gathered(self, prefix: str, t: Tensor) -> dict[str, Tensor]:
        """This tensor from every rank, as ``prefix.rank<r>`` (a collective call)."""
        on_device = t.to(self.device) if self.dist.backend == "nccl" else t
        return {f"{prefix}.rank{r}": v.cpu() for r, v in enumerate(distributed.gather_tensors(on_device, self.dist))}

    def save_checkpoint(self) -> Optional[Path]:
        tensors, trainer_meta = self.trainer.state()
        tensors.update(self._gathered("rng.torch", torch.get_rng_state()))
        if self.device.type == "cuda":
            tensors.update(self._gathered("rng.cuda", torch.cuda.get_rng_state(self.device)))
        names = sorted(self._acc)
        for name in names:
            tensors.update(self._gathered(f"acc.{name}", self._acc[name].reshape(())))
        path = None
        if self.dist.is_main:
            from .._version import __version__

            state = {
                "step": self.step,
                "model": self.cfg.model_name,
                "trainer_kind": self.trainer.kind,
                "config": self.cfg.to_dict(),
                "trainer": trainer_meta,
                "data": self.stream.state_dict(),
                "rng": {"python": _python_rng_state(), "numpy": _numpy_rng_state()},
                "metrics_acc": {"count": self._acc_count, "names": names},
                "world_size": self.dist.world_size,
                "versions": {"genreg": __version__, "torch": torch.__version__},
                "plugins": provenance(self.cfg.to_dict()),  # which plugin supplied each entry
            }
            path = ckpt.save(self.run_dir / "checkpoints" / ckpt.checkpoint_name(self.step), tensors, state)
            ckpt.prune(self.run_dir, self.cfg.train.keep_checkpoints, protect=(path,))
            self.last_checkpoint = path
        distributed.barrier(self.dist)
        self.callbacks.fire("checkpoint", self, step=self.step, path=path)
        return path

    # -- metrics -------------------------------------------------------------------

    def _accumulate(self, metrics: dict[str, Tensor]) -> None:
        for name, value in metrics.items():
            v = value.detach().to(torch.float64).reshape(())
            self._acc[name] = self._acc[name] + v if name in self._acc else v
        self._acc_count += 1

    def _log(self, started: float, last_time: float, last_step: int) -> dict:
        names = sorted(self._acc)
        record: dict[str, Any] = {"step": self.step, "epoch": self.stream.epoch}
        if names and self._acc_count:
            means = torch.stack([self._acc[n] for n in names]) / self._acc_count
            means = distributed.all_reduce_mean(means, self.dist).cpu().tolist()
            record.update({n: _json_safe(m) for n, m in zip(names, means)})
        record.update(self.trainer.learning_rates())
        record["skipped"] = self.guard.skipped
        now = time.perf_counter()
        record["samples_per_s"] = round(self.trainer.samples_per_step() * (self.step - last_step)
                                        / max(now - last_time, 1e-9), 1)
        record["time_s"] = round(now - started, 3)
        self._acc, self._acc_count = {}, 0
        if self.dist.is_main:
            with (self.run_dir / "metrics.jsonl").open("a") as fh:
                fh.write(json.dumps(record) + "\n")
        self.last_record = record
        self.callbacks.fire("log", self, step=self.step, record=record)
        return record

    def save_samples(self) -> Optional[Path]:
        path = None
        if self.dist.is_main:
            path = self.trainer.save_samples(self.run_dir / "samples" / f"step-{self.step:08d}.png", self.step,
                                             self.dataset)
            self.callbacks.fire("eval", self, step=self.step, path=path)
        return path

    # -- the loop ------------------------------------------------------------------

    def run(self) -> TrainResult:
        tc = self.cfg.train
        start_step = self.step
        started = time.perf_counter()
        last_time, last_step = started, self.step
        next_batch = lambda: self.stream.next(self.device)  # noqa: E731
        bar = None
        if self.dist.is_main and not self.quiet:
            from tqdm import tqdm

            bar = tqdm(total=tc.steps, initial=self.step, disable=None, unit="step", dynamic_ncols=True,
                       desc=self.cfg.model_name, file=sys.stderr)
        self.callbacks.fire("train_start", self)
        interrupted, time_limited = None, False
        saved_at = self.step if self.last_checkpoint is not None else None
        with _StopRequest() as stop:
            try:
                while self.step < tc.steps:
                    step = self.step + 1
                    if self.callbacks.has("step_start"):
                        self.callbacks.fire("step_start", self, step=step)
                    skipped_before = self.guard.skipped
                    metrics = self.trainer.step(step, next_batch)
                    self.step = step
                    if self.guard.skipped == skipped_before:  # a skipped update's losses are not finite
                        self._accumulate(metrics)
                    if self.callbacks.has("step_end"):
                        self.callbacks.fire("step_end", self, step=step, metrics=metrics)
                    if step % tc.log_every == 0 or step == tc.steps:
                        record = self._log(started, last_time, last_step)
                        last_time, last_step = time.perf_counter(), step
                        if bar is not None:
                            bar.set_postfix({k: f"{v:.4g}" for k, v in record.items()
                                             if isinstance(v, float) and k not in WALL_CLOCK_FIELDS
                                             and not k.startswith("lr")}, refresh=False)
                    if bar is not None:
                        bar.update(1)
                    if tc.sample_every and step % tc.sample_every == 0:
                        self.save_samples()
                    if tc.checkpoint_every and step % tc.checkpoint_every == 0:
                        self.save_checkpoint()
                        saved_at = step
                    time_up = bool(tc.max_minutes) and time.perf_counter() - started > 60 * tc.max_minutes
                    signalled, time_up = distributed.any_rank_each([stop.signal is not None, time_up],
                                                                   self.dist, self.device)
                    if signalled or time_up:  # all ranks agree, so they stop at the same step
                        interrupted = (stop.signal or "SIGTERM") if signalled else None
                        time_limited = not signalled
                        if time_limited and step % tc.log_every:
                            self._log(started, last_time, last_step)  # the run ends here: log its last steps
                        break
                if interrupted is None and tc.sample_every and self.step % tc.sample_every != 0:
                    self.save_samples()
                if saved_at != self.step:
                    self.save_checkpoint()
            except NonFiniteError as exc:
                last = self.last_checkpoint
                keep = f"; last good checkpoint: {last}" if last is not None else "; no checkpoint was written yet"
                error = NonFiniteError(f"{exc}{keep}")
                self.callbacks.fire("exception", self, step=self.step, error=error)
                raise error from None
            except BaseException as exc:
                self.callbacks.fire("exception", self, step=self.step, error=exc)
                raise
            finally:
                if bar is not None:
                    bar.close()
        elapsed = time.perf_counter() - started
        result = TrainResult(run_dir=self.run_dir, step=self.step, steps_this_run=self.step - start_step,
                             checkpoint=self.last_checkpoint, metrics=self.last_record, interrupted=interrupted,
                             time_limited=time_limited, elapsed_s=elapsed)
        result.summary = self._summary(result)
        if self.dist.is_main:
            (self.run_dir / "summary.json").write_text(json.dumps({
                "model": self.cfg.model_name, "data": self.cfg.data.get("name"), "step": result.step,
                "steps_this_run": result.steps_this_run, "elapsed_s": round(elapsed, 3),
                "interrupted": interrupted, "time_limited": time_limited,
                "checkpoint": str(result.checkpoint) if result.checkpoint else None,
                "metrics": result.metrics, "world_size": self.dist.world_size}, indent=1) + "\n")
        self.callbacks.fire("train_end", self, result=result)
        return result

    def _summary(self, r: TrainResult) -> str:
        losses = ", ".join(f"{k}={v:.4g}" for k, v in r.metrics.items()
                           if isinstance(v, float) and k not in WALL_CLOCK_FIELDS and not k.startswith("lr"))
        rate = r.steps_this_run / r.elapsed_s if r.elapsed_s > 0 else 0.0
        head = (f"interrupted by {r.interrupted} at step {r.step}" if r.interrupted
                else f"trained {self.cfg.model_name} on {self.cfg.data.get('name')} to step {r.step}"
                + (f" (time limit of {self.cfg.train.max_minutes:g} min)" if r.time_limited else ""))
        procs = f" on {self.dist.world_size} processes" if self.dist.enabled else ""
        return (f"{head}: {r.steps_this_run} steps in {r.elapsed_s:.1f} s ({rate:.1f} steps/s{procs})"
                + (f"; {losses}" if losses else "") + f"; checkpoint {r.checkpoint}")


def _trainer_class(model_obj, name: str):
    from ..models.base import AdversarialModel, ReconstructionModel

    if isinstance(model_obj, AdversarialModel):
        from .adversarial import AdversarialTrainer

        return AdversarialTrainer
    if isinstance(model_obj, ReconstructionModel):
        from .reconstruction import ReconstructionTrainer

        return ReconstructionTrainer
    raise UsageError(f"model {name!r} built a {type(model_obj).__name__}; trainers need a "
                     "genreg.models.base.AdversarialModel or ReconstructionModel")


def _default_run_dir(model: str) -> Path:
    return Path("runs") / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}"


def resolve_run(model: Optional[str] = None, *, config: Optional[str | Path] = None,
                overrides: Sequence[str] | Mapping[str, Any] = (), resume: Optional[str | Path] = None,
                device: Optional[str] = None, preset: Optional[str] = None) -> tuple[config_mod.RunConfig, Optional[Path]]:
    """The resolved config of a run (and its checkpoint when resuming), without training.

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
    cfg = config_mod.resolve(model, config_file=config, overrides=overrides, base=base)
    return cfg, checkpoint_path


def train(model: Optional[str] = None, *, config: Optional[str | Path] = None,
          overrides: Sequence[str] | Mapping[str, Any] = (), out: Optional[str | Path] = None,
          resume: Optional[str | Path] = None, device: Optional[str] = None, quiet: bool = False,
          callbacks: Any = None, preset: Optional[str] = None) -> TrainResult:
    """Train a registered model; the Python twin of ``genreg train``.

    ``overrides``: ``["train.steps=200", ...]`` or ``{"train.steps": 200, ...}``.
    ``resume``: a run directory (its newest checkpoint) or a checkpoint directory; the
    stored config is used, with ``config`` and ``overrides`` applied on top (e.g. more steps).
    ``callbacks``: ``{event: fn}`` or objects with ``on_<event>`` methods (see
    :mod:`genreg.train.callbacks`), or a list of those.
    ``preset``: a preset entry (``genreg list --kind preset``) applied before ``config``.
    """
    cfg, checkpoint_path = resolve_run(model, config=config, overrides=overrides, resume=resume, device=device,
                                       preset=preset)
    if out is not None:
        run_dir = Path(out)
    elif checkpoint_path is not None:
        run_dir = checkpoint_path.parent.parent
    else:
        run_dir = _default_run_dir(cfg.model_name)
    if checkpoint_path is None and ckpt.list_checkpoints(run_dir):
        raise UsageError(f"run directory {str(run_dir)!r} already has checkpoints: resume it with "
                         f"--resume {run_dir} or choose another --out")
    hooks = Callbacks()
    hooks.extend(make_loggers(cfg.train.loggers))
    for spec in cfg.train.callbacks:
        hooks.add(load_spec(spec))
    if isinstance(callbacks, (list, tuple)):
        hooks.extend(callbacks)
    else:
        hooks.add(callbacks)
    run = TrainingRun(cfg, run_dir=run_dir, resume_from=checkpoint_path, quiet=quiet, callbacks=hooks)
    try:
        run.setup()
        return run.run()
    finally:
        if getattr(run, "dist", None) is not None:
            distributed.teardown(run.dist)
