"""Benchmark cases for genreg's fused kernels, shared by benchmarks/ (pytest-benchmark)
and `genreg bench` (torch.utils.benchmark).

Every case builds its inputs once and offers up to three implementations of the same
work: ``reference`` (eager PyTorch), ``compiled`` (torch.compile of the reference,
where it compiles) and ``fused`` (genreg's kernels). :func:`check` compares an
implementation's results with the reference before anything is timed. ``bytes`` is
the least memory traffic the work needs, for the effective bandwidth (0 for the
whole training steps, which are compute-bound).

Whole steps run genreg's own models: ``reference`` under ``kernels.use_backend("reference")``
(what ``GENREG_KERNELS=reference`` gives), ``fused`` under ``auto`` (the default: fused
kernels where they pay off).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch

from . import kernels
from .kernels import reference

IMAGE_SIZES = [(64, 3, 128, 128), (256, 3, 64, 64)]
TRACE_SIZES = [(256, 1, 500), (4096, 1, 500)]
SMALL_IMAGE_SIZES = [(4, 3, 16, 16)]
SMALL_TRACE_SIZES = [(8, 1, 50)]
# (in_channels, out_channels, kernel): the denoiser's first layer and a wider one.
CONV_LAYERS = [(1, 16, 9), (16, 32, 9), (64, 64, 9)]
# decoder blocks (in_channels, out_channels, kernel, length, size): a 2x step at the
# traces' length, and the denoiser's odd 62 -> 125 step
UPCONV_LAYERS = [(16, 32, 9, 250, 500), (64, 64, 5, 62, 125)]

IMPLS = ("reference", "compiled", "fused")

# whole training steps: WGAN-GP critic (DCGAN-style, 64x64 images) and the DAE
WGAN_BATCH, WGAN_QUICK_BATCH = 64, 16
DAE_BATCHES = [64, 256]
DOUBLE_BACKWARD_SKIP = ("torch.compile cannot compile it: the gradient penalty differentiates the critic with "
                        "create_graph=True, and aot_autograd does not support double backward")


@dataclass
class Case:
    op: str
    size: str
    bytes: int
    run: dict[str, Callable[[], object]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # impl -> why not available
    # impl -> the same work on float64 copies of the inputs, checked instead of `run`
    # where float32 results may legitimately differ (see conv1d_block_case)
    check_run: dict[str, Callable[[], object]] = field(default_factory=dict)
    tol: dict = field(default_factory=lambda: dict(rtol=1e-4, atol=1e-5))

    @property
    def group(self) -> str:
        return f"{self.op} {self.size}"


def _shape(s) -> str:
    return "x".join(str(d) for d in s)


def _compile(fn, case: Case):
    """torch.compile(fn), or None with the reason recorded in case.skipped."""
    try:
        import torch._dynamo

        # one compiled graph per size and mode: more than dynamo's default of 8
        for name in ("recompile_limit", "cache_size_limit"):
            if hasattr(torch._dynamo.config, name):
                setattr(torch._dynamo.config, name, max(64, getattr(torch._dynamo.config, name)))
        return torch.compile(fn, dynamic=False)
    except Exception as exc:  # pragma: no cover - depends on the torch build
        case.skipped["compiled"] = f"torch.compile failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
        return None


def _fused_available(op: str, case: Case) -> bool:
    if kernels.has_kernel(op, "cpu"):
        return True
    case.skipped["fused"] = f"no fused CPU kernel: {kernels.extension_state().error or 'op missing'}"
    return False


def grad_penalty_case(shape, mode: str = "gp") -> Case:
    """Penalty forward + backward to the gradient tensor (what the critic step needs)."""
    g = torch.randn(shape).requires_grad_(True)
    n = g.numel()
    case = Case(f"grad_penalty[{mode}] fwd+bwd", _shape(shape), bytes=3 * n * g.element_size())

    def with_fn(fn):
        def step():
            (d,) = torch.autograd.grad(fn(g, mode).sum(), g)
            return d
        return step

    case.run["reference"] = with_fn(reference.grad_penalty)
    compiled = _compile(reference.grad_penalty, case)
    if compiled is not None:
        case.run["compiled"] = with_fn(compiled)
    if _fused_available("grad_penalty", case):
        case.run["fused"] = with_fn(lambda x, m: torch.ops.genreg.grad_penalty_forward(x, m, 1.0, 6.0)[0])
    return case


def gp_interpolate_case(shape) -> Case:
    real, fake, eps = torch.randn(shape), torch.randn(shape), torch.rand(shape[0])
    case = Case("gp_interpolate fwd", _shape(shape), bytes=3 * real.numel() * real.element_size(),
                tol=dict(rtol=1e-6, atol=1e-6))
    case.run["reference"] = lambda: reference.gp_interpolate(real, fake, eps)
    compiled = _compile(reference.gp_interpolate, case)
    if compiled is not None:
        case.run["compiled"] = lambda: compiled(real, fake, eps)
    if _fused_available("gp_interpolate", case):
        case.run["fused"] = lambda: torch.ops.genreg.gp_interpolate(real, fake, eps)
    return case


def _conv_case(case: Case, ref, fused, fused_op: str, x, w, b) -> Case:
    """Fill a conv block case: forward + backward to input, weight and bias."""

    def with_fn(fn, x, w, b):
        def step():
            y = fn(x, w, b)
            return (y, *torch.autograd.grad(y.sum(), (x, w, b)))
        return step

    case.run["reference"] = with_fn(ref, x, w, b)
    compiled = _compile(ref, case)
    if compiled is not None:
        case.run["compiled"] = with_fn(compiled, x, w, b)
    if _fused_available(fused_op, case):
        case.run["fused"] = with_fn(fused, x, w, b)
        # In float32 the fused loop and oneDNN round z differently, so where the two
        # values of a pooled pair are within rounding of each other (or z is within
        # rounding of 0) they can pick different winners (slopes) and route that
        # output's gradient differently (seen about once per 10^7 pairs). The check
        # therefore runs in float64.
        x64, w64, b64 = (t.detach().double().requires_grad_(True) for t in (x, w, b))
        case.check_run["reference"] = with_fn(ref, x64, w64, b64)
        case.check_run["fused"] = with_fn(fused, x64, w64, b64)
    return case


def _conv_inputs(batch, cin, cout, k, length):
    x = torch.randn(batch, cin, length).requires_grad_(True)
    w = (torch.randn(cout, cin, k) / math.sqrt(cin * k)).requires_grad_(True)
    b = torch.randn(cout).mul_(0.1).requires_grad_(True)
    return x, w, b


def conv1d_block_case(shape, layer) -> Case:
    """Block forward + backward to input, weight and bias (a training step's work)."""
    cin, cout, k = layer
    batch, _, length = shape
    x, w, b = _conv_inputs(batch, cin, cout, k, length)
    # read x twice (forward, weight gradient), write its gradient; write y, read dy
    traffic = (3 * x.numel() + 2 * batch * cout * (length // 2)) * x.element_size()
    case = Case("conv1d_block fwd+bwd", f"{batch}x{cin}x{length} k{k}->{cout}", bytes=traffic)
    ref = lambda x_, w_, b_: reference.conv1d_block(x_, w_, b_, "leaky_relu", 0.2, True)
    fused = lambda x_, w_, b_: torch.ops.genreg.conv1d_block_forward(x_, w_, b_, "leaky_relu", 0.2, True)[0]
    return _conv_case(case, ref, fused, "conv1d_block_forward", x, w, b)


def upconv1d_block_case(batch: int, layer) -> Case:
    """Decoder block (nearest upsample to `size` + conv + bias + ReLU) forward + backward."""
    cin, cout, k, length, size = layer
    x, w, b = _conv_inputs(batch, cin, cout, k, length)
    traffic = (3 * x.numel() + 2 * batch * cout * size) * x.element_size()
    case = Case("upconv1d_block fwd+bwd", f"{batch}x{cin}x{length}->{size} k{k}->{cout}", bytes=traffic)
    ref = lambda x_, w_, b_: reference.upconv1d_block(x_, w_, b_, size, "relu", 0.0)
    fused = lambda x_, w_, b_: torch.ops.genreg.upconv1d_block_forward(x_, w_, b_, size, "relu", 0.0)[0]
    return _conv_case(case, ref, fused, "upconv1d_block_forward", x, w, b)


def _param_grads(module) -> list:
    return [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in module.parameters()]


def _with_backend(backend: str, step):
    def run():
        with kernels.use_backend(backend):
            return step()
    return run


def wgan_gp_critic_step_case(batch: int, image_size: int = 64, base_channels: int = 64) -> Case:
    """One WGAN-GP critic update as genreg's adversarial trainer does it: critic on real
    and fake, Wasserstein loss, gradient penalty (interpolate, critic, autograd.grad with
    create_graph, penalty), backward into the critic's parameters, Adam step. The critic
    is the wgan-gp model's (DCGAN-style, LayerNorm). Adam has lr 0: it does all its
    arithmetic but leaves the weights as they are, so every timed step sees the same
    critic and the check compares like with like (the parameter gradients)."""
    import genreg

    model = genreg.create("model", "wgan-gp", image_size=image_size, channels=3, base_channels=base_channels)
    critic = model.critic
    loss = genreg.create("loss", "wasserstein")
    penalty = genreg.create("penalty", "gp", weight=10.0)
    optimizer = torch.optim.Adam(critic.parameters(), lr=0.0, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(0)
    real = torch.rand(batch, 3, image_size, image_size, generator=gen)
    fake = torch.rand(batch, 3, image_size, image_size, generator=gen)

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(1)  # the penalty's interpolation weights: the same on both paths
            d_loss = loss.critic(critic(real), critic(fake)) + penalty(critic, real, fake)
        d_loss.backward()
        optimizer.step()
        return _param_grads(critic)

    case = Case("WGAN-GP critic step", f"batch {batch}, 3x{image_size}x{image_size}", bytes=0)
    case.run["reference"] = _with_backend("reference", step)
    case.skipped["compiled"] = DOUBLE_BACKWARD_SKIP
    if _fused_available("grad_penalty", case):
        case.run["fused"] = _with_backend("auto", step)
    return case


def dae_step_case(batch: int) -> Case:
    """One training step of the dae1d model (the registry's, default channels): forward,
    MSE against the clean trace, backward, Adam step (lr 0, as in the critic step).
    ``fused`` runs the ``auto`` backend, i.e. exactly what training uses by default.
    The check runs in float64 (see conv1d_block_case: in float32 a max-pool pair within
    rounding may pick another winner on the two paths)."""
    import copy

    import genreg
    import torch.nn.functional as F
    from .data.radio import radio

    data = radio(n=batch, seed=0)  # the study's traces: (batch, 1, 500) noisy and clean
    x, target = data.x, data.target
    net = genreg.create("model", "dae1d", length=x.shape[-1]).net
    optimizer = torch.optim.Adam(net.parameters(), lr=0.0)

    def step_fn(net_, optimizer_, x_, target_, forward=None):
        def step():
            optimizer_.zero_grad(set_to_none=True)
            recon = forward(x_) if forward is not None else net_(x_)
            F.mse_loss(recon, target_).backward()
            optimizer_.step()
            return _param_grads(net_)
        return step

    case = Case("DAE training step", f"batch {batch}, 1x{x.shape[-1]}", bytes=0)
    case.run["reference"] = _with_backend("reference", step_fn(net, optimizer, x, target))
    compiled = _compile(net, case)
    if compiled is not None:
        case.run["compiled"] = _with_backend("reference", step_fn(net, optimizer, x, target, compiled))
    case.run["fused"] = _with_backend("auto", step_fn(net, optimizer, x, target))
    net64 = copy.deepcopy(net).double()
    opt64 = torch.optim.Adam(net64.parameters(), lr=0.0)
    x64, target64 = x.double(), target.double()
    case.check_run["reference"] = _with_backend("reference", step_fn(net64, opt64, x64, target64))
    case.check_run["fused"] = _with_backend("auto", step_fn(net64, opt64, x64, target64))
    return case


def adam_step_case(numel: int) -> Case:
    """One Adam update of ``numel`` float32 parameters with the non-finite check: the loop's
    path without the extension (a norm over the gradients, then torch's fused Adam) against
    genreg's fused step that checks them as it reads them (:mod:`genreg.kernels.adam`)."""
    from .training.checked_adam import CheckedAdam

    gen = torch.Generator().manual_seed(0)
    start, grad = torch.randn(numel, generator=gen), torch.randn(numel, generator=gen)
    case = Case("adam step (checked)", f"{numel} params", bytes=7 * 4 * numel,
                tol=dict(rtol=0, atol=1e-6))  # 0.1 % of one update (lr 1e-3)

    def build(cls, **kw):
        p = torch.nn.Parameter(start.clone())
        p.grad = grad.clone()
        return p, cls([p], lr=1e-3, **kw)

    def checked_then_step(opt, p):
        norms = torch._foreach_norm([p.grad])
        if not math.isfinite(float(torch.stack(norms).sum())):
            raise AssertionError("unexpected non-finite gradient")
        opt.step()

    p_ref, opt_ref = build(torch.optim.Adam, fused=True)
    case.run["reference"] = lambda: checked_then_step(opt_ref, p_ref)
    case.skipped["compiled"] = "an optimiser step: torch.compile is outside this comparison"

    def once(fused: bool):
        def run():
            p, opt = build(CheckedAdam) if fused else build(torch.optim.Adam, fused=True)
            (opt.checked_step if fused else lambda: checked_then_step(opt, p))()
            return p.detach(), opt.state[p]["exp_avg"], opt.state[p]["exp_avg_sq"]
        return run

    case.check_run["reference"] = once(False)
    if _fused_available("adam_step_", case):
        p_fused, opt_fused = build(CheckedAdam)
        case.run["fused"] = opt_fused.checked_step
        case.check_run["fused"] = once(True)
    return case


def step_cases(quick: bool = False, small: bool = False) -> list[Case]:
    """The whole training steps; ``small``: tiny networks and batches (correctness runs)."""
    if small:
        return [wgan_gp_critic_step_case(4, image_size=16, base_channels=8), dae_step_case(4)]
    wgan = wgan_gp_critic_step_case(WGAN_QUICK_BATCH if quick else WGAN_BATCH)
    return [wgan] + [dae_step_case(b) for b in (DAE_BATCHES[:1] if quick else DAE_BATCHES)]


def cases(quick: bool = False, small: bool = False) -> list[Case]:
    """All benchmark cases. ``small``: tiny sizes (correctness runs); ``quick``: the
    smaller of the issue's sizes only."""
    images = SMALL_IMAGE_SIZES if small else IMAGE_SIZES[1:] if quick else IMAGE_SIZES
    traces = SMALL_TRACE_SIZES if small else TRACE_SIZES[:1] if quick else TRACE_SIZES
    out = []
    for s in images + traces:
        out.append(grad_penalty_case(s, "gp"))
    for s in traces:
        out.append(grad_penalty_case(s, "div"))
    for s in images:
        out.append(gp_interpolate_case(s))
    for s in traces:
        # the 64-channel layer only on the smaller batch: it takes ~30 s a call at 4096
        wide = not (quick or small) and s[0] <= 256
        for layer in CONV_LAYERS if wide else CONV_LAYERS[:2]:
            out.append(conv1d_block_case(s, layer))
        for layer in UPCONV_LAYERS if wide or small else UPCONV_LAYERS[:1]:
            out.append(upconv1d_block_case(s[0], layer))
    out.append(adam_step_case(2**12 if small else 2**22 if quick else 2**24))
    return out + step_cases(quick=quick, small=small)


def _flatten(result):
    if isinstance(result, (tuple, list)):
        return [t for r in result for t in _flatten(r)]
    return [result]


def check(case: Case, impl: str) -> None:
    """Raise AssertionError unless ``impl``'s results match the reference's."""
    runs = case.check_run if impl in case.check_run else case.run
    expected = _flatten(runs["reference"]())
    got = _flatten(runs[impl]())
    assert len(got) == len(expected), f"{case.group} {impl}: {len(got)} results, expected {len(expected)}"
    # Relative to each result's largest magnitude: float32 sums of ~1e5 terms (the
    # weight gradient over batch x length) differ in order between implementations.
    for i, (a, b) in enumerate(zip(got, expected)):
        assert a.shape == b.shape and a.dtype == b.dtype, f"{case.group} {impl} result {i}: {a.shape}/{a.dtype}"
        err = (a.double() - b.double()).abs().max().item() if b.numel() else 0.0
        bound = case.tol["atol"] + case.tol["rtol"] * (b.double().abs().max().item() if b.numel() else 0.0)
        assert err <= bound, f"{case.group} {impl} result {i}: max error {err:.3g} > {bound:.3g}"


def copy_bandwidth(nbytes: int = 256 * 2**20, min_run_time: float = 0.5) -> float:
    """The machine's memory bandwidth in bytes/s, from a large tensor copy
    (read + write: 2 x nbytes moved)."""
    from torch.utils.benchmark import Timer

    src = torch.empty(nbytes // 4, dtype=torch.float32).uniform_()
    dst = torch.empty_like(src)
    t = Timer("dst.copy_(src)", globals={"dst": dst, "src": src}, num_threads=torch.get_num_threads())
    t = t.blocked_autorange(min_run_time=min_run_time)
    return 2 * nbytes / t.median
