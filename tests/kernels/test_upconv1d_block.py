"""genreg upconv1d_block (the decoder block: nearest upsample to an exact size + conv1d
+ bias + activation, fused forward/backward) against the reference
F.interpolate + F.conv1d + activation.

Tolerances as for conv1d_block: float64 1e-10; float32 1e-4 relative / 1e-5 absolute.
"""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genreg import kernels
from genreg.kernels import reference

from conv_cases import ACTS, TOL, make



def fused(x, w, b, size, act, slope):
    return torch.ops.genreg.upconv1d_block_forward(x, w, b, size, act, slope)[0]



@st.composite
def cases(draw):
    length = draw(st.integers(1, 40))
    # sizes around 2x (the denoiser's 31 -> 62, 62 -> 125), the same, and shrinking
    size = draw(st.one_of(st.just(2 * length), st.just(2 * length + 1), st.integers(1, 90)))
    return dict(batch=draw(st.integers(1, 4)), cin=draw(st.integers(1, 5)), cout=draw(st.integers(1, 5)),
                length=length, k=draw(st.sampled_from([1, 3, 5, 7, 9])), seed=draw(st.integers(0, 2**31 - 1)),
                non_contiguous=draw(st.booleans()), bias=draw(st.booleans())), size


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@settings(max_examples=20, deadline=None)
@given(case=cases(), act=st.sampled_from(ACTS))
def test_matches_reference(fused_cpu, dtype, case, act):
    fused_cpu("upconv1d_block_forward")
    shape, size = case
    x, w, b = make(dtype=dtype, **shape)
    name, slope = act
    out = fused(x, w, b, size, name, slope)
    ref = reference.upconv1d_block(x, w, b, size, name, slope)
    torch.testing.assert_close(out, ref, **TOL[dtype])
    inputs = [t for t in (x, w, b) if t is not None]
    up = torch.randn(out.shape, dtype=dtype)
    for a, e in zip(torch.autograd.grad(out, inputs, up), torch.autograd.grad(ref, inputs, up)):
        torch.testing.assert_close(a, e, **TOL[dtype])


@pytest.mark.parametrize("batch,cin,cout,length,k,size", [
    (3, 16, 9, 62, 5, 125),    # the denoiser's odd step (gathered rows), several tiles, a channel tail
    (1, 7, 13, 125, 9, 250),   # exactly 2x (folded kernel); one sample: channels split over threads
    (2, 5, 3, 70, 7, 140),     # exactly 2x with a folded kernel that has zero taps (pad 3)
    (40, 2, 3, 5, 3, 10),      # 2x where folding saves nothing (gathered rows); many samples
])
def test_larger_shapes_match_reference(fused_cpu, batch, cin, cout, length, k, size):
    fused_cpu("upconv1d_block_forward")
    x, w, b = make(batch, cin, cout, length, k, torch.float64, seed=3)
    out = fused(x, w, b, size, "relu", 0.0)
    ref = reference.upconv1d_block(x, w, b, size, "relu", 0.0)
    torch.testing.assert_close(out, ref, **TOL[torch.float64])
    up = torch.randn(out.shape, dtype=torch.float64)
    for a, e in zip(torch.autograd.grad(out, (x, w, b), up), torch.autograd.grad(ref, (x, w, b), up)):
        torch.testing.assert_close(a, e, **TOL[torch.float64])


# (length, size, kernel): exactly 2x of a length over one tile (64), where the kernel is
# folded; and any size, with gathered rows
@pytest.mark.parametrize("name,slope,length,size,k", [(name, slope, 33, 66, 5) for name, slope in ACTS]
                         + [("leaky_relu", 0.2, 5, 11, 3)])
def test_gradcheck_and_gradgradcheck(fused_cpu, name, slope, length, size, k):
    fused_cpu("upconv1d_block_forward")
    x, w, b = make(1, 1, 2, length, k, torch.float64, seed=4)
    fn = lambda x_, w_, b_: fused(x_, w_, b_, size, name, slope)
    assert torch.autograd.gradcheck(fn, (x, w, b))
    assert torch.autograd.gradgradcheck(fn, (x, w, b))


def test_opcheck(fused_cpu):
    fused_cpu("upconv1d_block_forward")
    x, w, b = make(2, 3, 4, 6, 5, torch.float32, seed=1)
    torch.library.opcheck(torch.ops.genreg.upconv1d_block_forward, (x, w, b, 13, "leaky_relu", 0.2))
    torch.library.opcheck(torch.ops.genreg.upconv1d_block_forward, (x, w, None, 12, "relu", 0.0))
    out, code = torch.ops.genreg.upconv1d_block_forward(x, w, b, 13, "leaky_relu", 0.2)
    go = torch.randn_like(out).requires_grad_(True)
    torch.library.opcheck(torch.ops.genreg.upconv1d_block_backward,
                          (go, x, w, code, 13, "leaky_relu", 0.2, True))


def test_auto_uses_the_fused_kernel_for_the_denoiser_layers(fused_cpu, monkeypatch):
    fused_cpu("upconv1d_block_forward")
    calls = []
    real = torch.ops.genreg.upconv1d_block_forward

    def spy(x, w, b, size, *args):
        calls.append(size)
        return real(x, w, b, size, *args)

    monkeypatch.setattr(torch.ops.genreg, "upconv1d_block_forward", spy)
    x, w, b = make(torch.get_num_threads(), 16, 64, 31, 5, torch.float32, seed=2)
    with kernels.use_backend("auto"):
        out = kernels.upconv1d_block(x, w, b, 62)
    assert calls == [62]
    torch.testing.assert_close(out, reference.upconv1d_block(x, w, b, 62), **TOL[torch.float32])


def test_bad_inputs_raise_clear_errors():
    x, w = torch.randn(2, 3, 10), torch.randn(4, 3, 3)
    with pytest.raises(ValueError, match=r"x must be \(batch, channels, length\)"):
        kernels.upconv1d_block(torch.randn(3, 10), w, None, 20)
    with pytest.raises(ValueError, match=r"weight must be \(out_channels, 3, kernel\)"):
        kernels.upconv1d_block(x, torch.randn(4, 2, 3), None, 20)
    with pytest.raises(ValueError, match="kernel size must be odd"):
        kernels.upconv1d_block(x, torch.randn(4, 3, 4), None, 20)
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        kernels.upconv1d_block(x, w, torch.randn(3), 20)
    with pytest.raises(ValueError, match="unknown activation 'tanh'"):
        kernels.upconv1d_block(x, w, None, 20, "tanh")
    with pytest.raises(ValueError, match="size must be an int >= 1"):
        kernels.upconv1d_block(x, w, None, 0)
    with pytest.raises(ValueError, match="size must be an int >= 1"):
        kernels.upconv1d_block(x, w, None, 20.0)
    with pytest.raises(TypeError, match="weight is torch.float64"):
        kernels.upconv1d_block(x, w.double(), None, 20)


def test_kernel_checks_its_inputs(fused_cpu):
    fused_cpu("upconv1d_block_forward")
    x, w = torch.randn(2, 3, 10), torch.randn(4, 3, 3)
    op = torch.ops.genreg.upconv1d_block_forward
    with pytest.raises(RuntimeError, match="size must be >= 1"):
        op(x, w, None, 0, "relu", 0.0)
    with pytest.raises(RuntimeError, match="kernel size must be odd"):
        op(x, torch.randn(4, 3, 2), None, 20, "relu", 0.0)
    with pytest.raises(RuntimeError, match="unknown activation 'gelu'"):
        op(x, w, None, 20, "gelu", 0.0)
    with pytest.raises(RuntimeError, match="float32 or float64"):
        op(x.half(), w.half(), None, 20, "relu", 0.0)
    out, code = op(x, w, None, 20, "relu", 0.0)
    with pytest.raises(RuntimeError, match="grad_out must have shape"):
        torch.ops.genreg.upconv1d_block_backward(out[:, :, :19], x, w, code, 20, "relu", 0.0, False)
