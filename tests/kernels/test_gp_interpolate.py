"""genreg::gp_interpolate: fused kernel against the reference, autograd, bad inputs.

Tolerances: float32/float64 bitwise (the kernel computes f + e(r - f) with the
reference's three roundings); bfloat16/half 1e-2 against float64 math (the kernel
rounds once, from float32).
"""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genreg import kernels
from genreg.kernels import reference

TOL = {torch.float64: dict(rtol=1e-12, atol=1e-12), torch.float32: dict(rtol=1e-6, atol=1e-6),
       torch.bfloat16: dict(rtol=1e-2, atol=1e-2), torch.float16: dict(rtol=1e-2, atol=1e-2)}


@st.composite
def cases(draw):
    rank = draw(st.integers(2, 5))
    shape = [draw(st.integers(1, 6))] + [draw(st.integers(1, 9)) for _ in range(rank - 1)]
    return shape, draw(st.booleans()), draw(st.integers(0, 2**31 - 1))


def make(shape, non_contiguous, seed, dtype):
    gen = torch.Generator().manual_seed(seed)
    if non_contiguous:  # every other element of the last dim
        mk = lambda: torch.randn(shape[:-1] + [2 * shape[-1]], generator=gen, dtype=torch.float64)[..., ::2]
    else:
        mk = lambda: torch.randn(shape, generator=gen, dtype=torch.float64)
    real, fake = mk().to(dtype), mk().to(dtype)
    eps = torch.rand(shape[0], generator=gen, dtype=torch.float64).to(dtype)
    return real, fake, eps


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@settings(max_examples=25, deadline=None)
@given(case=cases())
def test_matches_reference(fused_cpu, dtype, case):
    fused_cpu("gp_interpolate")
    real, fake, eps = make(*case, dtype)
    out = torch.ops.genreg.gp_interpolate(real, fake, eps)
    torch.testing.assert_close(out, reference.gp_interpolate(real, fake, eps), **TOL[dtype])
    # through the public op, eps may also come as (B, 1, ..., 1)
    out2 = kernels.gp_interpolate(real, fake, eps.reshape((-1,) + (1,) * (real.dim() - 1)))
    torch.testing.assert_close(out2, out, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bitwise_the_reference(fused_cpu, dtype):
    """Same roundings as the reference (no fused multiply-add), so a critic sees the
    same interpolates on both paths and its LeakyReLUs take the same branches."""
    fused_cpu("gp_interpolate")
    for shape in ([64, 3, 16, 16], [7, 1, 500], [1, 40_000]):
        real, fake, eps = make(shape, False, 11, dtype)
        assert torch.equal(torch.ops.genreg.gp_interpolate(real, fake, eps), reference.gp_interpolate(real, fake, eps))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_matches_float64_math(fused_cpu, dtype):
    fused_cpu("gp_interpolate")
    real, fake, eps = make([5, 3, 17, 9], False, 7, dtype)
    out = torch.ops.genreg.gp_interpolate(real, fake, eps)
    assert out.dtype == dtype
    exact = reference.gp_interpolate(real.double(), fake.double(), eps.double())
    torch.testing.assert_close(out.double(), exact, **TOL[dtype])


def test_opcheck_gradcheck_gradgradcheck(fused_cpu):
    fused_cpu("gp_interpolate")
    for dtype in (torch.float32, torch.float64):
        real, fake, eps = (t.requires_grad_(True) for t in make([3, 2, 5], False, 1, dtype))
        torch.library.opcheck(torch.ops.genreg.gp_interpolate, (real, fake, eps))
    real, fake, eps = (t.requires_grad_(True) for t in make([3, 2, 5], False, 2, torch.float64))
    assert torch.autograd.gradcheck(torch.ops.genreg.gp_interpolate, (real, fake, eps))
    assert torch.autograd.gradgradcheck(torch.ops.genreg.gp_interpolate, (real, fake, eps))


def test_bad_inputs_raise_clear_errors():
    real = torch.randn(4, 3)
    with pytest.raises(ValueError, match=r"fake has shape \(4, 2\), expected \(4, 3\)"):
        kernels.gp_interpolate(real, torch.randn(4, 2), torch.rand(4))
    with pytest.raises(ValueError, match="eps needs one value per sample"):
        kernels.gp_interpolate(real, torch.randn(4, 3), torch.rand(3))
    with pytest.raises(TypeError, match="fake has dtype torch.float64"):
        kernels.gp_interpolate(real, torch.randn(4, 3, dtype=torch.float64), torch.rand(4))
    with pytest.raises(ValueError, match="batch dimension"):
        kernels.gp_interpolate(torch.tensor(1.0), torch.tensor(2.0), torch.rand(1))


def test_kernel_checks_its_inputs(fused_cpu):
    fused_cpu("gp_interpolate")
    with pytest.raises(RuntimeError, match="real and fake shapes differ"):
        torch.ops.genreg.gp_interpolate(torch.randn(4, 3), torch.randn(4, 2), torch.rand(4))
    with pytest.raises(RuntimeError, match="eps needs one value per sample"):
        torch.ops.genreg.gp_interpolate(torch.randn(4, 3), torch.randn(4, 3), torch.rand(5))


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
def test_cuda_matches_reference(cuda_device, dtype):
    if not kernels.has_kernel("gp_interpolate", "cuda"):
        pytest.skip(f"no CUDA kernel for gp_interpolate in this build: {kernels.extension_state()}")
    real, fake, eps = (t.to(cuda_device) for t in make([64, 3, 33, 17], True, 5, dtype))
    out = torch.ops.genreg.gp_interpolate(real, fake, eps)
    exact = reference.gp_interpolate(real.double(), fake.double(), eps.double())
    torch.testing.assert_close(out.double(), exact, **TOL[dtype])
    if dtype == torch.float64:
        r, f, e = (t.requires_grad_(True) for t in make([3, 2, 5], False, 2, dtype))
        torch.library.opcheck(torch.ops.genreg.gp_interpolate, (r.cuda(), f.cuda(), e.cuda()))
