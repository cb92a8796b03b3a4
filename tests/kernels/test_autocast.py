"""genreg's ops under torch.autocast (issue 16 point 5e): each does what torch's
autocast does to the ops of its reference (rules in genreg/kernels/_autocast.py), on
every backend -- a bfloat16 activation meeting float32 parameters no longer raises.

Compared with the reference run under the same autocast region: same dtype, values
within bfloat16 rounding (2e-2; both paths round the same inputs to bfloat16), and
gradients reaching the float32 parameters in float32.
"""

import pytest
import torch

from genreg import kernels
from genreg.kernels import reference

BF16 = dict(rtol=2e-2, atol=2e-2)
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
BACKENDS = ["auto", "fused", "reference"]


def run_under_autocast(device, backend, fn, ref_fn, inputs):
    """(output, grads) of fn on `backend` and of the reference, both under autocast."""
    results = []
    for f in (fn, ref_fn):
        leaves = [t.detach().clone().requires_grad_(True) for t in inputs]
        with torch.autocast(device, dtype=torch.bfloat16), kernels.use_backend(backend):
            out = f(*leaves)
        grads = torch.autograd.grad(out.float().sum(), leaves)
        results.append((out, grads, leaves))
    return results


def maybe_unfused(call):
    """Run `call`; under backend `fused` a dtype without a fused kernel is a KernelError
    naming the dtypes (CPU's conv kernels take float32/float64), never a dtype clash."""
    from genreg.errors import KernelError

    try:
        return call()
    except KernelError as exc:
        assert "bfloat16" in str(exc), str(exc)
        pytest.skip(f"no fused kernel for bfloat16 here: {exc}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("x_dtype", [torch.bfloat16, torch.float32])
@pytest.mark.parametrize("op", ["conv1d_block", "upconv1d_block"])
def test_conv_blocks_take_a_half_activation_and_float32_weights(device, backend, x_dtype, op):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 24, generator=gen).to(device, x_dtype)
    w = (torch.randn(5, 3, 5, generator=gen) * 0.3).to(device)
    b = (torch.randn(5, generator=gen) * 0.1).to(device)
    if op == "conv1d_block":
        fn = lambda x_, w_, b_: kernels.conv1d_block(x_, w_, b_, "leaky_relu", 0.2)
        ref = lambda x_, w_, b_: reference.conv1d_block(x_, w_, b_, "leaky_relu", 0.2)
    else:
        fn = lambda x_, w_, b_: kernels.upconv1d_block(x_, w_, b_, 48, "relu")
        ref = lambda x_, w_, b_: reference.upconv1d_block(x_, w_, b_, 48, "relu")
    (out, grads, leaves), (want, want_grads, _) = maybe_unfused(
        lambda: run_under_autocast(device, backend, fn, ref, [x, w, b]))
    assert out.dtype == want.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), want.float(), **BF16)
    for g, e, leaf in zip(grads, want_grads, leaves):
        assert g.dtype == e.dtype == leaf.dtype  # float32 parameters get float32 gradients
        torch.testing.assert_close(g.float(), e.float(), **BF16)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_gp_interpolate_promotes_mixed_dtypes(device, backend):
    gen = torch.Generator().manual_seed(1)
    real = torch.randn(6, 3, 8, generator=gen).to(device)
    fake = torch.randn(6, 3, 8, generator=gen).to(device, torch.bfloat16)
    eps = torch.rand(6, generator=gen).to(device)
    (out, grads, leaves), (want, want_grads, _) = run_under_autocast(
        device, backend, kernels.gp_interpolate, reference.gp_interpolate, [real, fake, eps])
    assert out.dtype == want.dtype == torch.float32
    assert torch.equal(out, want)  # float32 lerp is bitwise the reference's
    for g, e, leaf in zip(grads, want_grads, leaves):
        assert g.dtype == e.dtype == leaf.dtype
        torch.testing.assert_close(g, e)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
@pytest.mark.parametrize("mode", ["gp", "div"])
def test_grad_penalty_follows_the_references_dtype(device, backend, dtype, mode):
    gen = torch.Generator().manual_seed(2)
    g = (torch.randn(8, 3, 5, generator=gen) * 0.3).to(device, dtype)
    (out, grads, _), (want, want_grads, _) = run_under_autocast(
        device, backend, lambda t: kernels.grad_penalty(t, mode), lambda t: reference.grad_penalty(t, mode), [g])
    assert out.dtype == want.dtype
    torch.testing.assert_close(out.float(), want.float(), **BF16)
    assert grads[0].dtype == want_grads[0].dtype == dtype
    torch.testing.assert_close(grads[0].float(), want_grads[0].float(), **BF16)


def test_the_raw_clash_is_what_autocast_fixes():
    """Without the rule, a bfloat16 activation and float32 weights are a dtype clash."""
    x, w = torch.randn(2, 3, 16, dtype=torch.bfloat16), torch.randn(4, 3, 3)
    with pytest.raises(TypeError, match="weight is torch.float32"):
        kernels.conv1d_block(x, w)  # no autocast region: the dtypes must agree
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert kernels.conv1d_block(x, w).dtype == torch.bfloat16
