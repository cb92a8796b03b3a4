"""Framework overhead: genreg's training loop vs a minimal hand-written loop, in one process.

For each model the loop is set up as ``genreg train`` sets it up (:class:`TrainingRun`,
the model's published defaults, logging every ``train.log_every`` steps), and a
hand-written loop trains copies of the same networks on the same device-resident data,
batch size, loss and penalty: per update ``zero_grad``, forward, loss, ``backward``,
Adam's step (the loop's own Adam: on CPU genreg's fused step, which checks the gradients
as it reads them, :mod:`genreg.kernels.adam`), and a host read of the loss at each log
step, nothing else. The two run in alternating chunks of steps, in turn first and second
(ABBA), and the ratio of their median step times is reported (``ratio = hand / trainer``:
1.0 means no overhead).
A second copy of the hand-written loop runs beside them as a control: ``control =
hand / hand copy`` would be 1.0 on a noiseless machine, so its distance from 1 is the
resolution of ``ratio``. Freed memory is kept for reuse (:mod:`genreg.process_memory`):
otherwise page faults alone move two identical loops by up to 6 %. Checkpoints and
sample figures are outside the timed window. :func:`op_counts` counts the aten operators of one step of each
(a load-independent measure of the loop's extra work).

Run: ``genreg bench --train-overhead`` (``--quick`` for fewer rounds) or
``pytest benchmarks/test_bench_train_overhead.py --benchmark-enable``.
"""

from __future__ import annotations

import copy
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F

from .update import adam

# model -> overrides: the published networks and batch; data sets only as large as needed
MODELS = {
    "vae": ["data.n=256"],
    "dae1d": ["data.n=512"],
    "mlp-gan": ["data.n=4096"],
    "wgan-gp": ["data.n=128", "train.log_every=5"],  # DCGAN-64: a few seconds per step on CPU
}
# tiny versions (correctness runs and tests)
SMALL = {
    "vae": ["data.n=32", "data.size=32", "model.hidden=16", "model.latent_dim=4", "train.batch_size=8",
            "train.log_every=2"],
    "dae1d": ["data.n=32", "train.batch_size=8", "train.log_every=2"],
    "mlp-gan": ["data.n=256", "model.hidden=16", "train.batch_size=32", "train.log_every=2"],
    "wgan-gp": ["data.n=16", "data.size=32", "model.image_size=32", "model.base_channels=8", "train.batch_size=4",
                "model.n_critic=2", "train.log_every=2"],
}


class Pair:
    """The loop and the hand-written loop of one model, each runnable for ``k`` more steps."""

    def __init__(self, model: str, overrides: Sequence[str], run_dir: Path, device: str = "cpu") -> None:
        from .callbacks import Callbacks
        from .loop import TrainingRun, resolve_run

        cfg, _ = resolve_run(model, overrides=[*overrides, "train.sample_every=0", "train.checkpoint_every=0"],
                             device=device)
        self.model = model
        self.run = TrainingRun(cfg, run_dir=run_dir, resume_from=None, quiet=True, callbacks=Callbacks())
        self.run.setup()
        self.run.save_checkpoint = lambda: None  # checkpoints are not what is measured
        self.log_every = self.run.cfg.train.log_every
        self._marks: dict[str, float] = {}
        self.run.callbacks.on("train_start", lambda run: self._marks.__setitem__("start", time.perf_counter()))
        self.run.callbacks.on("log", lambda run, step, record: self._marks.__setitem__("log", time.perf_counter()))
        self.hand = _hand_loop(self.run)
        self.hand_copy = _hand_loop(self.run)  # the control: the same loop on its own copies

    def trainer_steps(self, k: int) -> float:
        """Seconds for ``k`` more steps of the loop (k a multiple of log_every)."""
        import dataclasses

        run = self.run
        train = dataclasses.replace(run.cfg.train, steps=run.step + k)
        run.cfg = dataclasses.replace(run.cfg, train=train)
        self._marks.clear()  # a call that logs nothing must not reuse the last call's marks
        result = run.run()
        if "log" not in self._marks:
            raise RuntimeError(f"{self.model}: the loop ran {result.steps_this_run} of {k} steps without a log "
                               f"step (interrupted={result.interrupted}, time_limited={result.time_limited})")
        return self._marks["log"] - self._marks["start"]

    def hand_steps(self, k: int, copy: bool = False) -> float:
        start = time.perf_counter()
        (self.hand_copy if copy else self.hand)(k, self.log_every)
        return time.perf_counter() - start


def _step_of(run, optimizer) -> Callable[[], object]:
    """The update the loop itself runs with this optimiser (its flag unread here)."""
    return optimizer.checked_step if run.updater.checks_in_step(optimizer) else optimizer.step


def _hand_loop(run) -> Callable[[int, int], None]:
    """A minimal loop on copies of the run's networks, data and objective."""
    trainer, device = run.trainer, run.device
    tensors = {k: v for k, v in run.stream._tensors.items()}
    n, batch = tensors["x"].shape[0], run.per_rank_batch
    gen = torch.Generator().manual_seed(0)
    order = torch.randperm(n, generator=gen).to(device)
    position = [0]

    def next_batch():
        if position[0] + batch > n:
            position[0] = 0
        idx = order[position[0]:position[0] + batch]
        position[0] += batch
        return {k: v.index_select(0, idx) for k, v in tensors.items()}

    opt = run.cfg.opt
    # the same Adam implementation as the loop's (on CPU genreg's fused step, which checks
    # the gradients for free as it reads them): what is compared is the loop, not the optimiser
    adam_kw = dict(betas=opt.betas, weight_decay=opt.weight_decay, device=device, impl=opt.adam_impl)
    if run.kind == "adversarial":
        G, D = copy.deepcopy(trainer.generator), copy.deepcopy(trainer.critic)
        loss, penalty, n_critic = trainer.loss, trainer.penalty, trainer.n_critic
        opt_g = adam(G.parameters(), lr=opt.lr_g, **adam_kw)
        opt_d = adam(D.parameters(), lr=opt.lr_d, **adam_kw)
        step_g, step_d = _step_of(run, opt_g), _step_of(run, opt_d)
        params_g = list(G.parameters())

        def steps(k: int, log_every: int) -> None:
            for step in range(1, k + 1):
                for _ in range(n_critic):
                    real = next_batch()["x"]
                    with torch.no_grad():
                        fake = G(G.sample_latent(batch, device=device))
                    d_loss = loss.critic(D(real), D(fake)) + penalty(D, real, fake)
                    opt_d.zero_grad(set_to_none=True)
                    d_loss.backward()
                    step_d()
                g_loss = loss.generator(D(G(G.sample_latent(batch, device=device))))
                opt_g.zero_grad(set_to_none=True)
                torch.autograd.backward(g_loss, inputs=params_g)
                step_g()
                if step % log_every == 0:
                    d_loss.item(), g_loss.item()
        return steps

    pipeline = copy.deepcopy(trainer.pipeline)
    optimizer = adam(pipeline.parameters(), lr=opt.lr, **adam_kw)
    update = _step_of(run, optimizer)
    kl_weight = trainer.kl_weight

    def steps(k: int, log_every: int) -> None:
        for step in range(1, k + 1):
            b = next_batch()
            x = b["x"]
            recon, mu, logvar = pipeline(x)
            total = F.mse_loss(recon, b.get("target", x))
            if mu is not None:
                total = total + kl_weight * (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).flatten(1).sum(1).mean())
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            update()
            if step % log_every == 0:
                total.item()
    return steps


def measure(model: str, overrides: Sequence[str] = (), *, rounds: int = 5, chunk: Optional[int] = None,
            device: str = "cpu") -> dict:
    """Median seconds per step of the loop, the hand-written loop and its control copy over
    ``rounds`` chunks (order reversed every other round), ``ratio`` and ``control``."""
    from ..process_memory import keep_freed_memory

    keep_freed_memory()
    with tempfile.TemporaryDirectory(prefix="genreg-overhead-") as tmp:
        pair = Pair(model, list(MODELS.get(model, [])) + list(overrides), Path(tmp) / "run", device)
        k = chunk or pair.log_every
        k = max(pair.log_every, k - k % pair.log_every)
        loops = {"trainer": pair.trainer_steps, "hand": pair.hand_steps,
                 "control": lambda n: pair.hand_steps(n, copy=True)}
        for run in loops.values():  # warm-up (allocator, oneDNN)
            run(pair.log_every)
        times: dict[str, list[float]] = {name: [] for name in loops}
        for r in range(rounds):
            for name, run in (list(loops.items()) if r % 2 == 0 else list(loops.items())[::-1]):
                times[name].append(run(k) / k)
        trainer_s, hand_s, copy_s = (statistics.median(times[name]) for name in loops)
        return {"model": model, "steps_per_round": k, "rounds": rounds, "trainer_s_per_step": trainer_s,
                "hand_s_per_step": hand_s, "hand_copy_s_per_step": copy_s, "ratio": hand_s / trainer_s,
                "control": hand_s / copy_s}


def op_counts(model: str, overrides: Sequence[str] = (), *, steps: int = 2) -> dict[str, Counter]:
    """aten operators per step of the loop (logging included) and of the hand-written loop."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops: Counter = Counter()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.ops[str(func.overloadpacket)] += 1
            return func(*args, **(kwargs or {}))

    with tempfile.TemporaryDirectory(prefix="genreg-overhead-") as tmp:
        pair = Pair(model, list(overrides) + [f"train.log_every={steps}"], Path(tmp) / "run")
        pair.trainer_steps(steps), pair.hand_steps(steps)  # state created, caches warm
        out = {}
        for name, fn in (("trainer", pair.trainer_steps), ("hand", pair.hand_steps)):
            with Count() as counter:
                fn(steps)
            out[name] = Counter({op: c / steps for op, c in counter.ops.items()})
        return out


def report(quick: bool = False, models: Sequence[str] = tuple(MODELS)) -> list[dict]:
    return [measure(m, rounds=3 if quick else 7) for m in models]


def format_report(rows: list[dict]) -> str:
    lines = [f"{'model':<10} {'trainer ms/step':>16} {'hand ms/step':>13} {'hand/trainer':>13} "
             f"{'control':>8}"]
    for r in rows:
        lines.append(f"{r['model']:<10} {1e3 * r['trainer_s_per_step']:>16.3f} {1e3 * r['hand_s_per_step']:>13.3f} "
                     f"{r['ratio']:>13.3f} {r['control']:>8.3f}")
    lines.append("target: hand/trainer >= 0.97 (issue #16); control = hand / a copy of it (1.0 without noise)")
    return "\n".join(lines)
