"""The kernel surface (issue 12 point 4): the op list is declared once (csrc/ops.cpp,
read as genreg._C.OPS), every op has its CPU kernel, its fake rule and its autograd in
C++, and grad_penalty is one forward op (returning the per-sample sums its backward
needs) plus one backward op."""

import pytest
import torch

from genreg import kernels


@pytest.fixture
def ops(fused_cpu):
    fused_cpu("gp_interpolate")
    from genreg import _C

    return tuple(_C.OPS)


def test_the_op_list_is_the_extensions(ops):
    from genreg.kernels import _ops

    assert _ops.OPS == ops
    assert kernels.extension_state().ops == list(ops)
    assert set(ops) == {"gp_interpolate", "grad_penalty_forward", "grad_penalty_backward", "conv1d_block_forward",
                        "conv1d_block_backward", "upconv1d_block_forward", "upconv1d_block_backward",
                        "adam_step_"}


def test_every_op_has_cpu_autograd_and_fake_kernels(ops):
    from genreg.kernels import _ops

    assert set(_ops._RULES) == set(ops)  # a fake rule per op (also checked when _ops loads)
    for op in ops:
        for key in ("CPU", "Autograd"):
            assert torch._C._dispatch_has_kernel_for_dispatch_key(f"genreg::{op}", key), f"{op} has no {key} kernel"
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():  # the fake rules run (what torch.compile traces with)
        out, sumsq = torch.ops.genreg.grad_penalty_forward(torch.empty(4, 3), "gp", 1.0, 6.0)
        assert out.shape == (4,) and sumsq.dtype == torch.float64
        y, code = torch.ops.genreg.conv1d_block_forward(torch.empty(2, 3, 9), torch.empty(5, 3, 3), None, "relu",
                                                        0.0, True)
        assert y.shape == code.shape == (2, 5, 4)


def test_old_penalty_schemas_are_gone(ops):
    for old in ("grad_penalty", "grad_penalty_backward_sumsq"):
        assert old not in ops
        with pytest.raises((AttributeError, RuntimeError)):
            getattr(torch.ops.genreg, old).default


def test_autograd_lives_in_cpp_for_every_op(ops):
    """Each differentiable op's graph node is its C++ autograd function (a CppNode of
    genreg's), not a Python autograd.Function (no Python runs per call)."""
    x = torch.randn(2, 1, 12, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 1, 3, dtype=torch.float64, requires_grad=True)
    g = torch.randn(2, 5, dtype=torch.float64, requires_grad=True)
    nodes = {
        "gp_interpolate": torch.ops.genreg.gp_interpolate(g, g * 2, torch.rand(2, dtype=torch.float64)),
        "grad_penalty_forward": torch.ops.genreg.grad_penalty_forward(g, "gp", 1.0, 6.0)[0],
        "conv1d_block_forward": torch.ops.genreg.conv1d_block_forward(x, w, None, "relu", 0.0, True)[0],
        "upconv1d_block_forward": torch.ops.genreg.upconv1d_block_forward(x, w, None, 24, "relu", 0.0)[0],
    }
    for op, out in nodes.items():
        name = out.grad_fn.name()
        assert name.startswith("torch::autograd::CppNode<genreg::"), f"{op}: {name}"
    # the backward ops, under create_graph
    conv = torch.ops.genreg.conv1d_block_forward(x, w, None, "relu", 0.0, True)[0]
    (gx,) = torch.autograd.grad(conv.sum(), x, create_graph=True)
    assert gx.grad_fn.name().startswith("torch::autograd::CppNode<genreg::"), gx.grad_fn.name()
    pen = torch.ops.genreg.grad_penalty_forward(g, "div", 1.0, 6.0)[0]
    (gg,) = torch.autograd.grad(pen.sum(), g, create_graph=True)
    assert gg.grad_fn.name().startswith("torch::autograd::CppNode<genreg::"), gg.grad_fn.name()


def test_the_pair_hands_the_sums_over(ops):
    g = torch.randn(4, 3, 5, dtype=torch.float64)
    penalty, sumsq = torch.ops.genreg.grad_penalty_forward(g, "gp", 1.0, 6.0)
    assert sumsq.dtype == torch.float64 and torch.allclose(sumsq, g.flatten(1).pow(2).sum(1))
    go = torch.rand(4, dtype=torch.float64)
    d = torch.ops.genreg.grad_penalty_backward(go, g, sumsq, "gp", 1.0, 6.0)
    gr = g.clone().requires_grad_(True)
    (want,) = torch.autograd.grad(kernels.reference.grad_penalty(gr, "gp", 1.0, 6.0), gr, go)
    torch.testing.assert_close(d, want)


def _graph_free_cases():
    x = torch.randn(2, 1, 12, dtype=torch.float64)
    w = torch.randn(3, 1, 3, dtype=torch.float64)
    g = torch.randn(2, 5, dtype=torch.float64)
    s = g.pow(2).sum(1)
    code = torch.ops.genreg.conv1d_block_forward(x, w, None, "relu", 0.0, True)[1]
    up_code = torch.ops.genreg.upconv1d_block_forward(x, w, None, 24, "relu", 0.0)[1]
    return {
        "gp_interpolate": ((g, g * 2, torch.rand(2, dtype=torch.float64)), ()),
        "grad_penalty_forward": ((g,), ("div", 1.0, 6.0)),
        "grad_penalty_backward": ((torch.rand(2, dtype=torch.float64), g, s), ("gp", 1.0, 6.0)),
        "conv1d_block_forward": ((x, w), (None, "relu", 0.0, True)),
        "conv1d_block_backward": ((torch.randn(2, 3, 6, dtype=torch.float64), x, w), (code, "relu", 0.0, True, False)),
        "upconv1d_block_forward": ((x, w), (None, 24, "relu", 0.0)),
        "upconv1d_block_backward": ((torch.randn(2, 3, 24, dtype=torch.float64), x, w),
                                    (up_code, 24, "relu", 0.0, False)),
    }


def _as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


def test_no_node_is_recorded_where_no_gradient_is_needed(ops):
    """The rule of csrc/autograd/records_graph.h: with grad mode off, or no input needing
    a gradient, an op records no node and gives bitwise what the recording call gives."""
    from genreg.kernels.adam import CPU_ONLY

    cases = _graph_free_cases()
    assert set(cases) == set(ops) - {CPU_ONLY}  # the optimiser op has no derivative (test_adam_step.py)
    for op, (tensors, args) in cases.items():
        fn = getattr(torch.ops.genreg, op)
        leaves = [t.clone().requires_grad_(True) for t in tensors]
        recorded = _as_tuple(fn(*leaves, *args))
        assert any(o.grad_fn is not None for o in recorded), f"{op} recorded no node with inputs needing grad"
        with torch.no_grad():
            no_grad = _as_tuple(fn(*leaves, *args))
        plain = _as_tuple(fn(*tensors, *args))
        for outs in (no_grad, plain):
            for o, r in zip(outs, recorded):
                assert o.grad_fn is None and not o.requires_grad, op
                assert torch.equal(o, r.detach()), op
