"""Benchmark parametrisation: the issue's sizes when benchmarking, tiny sizes under
--benchmark-disable (the default test run), where only correctness is checked."""

import pytest


def timing(config) -> bool:
    """Whether pytest-benchmark times (as it decides: --benchmark-enable overrides the
    --benchmark-disable in the project's addopts)."""
    return not config.getoption("benchmark_disable", False) or config.getoption("benchmark_enable", False)


@pytest.fixture(scope="session", autouse=True)
def _reuse_freed_memory(request):
    """When timing, keep glibc from returning freed memory to the OS (see
    genreg.process_memory); the correctness run leaves malloc alone."""
    if timing(request.config):
        from genreg.process_memory import keep_freed_memory

        keep_freed_memory()


def pytest_generate_tests(metafunc):
    if "bench_case_spec" not in metafunc.fixturenames:
        return
    from genreg import benchmarking

    small = not timing(metafunc.config)
    specs = []
    for i, case in enumerate(benchmarking.cases(small=small)):
        for impl in benchmarking.IMPLS:
            specs.append((small, i, impl, f"{case.group} [{impl}]"))
    metafunc.parametrize("bench_case_spec", [s[:3] for s in specs], ids=[s[3] for s in specs])
