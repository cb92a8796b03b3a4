"""genreg conv1d_block's CUDA kernel against the reference (skipped without a GPU).

The oracle is the reference (F.conv1d + activation + F.max_pool1d) in float64 on the
same device: cuDNN computes float64 exactly enough, and float32 convolutions on CUDA
may use TF32, so float32 results are compared against float64, never against the
reference in float32.

Tolerances (relative to the oracle's largest value where sums can cancel):
  float64   1e-10
  float32   1e-4   (float32 accumulation, a different summation order)
  float16   2e-3   (inputs exactly representable; float32 accumulation, one rounding
                    of z and of each result to 11 bits)
  bfloat16  1.6e-2 (the same with 8 bits)
Half types: the forward's pooled winners (the code) are compared only where the pair
is not within the rounding tolerance of a tie, and the backward op is checked given
the kernel's own code, against the same routing in float64 torch ops.
"""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genreg import kernels
from genreg.kernels import reference

from conv_cases import ACTS, critic_penalty_gradients, make_float64

pytestmark = pytest.mark.cuda

TOL = {torch.float64: 1e-10, torch.float32: 1e-4, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}


@pytest.fixture
def fused_cuda(cuda_device):
    if not kernels.has_kernel("conv1d_block_forward", "cuda"):
        pytest.skip(f"no CUDA kernel for conv1d_block in this build: {kernels.extension_state()}")
    return cuda_device


def assert_close_scaled(got, want, tol, what):
    """|got - want| <= tol * (|want| + max|want|): relative, with cancellation allowed for."""
    got, want = got.double(), want.double()
    got, want = got.detach(), want.detach()
    scale = want.abs().max().clamp_min(1e-30)
    torch.testing.assert_close(got, want, rtol=tol, atol=tol * float(scale), msg=lambda m: f"{what}: {m}")


def fused(x, w, b, act, slope, pool):
    return torch.ops.genreg.conv1d_block_forward(x, w, b, act, slope, pool)


def check_against_float64(x64, w64, b64, act, slope, pool, dtype):
    """Forward and backward (autograd through the fused op) against the float64 reference."""
    cast = lambda t: None if t is None else t.to(dtype).detach().requires_grad_(True)
    x, w, b = cast(x64), cast(w64), cast(b64)
    # the oracle sees exactly the inputs the kernel sees (rounded to dtype)
    xr, wr, br = (None if t is None else t.detach().double().requires_grad_(True) for t in (x, w, b))
    out = fused(x, w, b, act, slope, pool)[0]
    want = reference.conv1d_block(xr, wr, br, act, slope, pool)
    tol = TOL[dtype]
    assert out.dtype == dtype and out.shape == want.shape
    assert_close_scaled(out, want, tol, "forward")
    up = torch.randn(out.shape, dtype=torch.float64, device=out.device)
    inputs = [t for t in (x, w, b) if t is not None]
    got = torch.autograd.grad(out, inputs, up.to(dtype))
    exp = torch.autograd.grad(want, [t for t in (xr, wr, br) if t is not None], up.to(dtype).double())
    for name, a, e in zip(("grad x", "grad weight", "grad bias"), got, exp):
        assert a.dtype == dtype
        assert_close_scaled(a, e, tol, name)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name,slope", ACTS)
@pytest.mark.parametrize("pool", [True, False])
@pytest.mark.parametrize("shape", [
    (1, 1, 4, 9, 5),      # batch 1, odd length, one input channel
    (3, 2, 5, 2, 3),      # shortest row the pool takes
    (2, 3, 9, 300, 9),    # two position tiles, out channels not a multiple of the tile (8)
    (2, 20, 3, 37, 5),    # more input channels than one shared-memory chunk (16)
    (3, 4, 40, 7, 1),     # kernel 1, more out channels than one weight-gradient tile (32)
    (2, 9, 6, 65, 7),     # weight-gradient columns spill into a second tile (+ bias column)
    (4, 1, 32, 501, 9),   # the denoiser's first layer shape, odd length, three tiles
])
def test_matches_float64_reference(fused_cuda, dtype, name, slope, pool, shape):
    batch, cin, cout, length, k = shape
    x, w, b = make_float64(batch, cin, cout, length, k, fused_cuda, seed=sum(shape))
    check_against_float64(x, w, b, name, slope, pool, dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
# fused_cuda is function-scoped but stateless: safe to share between examples
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.integers(1, 4), cin=st.integers(1, 6), cout=st.integers(1, 11), length=st.integers(2, 70),
       k=st.sampled_from([1, 3, 5, 9, 15]), act=st.sampled_from(ACTS), pool=st.booleans(), bias=st.booleans(),
       non_contiguous=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_random_shapes_match_float64_reference(fused_cuda, dtype, batch, cin, cout, length, k, act, pool, bias,
                                               non_contiguous, seed):
    x, w, b = make_float64(batch, cin, cout, length, k, fused_cuda, seed, bias=bias, non_contiguous=non_contiguous)
    check_against_float64(x, w, b, act[0], act[1], pool, dtype)


def _grad_at_z(go, code, length, slope_neg, pool):
    """The routed gradient at z, in float64 torch ops (the same rule as the kernel)."""
    one, neg = (torch.tensor(v, dtype=go.dtype, device=go.device) for v in (1.0, slope_neg))
    g = go * torch.where((code & 2) != 0, one, neg)
    if not pool:
        return g
    second = (code & 1).bool()
    pairs = torch.stack((torch.where(second, 0.0, g), torch.where(second, g, 0.0)), dim=-1)
    g = pairs.reshape(g.shape[0], g.shape[1], -1)
    return torch.nn.functional.pad(g, (0, length - g.shape[2]))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name,slope", ACTS)
@pytest.mark.parametrize("pool", [True, False])
@pytest.mark.parametrize("shape", [(1, 1, 16, 501, 9), (8, 16, 24, 125, 5), (3, 5, 7, 33, 3)])
def test_half_types_forward_and_backward(fused_cuda, dtype, name, slope, pool, shape):
    batch, cin, cout, length, k = shape
    x64, w64, b64 = make_float64(batch, cin, cout, length, k, fused_cuda, seed=7 + length)
    x, w, b = x64.to(dtype), w64.to(dtype), b64.to(dtype)
    tol = TOL[dtype]
    out, code = fused(x, w, b, name, slope, pool)
    assert out.dtype == dtype and code.dtype == torch.uint8
    want = reference.conv1d_block(x.double(), w.double(), b.double(), name, slope, pool)
    assert_close_scaled(out, want, tol, "forward")

    # the code: the winner and the sign of z, wherever they are not decided by rounding
    neg = {"relu": 0.0, "leaky_relu": slope}.get(name, 1.0)
    z = torch.nn.functional.conv1d(x.double(), w.double(), b.double(), padding=k // 2)
    a = torch.where(z > 0, z, neg * z)
    margin = 4 * tol * float(z.abs().max())
    if pool:
        a0, a1 = a[..., 0:2 * out.shape[2]:2], a[..., 1:2 * out.shape[2]:2]
        clear = (a1 - a0).abs() > margin
        assert torch.equal((code[clear] & 1).bool(), (a1 > a0)[clear]), "pooled winners differ from the float64 ones"
        z_win = torch.where((code & 1).bool(), z[..., 1:2 * out.shape[2]:2], z[..., 0:2 * out.shape[2]:2])
    else:
        z_win = z
    clear = z_win.abs() > margin
    assert torch.equal(((code & 2) != 0)[clear], (z_win > 0)[clear]), "signs of z differ from the float64 ones"

    # the backward op, given this code, against the same routing in float64 torch ops
    go = torch.randn(out.shape, dtype=torch.float64, device=fused_cuda).to(dtype)
    gx, gw, gb = torch.ops.genreg.conv1d_block_backward(go, x, w, code, name, slope, pool, True)
    gz = _grad_at_z(go.double(), code, length, neg, pool)
    pad = k // 2
    exp_x = torch.nn.functional.conv_transpose1d(gz, w.double(), padding=pad)
    exp_w = torch.nn.grad.conv1d_weight(x.double(), w.shape, gz, padding=pad)
    for what, got, exp in (("grad x", gx, exp_x), ("grad weight", gw, exp_w), ("grad bias", gb, gz.sum((0, 2)))):
        assert got.dtype == dtype
        assert_close_scaled(got, exp, tol, what)


def test_half_types_through_genreg_kernels(fused_cuda):
    """genreg.kernels.conv1d_block takes float16/bfloat16 on CUDA (the CPU kernel does not)."""
    x64, w64, b64 = make_float64(2, 1, 16, 64, 9, fused_cuda, seed=3)
    for dtype in (torch.float16, torch.bfloat16):
        x, w, b = (t.to(dtype).requires_grad_(True) for t in (x64, w64, b64))
        with kernels.use_backend("fused"):
            out = kernels.conv1d_block(x, w, b, "leaky_relu", 0.2)
        out.sum().backward()
        want = reference.conv1d_block(x.detach().double(), w.detach().double(), b.detach().double(), "leaky_relu", 0.2)
        assert_close_scaled(out, want, TOL[dtype], f"{dtype} forward")
        assert x.grad.dtype == dtype and torch.isfinite(w.grad.float()).all()


@pytest.mark.parametrize("name,slope", ACTS)
@pytest.mark.parametrize("pool", [True, False])
def test_gradcheck_and_gradgradcheck(fused_cuda, name, slope, pool):
    x, w, b = (t.requires_grad_(True) for t in make_float64(2, 2, 3, 9, 3, fused_cuda, seed=4))
    fn = lambda x_, w_, b_: fused(x_, w_, b_, name, slope, pool)[0]
    assert torch.autograd.gradcheck(fn, (x, w, b))
    assert torch.autograd.gradgradcheck(fn, (x, w, b))


def test_opcheck(fused_cuda):
    x, w, b = (t.float().requires_grad_(True) for t in make_float64(2, 3, 4, 11, 5, fused_cuda, seed=1))
    torch.library.opcheck(torch.ops.genreg.conv1d_block_forward, (x, w, b, "leaky_relu", 0.2, True))
    torch.library.opcheck(torch.ops.genreg.conv1d_block_forward, (x, w, None, "relu", 0.0, False))
    out, code = fused(x, w, b, "leaky_relu", 0.2, True)
    go = torch.randn_like(out).requires_grad_(True)
    torch.library.opcheck(torch.ops.genreg.conv1d_block_backward, (go, x, w, code, "leaky_relu", 0.2, True, True))


def test_matches_the_cpu_kernel_bit_for_bit_in_the_code(fused_cuda):
    """Same winners and signs as the CPU kernel, ties included (constant input)."""
    x = torch.ones(2, 1, 12, dtype=torch.float64)
    x[1, 0, ::3] = 2.0
    w = torch.ones(3, 1, 1, dtype=torch.float64)
    w[1] = -1.0
    for act, slope in ACTS:
        out_cpu, code_cpu = fused(x, w, None, act, slope, True)
        out_gpu, code_gpu = fused(x.to(fused_cuda), w.to(fused_cuda), None, act, slope, True)
        assert torch.equal(code_gpu.cpu(), code_cpu)
        torch.testing.assert_close(out_gpu.cpu(), out_cpu, rtol=0, atol=0)


def test_critic_with_gradient_penalty_same_on_both_paths(fused_cuda):
    """Second order through the CUDA block: a 1-D critic made of conv1d_block layers."""
    results = critic_penalty_gradients(fused_cuda)
    for a, e in zip(results["fused"], results["reference"]):
        torch.testing.assert_close(a, e, rtol=1e-9, atol=1e-10)
    assert results["fused"][0].abs().sum() > 0 and results["fused"][2].abs().sum() > 0


def test_auto_picks_the_cuda_kernel_for_few_taps_only(fused_cuda, monkeypatch):
    calls = []
    ref = reference.conv1d_block
    monkeypatch.setattr(reference, "conv1d_block", lambda *a, **k: calls.append(1) or ref(*a, **k))
    few = make_float64(2, 1, 16, 40, 9, fused_cuda, seed=2)  # 9 taps per output
    many = make_float64(2, 32, 16, 40, 9, fused_cuda, seed=2)  # 288 taps per output
    assert 9 <= kernels.CONV1D_CUDA_FUSED_MAX_TAPS < 288
    with kernels.use_backend("auto"):
        out = kernels.conv1d_block(*few)
        assert calls == []
        torch.testing.assert_close(out, fused(*few, "relu", 0.01, True)[0], rtol=0, atol=0)
        kernels.conv1d_block(*many)
        assert calls == [1]


def test_kernel_checks_its_inputs(fused_cuda):
    x, w = torch.randn(2, 3, 10, device=fused_cuda), torch.randn(4, 3, 3, device=fused_cuda)
    with pytest.raises(RuntimeError, match="kernel size must be odd"):
        fused(x, torch.randn(4, 3, 2, device=fused_cuda), None, "relu", 0.0, True)
    with pytest.raises(RuntimeError, match="kernel sizes up to 513"):
        fused(torch.randn(1, 1, 600, device=fused_cuda), torch.randn(1, 1, 515, device=fused_cuda), None, "relu", 0.0,
              True)
    with pytest.raises(RuntimeError, match="unknown activation 'gelu'"):
        fused(x, w, None, "gelu", 0.0, True)
    with pytest.raises(RuntimeError, match="float32, float64, float16 or bfloat16"):
        fused(x.int(), w.int(), None, "relu", 0.0, True)
    with pytest.raises(RuntimeError, match="needs x and weight on one CUDA device"):
        fused(x, w.cpu(), None, "relu", 0.0, True)
    with pytest.raises(RuntimeError, match="weight has dtype"):
        fused(x, w.double(), None, "relu", 0.0, True)
    with pytest.raises(RuntimeError, match="bias must have shape"):
        fused(x, w, torch.randn(3, device=fused_cuda), "relu", 0.0, True)
    with pytest.raises(RuntimeError, match="max-pool 2 needs length >= 2"):
        fused(x[..., :1], w, None, "relu", 0.0, True)
    out, code = fused(x, w, None, "relu", 0.0, True)
    with pytest.raises(RuntimeError, match="code must be uint8"):
        torch.ops.genreg.conv1d_block_backward(out, x, w, code.int(), "relu", 0.0, True, False)
    with pytest.raises(RuntimeError, match="grad_out must have shape"):
        torch.ops.genreg.conv1d_block_backward(out[..., :-1], x, w, code, "relu", 0.0, True, False)
    with pytest.raises(RuntimeError, match="grad_out and code must be on"):
        torch.ops.genreg.conv1d_block_backward(out.cpu(), x, w, code, "relu", 0.0, True, False)
