"""relu where the pre-activation or the gradient is infinite (issue 16 point 5a).

The fused kernels used to compute relu as ``z > 0 ? z : 0 * z``: a pre-activation
that overflows to -inf gave NaN where torch's relu gives 0, and an infinite gradient
at an inactive output gave NaN where torch's relu backward gives 0. leaky_relu keeps
the reference's ``slope * z`` (-inf stays -inf).

CPU: float32 overflows with inputs of 1e20 (a product of 1e40); CUDA: float16
overflows at 65504 (the issue's x = 300, w = -30, kernel 9). Compared with the
reference on the same device, bitwise (every value here is 0 or infinite).
"""

import pytest
import torch

from genreg import kernels
from genreg.kernels import reference

ACTS = [("relu", 0.0), ("leaky_relu", 0.2)]


def overflowing(device, dtype, scale_x, scale_w, length=16, k=9):
    x = torch.full((1, 1, length), scale_x, dtype=dtype, device=device, requires_grad=True)
    w = torch.full((1, 1, k), -scale_w, dtype=dtype, device=device, requires_grad=True)
    b = torch.zeros(1, dtype=dtype, device=device, requires_grad=True)
    return x, w, b


def inactive(device, dtype, length=16, k=9):
    """Inputs whose pre-activation is negative everywhere."""
    x = -torch.ones(1, 1, length, dtype=dtype, device=device, requires_grad=True)
    w = torch.ones(1, 1, k, dtype=dtype, device=device, requires_grad=True)
    b = torch.zeros(1, dtype=dtype, device=device, requires_grad=True)
    return x, w, b


def blocks():
    yield "conv1d_block pool", lambda x, w, b, a, s: kernels.conv1d_block(x, w, b, a, s, True), \
        lambda x, w, b, a, s: reference.conv1d_block(x, w, b, a, s, True)
    yield "conv1d_block", lambda x, w, b, a, s: kernels.conv1d_block(x, w, b, a, s, False), \
        lambda x, w, b, a, s: reference.conv1d_block(x, w, b, a, s, False)
    yield "upconv1d_block 2x", lambda x, w, b, a, s: kernels.upconv1d_block(x, w, b, 32, a, s), \
        lambda x, w, b, a, s: reference.upconv1d_block(x, w, b, 32, a, s)
    yield "upconv1d_block 21", lambda x, w, b, a, s: kernels.upconv1d_block(x, w, b, 21, a, s), \
        lambda x, w, b, a, s: reference.upconv1d_block(x, w, b, 21, a, s)


def check(device, dtype, scale_x, scale_w, op_name):
    for name, fused_fn, ref_fn in blocks():
        if op_name not in name:
            continue
        for act, slope in ACTS:
            # forward: z = -inf everywhere
            x, w, b = overflowing(device, dtype, scale_x, scale_w)
            with kernels.use_backend("fused"):
                out = fused_fn(x, w, b, act, slope)
            want = ref_fn(x, w, b, act, slope)
            assert torch.isinf(want).all() or (want == 0).all(), "the inputs must overflow in the reference too"
            assert torch.equal(out, want), f"{name} {act} {dtype}: {out.flatten()[:4]} vs {want.flatten()[:4]}"
            # backward: an infinite gradient at outputs whose z < 0
            x, w, b = inactive(device, dtype)
            with kernels.use_backend("fused"):
                out = fused_fn(x, w, b, act, slope)
            want = ref_fn(x, w, b, act, slope)
            up = torch.full_like(out, float("inf"))
            got = torch.autograd.grad(out, (x, w, b), up)
            exp = torch.autograd.grad(want, (x, w, b), up)
            for i, (g, e) in enumerate(zip(got, exp)):
                assert torch.equal(g.isnan(), e.isnan()), f"{name} {act} {dtype} grad {i}: NaN where the reference has none"
                assert torch.equal(g[~g.isnan()], e[~e.isnan()]), f"{name} {act} {dtype} grad {i}"


@pytest.mark.parametrize("op", ["conv1d_block", "upconv1d_block"])
def test_cpu_relu_of_an_overflowing_preactivation(fused_cpu, op):
    fused_cpu(f"{op}_forward")
    check("cpu", torch.float32, 1e20, 1e20, op)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float16, torch.float32])
def test_cuda_relu_of_an_overflowing_preactivation(cuda_device, dtype):
    if not kernels.has_kernel("conv1d_block_forward", "cuda"):
        pytest.skip("no CUDA kernel for conv1d_block in this build")
    scale = (300.0, 30.0) if dtype == torch.float16 else (1e20, 1e20)
    check(cuda_device, dtype, *scale, "conv1d_block")


def test_double_backward_of_relu_with_an_infinite_upstream(fused_cpu):
    """The backward op's own derivative (second order) selects 0 too."""
    fused_cpu("conv1d_block_forward")
    results = {}
    for backend in ("fused", "reference"):
        x, w, b = inactive("cpu", torch.float64)
        with kernels.use_backend(backend):
            out = kernels.conv1d_block(x, w, b, "relu", 0.0, False)
        go = torch.full_like(out, float("inf"))
        gx, = torch.autograd.grad(out, x, go, create_graph=True)
        # d gx / d w is the routed gradient at z: 0 at inactive outputs, never 0 * inf
        results[backend] = torch.autograd.grad(gx.sum(), w, allow_unused=True, materialize_grads=True)[0]
    assert not results["fused"].isnan().any()
    assert torch.equal(results["fused"], results["reference"])
