"""genreg.load: the object per model family, its units, determinism and errors."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import genreg
from genreg.errors import UsageError
from genreg.inference import AutoencoderModel, DenoiserModel, GeneratorModel
from genreg.inference.units import DataUnits, units_of
from genreg.training.checkpoint import CheckpointError


def test_load_returns_the_family_object(runs):
    assert isinstance(genreg.load(runs("mlp-gan")), GeneratorModel)
    dae = genreg.load(runs("dae1d"))
    assert isinstance(dae, DenoiserModel) and dae.family == "denoiser" and dae.input_shape == (1, 500)
    assert dae.units.kind == "per_sample_minmax" and not hasattr(dae, "sample")
    vae = genreg.load(runs("vae"))
    assert isinstance(vae, AutoencoderModel) and vae.family == "vae" and vae.latent_shape == (6,)
    assert vae.units == DataUnits("value_range", (0.0, 1.0))
    ckpt = next((runs("mlp-gan") / "checkpoints").iterdir())
    assert genreg.load(ckpt).checkpoint == ckpt  # a checkpoint directory works too


def test_generator_uses_the_ema_weights_when_the_run_kept_them(runs):
    gan = genreg.load(runs("mlp-gan"))
    assert gan.module is gan.rebuilt.ema and gan.module is not gan.rebuilt.model.generator


def test_samples_are_deterministic_for_a_seed_whatever_the_batch_size(runs):
    gan = genreg.load(runs("mlp-gan"))
    x, y = gan.sample(5000, seed=7)
    assert x.shape == (5000, 2) and x.dtype == np.float32 and y is None
    assert np.array_equal(x, gan.sample(5000, seed=7)[0])  # bitwise for the same batch size
    # sample i's latent depends on (seed, i) only; the network's output on one latent can
    # differ in the last bits between batch sizes (BLAS picks kernels by matrix size)
    assert torch.equal(gan.latents(0, 5000, 7)[4000:4100], gan.latents(4000, 4100, 7))
    again, _ = gan.sample(5000, seed=7, batch_size=333)
    np.testing.assert_allclose(again, x, rtol=1e-5, atol=1e-6)
    head, _ = gan.sample(100, seed=7, batch_size=7)
    np.testing.assert_allclose(head, x[:100], rtol=1e-5, atol=1e-6)
    other, _ = gan.sample(100, seed=8)
    assert not np.allclose(other, x[:100])


def test_images_from_a_batch_size_agree_with_another(runs):
    gan = genreg.load(runs("dcgan"))
    a, _ = gan.sample(10, seed=1, batch_size=3)
    b, _ = gan.sample(10, seed=1, batch_size=10)
    assert a.shape == (10, 3, 32, 32) and np.allclose(a, b, atol=1e-5)
    assert 0.0 <= a.min() and a.max() <= 1.0  # the training data's value range (sigmoid output)


def test_conditional_sampling_labels(runs):
    gan = genreg.load(runs("acgan-ring8"))
    x, y = gan.sample(20, seed=0)
    assert y.dtype == np.int64 and y.tolist() == [i % 8 for i in range(20)]
    _, y3 = gan.sample(5, y=3, seed=0)
    assert y3.tolist() == [3] * 5
    _, given_labels = gan.sample(3, y=[7, 0, 1], seed=0)
    assert given_labels.tolist() == [7, 0, 1]
    z = gan.latents(0, 4, seed=0)  # generate() maps given latents and labels like sample() does
    np.testing.assert_allclose(gan.generate(z.numpy(), torch.arange(4)), x[:4], rtol=1e-5, atol=1e-6)
    with pytest.raises(UsageError, match="one integer or 4 integers"):
        gan.generate(z, y=[0.5, 1, 2, 3])
    with pytest.raises(UsageError, match=r"class must lie in \[0, 8\), got 9"):
        gan.sample(4, y=9)
    with pytest.raises(UsageError, match="not class-conditional"):
        genreg.load(runs("mlp-gan")).sample(4, y=1)


def test_sample_into_a_memory_map(runs, tmp_path):
    gan = genreg.load(runs("mlp-gan"))
    out = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=(1000, 2))
    gan.sample(1000, seed=2, out=out, batch_size=128)
    out.flush()
    assert np.array_equal(np.load(tmp_path / "x.npy"), gan.sample(1000, seed=2)[0])
    with pytest.raises(UsageError, match="out has shape"):
        gan.sample(10, out=np.empty((9, 2), np.float32))


def test_denoise_keeps_the_users_units_and_array_kind(runs):
    dae = genreg.load(runs("dae1d"))
    traces = np.random.default_rng(0).normal(size=(6, 1, 500)).astype(np.float32)
    out = dae.denoise(traces)
    assert isinstance(out, np.ndarray) and out.shape == traces.shape and out.dtype == np.float32
    scaled = dae.denoise(traces * 1000.0 + 3.0)  # mV -> uV with an offset: the output follows
    np.testing.assert_allclose(scaled, out * 1000.0 + 3.0, rtol=1e-4, atol=1e-2)
    as_tensor = dae.reconstruct(torch.from_numpy(traces), batch_size=4)
    assert isinstance(as_tensor, torch.Tensor) and torch.allclose(as_tensor, torch.from_numpy(out), atol=1e-6)
    # within the trace's own range, as the model's sigmoid output is within [0, 1]
    assert (out.min(axis=-1) >= traces.min(axis=-1) - 1e-4).all()


def test_denoise_rejects_the_wrong_shape_in_one_line(runs):
    dae = genreg.load(runs("dae1d"))
    with pytest.raises(UsageError) as err:
        dae.denoise(np.zeros((2, 400), np.float32))
    assert "takes input of shape (batch, 1, 500), got (2, 400)" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(UsageError, match="real numbers"):
        dae.denoise(np.array([["a"] * 500], dtype=object)[:, None])


def test_autoencoder_encode_decode_reconstruct_and_prior_samples(runs):
    vae = genreg.load(runs("vae"))
    images = np.random.default_rng(1).random((4, 3, 32, 32), dtype=np.float32)
    z = vae.encode(images)
    assert z.shape == (4, 6)
    np.testing.assert_allclose(vae.decode(z), vae.reconstruct(images), atol=1e-6)
    in_255 = vae.reconstruct(images * 255.0, input_range=(0, 255))  # 8-bit pixels: out in 0..255 too
    np.testing.assert_allclose(in_255, vae.reconstruct(images) * 255.0, rtol=1e-4, atol=1e-3)
    x, y = vae.sample(5, seed=3)
    assert x.shape == (5, 3, 32, 32) and y is None and np.allclose(x, vae.sample(5, seed=3, batch_size=2)[0], atol=1e-6)
    ae = genreg.load(runs("mlp-ae"))
    assert ae.family == "autoencoder" and ae.encode(np.zeros((3, 2), np.float32)).shape == (3, 4)
    with pytest.raises(UsageError, match="no prior to sample from"):
        ae.sample(3)


def test_load_errors_are_one_line(tmp_path):
    with pytest.raises(CheckpointError, match="holds no complete checkpoint"):
        genreg.load(tmp_path)
    with pytest.raises(UsageError, match="unknown device"):
        genreg.load(tmp_path, device="gpu7")


@pytest.mark.parametrize("spec, expected", [
    ({"name": "radio"}, DataUnits("per_sample_minmax")),
    ({"name": "radio", "normalize": False}, DataUnits()),
    ({"name": "radio", "normalize": "false"}, DataUnits()),
    ({"name": "galaxies", "value_range": [-1.0, 1.0]}, DataUnits("value_range", (-1.0, 1.0))),
    ({"name": "galaxies"}, DataUnits("value_range", (0.0, 1.0))),
    ({"name": "images:/some/dir", "value_range": "0,255"}, DataUnits("value_range", (0.0, 255.0))),
    ({"name": "ring8"}, DataUnits()),
    ({"name": "npz:/x.npz"}, DataUnits()),
])
def test_units_of_the_training_data(spec, expected):
    assert units_of(spec) == expected


@settings(max_examples=40, deadline=None)
@given(scale=st.floats(1e-3, 1e4), offset=st.floats(-1e3, 1e3), seed=st.integers(0, 2**16))
def test_per_sample_normalisation_is_affine_invariant_and_undone(scale, offset, seed):
    units = DataUnits("per_sample_minmax")
    x = torch.from_numpy(np.random.default_rng(seed).normal(size=(3, 1, 50)))
    base, _ = units.to_model(x)
    moved, state = units.to_model(x * scale + offset)
    assert torch.allclose(base, moved, atol=1e-6)
    assert 0.0 <= float(moved.min()) and float(moved.max()) <= 1.0
    assert torch.allclose(units.from_model(moved, state), x * scale + offset, rtol=1e-9, atol=1e-9 * (scale + abs(offset)))


@settings(max_examples=30, deadline=None)
@given(lo=st.floats(-300, 300), width=st.floats(0.5, 500))
def test_value_range_mapping_round_trips(lo, width):
    units = DataUnits("value_range", (-1.0, 1.0))
    x = torch.linspace(lo, lo + width, 11, dtype=torch.float64).reshape(1, 11)
    model_units, state = units.to_model(x, (lo, lo + width))
    assert abs(float(model_units.min()) + 1) < 1e-9 and abs(float(model_units.max()) - 1) < 1e-9
    assert torch.allclose(units.from_model(model_units, state), x, atol=1e-9 * (abs(lo) + width))
