"""pytest-benchmark timings of genreg's kernels and whole training steps (WGAN-GP critic,
DAE): eager reference, torch.compile of the reference, fused. One group per op and size;
every non-reference result is checked against the reference before it is timed (whole
steps: the parameter gradients). `make bench` runs them with timing."""

import functools

import pytest

from genreg import benchmarking


@functools.lru_cache(maxsize=2)
def _cases(small):
    return benchmarking.cases(small=small)


def test_kernel(benchmark, bench_case_spec):
    small, index, impl = bench_case_spec
    case = _cases(small)[index]
    if impl not in case.run:
        pytest.skip(f"{case.group}: {impl} not available: {case.skipped.get(impl, 'no implementation')}")
    if impl == "compiled" and small:
        pytest.skip("torch.compile is not exercised under --benchmark-disable: compiling takes tens of "
                    "seconds per case; run `make bench` to time (and check) it")
    if impl != "reference":
        benchmarking.check(case, impl)
    benchmark.group = case.group
    benchmark.extra_info["bytes"] = case.bytes
    benchmark(case.run[impl])


def test_memory_bandwidth(benchmark):
    """A large copy, for the bandwidth bound the kernels' GB/s are compared with."""
    import torch

    n = 64 * 2**20 // 4 if benchmark.disabled else 256 * 2**20 // 4
    src = torch.rand(n)
    dst = torch.empty_like(src)
    benchmark.group = "memory bandwidth (copy)"
    benchmark.extra_info["bytes"] = 2 * 4 * n
    benchmark(dst.copy_, src)
    assert torch.equal(dst, src)
