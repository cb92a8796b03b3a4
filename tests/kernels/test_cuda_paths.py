"""CUDA paths no other test reaches (skipped without a GPU): every public op on CUDA
tensors under ``auto`` and ``fused`` (ops whose kernels are CPU-only included), the
multi-tile loop of the weight-gradient kernels, gp_interpolate's second grid-stride
pass, zero sizes, non-default streams, a backward run twice (bitwise), and CUDA-graph
capture of forward + backward.

The oracle is the reference on float64 copies of the same inputs (never float32 on
the GPU, which may use TF32). Tolerances: cuda_cases.CUDA_TOL.
"""

import pytest
import torch

from genreg import kernels
from genreg.errors import KernelError
from genreg.kernels import reference

from conv_cases import make_float64
from cuda_cases import CUDA_TOL, assert_close_scaled, need_cuda_kernel, need_gpu_memory

pytestmark = pytest.mark.cuda

OPS = ("gp_interpolate", "grad_penalty[gp]", "grad_penalty[div]", "conv1d_block", "upconv1d_block")
# the op whose kernel genreg.kernels needs for each public op
KERNEL_OP = {"gp_interpolate": "gp_interpolate", "grad_penalty[gp]": "grad_penalty",
             "grad_penalty[div]": "grad_penalty", "conv1d_block": "conv1d_block_forward",
             "upconv1d_block": "upconv1d_block_forward"}


def op_case(name, device, dtype=torch.float64, seed=0):
    """(inputs that require grad, fn) for one public op; fn(*inputs) -> a tensor."""
    gen = torch.Generator().manual_seed(seed)
    r = lambda *s, scale=1.0: (torch.randn(*s, generator=gen, dtype=torch.float64) * scale).to(device, dtype)
    if name == "gp_interpolate":
        inputs = (r(4, 3, 5, 6), r(4, 3, 5, 6), torch.rand(4, generator=gen, dtype=torch.float64).to(device, dtype))
        fn = kernels.gp_interpolate
    elif name.startswith("grad_penalty"):
        mode = name[len("grad_penalty["):-1]
        inputs = (r(4, 3, 5, 6, scale=0.2),)  # ||g||^6 stays finite in float16
        fn = lambda g: kernels.grad_penalty(g, mode, 1.0, 6.0)
    elif name == "conv1d_block":
        inputs = (r(2, 3, 20), r(4, 3, 5, scale=0.3), r(4, scale=0.1))
        fn = lambda x, w, b: kernels.conv1d_block(x, w, b, "leaky_relu", 0.2)
    else:
        inputs = (r(2, 3, 10), r(4, 3, 5, scale=0.3), r(4, scale=0.1))
        fn = lambda x, w, b: kernels.upconv1d_block(x, w, b, 21, "leaky_relu", 0.2)
    return tuple(t.requires_grad_(True) for t in inputs), fn


def bitwise_equal(a, b) -> bool:
    """Same dtype, shape and bits (NaNs included, which torch.equal calls unequal)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    as_int = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[a.element_size()]
    return torch.equal(a.contiguous().view(as_int), b.contiguous().view(as_int))


def first_and_second_order(fn, inputs):
    """The output, its gradients (create_graph) and the gradients of their squared sum."""
    out = fn(*inputs)
    up = torch.linspace(-1, 1, out.numel(), dtype=out.dtype, device=out.device).reshape(out.shape)
    grads = torch.autograd.grad(out, inputs, up, create_graph=True)
    second = torch.autograd.grad(sum((g * g).sum() for g in grads), inputs, allow_unused=True,
                                 materialize_grads=True)
    return [out, *grads, *second]


@pytest.mark.parametrize("backend", ["auto", "fused"])
@pytest.mark.parametrize("name", OPS)
def test_every_op_on_cuda_tensors(cuda_device, backend, name):
    """Each public op runs on CUDA tensors under auto and fused (the fused path where
    the extension has a CUDA kernel, KernelError under fused where not) and matches
    the reference to second order. grad_penalty's autograd uses the CPU-only
    forward/backward_sumsq pair where it can: on CUDA it must pick its other pair."""
    inputs, fn = op_case(name, cuda_device)
    with kernels.use_backend("reference"):
        want = first_and_second_order(fn, inputs)
    if backend == "fused" and not kernels.has_kernel(KERNEL_OP[name], cuda_device.type):
        with pytest.raises(KernelError, match="cannot run fused"):
            with kernels.use_backend(backend):
                fn(*inputs)
        return
    with kernels.use_backend(backend):
        got = first_and_second_order(fn, inputs)
    assert len(got) == len(want)
    for i, (a, e) in enumerate(zip(got, want)):
        assert a.device == inputs[0].device
        assert_close_scaled(a, e, 1e-9, f"{name} result {i}")


def test_cpu_only_ops_refuse_cuda_tensors_clearly(cuda_device):
    """An op with no CUDA kernel, called on CUDA tensors, names the CUDA backend."""
    state = kernels.extension_state()
    if not state.loaded:
        pytest.skip(f"the extension is not loaded: {state.error}")
    g = torch.randn(3, 4, device=cuda_device, dtype=torch.float64)
    cpu_only = [op for op in ("grad_penalty_forward",) if op in state.ops and not kernels.has_kernel(op, "cuda")]
    if not cpu_only:
        pytest.skip("every op has a CUDA kernel in this build")
    with pytest.raises(NotImplementedError, match="CUDA"):
        torch.ops.genreg.grad_penalty_forward(g, "gp", 1.0, 6.0)


# --- shapes that reach the kernels' loops ---------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("pool", [True, False])
def test_conv1d_weight_gradient_multi_tile_loop(cuda_device, dtype, pool):
    """Batch 64, 1 -> 32 channels, length 500, kernel 9: on a 132-SM GPU each block of the
    weight-gradient kernel reduces several 16-position tiles (the loop's later passes)."""
    need_cuda_kernel("conv1d_block_forward")
    x64, w64, b64 = make_float64(64, 1, 32, 500, 9, cuda_device, seed=11)
    x, w, b = (t.to(dtype).requires_grad_(True) for t in (x64, w64, b64))
    xr, wr, br = (t.detach().double().requires_grad_(True) for t in (x, w, b))
    out, code = torch.ops.genreg.conv1d_block_forward(x, w, b, "leaky_relu", 0.2, pool)
    want = reference.conv1d_block(xr, wr, br, "leaky_relu", 0.2, pool)
    assert_close_scaled(out, want, CUDA_TOL[dtype], "forward")
    up = torch.randn(out.shape, dtype=torch.float64, device=cuda_device)
    if dtype == torch.float64:
        got = torch.autograd.grad(out, (x, w, b), up)
        exp = torch.autograd.grad(want, (xr, wr, br), up)
    else:  # given the kernel's code: in float32 a pooled pair within rounding may route otherwise
        backward = torch.ops.genreg.conv1d_block_backward
        got = backward(up.to(dtype), x, w, code, "leaky_relu", 0.2, pool, True)
        exp = backward(up, xr, wr, code, "leaky_relu", 0.2, pool, True)
    for what, a, e in zip(("grad x", "grad weight", "grad bias"), got, exp):
        assert_close_scaled(a, e, CUDA_TOL[dtype], what)


# gp_interpolate_cuda launches at most 65535 * 8 blocks of 256 threads
GP_INTERPOLATE_ONE_PASS = 65535 * 8 * 256


def test_gp_interpolate_second_grid_stride_pass(cuda_device):
    """More elements than one pass of the grid covers (~134 M; 2.2 GB of float32 in all)."""
    need_cuda_kernel("gp_interpolate")
    need_gpu_memory(4)
    per_sample = GP_INTERPOLATE_ONE_PASS // 2 + 100_000
    gen = torch.Generator(device=cuda_device).manual_seed(0)
    real = torch.rand(2, per_sample, device=cuda_device, generator=gen)
    fake = torch.rand(2, per_sample, device=cuda_device, generator=gen)
    eps = torch.tensor([0.25, 0.75], device=cuda_device)
    assert real.numel() > GP_INTERPOLATE_ONE_PASS
    out = torch.ops.genreg.gp_interpolate(real, fake, eps)
    # checked in slices around the pass boundary and at the end (float64 on slices only)
    flat = lambda t: t.reshape(-1)
    for lo in (0, GP_INTERPOLATE_ONE_PASS - 1000, real.numel() - 100_000):
        sl = slice(lo, lo + 100_000)
        e = torch.cat([eps[0].expand(per_sample), eps[1].expand(per_sample)])[sl].double()
        want = flat(fake)[sl].double() + e * (flat(real)[sl].double() - flat(fake)[sl].double())
        torch.testing.assert_close(flat(out)[sl].double(), want, rtol=1e-6, atol=1e-6)
    del real, fake, out
    torch.cuda.empty_cache()


# --- zero sizes -----------------------------------------------------------------------


def _act(z):
    return torch.nn.functional.leaky_relu(z, 0.2)


@pytest.mark.parametrize("op", ["conv1d_block", "upconv1d_block"])
@pytest.mark.parametrize("batch,cin,cout", [(0, 3, 4), (2, 3, 0), (2, 0, 4)])
def test_conv_blocks_with_zero_sizes(cuda_device, op, batch, cin, cout):
    """Empty batches and channel counts: the output's shape, act(bias) where there are no
    input channels, and zero (or empty) gradients."""
    need_cuda_kernel(f"{op}_forward")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, cin, 12, generator=gen, dtype=torch.float64).to(cuda_device).requires_grad_(True)
    w = torch.randn(cout, cin, 5, generator=gen, dtype=torch.float64).to(cuda_device).requires_grad_(True)
    b = torch.randn(cout, generator=gen, dtype=torch.float64).to(cuda_device).requires_grad_(True)
    if op == "conv1d_block":
        out = torch.ops.genreg.conv1d_block_forward(x, w, b, "leaky_relu", 0.2, True)[0]
        length = 6
    else:
        out = torch.ops.genreg.upconv1d_block_forward(x, w, b, 25, "leaky_relu", 0.2)[0]
        length = 25
    assert out.shape == (batch, cout, length)
    if cin == 0:  # the convolution sums nothing: z = bias
        torch.testing.assert_close(out, _act(b.detach()).reshape(1, -1, 1).expand(batch, cout, length))
    go = torch.ones_like(out)
    gx, gw, gb = torch.autograd.grad(out, (x, w, b), go)
    assert gx.shape == x.shape and gw.shape == w.shape and gb.shape == b.shape
    assert not gx.any() and not gw.any()  # each case: no samples, or no weights
    if batch == 0:
        assert not gb.any()
    elif cin == 0:  # d sum(act(b)) / d b, summed over the surviving positions
        slope = torch.where(b.detach() > 0, 1.0, 0.2).double()
        torch.testing.assert_close(gb, slope * batch * length)


@pytest.mark.parametrize("shape", [(0, 3, 4), (2, 0, 4)])
def test_penalty_ops_with_zero_sizes(cuda_device, shape):
    need_cuda_kernel("grad_penalty")
    need_cuda_kernel("gp_interpolate")
    real = torch.randn(shape, device=cuda_device, dtype=torch.float64)
    out = torch.ops.genreg.gp_interpolate(real, real, torch.rand(shape[0], device=cuda_device, dtype=torch.float64))
    assert out.shape == real.shape
    g = real.clone().requires_grad_(True)
    for mode, empty_norm_value in (("gp", 1.0), ("div", 0.0)):  # ||g|| = 0: (0 - 1)^2 and 0^p
        pen = torch.ops.genreg.grad_penalty_forward(g, mode, 1.0, 6.0)[0]
        assert pen.shape == (shape[0],)
        torch.testing.assert_close(pen, torch.full_like(pen, empty_norm_value))
        (d,) = torch.autograd.grad(pen.sum(), g)
        assert d.shape == g.shape


# --- streams, determinism, graphs ---------------------------------------------------


@pytest.mark.parametrize("name", OPS)
def test_ops_run_on_the_current_stream(cuda_device, name):
    """On a side stream that is still busy (a sleep, then an in-place update of the
    inputs), forward and backward must wait for it: a kernel launched on another stream
    would read the inputs before the update."""
    need_cuda_kernel(KERNEL_OP[name])
    inputs, fn = op_case(name, cuda_device, seed=1)
    new_values = [torch.randn_like(t) if t.dim() > 1 else torch.rand_like(t) for t in inputs]
    with kernels.use_backend("fused"):
        with torch.no_grad():
            for t, v in zip(inputs, new_values):
                t.copy_(v)
        want = first_and_second_order(fn, inputs)
        with torch.no_grad():
            for t in inputs:
                t.zero_()
        torch.cuda.synchronize()
        side = torch.cuda.Stream()
        with torch.cuda.stream(side):
            torch.cuda._sleep(50_000_000)  # about 25 ms at 2 GHz
            with torch.no_grad():
                for t, v in zip(inputs, new_values):
                    t.copy_(v)
            got = first_and_second_order(fn, inputs)
        side.synchronize()
    for i, (a, e) in enumerate(zip(got, want)):
        assert bitwise_equal(a, e), f"{name} result {i} differs on a side stream"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("name", OPS)
def test_backward_twice_is_bitwise_equal(cuda_device, name, dtype):
    """No atomics in the reductions: the same inputs give the same bits every time."""
    need_cuda_kernel(KERNEL_OP[name])
    inputs, fn = op_case(name, cuda_device, dtype=dtype, seed=2)
    with kernels.use_backend("fused"):
        first = first_and_second_order(fn, inputs)
        again = first_and_second_order(fn, inputs)
    for i, (a, e) in enumerate(zip(first, again)):
        assert bitwise_equal(a, e), f"{name} result {i} changed between two identical runs"


@pytest.mark.parametrize("name", OPS)
def test_cuda_graph_capture_of_forward_and_backward(cuda_device, name):
    """Forward + backward captured in a CUDA graph, replayed on new input values, give
    what eager gives: no host synchronisation, allocation outside the caching allocator
    or launch on another stream in the kernels."""
    need_cuda_kernel(KERNEL_OP[name])
    inputs, fn = op_case(name, cuda_device, dtype=torch.float32, seed=3)
    with kernels.use_backend("fused"):
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up outside the capture, as torch.cuda.graphs asks
            for _ in range(2):
                out = fn(*inputs)
                torch.autograd.grad(out, inputs, torch.ones_like(out))
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out = fn(*inputs)
            grads = torch.autograd.grad(out, inputs, torch.ones_like(out))
        new_values = [torch.randn_like(t) if t.dim() > 1 else torch.rand_like(t) for t in inputs]
        with torch.no_grad():
            for t, v in zip(inputs, new_values):
                t.copy_(v)
        graph.replay()
        torch.cuda.synchronize()
        fresh = [v.clone().requires_grad_(True) for v in new_values]
        want_out = fn(*fresh)
        want_grads = torch.autograd.grad(want_out, fresh, torch.ones_like(want_out))
    assert bitwise_equal(out, want_out)
    for i, (a, e) in enumerate(zip(grads, want_grads)):
        assert bitwise_equal(a, e), f"{name} gradient {i} differs between graph replay and eager"
