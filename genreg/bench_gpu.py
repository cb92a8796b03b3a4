"""Device benchmarks for ``make gpu-check`` (scripts/gpu_check.py): run on CUDA, or on
the CPU with tiny sizes for the dry run (correctness of the code, no figures worth keeping).

``python -m genreg.bench_gpu --device cuda --json OUT.json [--tiny]`` measures:

* the device's copy bandwidth (a large ``copy_``; bytes read + written per second);
* ``grad_penalty`` forward + backward (fused vs eager) at 256x3x128x128: GB/s over the
  least traffic (read g twice, write its gradient) and the share of the copy bandwidth;
* ``conv1d_block`` / ``upconv1d_block`` forward + backward, fused vs the reference
  (cuDNN's convolution + activation (+ pool) under autograd on CUDA), each fused result
  checked against the reference on float64 copies first;
* the whole WGAN-GP DCGAN-64 step (``n_critic`` critic updates with the penalty, one
  generator update) at batch 64 and 256: a hand-written eager loop against genreg's
  trainer on the same networks, in real images per second (n_critic x batch per step).

Timings are medians of ``reps`` timed repetitions after warm-up, with the device
synchronised around each (CUDA runs asynchronously).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch

from . import kernels
from .kernels import reference

PENALTY_SHAPE = (256, 3, 128, 128)
CONV_BATCH, CONV_LENGTH = 256, 500
CONV_LAYERS = [(1, 16, 9), (1, 32, 9), (16, 32, 9), (64, 64, 9)]  # (in, out, kernel)
UPCONV_LAYERS = [(16, 32, 9, 250, 500), (64, 64, 5, 62, 125), (32, 1, 9, 250, 500)]  # + (length, size)
STEP_BATCHES = (64, 256)
# --tiny (the dry run on a CPU): sizes that take milliseconds
TINY = dict(penalty=(4, 3, 16, 16), conv_batch=4, conv_length=40, conv_layers=CONV_LAYERS[:1],
            upconv_layers=[(4, 8, 5, 20, 40)], step_batches=(4,), image_size=32, base_channels=8, n_critic=1,
            steps=1)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_fn(fn: Callable[[], object], device: torch.device, warmup: int = 3, reps: int = 7,
            inner: int = 1) -> float:
    """Median seconds per call of ``fn`` (``inner`` calls per timed repetition)."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        sync(device)
        times.append((time.perf_counter() - start) / inner)
    return statistics.median(times)


def copy_bandwidth(device: torch.device, nbytes: int) -> float:
    src = torch.rand(nbytes // 4, device=device)
    dst = torch.empty_like(src)
    seconds = time_fn(lambda: dst.copy_(src), device, warmup=3, reps=9, inner=5)
    return 2 * nbytes / seconds


def _fwd_bwd(fn, inputs):
    def run():
        out = fn(*inputs)
        return (out, *torch.autograd.grad(out.sum(), inputs))
    return run


def _max_rel_error(got, want) -> float:
    err = 0.0
    for a, b in zip(got, want):
        scale = float(b.detach().abs().max()) if b.numel() else 0.0
        diff = float((a.detach().double() - b.detach().double()).abs().max()) if b.numel() else 0.0
        err = max(err, diff / max(scale, 1e-30))
    return err


def penalty_bench(device, shape, bandwidth, reps) -> dict:
    g = torch.randn(shape, device=device).requires_grad_(True)
    traffic = 3 * g.numel() * g.element_size()
    row = {"shape": "x".join(map(str, shape)), "bytes": traffic}
    fused_ok = kernels.has_kernel("grad_penalty", device.type)
    impls = {"eager": lambda t: reference.grad_penalty(t, "gp")}
    if fused_ok:
        impls["fused"] = lambda t: torch.ops.genreg.grad_penalty_forward(t, "gp", 1.0, 6.0)[0]
        row["max_rel_error"] = _max_rel_error(_fwd_bwd(impls["fused"], (g,))(), _fwd_bwd(impls["eager"], (g,))())
    else:
        row["fused_skipped"] = f"no fused {device.type} kernel: {kernels.extension_state().error or 'op missing'}"
    for name, fn in impls.items():
        seconds = time_fn(_fwd_bwd(fn, (g,)), device, reps=reps)
        row[f"{name}_ms"] = seconds * 1e3
        row[f"{name}_GBps"] = traffic / seconds / 1e9
        row[f"{name}_share_of_copy"] = traffic / seconds / bandwidth
    return row


def _conv_inputs(batch, cin, cout, k, length, device, dtype=torch.float32):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, cin, length, generator=gen, dtype=torch.float64)
    w = torch.randn(cout, cin, k, generator=gen, dtype=torch.float64) / math.sqrt(cin * k)
    b = torch.randn(cout, generator=gen, dtype=torch.float64) * 0.1
    return tuple(t.to(device, dtype).requires_grad_(True) for t in (x, w, b))


def block_bench(op: str, device, batch, layer, length, reps) -> dict:
    if op == "conv1d_block":
        cin, cout, k = layer
        size = None
        ref = lambda x, w, b: reference.conv1d_block(x, w, b, "leaky_relu", 0.2, True)
        fused = lambda x, w, b: torch.ops.genreg.conv1d_block_forward(x, w, b, "leaky_relu", 0.2, True)[0]
        label = f"{batch}x{cin}x{length} k{k}->{cout}"
    else:
        cin, cout, k, length, size = layer
        ref = lambda x, w, b: reference.upconv1d_block(x, w, b, size, "relu", 0.0)
        fused = lambda x, w, b: torch.ops.genreg.upconv1d_block_forward(x, w, b, size, "relu", 0.0)[0]
        label = f"{batch}x{cin}x{length}->{size} k{k}->{cout}"
    row = {"op": op, "size": label}
    inputs = _conv_inputs(batch, cin, cout, k, length, device)
    row["reference_ms"] = time_fn(_fwd_bwd(ref, inputs), device, reps=reps) * 1e3
    if not kernels.has_kernel(f"{op}_forward", device.type):
        row["fused_skipped"] = f"no fused {device.type} kernel: {kernels.extension_state().error or 'op missing'}"
        return row
    # checked in float64 (a float32 pool pair within rounding may route differently)
    inputs64 = tuple(t.detach().double().requires_grad_(True) for t in inputs)
    row["max_rel_error_float64"] = _max_rel_error(_fwd_bwd(fused, inputs64)(), _fwd_bwd(ref, inputs64)())
    row["fused_ms"] = time_fn(_fwd_bwd(fused, inputs), device, reps=reps) * 1e3
    row["fused_speedup"] = row["reference_ms"] / row["fused_ms"]
    return row


# --- the whole WGAN-GP step ------------------------------------------------------------


def eager_wgan_gp_loop(model, data: torch.Tensor, batch: int, steps: int, device) -> float:
    """A hand-written WGAN-GP loop on the model's networks (plain torch ops, the data on
    the device); returns real images per second over ``steps`` steps after one warm-up step."""
    G, D = model.generator.to(device), model.critic.to(device)
    cfg = model.config
    n_critic, weight = cfg.n_critic, float(cfg.penalty_params.get("weight", 10.0))
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=4e-4, betas=(0.5, 0.999))

    def step():
        for _ in range(n_critic):
            real = data[torch.randint(data.shape[0], (batch,), device=device)]
            with torch.no_grad():
                fake = G(G.sample_latent(batch, device=device))
            eps = torch.rand(batch, 1, 1, 1, device=device)
            x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
            penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
            loss_d = D(fake).mean() - D(real).mean() + weight * penalty
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        loss_g = -D(G(G.sample_latent(batch, device=device))).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()

    step()
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return steps * n_critic * batch / (time.perf_counter() - start)


def trainer_wgan_gp(overrides: list[str], steps: int, device) -> float:
    """genreg's trainer on the same model: images per second over the second half of the
    run (its ``samples_per_s`` of the last log interval; the first covers the warm-up)."""
    import genreg

    with tempfile.TemporaryDirectory() as out:
        result = genreg.train("wgan-gp", overrides=overrides + [
            f"train.steps={2 * steps}", f"train.log_every={steps}", "train.sample_every=0",
            f"train.checkpoint_every={100 * steps}"], device=device.type, out=Path(out) / "run", quiet=True)
        lines = (Path(out) / "run" / "metrics.jsonl").read_text().splitlines()
    record = json.loads(lines[-1])
    if "samples_per_s" not in record:
        raise RuntimeError(f"metrics.jsonl has no samples_per_s (fields: {sorted(record)}); step {result.step}")
    return float(record["samples_per_s"])


# train.* options of the GPU loop (issue 16, point 2), tried when the config has them
FAST_OPTIONS = ["train.precision=bf16", "train.channels_last=true", "train.cuda_graph=true"]


def step_bench(device, batch, image_size, base_channels, steps, n_critic=5) -> dict:
    import genreg
    from .data.galaxies import galaxies

    n = 4 * batch  # galaxies rendered for the run (the trainer's data set: the same size)
    data = galaxies(n=n, size=image_size, seed=0).x.to(device)
    model = genreg.create("model", "wgan-gp", image_size=image_size, channels=3, base_channels=base_channels,
                          n_critic=n_critic)
    row = {"batch": batch, "image_size": image_size, "base_channels": base_channels, "n_critic": n_critic,
           "steps_timed": steps}
    row["eager_img_per_s"] = eager_wgan_gp_loop(model, data, batch, steps, device)
    common = [f"data=galaxies", f"data.size={image_size}", f"data.n={n}", f"train.batch_size={batch}",
              f"model.base_channels={base_channels}", f"model.n_critic={n_critic}"]
    for name, extra in (("trainer", []), ("trainer_fast", FAST_OPTIONS)):
        try:
            row[f"{name}_img_per_s"] = trainer_wgan_gp(common + extra, steps, device)
            row[f"{name}_vs_eager"] = row[f"{name}_img_per_s"] / row["eager_img_per_s"]
        except Exception as exc:  # a missing option or a failure: recorded, the others go on
            row[f"{name}_error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    return row


def run(device: torch.device, tiny: bool, reps: int) -> dict:
    cfg = TINY if tiny else dict(penalty=PENALTY_SHAPE, conv_batch=CONV_BATCH, conv_length=CONV_LENGTH,
                                 conv_layers=CONV_LAYERS, upconv_layers=UPCONV_LAYERS, step_batches=STEP_BATCHES,
                                 image_size=64, base_channels=64, n_critic=5, steps=20)
    result: dict = {"device": str(device), "tiny": tiny, "torch": torch.__version__,
                    "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32}
    if device.type == "cuda":
        result["device_name"] = torch.cuda.get_device_name(device)
    errors = result.setdefault("errors", [])

    seconds = result.setdefault("seconds", {})  # wall-clock per part, for the check's time budget

    def guarded(what, fn):
        start = time.perf_counter()
        try:
            return fn()
        except Exception as exc:
            errors.append(f"{what}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
            return None
        finally:
            seconds[what] = round(time.perf_counter() - start, 2)

    bandwidth = copy_bandwidth(device, (4 if tiny else 1024) * 2**20)
    result["copy_GBps"] = bandwidth / 1e9
    result["penalty"] = guarded("penalty", lambda: penalty_bench(device, cfg["penalty"], bandwidth, reps))
    result["blocks"] = [r for r in (
        [guarded(f"conv1d_block {l}", lambda l=l: block_bench("conv1d_block", device, cfg["conv_batch"], l,
                                                                cfg["conv_length"], reps)) for l in cfg["conv_layers"]]
        + [guarded(f"upconv1d_block {l}", lambda l=l: block_bench("upconv1d_block", device, cfg["conv_batch"], l,
                                                                    None, reps)) for l in cfg["upconv_layers"]])
        if r is not None]
    result["wgan_gp_step"] = [r for r in (guarded(f"wgan-gp step batch {b}", lambda b=b: step_bench(
        device, b, cfg["image_size"], cfg["base_channels"], cfg["steps"], cfg["n_critic"]))
        for b in cfg["step_batches"]) if r is not None]
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genreg.bench_gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (the dry run): checks the code, not speed")
    parser.add_argument("--reps", type=int, default=7, help="timed repetitions per measurement (median)")
    parser.add_argument("--json", metavar="FILE", help="write the results here (else stdout)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("bench_gpu: --device cuda but torch sees no CUDA device", file=sys.stderr)
        return 2
    result = run(torch.device(args.device), args.tiny, args.reps)
    text = json.dumps(result, indent=2)
    if args.json:
        Path(args.json).write_text(text + "\n")
    else:
        print(text)
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
