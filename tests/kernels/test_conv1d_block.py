"""genreg conv1d_block (fused forward/backward) against the reference
F.conv1d + activation + F.max_pool1d.

Tolerances: float64 1e-10; float32 1e-4 relative / 1e-5 absolute (the fused loop
and oneDNN sum the K x C_in products in different orders).
"""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genreg import kernels
from genreg.errors import KernelError
from genreg.kernels import reference

from conv_cases import ACTS, TOL, critic_penalty_gradients, make



def fused(x, w, b, act, slope, pool):
    return torch.ops.genreg.conv1d_block_forward(x, w, b, act, slope, pool)[0]



@st.composite
def cases(draw):
    return dict(batch=draw(st.integers(1, 4)), cin=draw(st.integers(1, 5)), cout=draw(st.integers(1, 5)),
                length=draw(st.integers(2, 40)), k=draw(st.sampled_from([1, 3, 5, 9])),
                seed=draw(st.integers(0, 2**31 - 1)), non_contiguous=draw(st.booleans()),
                bias=draw(st.booleans()))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@settings(max_examples=20, deadline=None)
@given(case=cases(), act=st.sampled_from(ACTS), pool=st.booleans())
def test_matches_reference(fused_cpu, dtype, case, act, pool):
    fused_cpu("conv1d_block_forward")
    x, w, b = make(dtype=dtype, **case)
    name, slope = act
    out = fused(x, w, b, name, slope, pool)
    ref = reference.conv1d_block(x, w, b, name, slope, pool)
    torch.testing.assert_close(out, ref, **TOL[dtype])
    inputs = [t for t in (x, w, b) if t is not None]
    up = torch.randn(out.shape, dtype=dtype)
    got = torch.autograd.grad(out, inputs, up)
    want = torch.autograd.grad(ref, inputs, up)
    for a, e in zip(got, want):
        torch.testing.assert_close(a, e, **TOL[dtype])


@pytest.mark.parametrize("name,slope", ACTS)
@pytest.mark.parametrize("pool", [True, False])
def test_gradcheck_and_gradgradcheck(fused_cpu, name, slope, pool):
    fused_cpu("conv1d_block_forward")
    x, w, b = make(2, 2, 3, 9, 3, torch.float64, seed=4)
    fn = lambda x_, w_, b_: fused(x_, w_, b_, name, slope, pool)
    assert torch.autograd.gradcheck(fn, (x, w, b))
    assert torch.autograd.gradgradcheck(fn, (x, w, b))


def test_opcheck(fused_cpu):
    fused_cpu("conv1d_block_forward")
    x, w, b = make(2, 3, 4, 11, 5, torch.float32, seed=1)
    torch.library.opcheck(torch.ops.genreg.conv1d_block_forward, (x, w, b, "leaky_relu", 0.2, True))
    torch.library.opcheck(torch.ops.genreg.conv1d_block_forward, (x, w, None, "relu", 0.0, False))
    out, code = torch.ops.genreg.conv1d_block_forward(x, w, b, "leaky_relu", 0.2, True)
    go = torch.randn_like(out).requires_grad_(True)
    torch.library.opcheck(torch.ops.genreg.conv1d_block_backward,
                          (go, x, w, code, "leaky_relu", 0.2, True, True))


def test_critic_with_gradient_penalty_same_on_both_paths(fused_cpu):
    """Second order through the block: a 1-D critic made of conv1d_block layers."""
    fused_cpu("conv1d_block_forward")
    results = critic_penalty_gradients("cpu")
    for a, e in zip(results["fused"], results["reference"]):
        torch.testing.assert_close(a, e, rtol=1e-9, atol=1e-10)
    assert results["fused"][0].abs().sum() > 0 and results["fused"][2].abs().sum() > 0


@pytest.mark.parametrize("batch,cin,cout,length,k,pool", [
    (3, 7, 13, 203, 9, True),    # several position tiles, a channel tail of 1
    (1, 33, 6, 130, 5, False),   # one sample: output channels split over threads
    (40, 2, 3, 9, 3, True),      # many samples per weight-gradient pass, odd length
    (2, 1, 1, 64, 1, True),      # one channel, 1-tap kernel, exactly one tile
])
def test_larger_shapes_match_reference(fused_cpu, batch, cin, cout, length, k, pool):
    fused_cpu("conv1d_block_forward")
    x, w, b = make(batch, cin, cout, length, k, torch.float64, seed=7)
    out = fused(x, w, b, "leaky_relu", 0.1, pool)
    ref = reference.conv1d_block(x, w, b, "leaky_relu", 0.1, pool)
    torch.testing.assert_close(out, ref, **TOL[torch.float64])
    up = torch.randn(out.shape, dtype=torch.float64)
    for a, e in zip(torch.autograd.grad(out, (x, w, b), up), torch.autograd.grad(ref, (x, w, b), up)):
        torch.testing.assert_close(a, e, **TOL[torch.float64])


def test_auto_picks_fused_where_it_pays_off_and_onednn_elsewhere(fused_cpu, monkeypatch):
    fused_cpu("conv1d_block_forward")
    calls = []
    real = torch.ops.genreg.conv1d_block_forward

    def spy(x, w, *args):
        calls.append(tuple(w.shape))
        return real(x, w, *args)

    monkeypatch.setattr(torch.ops.genreg, "conv1d_block_forward", spy)
    threads = torch.get_num_threads()
    x_small, w_small = torch.randn(threads, 16, 20), torch.randn(32, 16, 3)
    x_wide, w_wide = torch.randn(threads, 256, 20), torch.randn(256, 256, 3)
    with kernels.use_backend("auto"):
        small = kernels.conv1d_block(x_small, w_small)
        wide = kernels.conv1d_block(x_wide, w_wide)
    assert calls == [(32, 16, 3)]  # the 256 x 256 layer stayed on oneDNN
    torch.testing.assert_close(small, reference.conv1d_block(x_small, w_small), **TOL[torch.float32])
    torch.testing.assert_close(wide, reference.conv1d_block(x_wide, w_wide), rtol=0, atol=0)
    assert 256 * 256 > kernels.CONV1D_FUSED_MAX_CHANNEL_PRODUCT >= 32 * 16


def test_bad_inputs_raise_clear_errors():
    x, w = torch.randn(2, 3, 10), torch.randn(4, 3, 3)
    with pytest.raises(ValueError, match=r"x must be \(batch, channels, length\)"):
        kernels.conv1d_block(torch.randn(3, 10), w)
    with pytest.raises(ValueError, match=r"weight must be \(out_channels, 3, kernel\)"):
        kernels.conv1d_block(x, torch.randn(4, 2, 3))
    with pytest.raises(ValueError, match="kernel size must be odd"):
        kernels.conv1d_block(x, torch.randn(4, 3, 4))
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        kernels.conv1d_block(x, w, torch.randn(3))
    with pytest.raises(ValueError, match="unknown activation 'tanh'"):
        kernels.conv1d_block(x, w, None, "tanh")
    with pytest.raises(TypeError, match="weight is torch.float64"):
        kernels.conv1d_block(x, w.double())
    with pytest.raises(ValueError, match="needs length >= 2"):
        kernels.conv1d_block(torch.randn(2, 3, 1), w)
    with pytest.raises(TypeError, match="pool must be a bool"):
        kernels.conv1d_block(x, w, None, "relu", 0.0, 2)


def test_kernel_checks_its_inputs(fused_cpu):
    fused_cpu("conv1d_block_forward")
    x, w = torch.randn(2, 3, 10), torch.randn(4, 3, 3)
    with pytest.raises(RuntimeError, match="kernel size must be odd"):
        torch.ops.genreg.conv1d_block_forward(x, torch.randn(4, 3, 2), None, "relu", 0.0, True)
    with pytest.raises(RuntimeError, match="unknown activation 'gelu'"):
        torch.ops.genreg.conv1d_block_forward(x, w, None, "gelu", 0.0, True)
    with pytest.raises(RuntimeError, match="float32 or float64"):
        torch.ops.genreg.conv1d_block_forward(x.half(), w.half(), None, "relu", 0.0, True)


def test_fused_backend_names_the_dtypes_each_device_takes():
    """float16/bfloat16 have a fused kernel on CUDA only; on CPU `fused` says so."""
    x, w = torch.randn(2, 1, 10, dtype=torch.float16), torch.randn(4, 1, 3, dtype=torch.float16)
    with kernels.use_backend("fused"):
        with pytest.raises(KernelError, match="cpu kernels take float32/float64, got torch.float16"):
            kernels.conv1d_block(x, w)
    with kernels.use_backend("auto"):  # auto falls back to the reference
        out = kernels.conv1d_block(x, w)
    assert out.dtype == torch.float16
    torch.testing.assert_close(out, reference.conv1d_block(x, w), rtol=0, atol=0)
