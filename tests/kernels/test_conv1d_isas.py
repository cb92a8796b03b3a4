"""The CPU kernels' loops (conv1d, and the penalty's and interpolation's) exist once per
instruction set (AVX-512, AVX2+FMA, plain x86-64), picked at load time by one mechanism
(csrc/cpu/isa.h). This machine runs the widest it supports; the narrower copies are
checked here in subprocesses with GENREG_CPU_ISA lowering the choice."""

import os
import subprocess
import sys

import pytest

CHECK = r"""
import sys, torch
from genreg import kernels
from genreg.kernels import reference
state = kernels.extension_state()
assert state.cpu_isa == sys.argv[1], f"asked for {sys.argv[1]}, the loops run {state.cpu_isa}"
torch.manual_seed(0)
for dtype, tol in ((torch.float64, 1e-10), (torch.float32, 1e-4)):
    for batch, cin, cout, length, k, size in ((3, 5, 7, 67, 9, 135), (1, 1, 2, 9, 5, 18), (2, 3, 6, 40, 9, 80)):
        x = torch.randn(batch, cin, length, dtype=dtype, requires_grad=True)
        w = torch.randn(cout, cin, k, dtype=dtype, requires_grad=True)
        b = torch.randn(cout, dtype=dtype, requires_grad=True)
        pairs = [(torch.ops.genreg.conv1d_block_forward(x, w, b, "leaky_relu", 0.1, pool)[0],
                  reference.conv1d_block(x, w, b, "leaky_relu", 0.1, pool)) for pool in (True, False)]
        pairs.append((torch.ops.genreg.upconv1d_block_forward(x, w, b, size, "relu", 0.0)[0],
                      reference.upconv1d_block(x, w, b, size, "relu", 0.0)))
        for got, want in pairs:
            up = torch.randn_like(want)
            for g, e in zip((got, *torch.autograd.grad(got, (x, w, b), up)),
                            (want, *torch.autograd.grad(want, (x, w, b), up))):
                torch.testing.assert_close(g, e, rtol=tol, atol=tol)
for dtype, tol in ((torch.float64, 1e-10), (torch.float32, 1e-5)):
    g = torch.randn(5, 3, 40, 7, dtype=dtype, requires_grad=True)
    for mode, p in (("gp", 6.0), ("div", 6.0), ("div", 3.5)):
        got = torch.ops.genreg.grad_penalty_forward(g, mode, 1.0, p)[0]
        want = reference.grad_penalty(g, mode, 1.0, p)
        torch.testing.assert_close(got, want, rtol=tol, atol=tol)
        torch.testing.assert_close(torch.autograd.grad(got.sum(), g)[0], torch.autograd.grad(want.sum(), g)[0],
                                   rtol=tol, atol=tol)
    real, fake, eps = torch.randn(6, 77, dtype=dtype), torch.randn(6, 77, dtype=dtype), torch.rand(6, dtype=dtype)
    assert torch.equal(torch.ops.genreg.gp_interpolate(real, fake, eps), reference.gp_interpolate(real, fake, eps))
print("ok")
"""


@pytest.mark.parametrize("isa", ["avx2", "baseline"])
def test_narrower_instruction_sets_match_the_reference(fused_cpu, isa):
    fused_cpu("conv1d_block_forward")
    from genreg import kernels

    widest = kernels.extension_state().cpu_isa
    if isa == "avx2" and widest == "baseline":
        pytest.skip("this CPU has no AVX2+FMA, so the AVX2 loops cannot run here")
    env = dict(os.environ, GENREG_CPU_ISA=isa)
    done = subprocess.run([sys.executable, "-c", CHECK, isa], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
