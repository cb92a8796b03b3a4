"""What the CUDA kernel tests share: tolerances against a float64 oracle, the
comparison, and the fixtures' skip rules. Importable without a GPU."""

import pytest
import torch

# Relative to the oracle's largest value (sums can cancel):
#   float64 1e-10; float32 1e-4 (float32 accumulation, another summation order);
#   float16 2e-3 (float32 accumulation, one rounding of z and of each result to 11 bits);
#   bfloat16 1.6e-2 (the same with 8 bits)
CUDA_TOL = {torch.float64: 1e-10, torch.float32: 1e-4, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}


def assert_close_scaled(got, want, tol, what):
    """|got - want| <= tol * (|want| + max|want|): relative, with cancellation allowed for."""
    got, want = got.detach().double(), want.detach().double()
    scale = want.abs().max().clamp_min(1e-30) if want.numel() else torch.tensor(1.0)
    torch.testing.assert_close(got, want, rtol=tol, atol=tol * float(scale), msg=lambda m: f"{what}: {m}")


def need_cuda_kernel(op: str) -> None:
    """Skip (saying why) unless the extension has a CUDA kernel for ``op``."""
    from genreg import kernels

    if not kernels.has_kernel(op, "cuda"):
        pytest.skip(f"no CUDA kernel for {op} in this build: {kernels.extension_state()}")


def need_gpu_memory(gib: float) -> None:
    free, _ = torch.cuda.mem_get_info()
    if free < gib * 2**30:
        pytest.skip(f"needs {gib:g} GiB of free GPU memory, {free / 2**30:.1f} GiB free")
