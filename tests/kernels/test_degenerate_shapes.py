"""Degenerate and edge shapes: every op, on every backend here, fused against reference.

Shapes include zero-size dimensions (batch, channels, length, per-sample size), length
1, kernels longer than the input and odd lengths with pool. For each shape, the fused
path (CPU, and CUDA where a GPU is present) and the reference either both return the
same values and gradients (first and second order), or both raise the same error --
never a crash (issue 13 point 1: a batch of 0 used to end the process with SIGFPE).

The agreed semantics (docs/kernels.md, "Edge shapes"):
  * batch 0: empty outputs, zero gradients for the parameters;
  * gp_interpolate / grad_penalty: any zero-size sample dimension works (an empty
    sample has norm 0: the gp penalty is center**2, div's 0);
  * conv1d_block / upconv1d_block: in and out channels >= 1 and length >= 1 (>= 2
    with pool), odd kernel, size >= 1, else a ValueError naming the problem; the raw
    ops reject the same with a RuntimeError.

Tolerance: float64 1e-9 (the fused kernels sum in another order).
"""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genreg import kernels
from genreg.kernels import reference

TOL = dict(rtol=1e-9, atol=1e-9)
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
ACTS = [("relu", 0.0), ("leaky_relu", 0.2), ("none", 0.0)]


def need_fused(op: str, device: str, fused_cpu) -> None:
    if device == "cpu":
        fused_cpu(op)
    elif not kernels.has_kernel(op, device):
        pytest.skip(f"no {device} kernel for {op} in this build")


def outcome(fn):
    """('ok', value) or ('error', exception type name, message)."""
    try:
        return ("ok", fn())
    except (ValueError, TypeError, RuntimeError) as exc:
        return ("error", type(exc).__name__, str(exc))


def grads_of(scalar, inputs):
    """d scalar / d inputs, zeros for inputs it does not depend on."""
    if not scalar.requires_grad:
        return [torch.zeros_like(t) for t in inputs]
    return list(torch.autograd.grad(scalar, inputs, create_graph=True, allow_unused=True, materialize_grads=True))


def first_and_second_order(out, inputs, seed):
    """The output, its gradients w.r.t. inputs (under a fixed random weighting), and the
    gradients of a random weighting of those gradients (second order)."""
    gen = torch.Generator().manual_seed(seed)
    rand = lambda t: torch.randn(t.shape, generator=gen, dtype=torch.float64).to(t.device, t.dtype)
    first = grads_of((out * rand(out)).sum(), inputs)
    second_loss = sum(((g * rand(g)).sum() for g in first), out.new_zeros(()))
    second = grads_of(second_loss, inputs)
    return [out.detach()] + [g.detach() for g in first] + [g.detach() for g in second]


def assert_same_outcome(fused, ref, what):
    assert fused[0] == ref[0], f"{what}: fused {fused[:3]!r} but reference {ref[:3]!r}"
    if fused[0] == "error":
        assert fused[1:] == ref[1:], f"{what}: the backends raise different errors"
        return
    assert len(fused[1]) == len(ref[1])
    for i, (a, b) in enumerate(zip(fused[1], ref[1])):
        assert a.shape == b.shape, f"{what}: result {i} has shape {tuple(a.shape)}, reference {tuple(b.shape)}"
        torch.testing.assert_close(a, b, **TOL, msg=lambda m: f"{what}: result {i}: {m}")


def leaf(shape, gen, device):
    return torch.randn(shape, generator=gen, dtype=torch.float64).to(device).requires_grad_(True)


# --- conv1d_block ------------------------------------------------------------------


@st.composite
def conv_shapes(draw):
    return dict(batch=draw(st.sampled_from([0, 1, 2, 3])), cin=draw(st.sampled_from([0, 1, 2, 3])),
                cout=draw(st.sampled_from([0, 1, 2, 5])), length=draw(st.sampled_from([0, 1, 2, 3, 4, 5, 9])),
                kernel=draw(st.sampled_from([1, 3, 5, 9, 11])), bias=draw(st.booleans()),
                seed=draw(st.integers(0, 2**31 - 1)))


def conv_inputs(s, device):
    gen = torch.Generator().manual_seed(s["seed"])
    x = leaf((s["batch"], s["cin"], s["length"]), gen, "cpu")
    w = leaf((s["cout"], s["cin"], s["kernel"]), gen, "cpu")
    b = leaf((s["cout"],), gen, "cpu") if s["bias"] else None
    return [None if t is None else t.detach().to(device).requires_grad_(True) for t in (x, w, b)]


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=60, deadline=None)
@given(shape=conv_shapes(), act=st.sampled_from(ACTS), pool=st.booleans())
def test_conv1d_block_fused_agrees_with_reference(fused_cpu, device, shape, act, pool):
    need_fused("conv1d_block_forward", device, fused_cpu)
    results = {}
    for backend in ("fused", "reference"):
        x, w, b = conv_inputs(shape, device)
        inputs = [t for t in (x, w, b) if t is not None]
        with kernels.use_backend(backend):
            results[backend] = outcome(lambda: first_and_second_order(
                kernels.conv1d_block(x, w, b, act[0], act[1], pool), inputs, shape["seed"]))
    assert_same_outcome(results["fused"], results["reference"], f"conv1d_block {shape} {act} pool={pool}")


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=40, deadline=None)
@given(shape=conv_shapes(), act=st.sampled_from(ACTS), pool=st.booleans())
def test_conv1d_block_raw_ops_never_crash(fused_cpu, device, shape, act, pool):
    """The ops themselves, without the wrapper's checks: a result equal to the
    reference's, or a RuntimeError where the wrapper raises."""
    need_fused("conv1d_block_forward", device, fused_cpu)
    x, w, b = conv_inputs(shape, device)
    with kernels.use_backend("reference"):
        want = outcome(lambda: kernels.conv1d_block(x, w, b, act[0], act[1], pool))
    got = outcome(lambda: torch.ops.genreg.conv1d_block_forward(x, w, b, act[0], act[1], pool))
    if want[0] == "error":
        assert got[0] == "error" and got[1] == "RuntimeError", f"{shape}: the raw op returned {got[0]}"
        return
    out, code = got[1]
    torch.testing.assert_close(out, want[1].detach(), **TOL)
    gx, gw, gb = torch.ops.genreg.conv1d_block_backward(torch.ones_like(out), x, w, code, act[0], act[1], pool,
                                                        b is not None)
    assert gx.shape == x.shape and gw.shape == w.shape and gb.shape == ((w.shape[0],) if b is not None else (0,))
    ref_grads = torch.autograd.grad(want[1].sum(), [t for t in (x, w, b) if t is not None], materialize_grads=True)
    torch.testing.assert_close(gx, ref_grads[0], **TOL)
    torch.testing.assert_close(gw, ref_grads[1], **TOL)
    if b is not None:
        torch.testing.assert_close(gb, ref_grads[2], **TOL)


# --- upconv1d_block ----------------------------------------------------------------


@st.composite
def upconv_shapes(draw):
    s = draw(conv_shapes())
    s["size"] = draw(st.one_of(st.sampled_from([0, 1, 2, 3, 7]), st.just(2 * s["length"]),
                               st.just(2 * s["length"] + 1)))
    return s


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=60, deadline=None)
@given(shape=upconv_shapes(), act=st.sampled_from(ACTS))
def test_upconv1d_block_fused_agrees_with_reference(fused_cpu, device, shape, act):
    need_fused("upconv1d_block_forward", device, fused_cpu)
    results = {}
    for backend in ("fused", "reference"):
        x, w, b = conv_inputs(shape, device)
        inputs = [t for t in (x, w, b) if t is not None]
        with kernels.use_backend(backend):
            results[backend] = outcome(lambda: first_and_second_order(
                kernels.upconv1d_block(x, w, b, shape["size"], act[0], act[1]), inputs, shape["seed"]))
    assert_same_outcome(results["fused"], results["reference"], f"upconv1d_block {shape} {act}")


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=40, deadline=None)
@given(shape=upconv_shapes(), act=st.sampled_from(ACTS))
def test_upconv1d_block_raw_ops_never_crash(fused_cpu, device, shape, act):
    need_fused("upconv1d_block_forward", device, fused_cpu)
    x, w, b = conv_inputs(shape, device)
    size = shape["size"]
    with kernels.use_backend("reference"):
        want = outcome(lambda: kernels.upconv1d_block(x, w, b, size, act[0], act[1]))
    got = outcome(lambda: torch.ops.genreg.upconv1d_block_forward(x, w, b, size, act[0], act[1]))
    if want[0] == "error":
        assert got[0] == "error" and got[1] == "RuntimeError", f"{shape}: the raw op returned {got[0]}"
        return
    out, code = got[1]
    torch.testing.assert_close(out, want[1].detach(), **TOL)
    gx, gw, gb = torch.ops.genreg.upconv1d_block_backward(torch.ones_like(out), x, w, code, size, act[0], act[1],
                                                          b is not None)
    ref_grads = torch.autograd.grad(want[1].sum(), [t for t in (x, w, b) if t is not None], materialize_grads=True)
    torch.testing.assert_close(gx, ref_grads[0], **TOL)
    torch.testing.assert_close(gw, ref_grads[1], **TOL)
    if b is not None:
        torch.testing.assert_close(gb, ref_grads[2], **TOL)


# --- gp_interpolate and grad_penalty -------------------------------------------------


@st.composite
def per_sample_shapes(draw):
    """Rank 1-4, any dimension possibly 0."""
    rank = draw(st.integers(1, 4))
    return [draw(st.sampled_from([0, 1, 2, 3, 5])) for _ in range(rank)], draw(st.integers(0, 2**31 - 1))


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=50, deadline=None)
@given(case=per_sample_shapes())
def test_gp_interpolate_fused_agrees_with_reference(fused_cpu, device, case):
    need_fused("gp_interpolate", device, fused_cpu)
    shape, seed = case
    results = {}
    for backend in ("fused", "reference"):
        gen = torch.Generator().manual_seed(seed)
        real, fake = leaf(shape, gen, device), leaf(shape, gen, device)
        eps = torch.rand(shape[0], generator=gen, dtype=torch.float64).to(device).requires_grad_(True)
        with kernels.use_backend(backend):
            results[backend] = outcome(lambda: first_and_second_order(
                kernels.gp_interpolate(real, fake, eps), [real, fake, eps], seed))
    assert_same_outcome(results["fused"], results["reference"], f"gp_interpolate {shape}")


MODES = [("gp", 1.0, 6.0), ("div", 1.0, 6.0), ("div", 1.0, 3.5)]


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=50, deadline=None)
@given(case=per_sample_shapes(), mode=st.sampled_from(MODES))
def test_grad_penalty_fused_agrees_with_reference(fused_cpu, device, case, mode):
    need_fused("grad_penalty_forward", device, fused_cpu)
    shape, seed = case
    results = {}
    for backend in ("fused", "reference"):
        gen = torch.Generator().manual_seed(seed)
        # away from 0 so that div with p < 2 has a finite reference gradient
        g = (torch.rand(shape, generator=gen, dtype=torch.float64) + 0.5).to(device).requires_grad_(True)
        with kernels.use_backend(backend):
            results[backend] = outcome(lambda: first_and_second_order(kernels.grad_penalty(g, *mode), [g], seed))
    assert_same_outcome(results["fused"], results["reference"], f"grad_penalty {shape} {mode}")


# --- the instances of issue 13 point 1 -------------------------------------------------


def test_raw_conv1d_forward_on_an_empty_batch(fused_cpu):
    fused_cpu("conv1d_block_forward")
    x, w = torch.randn(0, 1, 500), torch.randn(8, 1, 9)
    out, code = torch.ops.genreg.conv1d_block_forward(x, w, None, "relu", 0.0, True)
    assert out.shape == code.shape == (0, 8, 250)
    gx, gw, gb = torch.ops.genreg.conv1d_block_backward(out, x, w, code, "relu", 0.0, True, False)
    assert gx.shape == (0, 1, 500) and torch.equal(gw, torch.zeros_like(w)) and gb.shape == (0,)


def test_reference_grad_penalty_on_an_empty_batch():
    g = torch.randn(0, 3, 4, requires_grad=True)
    out = reference.grad_penalty(g)
    assert out.shape == (0,)
    (d,) = torch.autograd.grad(out.sum(), g)
    assert d.shape == g.shape


@pytest.mark.parametrize("op", ["conv1d_block", "upconv1d_block"])
def test_zero_channels_are_a_clear_error(op):
    x, w = torch.randn(2, 0, 8), torch.randn(3, 0, 3)
    call = (lambda: kernels.conv1d_block(x, w)) if op == "conv1d_block" else (lambda: kernels.upconv1d_block(x, w, None, 16))
    for backend in ("auto", "reference"):
        with kernels.use_backend(backend), pytest.raises(ValueError, match="at least one input channel"):
            call()
