"""`genreg sample` to arrays: keys, labels, determinism, formats and errors."""

import numpy as np
import pytest

import genreg
from genreg.cli import main


def _sample(run, out, *extra):
    assert main(["sample", str(run), "--out", str(out), "--quiet", *extra]) == 0


def test_sample_npz_and_npy_are_deterministic_for_a_seed(runs, tmp_path):
    run = runs("mlp-gan")
    _sample(run, tmp_path / "a.npz", "--n", "3000", "--seed", "4")
    _sample(run, tmp_path / "b.npz", "--n", "3000", "--seed", "4")
    _sample(run, tmp_path / "c.npy", "--n", "3000", "--seed", "4", "--batch-size", "100")
    _sample(run, tmp_path / "d.npz", "--n", "3000", "--seed", "5")
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b, np.load(tmp_path / "d.npz") as d:
        assert a.files == ["x"] and a["x"].shape == (3000, 2) and a["x"].dtype == np.float32
        assert np.array_equal(a["x"], b["x"])
        assert not np.allclose(a["x"], d["x"])
        np.testing.assert_allclose(np.load(tmp_path / "c.npy"), a["x"], rtol=1e-5, atol=1e-6)
        assert np.array_equal(a["x"], genreg.load(run).sample(3000, seed=4)[0])  # the Python API's samples


def test_sample_conditional_models_write_labels(runs, tmp_path):
    run = runs("acgan-images")
    _sample(run, tmp_path / "s.npz", "--n", "7")
    with np.load(tmp_path / "s.npz") as s:
        assert s["x"].shape == (7, 3, 32, 32) and s["y"].tolist() == [0, 1, 2, 0, 1, 2, 0]
        assert 0.0 <= s["x"].min() and s["x"].max() <= 1.0
    _sample(run, tmp_path / "c.npz", "--n", "4", "--class", "2")
    with np.load(tmp_path / "c.npz") as s:
        assert s["y"].tolist() == [2, 2, 2, 2]


def test_sample_a_vae_prior_and_traces(runs, tmp_path):
    _sample(runs("vae"), tmp_path / "v.npy", "--n", "3")
    assert np.load(tmp_path / "v.npy").shape == (3, 3, 32, 32)
    _sample(runs("trace-gan"), tmp_path / "t.npz", "--n", "5")
    with np.load(tmp_path / "t.npz") as t:
        assert t["x"].shape == (5, 1, 500)


def test_sample_still_draws_pictures(runs, tmp_path):
    from PIL import Image

    _sample(runs("mlp-gan"), tmp_path / "s.png", "--n", "500")
    with Image.open(tmp_path / "s.png") as im:
        assert im.format == "PNG" and min(im.size) > 10


def test_sample_errors_are_one_line(runs, tmp_path, capsys):
    cases = [
        (["sample", str(runs("dae1d")), "--out", str(tmp_path / "x.npz")], "genreg apply"),
        (["sample", str(runs("mlp-ae")), "--out", str(tmp_path / "x.npz")], "no prior to sample from"),
        (["sample", str(runs("mlp-gan")), "--class", "1", "--out", str(tmp_path / "x.npz")], "not class-conditional"),
        (["sample", str(runs("mlp-gan")), "--out", str(tmp_path / "x.csv")], "--out must name a .npz or .npy or .png"),
        (["sample", str(runs("mlp-gan")), "--n", "0", "--out", str(tmp_path / "x.npz")], "--n must be >= 1"),
        (["sample", str(runs("mlp-gan")), "--batch-size", "0", "--out", str(tmp_path / "x.npz")], "--batch-size"),
        (["sample", str(runs("mlp-gan")), "--out", str(tmp_path / "no" / "x.npz")], "does not exist"),
    ]
    for args, fragment in cases:
        capsys.readouterr()
        assert main(args) == 2, args
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and fragment in err, err
    assert not (tmp_path / "x.npz").exists()


@pytest.mark.slow
def test_sample_a_million_points_into_an_npz(runs, tmp_path):
    _sample(runs("mlp-gan"), tmp_path / "m.npz", "--n", "1000000", "--seed", "1")
    with np.load(tmp_path / "m.npz") as m:
        x = m["x"]
    assert x.shape == (1_000_000, 2) and np.isfinite(x).all()
    np.testing.assert_array_equal(x[-10:], genreg.load(runs("mlp-gan")).sample(1_000_000, seed=1)[0][-10:])
