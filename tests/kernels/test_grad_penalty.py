"""genreg::grad_penalty: fused kernels against the reference, autograd, and the
penalties' full critic backward on both paths.

Tolerances: float64 1e-10 relative; float32 1e-5 relative (different summation
order); bfloat16 2e-2 relative (8-bit mantissa; both sides round the same inputs,
the fused kernel accumulates in float32/float64, the reference in bfloat16 ops).
"""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genreg import kernels
from genreg.kernels import reference
from genreg.losses.penalties import DivergencePenalty, GradientPenalty

TOL = {torch.float64: dict(rtol=1e-10, atol=1e-12), torch.float32: dict(rtol=1e-5, atol=1e-6),
       torch.bfloat16: dict(rtol=2e-2, atol=1e-2)}
MODES = [("gp", 1.0, 6.0), ("gp", 0.5, 6.0), ("div", 1.0, 6.0), ("div", 1.0, 2.0), ("div", 1.0, 3.5)]


def fused(g, mode, center, p):
    return torch.ops.genreg.grad_penalty_forward(g, mode, center, p)[0]


def fused_backward(grad_out, g, mode, center, p):
    """The backward op, with the sums of squares its forward hands over."""
    sumsq = torch.ops.genreg.grad_penalty_forward(g, mode, center, p)[1]
    return torch.ops.genreg.grad_penalty_backward(grad_out, g, sumsq, mode, center, p)


@st.composite
def grads_inputs(draw):
    """Rank 2-5, odd and even lengths, batch 1 included, sometimes non-contiguous."""
    rank = draw(st.integers(2, 5))
    shape = [draw(st.integers(1, 6))] + [draw(st.integers(1, 9)) for _ in range(rank - 1)]
    layout = draw(st.sampled_from(["contiguous", "transposed", "strided"]))
    seed = draw(st.integers(0, 2**31 - 1))
    return shape, layout, seed


def make(shape, layout, seed, dtype):
    gen = torch.Generator().manual_seed(seed)
    if layout == "transposed":  # same logical shape, last two dims swapped in memory
        x = torch.randn(shape[:-2] + [shape[-1], shape[-2]], generator=gen, dtype=torch.float64).transpose(-1, -2)
    elif layout == "strided":  # every other element of a larger buffer
        x = torch.randn(shape[:-1] + [2 * shape[-1]], generator=gen, dtype=torch.float64)[..., ::2]
    else:
        x = torch.randn(shape, generator=gen, dtype=torch.float64)
    x = x.to(dtype)
    assert list(x.shape) == shape
    return x


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@settings(max_examples=25, deadline=None)
@given(case=grads_inputs(), mode=st.sampled_from(MODES))
def test_matches_reference_forward_and_backward(fused_cpu, dtype, case, mode):
    fused_cpu("grad_penalty")
    name, center, p = mode
    g = make(*case, dtype).requires_grad_(True)
    weights = torch.linspace(0.5, 1.5, g.shape[0], dtype=dtype)
    out = fused(g, name, center, p)
    ref = reference.grad_penalty(g, name, center, p)
    torch.testing.assert_close(out, ref, **TOL[dtype])
    (d_out,) = torch.autograd.grad((out * weights).sum(), g)
    (d_ref,) = torch.autograd.grad((ref * weights).sum(), g)
    torch.testing.assert_close(d_out, d_ref, **TOL[dtype])


@pytest.mark.parametrize("name,center,p", MODES)
def test_bfloat16_and_half_match_reference_in_float64(fused_cpu, name, center, p):
    fused_cpu("grad_penalty")
    for dtype in (torch.bfloat16, torch.float16):
        g = (torch.randn(7, 3, 33, 5, generator=torch.Generator().manual_seed(3)) * 0.1).to(dtype)
        exact = reference.grad_penalty(g.double(), name, center, p)
        out = fused(g, name, center, p)
        assert out.dtype == dtype
        torch.testing.assert_close(out.double(), exact, **TOL[torch.bfloat16])
        go = torch.rand(7, dtype=torch.float64)
        d_exact = fused_backward(go, g.double(), name, center, p)
        d_out = fused_backward(go.to(dtype), g, name, center, p)
        torch.testing.assert_close(d_out.double(), d_exact, **TOL[torch.bfloat16])


def test_long_samples_and_batch_one(fused_cpu):
    """Samples longer than one reduction chunk, with fewer samples than threads."""
    fused_cpu("grad_penalty")
    g = torch.randn(1, 3, 128, 128, dtype=torch.float64, requires_grad=True)
    for name, center, p in MODES:
        torch.testing.assert_close(fused(g, name, center, p), reference.grad_penalty(g, name, center, p))
        a, = torch.autograd.grad(fused(g, name, center, p).sum(), g)
        b, = torch.autograd.grad(reference.grad_penalty(g, name, center, p).sum(), g)
        torch.testing.assert_close(a, b)
    g32 = torch.randn(3, 200_000)
    torch.testing.assert_close(fused(g32, "gp", 1.0, 6.0), reference.grad_penalty(g32.double(), "gp").float(),
                               rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("name,center,p,dtype", [("gp", 0.5, 6.0, torch.float32), ("div", 1.0, 3.5, torch.float64)])
def test_opcheck(fused_cpu, name, center, p, dtype):
    fused_cpu("grad_penalty")
    g = torch.randn(4, 3, 5, dtype=dtype, requires_grad=True)
    torch.library.opcheck(torch.ops.genreg.grad_penalty_forward, (g, name, center, p))
    go = torch.rand(4, dtype=dtype, requires_grad=True)
    sumsq = torch.ops.genreg.grad_penalty_forward(g, name, center, p)[1].detach()
    torch.library.opcheck(torch.ops.genreg.grad_penalty_backward, (go, g, sumsq, name, center, p))


@pytest.mark.parametrize("name,center,p", MODES)
def test_gradcheck_and_gradgradcheck(fused_cpu, name, center, p):
    fused_cpu("grad_penalty")
    g = torch.randn(3, 2, 5, dtype=torch.float64, requires_grad=True)
    fn = lambda x: fused(x, name, center, p)
    assert torch.autograd.gradcheck(fn, (g,))
    assert torch.autograd.gradgradcheck(fn, (g,))
    go = torch.rand(3, dtype=torch.float64, requires_grad=True)
    bwd = lambda o, x: fused_backward(o, x, name, center, p)
    assert torch.autograd.gradcheck(bwd, (go, g))
    assert torch.autograd.gradgradcheck(bwd, (go, g))


@pytest.mark.parametrize("name,center,p", MODES)
def test_pair_with_saved_sums_matches_the_reference(fused_cpu, name, center, p):
    """grad_penalty_forward / grad_penalty_backward (what grad_penalty's autograd runs)
    against the reference, and the sums of squares handed over."""
    fused_cpu("grad_penalty_forward")
    for dtype, shape in [(torch.float64, (5, 3, 7)), (torch.float32, (64, 3, 16, 16)), (torch.float32, (2, 40_000)),
                         (torch.bfloat16, (6, 33))]:
        g = torch.randn(shape, generator=torch.Generator().manual_seed(5)).to(dtype)
        penalty, sumsq = torch.ops.genreg.grad_penalty_forward(g, name, center, p)
        assert sumsq.dtype == torch.float64 and sumsq.shape == (shape[0],)
        torch.testing.assert_close(sumsq, g.double().flatten(1).pow(2).sum(1), rtol=1e-6, atol=1e-9)
        tol = TOL.get(dtype, TOL[torch.bfloat16])
        g64 = g.double().requires_grad_(True)
        want = reference.grad_penalty(g64, name, center, p)
        torch.testing.assert_close(penalty.double(), want, **tol)
        go = torch.rand(shape[0]).to(dtype)
        (want_grad,) = torch.autograd.grad(want, g64, go.double())
        torch.testing.assert_close(torch.ops.genreg.grad_penalty_backward(go, g, sumsq, name, center, p).double(),
                                   want_grad, **tol)


@pytest.mark.parametrize("name,center,p", [("gp", 0.5, 6.0), ("div", 1.0, 3.5)])
def test_pair_with_saved_sums_opcheck_and_gradcheck(fused_cpu, name, center, p):
    fused_cpu("grad_penalty_forward")
    g = torch.randn(4, 3, 5, dtype=torch.float64, requires_grad=True)
    torch.library.opcheck(torch.ops.genreg.grad_penalty_forward, (g, name, center, p))
    fwd = lambda x: torch.ops.genreg.grad_penalty_forward(x, name, center, p)
    assert torch.autograd.gradcheck(fwd, (g,)) and torch.autograd.gradgradcheck(fwd, (g,))
    # the sums as an input of their own (as the op sees them), away from g's
    go = torch.rand(4, dtype=torch.float64, requires_grad=True)
    sumsq = (g.detach().flatten(1).pow(2).sum(1) + 0.5).requires_grad_(True)
    torch.library.opcheck(torch.ops.genreg.grad_penalty_backward, (go, g, sumsq, name, center, p))
    bwd = lambda o, x, s: torch.ops.genreg.grad_penalty_backward(o, x, s, name, center, p)
    assert torch.autograd.gradcheck(bwd, (go, g, sumsq)) and torch.autograd.gradgradcheck(bwd, (go, g, sumsq))


def test_higher_orders_through_the_penalty_match_reference(fused_cpu):
    """Differentiating the penalty's gradient (create_graph) must keep the per-sample
    sums' dependence on g, which the sums saved by the forward do not carry."""
    fused_cpu("grad_penalty")
    g = torch.randn(3, 2, 5, dtype=torch.float64, requires_grad=True)

    def third_order(penalty):
        (d1,) = torch.autograd.grad(penalty(g).sum(), g, create_graph=True)
        (d2,) = torch.autograd.grad(d1.pow(3).sum(), g, create_graph=True)
        (d3,) = torch.autograd.grad(d2.pow(2).sum(), g)
        return d2.detach(), d3

    for name, center, p in MODES:
        got = third_order(lambda x: fused(x, name, center, p))
        expected = third_order(lambda x: reference.grad_penalty(x, name, center, p))
        torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("name,p", [("gp", 6.0), ("div", 6.0), ("div", 1.5)])
def test_zero_norm_gives_zero_gradient_not_nan(fused_cpu, name, p):
    fused_cpu("grad_penalty")
    g = torch.randn(3, 4, dtype=torch.float64)
    g[1] = 0
    g.requires_grad_(True)
    out = fused(g, name, 1.0, p)
    assert out[1].item() == (1.0 if name == "gp" else 0.0)
    (d,) = torch.autograd.grad(out.sum(), g, retain_graph=True)
    assert torch.isfinite(d).all() and (d[1] == 0).all()
    # second order stays finite too
    (d1,) = torch.autograd.grad(out.sum(), g, create_graph=True)
    (d2,) = torch.autograd.grad(d1.pow(2).sum(), g)
    assert torch.isfinite(d2).all()
    if name == "gp":  # the reference agrees there (vector_norm's backward is 0 at 0)
        (r,) = torch.autograd.grad(reference.grad_penalty(g, name, 1.0, p).sum(), g)
        torch.testing.assert_close(d, r)


class SmallCritic(torch.nn.Module):
    """Conv + LeakyReLU + linear: nonlinear, so second order through it matters."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.head = torch.nn.Linear(4 * 6 * 5, 1)

    def forward(self, x, y=None):
        return self.head(torch.nn.functional.leaky_relu(self.conv(x), 0.2).flatten(1)).squeeze(1)


@pytest.mark.parametrize("penalty", [GradientPenalty(weight=10.0), DivergencePenalty(k=2.0, p=6.0),
                                     DivergencePenalty(k=2.0, p=6.0, at="interpolates")], ids=repr)
def test_critic_parameter_gradients_same_on_fused_and_reference(fused_cpu, penalty):
    fused_cpu("grad_penalty")
    torch.manual_seed(0)
    critic = SmallCritic().double()
    real = torch.randn(5, 3, 6, 5, dtype=torch.float64)
    fake = torch.randn(5, 3, 6, 5, dtype=torch.float64)

    def param_grads(backend):
        critic.zero_grad()
        torch.manual_seed(1)  # the same interpolation weights on both paths
        with kernels.use_backend(backend):
            loss = penalty(critic, real, fake)
            loss.backward()
        return loss.detach(), {n: p.grad.clone() for n, p in critic.named_parameters() if p.grad is not None}

    loss_f, grads_f = param_grads("fused")
    loss_r, grads_r = param_grads("reference")
    torch.testing.assert_close(loss_f, loss_r, rtol=1e-10, atol=1e-12)
    # The input gradient of a piecewise-linear critic depends on its weights (not on
    # its biases), so the weights must get a non-zero gradient from the penalty.
    assert sorted(grads_f) == sorted(grads_r)
    assert grads_f["conv.weight"].abs().sum() > 0 and grads_f["head.weight"].abs().sum() > 0
    for name in grads_f:
        torch.testing.assert_close(grads_f[name], grads_r[name], rtol=1e-9, atol=1e-12)


def test_public_op_validates_inputs():
    g = torch.randn(2, 3)
    with pytest.raises(ValueError, match="unknown mode 'l1'"):
        kernels.grad_penalty(g, "l1")
    with pytest.raises(ValueError, match="needs p > 0"):
        kernels.grad_penalty(g, "div", p=0.0)
    with pytest.raises(ValueError, match="must be finite"):
        kernels.grad_penalty(g, "gp", center=float("nan"))
    with pytest.raises(ValueError, match="batch dimension"):
        kernels.grad_penalty(torch.tensor(1.0))
    with pytest.raises(TypeError, match="floating-point"):
        kernels.grad_penalty(torch.ones(2, 3, dtype=torch.int64))


def test_kernel_checks_its_inputs(fused_cpu):
    fused_cpu("grad_penalty")
    g = torch.randn(2, 3)
    sumsq = torch.ones(2, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="unknown mode 'l1'"):
        torch.ops.genreg.grad_penalty_backward(torch.ones(2), g, sumsq, "l1", 1.0, 6.0)
    with pytest.raises(RuntimeError, match="must be floating point"):
        torch.ops.genreg.grad_penalty_forward(torch.ones(2, 3, dtype=torch.int32), "gp", 1.0, 6.0)
    with pytest.raises(RuntimeError, match=r"grad_out must have shape \(2,\)"):
        torch.ops.genreg.grad_penalty_backward(torch.ones(3), g, sumsq, "gp", 1.0, 6.0)
    with pytest.raises(RuntimeError, match="grad_out has dtype"):
        torch.ops.genreg.grad_penalty_backward(torch.ones(2, dtype=torch.float64), g, sumsq, "gp", 1.0, 6.0)
    with pytest.raises(RuntimeError, match=r"sumsq must be float64 of shape \(2,\)"):
        torch.ops.genreg.grad_penalty_backward(torch.ones(2), g, torch.ones(2), "gp", 1.0, 6.0)
    with pytest.raises(RuntimeError, match=r"sumsq must be float64 of shape \(2,\)"):
        torch.ops.genreg.grad_penalty_backward(torch.ones(2), g, torch.ones(3, dtype=torch.float64), "gp",
                                               1.0, 6.0)
    with pytest.raises(RuntimeError, match="grad_penalty_forward: unknown mode 'l1'"):
        torch.ops.genreg.grad_penalty_forward(g, "l1", 1.0, 6.0)


def test_backend_reference_skips_the_kernel():
    g = torch.randn(3, 4, dtype=torch.float64)
    with kernels.use_backend("reference"):
        assert kernels.resolve("grad_penalty", "cpu") == "reference"
        out = kernels.grad_penalty(g, "gp")
    torch.testing.assert_close(out, reference.grad_penalty(g, "gp"))


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
def test_cuda_matches_reference(cuda_device, dtype):
    if not kernels.has_kernel("grad_penalty_forward", "cuda"):
        pytest.skip(f"no CUDA kernel for grad_penalty in this build: {kernels.extension_state()}")
    tol = TOL.get(dtype, TOL[torch.bfloat16])
    for shape in [(1, 3, 128, 128), (64, 3, 64, 64), (300, 1, 500), (2, 7)]:
        g = torch.randn(shape, device=cuda_device, dtype=torch.float64)
        for name, center, p in MODES:
            exact = reference.grad_penalty(g, name, center, p)
            out = fused(g.to(dtype), name, center, p)
            torch.testing.assert_close(out.double(), exact, **tol)
            go = torch.rand(shape[0], device=cuda_device, dtype=torch.float64)
            d_exact = fused_backward(go.cpu(), g.cpu(), name, center, p)
            d_out = fused_backward(go.to(dtype), g.to(dtype), name, center, p)
            torch.testing.assert_close(d_out.double().cpu(), d_exact, **tol)
    gg = torch.randn(4, 3, 5, device=cuda_device, dtype=torch.float64, requires_grad=True)
    torch.library.opcheck(torch.ops.genreg.grad_penalty_forward, (gg, "gp", 1.0, 6.0))
    sumsq = torch.ops.genreg.grad_penalty_forward(gg, "gp", 1.0, 6.0)[1].detach()
    go = torch.rand(4, device=cuda_device, dtype=torch.float64, requires_grad=True)
    torch.library.opcheck(torch.ops.genreg.grad_penalty_backward, (go, gg, sumsq, "gp", 1.0, 6.0))
    assert torch.autograd.gradgradcheck(lambda x: fused(x, "div", 1.0, 3.0), (gg,))
