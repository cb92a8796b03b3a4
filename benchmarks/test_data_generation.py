"""How fast the built-in simulators generate data (`make bench`; with --benchmark-disable,
the default test run, each body runs once as a smoke test)."""

import pytest

from genreg.data.galaxies import galaxies
from genreg.data.radio import radio


@pytest.mark.benchmark(group="data: radio traces (10k)")
@pytest.mark.parametrize("noise", ["realistic", "uniform", "cosine"])
def test_radio_generation(benchmark, noise):
    d = benchmark(radio, n=10_000, noise=noise)
    assert d.x.shape == (10_000, 1, 500)


@pytest.mark.benchmark(group="data: galaxies")
@pytest.mark.parametrize("n, size", [(300, 64), (60, 128)])
def test_galaxy_generation(benchmark, n, size):
    d = benchmark(galaxies, n=n, size=size)
    assert d.x.shape == (n, 3, size, size)
