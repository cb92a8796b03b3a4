"""The loop's GPU-path pieces, tested on CPU (and on CUDA where there is one): device-resident
batches, the deferred non-finite guard without host reads, precision, channels_last and the
CUDA graph step."""

import contextlib
import json
import math

import pytest
import torch

import genreg
from genreg.errors import UsageError
from genreg.training.data import BatchStream

pytestmark = pytest.mark.usefixtures("one_thread")

GAN = ["data=toy-blob", "model.hidden=16", "model.depth=2", "model.n_critic=2", "train.batch_size=32",
       "train.sample_every=0", "train.checkpoint_every=0", "train.log_every=2"]


def read_metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_batches_are_gathered_on_the_device_holding_the_data(toys):
    data = toys.labelled(n=96)
    cpu = BatchStream(data, 16, seed=3)
    meta = BatchStream(data, 16, seed=3, device="meta")  # any device: "meta" has no host copy
    assert all(t.device.type == "meta" for t in meta._tensors.values())  # moved once, at construction
    for _ in range(8):  # over an epoch boundary (6 batches per epoch)
        idx = cpu.next_indices().clone()
        cpu.batch -= 1  # the same batch again through next()
        batch = cpu.next()
        assert torch.equal(batch["x"], data.x[idx]) and torch.equal(batch["y"], data.y[idx])
        got = meta.next()
        assert got["x"].device.type == "meta" and got["x"].shape == (16, 2)
    assert cpu.state_dict() == meta.state_dict()


@contextlib.contextmanager
def no_host_reads(allowed_ids):
    """Make every host read of a tensor value raise, except ``.item()`` of ``allowed_ids``."""
    names = ("__bool__", "__float__", "__int__", "tolist", "item")
    saved = {n: getattr(torch.Tensor, n) for n in names}

    def forbid(name):
        def read(self, *args, **kwargs):
            if name == "item" and id(self) in allowed_ids:
                return saved[name](self, *args, **kwargs)
            raise AssertionError(f"host read Tensor.{name} inside a training step")
        return read

    for n in names:
        setattr(torch.Tensor, n, forbid(n))
    try:
        yield
    finally:
        for n, fn in saved.items():
            setattr(torch.Tensor, n, fn)


@pytest.mark.parametrize("mode", ["stop", "skip"])
def test_the_deferred_guard_reads_nothing_on_the_host_during_a_step(toys, tmp_path, monkeypatch, mode):
    from genreg.training import loop

    monkeypatch.setattr(loop, "deferred_guard", lambda device, tc: True)
    checked = []
    orig_step = loop.TrainingRun.setup

    def setup(run):
        orig_step(run)
        trainer, inner = run.trainer, run.step_fn

        def step_fn(step, next_batch):
            if step == 1:  # the first update creates Adam's state (skip reads its flag once)
                return inner(step, next_batch)
            # CPU Adam (not capturable) reads its own step counters, host tensors on CUDA too
            steps = {id(s["step"]) for opt in (trainer.opt_g, trainer.opt_d) for s in opt.state.values()}
            with no_host_reads(steps):
                out = inner(step, next_batch)
                run.metrics.add(out.names, out.values, run.guard.step_ok)  # the loop's accumulation too
            checked.append(step)
            run.metrics.reset()  # (added twice above; the values are not compared here)
            return out

        run.step_fn = step_fn

    monkeypatch.setattr(loop.TrainingRun, "setup", setup)
    genreg.train("mlp-gan", overrides=GAN + ["train.steps=4", f"train.nonfinite={mode}", "model.ema_decay=0.9",
                                             "opt.grad_clip=1.0"], out=tmp_path / "run", quiet=True)
    assert checked == [2, 3, 4]


def test_deferred_skip_restores_the_critic_and_masks_the_ema(toys, tmp_path, monkeypatch):
    from genreg.training import loop

    monkeypatch.setattr(loop, "deferred_guard", lambda device, tc: True)
    seen = {}

    def on_step_start(run, step):
        if step == 3:
            seen["x"] = run.dataset.x.clone()
            run.dataset.x.fill_(float("nan"))

    def on_step_end(run, step, metrics):
        if step == 3:
            run.dataset.x.copy_(seen["x"])
        t = run.trainer
        seen[step] = {name: [p.detach().clone() for p in net.parameters()]
                      for name, net in (("critic", t.critic), ("generator", t.generator), ("ema", t.ema))}

    result = genreg.train("mlp-gan", overrides=GAN + ["train.steps=4", "train.nonfinite=skip", "model.ema_decay=0.9"],
                          out=tmp_path / "run", quiet=True,
                          callbacks={"step_start": on_step_start, "step_end": on_step_end})
    same = lambda a, b: all(torch.equal(x, y) for x, y in zip(a, b))  # noqa: E731
    assert same(seen[2]["critic"], seen[3]["critic"])  # both critic updates of step 3 were dropped
    assert not same(seen[3]["critic"], seen[4]["critic"])  # and training went on
    # the generator update of step 3 saw a finite critic: it was good, and so was its EMA step
    assert not same(seen[2]["generator"], seen[3]["generator"])
    assert all(torch.isfinite(p).all() for p in seen[4]["ema"] + seen[4]["critic"])
    records = read_metrics(result.run_dir)
    assert [r["skipped"] for r in records] == [0, 2]
    assert all(math.isfinite(r["d_loss"]) for r in records)


def test_the_penalty_double_backward_under_bf16_autocast_matches_fp32():
    """The WGAN-GP critic loss with its gradient penalty, critic-parameter gradients in
    bf16 autocast vs float32: equal to bf16 precision (relative L2 error < 5 %)."""
    model = genreg.create("model", "wgan-gp", image_size=16, channels=1, base_channels=8)
    critic = model.critic
    penalty = genreg.create("penalty", "gp", weight=10.0)
    gen = torch.Generator().manual_seed(0)
    real = torch.rand(8, 1, 16, 16, generator=gen) * 2 - 1
    fake = torch.rand(8, 1, 16, 16, generator=gen) * 2 - 1

    def grads(dtype):
        critic.zero_grad(set_to_none=True)
        ctx = torch.autocast("cpu", dtype=dtype) if dtype is not None else contextlib.nullcontext()
        with torch.random.fork_rng(devices=[]), ctx:
            torch.manual_seed(1)  # the same interpolation weights
            loss = critic(fake).mean() - critic(real).mean() + penalty(critic, real, fake)
        loss.backward()
        return torch.cat([p.grad.flatten() for p in critic.parameters()]), float(loss.detach())

    g32, l32 = grads(None)
    g16, l16 = grads(torch.bfloat16)
    assert torch.isfinite(g16).all()
    assert (g16 - g32).norm() / g32.norm() < 0.05
    assert abs(l16 - l32) <= 0.05 * abs(l32) + 1e-3


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_runs_train_with_finite_losses(toys, tmp_path, precision):
    result = genreg.train("mlp-gan", overrides=GAN + ["train.steps=6", f"train.precision={precision}"],
                          out=tmp_path / "gan", quiet=True)
    assert all(math.isfinite(v) for r in read_metrics(result.run_dir) for k, v in r.items()
               if k in ("d_loss", "penalty", "g_loss"))
    ae = genreg.train("mlp-ae", overrides=["data=toy-vectors", "train.steps=30", "train.batch_size=32",
                                           "train.log_every=10", "train.sample_every=0", "opt.lr=1e-2",
                                           f"train.precision={precision}"], out=tmp_path / "ae", quiet=True)
    records = read_metrics(ae.run_dir)
    assert records[-1]["mse"] < records[0]["mse"]
    if precision == "fp16":  # the loss scaler's state is part of the checkpoint (exact resume)
        from genreg.training import checkpoint as ckpt

        _, state = ckpt.load(ae.checkpoint)
        assert state["trainer"]["scaler"]["scale"] > 0


def test_channels_last_trains_like_the_default_layout(tmp_path):
    run = ["data=galaxies", "data.n=64", "data.size=32", "model.image_size=32", "model.base_channels=8",
           "model.n_critic=1", "train.batch_size=8", "train.steps=2", "train.log_every=1", "train.sample_every=0"]
    seen = {}

    def layout(run_):
        seen["conv"] = [p for p in run_.trainer.critic.parameters() if p.dim() == 4]

    a = genreg.train("wgan-gp", overrides=run, out=tmp_path / "a", quiet=True)
    b = genreg.train("wgan-gp", overrides=run + ["train.channels_last=true"], out=tmp_path / "b", quiet=True,
                     callbacks={"train_end": lambda r, result: layout(r)})
    assert seen["conv"] and all(p.is_contiguous(memory_format=torch.channels_last) for p in seen["conv"])
    for ra, rb in zip(read_metrics(a.run_dir), read_metrics(b.run_dir)):
        for key in ("d_loss", "penalty", "g_loss"):
            assert math.isclose(ra[key], rb[key], rel_tol=1e-3, abs_tol=1e-4), (key, ra[key], rb[key])


def test_cuda_graph_on_cpu_is_a_one_line_error(toys, tmp_path):
    with pytest.raises(UsageError) as info:
        genreg.train("mlp-gan", overrides=GAN + ["train.steps=2", "train.cuda_graph=true"], device="cpu",
                     out=tmp_path / "run", quiet=True)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("train.cuda_graph=true needs a CUDA device, this run is on cpu")


@pytest.mark.cuda
@pytest.mark.parametrize("model, run", [
    ("mlp-gan", GAN + ["model.ema_decay=0.9"]),
    ("wgan-gp", ["data=galaxies", "data.n=256", "data.size=32", "model.image_size=32", "model.base_channels=8",
                 "train.batch_size=32", "train.sample_every=0", "train.checkpoint_every=0", "train.log_every=1"]),
])
def test_cuda_graph_steps_equal_eager_steps(toys, tmp_path, cuda_device, model, run):
    """Tolerance: rtol 1e-3, atol 1e-5 per logged loss. The graph replays the eager step's
    kernels and philox offsets; capturable Adam's device-side bias correction and cuDNN's
    algorithm choice may differ in the last bits."""
    run = run + ["train.steps=8", "train.log_every=1"]
    eager = genreg.train(model, overrides=run, device="cuda", out=tmp_path / "eager", quiet=True)
    graph = genreg.train(model, overrides=run + ["train.cuda_graph=true"], device="cuda", out=tmp_path / "graph",
                         quiet=True)
    a, b = read_metrics(eager.run_dir), read_metrics(graph.run_dir)
    assert [r["step"] for r in a] == [r["step"] for r in b] == list(range(1, 9))
    for ra, rb in zip(a, b):
        for key in ("d_loss", "penalty", "g_loss", "d_real", "d_fake"):
            assert math.isclose(ra[key], rb[key], rel_tol=1e-3, abs_tol=1e-5), (ra["step"], key, ra[key], rb[key])


@pytest.mark.cuda
@pytest.mark.parametrize("mode", ["stop", "skip"])
def test_cuda_steps_do_not_synchronise_between_log_steps(toys, tmp_path, cuda_device, mode):
    """torch.cuda's sync debug mode raises on any host-device synchronisation (C++ ones
    included) inside steps 2..5; the loop reads the flags at the log step (6) only."""
    def start(run, step):
        if step >= 2:
            torch.cuda.set_sync_debug_mode("error")

    def end(run, step, metrics):
        torch.cuda.set_sync_debug_mode("default")

    try:
        genreg.train("mlp-gan", overrides=GAN + ["train.steps=6", "train.log_every=6", f"train.nonfinite={mode}",
                                                 "model.ema_decay=0.9", "opt.grad_clip=1.0"],
                     device="cuda", out=tmp_path / "run", quiet=True,
                     callbacks={"step_start": start, "step_end": end})
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.parametrize("impl", ["foreach", "for-loop"])
def test_the_fused_adam_trains_as_torchs_other_adam_implementations_do(tmp_path, toys, impl):
    """``opt.adam_impl``: the default fused kernel and torch's other two implementations
    give the same run to float rounding (weights and logged losses), and the run says
    which one it used."""
    from genreg.training.checkpoint import load_run

    runs = {}
    for name in ("fused", impl):
        out = tmp_path / name
        genreg.train("mlp-gan", overrides=[*GAN, "train.steps=6", f"opt.adam_impl={name}"], out=out, quiet=True)
        runs[name] = out
    loaded = {name: load_run(out) for name, out in runs.items()}
    assert loaded["fused"].config.opt.adam_impl == "fused" and loaded[impl].config.opt.adam_impl == impl
    a, b = ({k: v for m in ("generator", "critic") for k, v in getattr(r.model, m).state_dict().items()}
            for r in (loaded["fused"], loaded[impl]))
    assert a and all(torch.allclose(a[k], b[k], rtol=1e-4, atol=1e-6) for k in a)
    la, lb = read_metrics(runs["fused"]), read_metrics(runs[impl])
    assert [r["step"] for r in la] == [r["step"] for r in lb]
    assert all(math.isclose(x["d_loss"], y["d_loss"], rel_tol=1e-4, abs_tol=1e-6) for x, y in zip(la, lb))
