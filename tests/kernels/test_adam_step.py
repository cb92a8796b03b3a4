"""genreg::adam_step_, the Adam update that checks the gradients as it reads them
(genreg/kernels/adam.py): the same numbers as torch.optim.Adam where every gradient is
finite, a False flag wherever one is not, and the op's in-place rules."""

import os
import subprocess
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genreg import kernels
from genreg.kernels.adam import _reference, adam_step


def _state(params):
    return ([torch.zeros_like(p) for p in params], [torch.zeros_like(p) for p in params],
            [torch.zeros(()) for _ in params])


def _run(params, grads_per_step, hyper, backend):
    params = [p.clone() for p in params]
    m, v, steps = _state(params)
    with kernels.use_backend(backend):
        for grads in grads_per_step:
            torch._foreach_add_(steps, 1)
            assert adam_step(params, grads, m, v, steps, **hyper)
    return params, m, v


def _torch_adam(params, grads_per_step, hyper):
    leaves = [p.clone().requires_grad_(True) for p in params]
    opt = torch.optim.Adam(leaves, lr=hyper["lr"], betas=(hyper["beta1"], hyper["beta2"]), eps=hyper["eps"],
                           weight_decay=hyper["weight_decay"], fused=True)
    for grads in grads_per_step:
        for p, g in zip(leaves, grads):
            p.grad = g.clone()
        opt.step()
    return ([p.detach() for p in leaves], [opt.state[p]["exp_avg"] for p in leaves],
            [opt.state[p]["exp_avg_sq"] for p in leaves])


EPS32 = torch.finfo(torch.float32).eps
# sizes around the kernel's block (1024) and grain (32768), and empty tensors
SIZES = st.lists(st.sampled_from([0, 1, 7, 1023, 1024, 1025, 4099, 32768, 40000]), min_size=1, max_size=4)
HYPER = st.fixed_dictionaries({
    "lr": st.sampled_from([1e-4, 1e-3, 0.05]), "beta1": st.sampled_from([0.0, 0.5, 0.9]),
    "beta2": st.sampled_from([0.9, 0.99, 0.999]), "eps": st.sampled_from([1e-8, 1e-6]),
    "weight_decay": st.sampled_from([0.0, 0.01])})


@settings(max_examples=25, deadline=None)
@given(sizes=SIZES, hyper=HYPER, n_steps=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_fused_and_reference_agree_with_torch_adam(fused_cpu, sizes, hyper, n_steps, seed):
    fused_cpu("adam_step_")
    gen = torch.Generator().manual_seed(seed)
    params = [torch.randn(n, generator=gen) for n in sizes]
    grads = [[torch.randn(n, generator=gen) * 10 ** (i - 1) for i, n in enumerate(sizes)] for _ in range(n_steps)]
    want = _torch_adam(params, grads, hyper)
    for backend in ("fused", "reference"):
        got = _run(params, grads, hyper, backend)
        for k in range(len(sizes)):
            # float32 rounding in another order (FMA, lerp vs two products): a few ulps of the
            # size of the terms summed (for a parameter, far below one update of size lr)
            g_max = max((float(step[k].abs().max()) for step in grads), default=0.0) if sizes[k] else 0.0
            p_max = float(params[k].abs().max()) if sizes[k] else 0.0
            for name, i, scale in (("param", 0, p_max + hyper["lr"]), ("exp_avg", 1, g_max), ("exp_avg_sq", 2, g_max**2)):
                torch.testing.assert_close(got[i][k], want[i][k], rtol=0, atol=8 * EPS32 * scale + 1e-30,
                                           msg=lambda m, name=name: f"{name}: {m}")


@settings(max_examples=30, deadline=None)
@given(sizes=SIZES.filter(lambda s: sum(s) > 0), where=st.floats(0, 1, exclude_max=True),
       bad=st.sampled_from([float("nan"), float("inf"), float("-inf")]), seed=st.integers(0, 2**16))
def test_a_non_finite_gradient_anywhere_gives_false(fused_cpu, sizes, where, bad, seed):
    fused_cpu("adam_step_")
    gen = torch.Generator().manual_seed(seed)
    params = [torch.randn(n, generator=gen) for n in sizes]
    grads = [torch.randn(n, generator=gen) for n in sizes]
    flat = int(where * sum(sizes))
    for g in grads:  # the element at position `flat` of the concatenated gradients
        if flat < g.numel():
            g[flat] = bad
            break
        flat -= g.numel()
    for backend in ("fused", "reference"):
        p = [t.clone() for t in params]
        m, v, steps = _state(p)
        torch._foreach_add_(steps, 1)
        with kernels.use_backend(backend):
            assert adam_step(p, grads, m, v, steps, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8) is False
        if backend == "reference":  # the reference checks first and writes nothing
            assert all(torch.equal(a, b) for a, b in zip(p, params))
        # the fused kernel never writes a non-finite value: it stops before the bad block
        assert all(torch.isfinite(t).all() for t in p + m + v)


def test_the_op_bumps_version_counters_and_refuses_a_graph(fused_cpu):
    fused_cpu("adam_step_")
    p = torch.randn(10)
    m, v, steps = _state([p])
    before = p._version
    torch._foreach_add_(steps, 1)
    torch.ops.genreg.adam_step_([p], m, v, [torch.randn(10)], steps, 1e-3, 0.9, 0.999, 1e-8, 0.0)
    assert p._version > before and m[0]._version > 0
    leaf = torch.randn(10, requires_grad=True)
    with pytest.raises(RuntimeError):  # an in-place update of a leaf that autograd tracks
        torch.ops.genreg.adam_step_([leaf], m, v, [torch.randn(10)], steps, 1e-3, 0.9, 0.999, 1e-8, 0.0)


@pytest.mark.parametrize("case, match", [
    ("lengths", "one entry per parameter"),
    ("dtype", "contiguous float32 CPU tensor"),
    ("layout", "not contiguous"),
    ("shape", "has shape"),
])
def test_bad_arguments_are_clear_errors(fused_cpu, case, match):
    fused_cpu("adam_step_")
    p, g = torch.randn(4, 6), torch.randn(4, 6)
    m, v, steps = _state([p])
    if case == "lengths":
        args = ([p], m, v, [g, g], steps)
    elif case == "dtype":
        args = ([p.double()], m, v, [g], steps)
    elif case == "layout":
        args = ([p], m, v, [torch.randn(6, 4).t()], steps)
    else:
        args = ([p], m, v, [torch.randn(24)], steps)
    with pytest.raises(RuntimeError, match=match):
        torch.ops.genreg.adam_step_(*args, 1e-3, 0.9, 0.999, 1e-8, 0.0)


def test_fake_rule_and_no_cuda_kernel_by_design(fused_cpu):
    fused_cpu("adam_step_")
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        p = torch.empty(3)
        flag = torch.ops.genreg.adam_step_([p], [torch.empty(3)], [torch.empty(3)], [torch.empty(3)],
                                           [torch.empty(())], 1e-3, 0.9, 0.999, 1e-8, 0.0)
        assert flag.shape == () and flag.dtype == torch.bool
    assert not kernels.has_kernel("adam_step_", "cuda")  # CPU only: genreg/kernels/adam.py says why


CHECK_ISA = r"""
import sys, torch
from genreg import kernels
from genreg.kernels.adam import adam_step
assert kernels.extension_state().cpu_isa == sys.argv[1]
torch.manual_seed(0)
params = [torch.randn(n) for n in (5, 1024, 5000)]
grads = [torch.randn_like(p) for p in params]
leaves = [p.clone().requires_grad_(True) for p in params]
opt = torch.optim.Adam(leaves, lr=1e-2, weight_decay=0.01, fused=True)
for p, g in zip(leaves, grads):
    p.grad = g
opt.step()
m = [torch.zeros_like(p) for p in params]; v = [torch.zeros_like(p) for p in params]; s = [torch.ones(()) for _ in params]
assert adam_step(params, grads, m, v, s, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01)
for a, b in zip(params, leaves):
    torch.testing.assert_close(a, b.detach(), rtol=2e-6, atol=1e-8)
grads[2][4999] = float("nan")
assert not adam_step(params, grads, m, v, s, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8)
print("ok")
"""


@pytest.mark.parametrize("isa", ["avx2", "baseline"])
def test_every_instruction_set_copy(fused_cpu, isa):
    fused_cpu("adam_step_")
    env = {**os.environ, "GENREG_CPU_ISA": isa}
    out = subprocess.run([sys.executable, "-c", CHECK_ISA, isa], env=env, capture_output=True, text=True, timeout=120)
    if "asked for" in out.stderr and isa == "avx2":
        pytest.skip(f"this CPU has no {isa}")
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_reference_runs_without_the_extension():
    """The pure-PyTorch path (what runs where genreg._C is not built) against torch's Adam."""
    params = [torch.randn(40), torch.randn(3, 5)]
    grads = [torch.randn_like(p) for p in params]
    hyper = dict(lr=1e-2, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.1)
    want = _torch_adam(params, [grads], hyper)
    p = [t.clone() for t in params]
    m, v, steps = _state(p)
    torch._foreach_add_(steps, 1)
    assert _reference(p, grads, m, v, steps, **hyper)
    for a, b in zip(p, want[0]):
        torch.testing.assert_close(a, b, rtol=2e-6, atol=1e-8)
