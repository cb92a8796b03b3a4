"""Each figure helper writes a non-empty PNG."""

import numpy as np
import pytest

from genreg.errors import UsageError
from genreg import plotting as figures

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_png(path):
    with open(path, "rb") as f:
        head = f.read(8)
    return head == PNG_MAGIC


def test_all_helpers_write_pngs(tmp_path):
    rng = np.random.default_rng(0)
    traces = rng.random((3, 500))
    images = rng.random((6, 3, 16, 16))
    paths = [
        figures.plot_trace_triptych(traces, traces * 0.5, traces * 0.4, tmp_path / "traces.png"),
        figures.plot_spectra(np.linspace(0, 90, 251), rng.random(251) + 0.1, rng.random(251) + 0.1,
                             tmp_path / "spectra.png"),
        figures.plot_accuracy_vs_snr([1, 2, 3, 4], [0.2, 0.5, np.nan, 0.9], tmp_path / "acc.png",
                                     counts=[10, 12, 0, 8], label="uniform"),
        figures.image_grid(images, tmp_path / "grid.png", nrow=3, row_labels=["spiral", "elliptical"]),
        figures.image_grid(rng.random((4, 1, 8, 8)) * 2 - 1, tmp_path / "gray.png", value_range=(-1, 1)),
        figures.plot_reconstructions(images[:4], images[:4] * 0.9, tmp_path / "recon.png"),
        figures.plot_interpolation(images, tmp_path / "interp.png"),
        figures.plot_points_2d(rng.standard_normal((200, 2)), tmp_path / "sub" / "points.png",
                               centres=[[0, 0], [1, 1]], std=0.1, real=rng.standard_normal((100, 2))),
    ]
    for p in paths:
        assert _is_png(p) and (tmp_path / p).stat().st_size > 1000, p


def test_figure_input_errors(tmp_path):
    with pytest.raises(UsageError, match="differ in shape"):
        figures.plot_trace_triptych(np.zeros((2, 500)), np.zeros((2, 500)), np.zeros((3, 500)), tmp_path / "x.png")
    with pytest.raises(UsageError, match="row labels"):
        figures.image_grid(np.zeros((4, 3, 8, 8)), tmp_path / "x.png", nrow=2, row_labels=["a"])
    with pytest.raises(UsageError, match=r"\(N, 1 or 3, H, W\)"):
        figures.image_grid(np.zeros((4, 8, 8)), tmp_path / "x.png")
