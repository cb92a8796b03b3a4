"""The one training loop both trainers share.

:func:`train` resolves the configuration, joins the torchrun process group (if any),
seeds, builds the model and the data set, checks the data against the model, restores a
checkpoint (``resume``) and runs ``train.steps`` steps of the model's trainer
(:class:`~genreg.training.adversarial.AdversarialTrainer` or
:class:`~genreg.training.reconstruction.ReconstructionTrainer`, see :mod:`.trainer` for the
contract). Around each step it fires the callbacks' events (those of a step's optimiser
updates after the step), and on rank 0 it writes, inside the run directory:

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

The options for speed on a GPU are pieces the loop composes, each in its own module:
the data set resident on the device (:mod:`.data`), the non-finite guard without host
reads (:mod:`.guard`, deferred on CUDA), ``train.precision`` (:mod:`.precision`),
``train.channels_last`` (:mod:`.layout`) and ``train.cuda_graph`` (:mod:`.graph`).
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import torch
from torch import Tensor

from .. import config as config_mod
from ..errors import UsageError
from ..models.base import init_from_data
from ..provenance import provenance
from . import checkpoint as ckpt
from . import distributed
from .callbacks import Callbacks, load_spec
from .loggers import make_loggers
from .data import BatchStream, build_dataset
from .graph import GraphedStep, check_graph_config
from .guard import Guard, NonFiniteError
from .layout import use_channels_last
from .metrics_log import MetricsLog
from .state import StopRequest, host_rng_state, restore_rng, seed_everything
from .precision import Precision
from .resolve import resolve_run  # noqa: F401  (public here too: genreg.training.loop.resolve_run)
from .result import WALL_CLOCK_FIELDS, TrainResult, summary_line, write_summary
from .trainer import trainer_class, trainer_kind
from .update import Updater

UPDATE_EVENTS = {"critic": "critic_step", "generator": "generator_step"}


def deferred_guard(device: torch.device, tc) -> bool:
    """Keep the non-finite flags on the device (see :mod:`.guard`): on CUDA, where a host
    read would stall the stream, and always inside CUDA graphs."""
    return device.type == "cuda" or tc.cuda_graph


class TrainingRun:
    """The state of one training run; callbacks receive it as ``run``.

    ``cfg`` is the resolved configuration of the run (a new object when the model fitted
    its config to the data: the caller's config is never edited).
    """

    def __init__(self, cfg: config_mod.RunConfig, *, run_dir: Path, resume_from: Optional[Path],
                 quiet: bool, callbacks: Callbacks) -> None:
        self.cfg, self.run_dir, self.resume_from, self.quiet = cfg, run_dir, resume_from, quiet
        self.callbacks = callbacks
        self.step = 0
        self.last_checkpoint: Optional[Path] = None
        self.last_record: dict = {}

    # -- set-up --------------------------------------------------------------------

    def setup(self) -> None:
        tc = self.cfg.train
        self.dist, self.device = distributed.setup(tc.device)
        if tc.batch_size % self.dist.world_size:
            raise UsageError(f"train.batch_size={tc.batch_size} does not split evenly over "
                             f"{self.dist.world_size} processes")
        if tc.cuda_graph:
            check_graph_config(self.device, self.dist.world_size, tc.precision)
        self.per_rank_batch = tc.batch_size // self.dist.world_size
        self.dataset = build_dataset(self.cfg.data, "train", tc.seed)
        # a model config may take sizes / network family from the data ("auto" fields);
        # the resolved values are what config.toml and the checkpoints store
        fit = getattr(self.cfg.model, "fit_data", None)
        if callable(fit):
            self.cfg = dataclasses.replace(self.cfg, model=fit(tuple(self.dataset.sample_shape),
                                                                self.dataset.num_classes))
        self.kind = trainer_kind(self.cfg.model, self.cfg.model_name)
        seed_everything(tc.seed + self.dist.rank)
        self.trainer = self._build_trainer()
        self.trainer.check_data(self.dataset)
        self.stream = BatchStream(self.dataset, self.per_rank_batch, seed=tc.seed, rank=self.dist.rank,
                                  world_size=self.dist.world_size, device=self.device,
                                  memory_format=torch.channels_last if tc.channels_last else None)
        self.metrics = MetricsLog(self.run_dir / "metrics.jsonl", self.dist, self.device)
        if self.resume_from is not None:
            self._restore(self.resume_from)
        self.step_fn = GraphedStep(self.trainer, self.device) if tc.cuda_graph else self.trainer.step
        if self.dist.is_main:
            self._prepare_run_dir()

    def _build_trainer(self):
        """The model and its trainer, with the loop's pieces: precision, guard, layout."""
        from .. import get_entry

        cfg, tc = self.cfg, self.cfg.train
        model = get_entry("model", cfg.model_name).create(**{
            f.name: getattr(cfg.model, f.name) for f in dataclasses.fields(cfg.model) if f.init})
        cls = trainer_class(cfg.model, model, cfg.model_name)
        init_from_data(model, self.dataset)  # data-dependent starts (models/base.py), before any copy of the weights
        if tc.channels_last:
            use_channels_last(model.modules().values())
        deferred = deferred_guard(self.device, tc)
        self.guard = Guard(tc.nonfinite, self.dist, self.device, deferred=deferred)
        precision = Precision(tc.precision, self.device, graph_safe=tc.cuda_graph)
        capturable = deferred and (tc.cuda_graph or tc.nonfinite == "skip")
        self.updater = Updater(self.guard, precision, cfg.opt.grad_clip, capturable=capturable)
        return cls(model=model, cfg=cfg, device=self.device, dist=self.dist, update=self.updater)

    def _prepare_run_dir(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "config.toml").write_text(self.cfg.to_toml())
        if self.resume_from is None:
            self.metrics.path.unlink(missing_ok=True)
            return
        # lines logged after the checkpoint belong to the abandoned continuation
        self.metrics.trim_for_resume(self.step, self.cfg.train.log_every, self.step < self.cfg.train.steps)
        for step, path in ckpt.list_checkpoints(self.run_dir):
            if step > self.step:
                shutil.rmtree(path, ignore_errors=True)

    def _restore(self, path: Path) -> None:
        tensors, state = ckpt.load(path)
        where = repr(str(path))
        if state.get("trainer_kind") != self.kind:
            raise ckpt.CheckpointError(f"checkpoint {where} is from a {state.get('trainer_kind')} model, "
                                       f"{self.cfg.model_name!r} is {self.kind}")
        meta = state.get("trainer", {})
        self.trainer.load_state(tensors, meta, where)
        self.guard.skipped = int(meta.get("skipped", 0))
        self.updater.precision.load_state_dict(meta.get("scaler", {}))
        self.stream.load_state_dict(state.get("data", {}))
        self.step = int(state["step"])
        rank = self.dist.rank
        acc = state.get("metrics_acc", {})
        self.metrics.load_state(acc, {n: tensors[f"acc.{n}.rank{rank}"] for n in acc.get("names", [])})
        try:
            restore_rng(tensors, state.get("rng", {}), rank, self.device)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ckpt.CheckpointError(f"checkpoint {where}: its RNG state is missing or invalid ({exc})") from None
        self.last_checkpoint = path

    # -- checkpoints ---------------------------------------------------------------

    def _gathered(self, prefix: str, t: Tensor) -> dict[str, Tensor]:
        """This tensor from every rank, as ``prefix.rank<r>`` (a collective call)."""
        on_device = t.to(self.device) if self.dist.backend == "nccl" else t
        return {f"{prefix}.rank{r}": v.cpu() for r, v in enumerate(distributed.gather_tensors(on_device, self.dist))}

    def save_checkpoint(self) -> Optional[Path]:
        self.guard.check()  # never checkpoint weights after a bad update (train.nonfinite=stop)
        tensors, trainer_meta = self.trainer.state()
        trainer_meta = {**trainer_meta, "skipped": self.guard.skipped}
        scaler = self.updater.precision.state_dict()
        if scaler:
            trainer_meta["scaler"] = scaler
        tensors.update(self._gathered("rng.torch", torch.get_rng_state()))
        if self.device.type == "cuda":
            tensors.update(self._gathered("rng.cuda", torch.cuda.get_rng_state(self.device)))
        acc_meta, sums = self.metrics.state()
        for name in acc_meta["names"]:
            tensors.update(self._gathered(f"acc.{name}", sums[name].reshape(())))
        path = None
        if self.dist.is_main:
            from .._version import __version__

            state = {
                "step": self.step,
                "model": self.cfg.model_name,
                "trainer_kind": self.kind,
                "config": self.cfg.to_dict(),
                "trainer": trainer_meta,
                "data": self.stream.state_dict(),
                "rng": host_rng_state(),
                "metrics_acc": acc_meta,
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

    def _log(self, started: float, last_time: float, last_step: int) -> dict:
        """Write the line of the interval ending at this step. An early-closed interval (the
        run ends between log steps) keeps its sums for a run that resumes from here."""
        self.guard.check()
        record: dict[str, Any] = {"step": self.step, "epoch": self.stream.epoch}
        record.update(self.metrics.means())
        record.update(self.trainer.learning_rates())
        record["skipped"] = self.guard.skipped
        now = time.perf_counter()
        record["samples_per_s"] = round(self.trainer.samples_per_step() * (self.step - last_step)
                                        / max(now - last_time, 1e-9), 1)
        record["time_s"] = round(now - started, 3)
        if self.step % self.cfg.train.log_every == 0:
            self.metrics.reset()
        self.metrics.write(record)
        self.last_record = record
        self.callbacks.fire("log", self, step=self.step, record=record)
        return record

    def save_samples(self) -> Optional[Path]:
        path = None
        self.guard.check()
        if self.dist.is_main:
            path = self.trainer.save_samples(self.run_dir / "samples" / f"step-{self.step:08d}.png", self.step,
                                             self.dataset)
            self.callbacks.fire("eval", self, step=self.step, path=path)
        return path

    def _fire_updates(self, step: int, updates) -> None:
        for update in updates:
            event = UPDATE_EVENTS.get(update.phase)
            if event == "critic_step":
                self.callbacks.fire(event, self, step=step, index=update.index, terms=update.terms)
            elif event == "generator_step":
                self.callbacks.fire(event, self, step=step, terms=update.terms)

    # -- the loop ------------------------------------------------------------------

    def run(self) -> TrainResult:
        tc = self.cfg.train
        start_step = self.step
        started = time.perf_counter()
        last_time, last_step = started, self.step
        next_batch = self.stream.next
        bar = None
        if self.dist.is_main and not self.quiet:
            from tqdm import tqdm

            bar = tqdm(total=tc.steps, initial=self.step, disable=None, unit="step", dynamic_ncols=True,
                       desc=self.cfg.model_name, file=sys.stderr)
        self.callbacks.fire("train_start", self)
        has = self.callbacks.has
        fire_updates = has("critic_step") or has("generator_step")
        guard, step_fn, metrics = self.guard, self.step_fn, self.metrics
        interrupted, time_limited = None, False
        saved_at = self.step if self.last_checkpoint is not None else None
        with StopRequest() as stop:
            try:
                while self.step < tc.steps:
                    step = self.step + 1
                    if has("step_start"):
                        self.callbacks.fire("step_start", self, step=step)
                    guard.begin_step(step)
                    out = step_fn(step, next_batch)
                    self.step = step
                    metrics.add(out.names, out.values, guard.step_ok)  # a skipped update's losses are not finite
                    if fire_updates:
                        self._fire_updates(step, out.updates)
                    if has("step_end"):
                        self.callbacks.fire("step_end", self, step=step, metrics=out.metrics)
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
                    if self.dist.enabled or stop.signal is not None or time_up:
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
        result.summary = summary_line(result, self.cfg, self.dist.world_size)
        if self.dist.is_main:
            write_summary(self.run_dir / "summary.json", result, self.cfg, self.dist.world_size)
        self.callbacks.fire("train_end", self, result=result)
        return result


def _default_run_dir(model: str) -> Path:
    return Path("runs") / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}"


def train(model: Optional[str] = None, *, config: Optional[str | Path] = None,
          overrides: Sequence[str] | Mapping[str, Any] = (), out: Optional[str | Path] = None,
          resume: Optional[str | Path] = None, device: Optional[str] = None, quiet: bool = False,
          callbacks: Any = None, trust_callbacks: bool = False, preset: Optional[str] = None) -> TrainResult:
    """Train a registered model; the Python twin of ``genreg train``.

    ``overrides``: ``["train.steps=200", ...]`` or ``{"train.steps": 200, ...}``.
    ``resume``: a run directory (its newest checkpoint) or a checkpoint directory; the
    stored config is used, with ``config`` and ``overrides`` applied on top (e.g. more steps).
    ``callbacks``: ``{event: fn}`` or objects with ``on_<event>`` methods (see
    :mod:`genreg.training.callbacks`), or a list of those. ``trust_callbacks``: also load the
    ``train.callbacks`` a resumed run's stored config names (by default they are listed, not run).
    ``preset``: a preset entry (``genreg list --kind preset``) applied before ``config``.
    """
    cfg, checkpoint_path = resolve_run(model, config=config, overrides=overrides, resume=resume, device=device,
                                       trust_callbacks=trust_callbacks, preset=preset)
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
