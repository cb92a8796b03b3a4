"""genreg upconv1d_block's CUDA kernel against the reference (skipped without a GPU).

The oracle is the reference (F.interpolate + F.conv1d + activation) in float64 on the
same device, given exactly the inputs the kernel sees (rounded to its dtype); float32
is never compared with a float32 reference, which may use TF32 on Ampere and later.
Tolerances: cuda_cases.CUDA_TOL.
"""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genreg import kernels
from genreg.kernels import reference

from conv_cases import ACTS, make_float64
from cuda_cases import CUDA_TOL, assert_close_scaled, need_cuda_kernel

pytestmark = pytest.mark.cuda


@pytest.fixture
def fused_cuda(cuda_device):
    need_cuda_kernel("upconv1d_block_forward")
    return cuda_device


def fused(x, w, b, size, act, slope):
    return torch.ops.genreg.upconv1d_block_forward(x, w, b, size, act, slope)


def check_against_float64(x64, w64, b64, size, act, slope, dtype):
    """Forward against the float64 reference; the backward too in float64. In float32 a
    pre-activation within rounding of 0 can take the other slope than in float64 (about
    one output in 10^7), so there the backward op is checked given the kernel's own
    code, against the float64 kernel given the same code (itself checked above)."""
    cast = lambda t: None if t is None else t.to(dtype).detach().requires_grad_(True)
    x, w, b = cast(x64), cast(w64), cast(b64)
    xr, wr, br = (None if t is None else t.detach().double().requires_grad_(True) for t in (x, w, b))
    out, code = fused(x, w, b, size, act, slope)
    want = reference.upconv1d_block(xr, wr, br, size, act, slope)
    tol = CUDA_TOL[dtype]
    assert out.dtype == dtype and out.shape == want.shape
    assert_close_scaled(out, want, tol, "forward")
    up = torch.randn(out.shape, dtype=torch.float64, device=out.device)
    if dtype == torch.float64:
        got = torch.autograd.grad(out, [t for t in (x, w, b) if t is not None], up)
        exp = torch.autograd.grad(want, [t for t in (xr, wr, br) if t is not None], up)
    else:
        has_bias = b is not None
        got = torch.ops.genreg.upconv1d_block_backward(up.to(dtype), x, w, code, size, act, slope, has_bias)
        exp = torch.ops.genreg.upconv1d_block_backward(up, xr, wr, code, size, act, slope, has_bias)
        got, exp = (got[:3] if has_bias else got[:2]), (exp[:3] if has_bias else exp[:2])
    for name, a, e in zip(("grad x", "grad weight", "grad bias"), got, exp):
        assert a.dtype == dtype
        assert_close_scaled(a, e, tol, name)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name,slope", ACTS)
@pytest.mark.parametrize("shape", [
    (1, 1, 4, 9, 5, 18),       # batch 1, exactly 2x
    (3, 16, 9, 62, 5, 125),    # the denoiser's odd step, a channel tail (9 = 8 + 1)
    (2, 20, 3, 31, 9, 62),     # more input channels than one shared-memory chunk (16)
    (2, 5, 40, 30, 1, 30),     # size == length, kernel 1, out channels over one gradient tile (32)
    (2, 3, 4, 50, 3, 17),      # shrinking: some inputs are copied nowhere (zero gradient)
    (2, 9, 6, 40, 7, 97),      # gradient columns spill into a second tile (+ bias column)
    (64, 16, 32, 250, 9, 500), # the denoiser's last 2x step at batch 64: many reduction tiles
])
def test_matches_float64_reference(fused_cuda, dtype, name, slope, shape):
    batch, cin, cout, length, k, size = shape
    x, w, b = make_float64(batch, cin, cout, length, k, fused_cuda, seed=sum(shape))
    check_against_float64(x, w, b, size, name, slope, dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.integers(1, 4), cin=st.integers(1, 6), cout=st.integers(1, 11), length=st.integers(1, 70),
       size_kind=st.sampled_from(["2x", "2x+1", "any"]), any_size=st.integers(1, 150),
       k=st.sampled_from([1, 3, 5, 9, 15]), act=st.sampled_from(ACTS), bias=st.booleans(),
       non_contiguous=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_random_shapes_match_float64_reference(fused_cuda, dtype, batch, cin, cout, length, size_kind, any_size, k,
                                               act, bias, non_contiguous, seed):
    size = {"2x": 2 * length, "2x+1": 2 * length + 1, "any": any_size}[size_kind]
    x, w, b = make_float64(batch, cin, cout, length, k, fused_cuda, seed, bias=bias, non_contiguous=non_contiguous)
    check_against_float64(x, w, b, size, act[0], act[1], dtype)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name,slope", ACTS)
@pytest.mark.parametrize("shape", [(1, 1, 16, 250, 9, 500), (8, 16, 24, 62, 5, 125), (3, 5, 7, 33, 3, 40)])
def test_half_types_forward_and_backward(fused_cuda, dtype, name, slope, shape):
    batch, cin, cout, length, k, size = shape
    x64, w64, b64 = make_float64(batch, cin, cout, length, k, fused_cuda, seed=7 + length)
    x, w, b = x64.to(dtype), w64.to(dtype), b64.to(dtype)
    tol = CUDA_TOL[dtype]
    out, code = fused(x, w, b, size, name, slope)
    assert out.dtype == dtype and code.dtype == torch.uint8
    assert_close_scaled(out, reference.upconv1d_block(x.double(), w.double(), b.double(), size, name, slope), tol,
                        "forward")
    # the sign of z, wherever rounding does not decide it
    u = torch.nn.functional.interpolate(x.double(), size=size, mode="nearest")
    z = torch.nn.functional.conv1d(u, w.double(), b.double(), padding=k // 2)
    clear = z.abs() > 4 * tol * float(z.abs().max())
    assert torch.equal(((code & 2) != 0)[clear], (z > 0)[clear]), "signs of z differ from the float64 ones"
    # the backward op, given this code, against the same routing in float64 torch ops
    neg = {"relu": 0.0, "leaky_relu": slope}.get(name, 1.0)
    go = torch.randn(out.shape, dtype=torch.float64, device=fused_cuda).to(dtype)
    gx, gw, gb = torch.ops.genreg.upconv1d_block_backward(go, x, w, code, size, name, slope, True)
    gz = go.double() * torch.where((code & 2) != 0, 1.0, neg)
    src = torch.nn.functional.interpolate(torch.arange(length, dtype=torch.float64, device=fused_cuda)
                                          .reshape(1, 1, -1), size=size, mode="nearest").reshape(-1).long()
    gu = torch.nn.functional.conv_transpose1d(gz, w.double(), padding=k // 2)
    exp_x = torch.zeros(x.shape, dtype=torch.float64, device=fused_cuda).index_add(2, src, gu)
    exp_w = torch.nn.grad.conv1d_weight(u, w.shape, gz, padding=k // 2)
    for what, got, exp in (("grad x", gx, exp_x), ("grad weight", gw, exp_w), ("grad bias", gb, gz.sum((0, 2)))):
        assert got.dtype == dtype
        assert_close_scaled(got, exp, tol, what)


def test_float16_relu_of_an_overflowing_pre_activation_is_zero(fused_cuda):
    """z = 300 * 9 * -30 overflows float16 to -inf: relu gives 0 (not 0 * -inf = NaN), and
    an infinite gradient there gives 0 (the reference's threshold_backward)."""
    x = torch.full((1, 1, 16), 300.0, dtype=torch.float16, device=fused_cuda)
    w = torch.full((1, 1, 9), -30.0, dtype=torch.float16, device=fused_cuda)
    out, code = fused(x, w, None, 32, "relu", 0.0)
    want = reference.upconv1d_block(x, w, None, 32, "relu", 0.0)
    assert torch.equal(out, want) and torch.equal(out, torch.zeros_like(out))
    go = torch.full_like(out, float("inf"))
    gx, gw, _ = torch.ops.genreg.upconv1d_block_backward(go, x, w, code, 32, "relu", 0.0, False)
    assert torch.equal(gx, torch.zeros_like(gx)) and torch.equal(gw, torch.zeros_like(gw))


def test_half_types_through_genreg_kernels(fused_cuda):
    x64, w64, b64 = make_float64(2, 1, 16, 31, 9, fused_cuda, seed=3)
    for dtype in (torch.float16, torch.bfloat16):
        x, w, b = (t.to(dtype).requires_grad_(True) for t in (x64, w64, b64))
        with kernels.use_backend("fused"):
            out = kernels.upconv1d_block(x, w, b, 62, "leaky_relu", 0.2)
        out.sum().backward()
        want = reference.upconv1d_block(x.detach().double(), w.detach().double(), b.detach().double(), 62,
                                        "leaky_relu", 0.2)
        assert_close_scaled(out, want, CUDA_TOL[dtype], f"{dtype} forward")
        assert x.grad.dtype == dtype and torch.isfinite(w.grad.float()).all()


@pytest.mark.parametrize("name,slope,length,size,k", [(name, slope, 33, 66, 5) for name, slope in ACTS]
                         + [("leaky_relu", 0.2, 5, 11, 3), ("relu", 0.0, 9, 4, 3)])
def test_gradcheck_and_gradgradcheck(fused_cuda, name, slope, length, size, k):
    x, w, b = (t.requires_grad_(True) for t in make_float64(1, 2, 3, length, k, fused_cuda, seed=4))
    fn = lambda x_, w_, b_: fused(x_, w_, b_, size, name, slope)[0]
    assert torch.autograd.gradcheck(fn, (x, w, b))
    assert torch.autograd.gradgradcheck(fn, (x, w, b))


def test_opcheck(fused_cuda):
    x, w, b = (t.float().requires_grad_(True) for t in make_float64(2, 3, 4, 6, 5, fused_cuda, seed=1))
    torch.library.opcheck(torch.ops.genreg.upconv1d_block_forward, (x, w, b, 13, "leaky_relu", 0.2))
    torch.library.opcheck(torch.ops.genreg.upconv1d_block_forward, (x, w, None, 12, "relu", 0.0))
    out, code = fused(x, w, b, 13, "leaky_relu", 0.2)
    go = torch.randn_like(out).requires_grad_(True)
    torch.library.opcheck(torch.ops.genreg.upconv1d_block_backward, (go, x, w, code, 13, "leaky_relu", 0.2, True))


def test_matches_the_cpu_kernel(fused_cuda):
    """The same outputs, codes and gradients as the CPU kernel in float64, on the 2x
    (folded on CPU) and the odd step."""
    for length, size, k in ((125, 250, 9), (62, 125, 5)):
        x, w, b = (t.cpu().requires_grad_(True) for t in make_float64(2, 4, 6, length, k, "cpu", seed=length))
        xg, wg, bg = (t.detach().to(fused_cuda).requires_grad_(True) for t in (x, w, b))
        for act, slope in ACTS:
            out_c, code_c = fused(x, w, b, size, act, slope)
            out_g, code_g = fused(xg, wg, bg, size, act, slope)
            assert torch.equal(code_g.cpu(), code_c)
            torch.testing.assert_close(out_g.cpu(), out_c, rtol=1e-12, atol=1e-12)
            go = torch.randn(out_c.shape, dtype=torch.float64)
            for a, e in zip(torch.autograd.grad(out_g, (xg, wg, bg), go.to(fused_cuda)),
                            torch.autograd.grad(out_c, (x, w, b), go)):
                torch.testing.assert_close(a.cpu(), e, rtol=1e-11, atol=1e-11)


def test_auto_picks_the_cuda_kernel_for_few_taps_only(fused_cuda, monkeypatch):
    calls = []
    ref = reference.upconv1d_block
    monkeypatch.setattr(reference, "upconv1d_block", lambda *a, **k: calls.append(1) or ref(*a, **k))
    few = make_float64(2, 1, 16, 31, 9, fused_cuda, seed=2)  # 9 taps per output
    many = make_float64(2, 32, 16, 31, 9, fused_cuda, seed=2)  # 288 taps per output
    assert 9 <= kernels.CONV1D_CUDA_FUSED_MAX_TAPS < 288
    with kernels.use_backend("auto"):
        out = kernels.upconv1d_block(*few, 62)
        assert calls == []
        torch.testing.assert_close(out, fused(*few, 62, "relu", 0.01)[0], rtol=0, atol=0)
        kernels.upconv1d_block(*many, 62)
        assert calls == [1]


def test_kernel_checks_its_inputs(fused_cuda):
    x, w = torch.randn(2, 3, 10, device=fused_cuda), torch.randn(4, 3, 3, device=fused_cuda)
    with pytest.raises(RuntimeError, match="size must be >= 1"):
        fused(x, w, None, 0, "relu", 0.0)
    with pytest.raises(RuntimeError, match="kernel size must be odd"):
        fused(x, torch.randn(4, 3, 2, device=fused_cuda), None, 20, "relu", 0.0)
    with pytest.raises(RuntimeError, match="kernel sizes up to 513"):
        fused(torch.randn(1, 1, 600, device=fused_cuda), torch.randn(1, 1, 515, device=fused_cuda), None, 900,
              "relu", 0.0)
    with pytest.raises(RuntimeError, match="unknown activation 'gelu'"):
        fused(x, w, None, 20, "gelu", 0.0)
    with pytest.raises(RuntimeError, match="float32, float64, float16 or bfloat16"):
        fused(x.int(), w.int(), None, 20, "relu", 0.0)
    with pytest.raises(RuntimeError, match="needs x and weight on one CUDA device"):
        fused(x, w.cpu(), None, 20, "relu", 0.0)
    with pytest.raises(RuntimeError, match="bias must have shape"):
        fused(x, w, torch.randn(3, device=fused_cuda), 20, "relu", 0.0)
    out, code = fused(x, w, None, 20, "relu", 0.0)
    with pytest.raises(RuntimeError, match="code must be uint8"):
        torch.ops.genreg.upconv1d_block_backward(out, x, w, code.int(), 20, "relu", 0.0, False)
    with pytest.raises(RuntimeError, match="grad_out must have shape"):
        torch.ops.genreg.upconv1d_block_backward(out[..., :-1], x, w, code, 20, "relu", 0.0, False)
    with pytest.raises(RuntimeError, match="grad_out and code must be on"):
        torch.ops.genreg.upconv1d_block_backward(out.cpu(), x, w, code, 20, "relu", 0.0, False)
