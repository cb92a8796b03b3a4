"""`genreg apply`: npz / npy / image folders / registered data, units kept, streaming, errors."""

import tracemalloc

import numpy as np
import pytest
from PIL import Image

import genreg
from genreg.cli import main


def _traces(n, seed=0, length=500):
    rng = np.random.default_rng(seed)
    pulse = np.exp(-0.5 * ((np.arange(length) - 250) / 4.0) ** 2)
    return (rng.normal(size=(n, length)) * 0.3 + pulse * rng.uniform(1, 3, (n, 1))).astype(np.float32)


def _one_line_error(capsys, args, *fragments):
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("genreg: error:"), err
    for fragment in fragments:
        assert fragment in err, err


def test_apply_a_denoiser_to_an_npz_of_raw_unit_traces(runs, tmp_path):
    run = runs("dae1d")
    traces = _traces(300) * 7.0  # "mV"
    np.savez(tmp_path / "mine.npz", traces=traces, labels=np.arange(300) % 2)
    assert main(["apply", str(run), "--in", f"npz:{tmp_path / 'mine.npz'}", "--out", str(tmp_path / "out.npz"),
                 "--batch-size", "64", "--quiet"]) == 0
    with np.load(tmp_path / "out.npz") as out:
        assert sorted(out.files) == ["denoised", "y"]
        denoised = out["denoised"]
        assert denoised.shape == traces.shape and denoised.dtype == np.float32  # the file's own layout
        assert out["y"].tolist() == (np.arange(300) % 2).tolist()
    expected = genreg.load(run).denoise(traces[:, None])[:, 0]  # one code path with the Python API
    np.testing.assert_allclose(denoised, expected, rtol=1e-5, atol=1e-5)
    # units: the same traces in uV give the same denoised traces in uV
    np.savez_compressed(tmp_path / "uv.npz", x=traces * 1000.0)  # a compressed archive streams too
    assert main(["apply", str(run), "--in", f"npz:{tmp_path / 'uv.npz'}", "--out", str(tmp_path / "uv-out.npz"),
                 "--quiet"]) == 0
    with np.load(tmp_path / "uv-out.npz") as out:
        np.testing.assert_allclose(out["denoised"], denoised * 1000.0, rtol=1e-4, atol=1e-2)


def test_apply_npy_and_a_split_and_a_registered_data_set(runs, tmp_path):
    from genreg.data.files import split_indices

    run = runs("dae1d")
    traces = _traces(50, seed=3)[:, None]  # (N, 1, 500) as the model takes it
    np.save(tmp_path / "t.npy", traces)
    assert main(["apply", str(run), "--in", f"npy:{tmp_path / 't.npy'}", "split=test", "test_fraction=0.2",
                 "--out", str(tmp_path / "o.npz"), "--quiet"]) == 0
    picked = split_indices(50, "test", 0.2, 0, None)
    with np.load(tmp_path / "o.npz") as out:
        np.testing.assert_allclose(out["denoised"], genreg.load(run).denoise(traces[picked]), rtol=1e-5, atol=1e-5)
    assert main(["apply", str(run), "--in", "radio", "n=20", "noise=uniform", "--out", str(tmp_path / "r.npz"),
                 "--quiet"]) == 0
    with np.load(tmp_path / "r.npz") as out:
        assert out["denoised"].shape == (20, 1, 500)
        assert 0.0 <= out["denoised"].min() and out["denoised"].max() <= 1.0  # radio's normalised units


def _image_folder(root, per_class=3, size=40):
    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(root / cls / f"{i}.png")
    return root


def test_apply_a_vae_to_an_image_folder_writes_errors_and_latent_means(runs, tmp_path, capsys):
    run = runs("vae")
    folder = _image_folder(tmp_path / "imgs")
    assert main(["apply", str(run), "--in", f"images:{folder}", "--out", str(tmp_path / "v.npz"), "--quiet"]) == 0
    assert "reconstruction (6, 3, 32, 32)" in capsys.readouterr().out
    with np.load(tmp_path / "v.npz") as out:
        assert sorted(out.files) == ["class_names", "files", "latent_mean", "recon_error", "reconstruction", "y"]
        recon, error, mu = out["reconstruction"], out["recon_error"], out["latent_mean"]
        assert recon.shape == (6, 3, 32, 32) and error.shape == (6,) and mu.shape == (6, 6)
        assert out["y"].tolist() == [0, 0, 0, 1, 1, 1] and out["class_names"].tolist() == ["a", "b"]
        assert out["files"][0].endswith("0.png")
    vae = genreg.load(run)
    images = genreg.data.load_dataset(f"images:{folder}", split="all", size=32).x.numpy()  # as training reads them
    np.testing.assert_allclose(mu, vae.encode(images), atol=1e-5)
    np.testing.assert_allclose(error, ((vae.reconstruct(images) - images) ** 2).reshape(6, -1).mean(1), rtol=1e-4)
    # in the folder's value range: 0..255 in, 0..255 out; the error stays in the model's units
    assert main(["apply", str(run), "--in", f"images:{folder}", "value_range=0,255", "--out",
                 str(tmp_path / "v255.npz"), "--quiet"]) == 0
    with np.load(tmp_path / "v255.npz") as out:
        np.testing.assert_allclose(out["reconstruction"], recon * 255.0, rtol=1e-4, atol=1e-2)
        np.testing.assert_allclose(out["recon_error"], error, rtol=1e-4)


def test_apply_uint8_channels_last_images_comes_back_in_that_layout_and_range(runs, tmp_path):
    run = runs("vae")
    pixels = np.random.default_rng(2).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / "p.npz", images=pixels)
    assert main(["apply", str(run), "--in", f"npz:{tmp_path / 'p.npz'}", "--out", str(tmp_path / "o.npz"),
                 "--quiet"]) == 0
    with np.load(tmp_path / "o.npz") as out:
        recon = out["reconstruction"]
    assert recon.shape == (5, 32, 32, 3)
    as_model = np.moveaxis(pixels, -1, 1).astype(np.float32) / 255.0
    expected = np.moveaxis(genreg.load(run).reconstruct(as_model), 1, -1) * 255.0
    np.testing.assert_allclose(recon, expected, rtol=1e-4, atol=1e-2)


@pytest.mark.parametrize("kind", ["npy", "npz"])
def test_apply_streams_a_file_much_larger_than_a_batch(runs, tmp_path, kind):
    run = runs("dae1d")
    n, batch = 4000, 50  # 8 MB of traces, 80 batches
    traces = _traces(n, seed=5)
    path = tmp_path / f"big.{kind}"
    np.save(path, traces) if kind == "npy" else np.savez(path, x=traces)
    del traces
    dae = genreg.load(run)
    seen = []
    hook = dae.module.register_forward_hook(lambda m, inputs, out: seen.append(len(inputs[0])))
    tracemalloc.start()
    try:
        from genreg.inference.apply import apply_to_file

        summary = apply_to_file(dae, f"{kind}:{path}", {}, tmp_path / "out.npz", batch_size=batch, progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        hook.remove()
    size = path.stat().st_size
    assert summary["n"] == n and max(seen) == batch and sum(seen) == n
    assert peak < size / 4, f"peak traced memory {peak} bytes for a {size}-byte input"
    with np.load(tmp_path / "out.npz", mmap_mode="r") as out:
        assert out["denoised"].shape == (n, 500)


def test_apply_bad_inputs_are_one_line_errors(runs, tmp_path, capsys):
    dae, gan = str(runs("dae1d")), str(runs("mlp-gan"))
    np.savez(tmp_path / "short.npz", x=np.zeros((4, 400), np.float32))
    _one_line_error(capsys, ["apply", dae, "--in", f"npz:{tmp_path / 'short.npz'}", "--out", str(tmp_path / "o.npz")],
                    "has samples of shape (400,)", "(as model input (1, 400))", "takes (1, 500)")
    bad = _traces(5)
    bad[3, 10] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    _one_line_error(capsys, ["apply", dae, "--in", f"npy:{tmp_path / 'nan.npy'}", "--out", str(tmp_path / "o.npz")],
                    "NaN or Inf in sample 3")
    _one_line_error(capsys, ["apply", gan, "--in", "ring8", "--out", str(tmp_path / "o.npz")], "is a generator")
    _one_line_error(capsys, ["apply", dae, "--in", f"npz:{tmp_path / 'short.npz'}", "bogus=1", "--out",
                             str(tmp_path / "o.npz")], "has no parameter 'bogus'")
    _one_line_error(capsys, ["apply", dae, "--in", f"npz:{tmp_path / 'short.npz'}", "x_key=nope", "--out",
                             str(tmp_path / "o.npz")], "has no key 'nope'")
    _one_line_error(capsys, ["apply", dae, "--in", f"npz:{tmp_path / 'missing.npz'}", "--out",
                             str(tmp_path / "o.npz")], "file not found")
    _one_line_error(capsys, ["apply", dae, "--in", "radio", "--out", str(tmp_path / "o.csv")], "--out must name a .npz")
    _one_line_error(capsys, ["apply", dae, "--in", "radio", "--out", str(tmp_path / "o.npz"), "--value-range", "1"],
                    "--value-range is LO,HI")
    _one_line_error(capsys, ["apply", dae, "--in", "radio", "--out", str(tmp_path / "o.npz"), "--device", "tpu"],
                    "unknown device")
    assert not (tmp_path / "o.npz").exists()  # no partial output after any error
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # nor temporaries


def test_apply_help_documents_the_output_keys(capsys):
    with pytest.raises(SystemExit):
        main(["apply", "--help"])
    text = capsys.readouterr().out
    for key in ("denoised", "reconstruction", "recon_error", "latent_mean", "npz:PATH", "images:DIR"):
        assert key in text
