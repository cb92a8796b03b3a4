"""Benchmark parametrisation: the issue's sizes when benchmarking, tiny sizes under
--benchmark-disable (the default test run), where only correctness is checked."""


def pytest_generate_tests(metafunc):
    if "bench_case_spec" not in metafunc.fixturenames:
        return
    from genreg import benchmarking

    small = metafunc.config.getoption("benchmark_disable", False)
    specs = []
    for i, case in enumerate(benchmarking.cases(small=small)):
        for impl in benchmarking.IMPLS:
            specs.append((small, i, impl, f"{case.group} [{impl}]"))
    metafunc.parametrize("bench_case_spec", [s[:3] for s in specs], ids=[s[3] for s in specs])
