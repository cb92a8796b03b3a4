"""Data-dependent starts of the VAE (``model.input_norm``, ``model.init_output_bias``):
the statistics the networks take from the training images, that the training loop sets them,
that the checkpoint carries them (safetensors), and that a reloaded run gives the same outputs."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file

import genreg
from genreg.errors import UsageError
from genreg.eval import load_run
from genreg.models.base import init_from_data
from genreg.nets.vae import VAEDecoder, VAEEncoder
from genreg.training import checkpoint as ckpt
from genreg.training.data import build_dataset

from tiny_runs import tiny_run

TINY = ("data.size=32", "data.n=16", "model.hidden=16", "train.batch_size=8")


def _images(seed: int, n: int, size: int = 4, low: float = 0.0, high: float = 1.0):
    g = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(n, 3, size, size, generator=g)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 12), low=st.floats(-2.0, 0.5), span=st.floats(0.01, 3.0))
@pytest.mark.parametrize("norm", ["mean", "standard"])
def test_centred_encoder_equals_plain_encoder_on_centred_images(norm, seed, n, low, span):
    x = _images(seed, n, low=low, high=low + span).double()
    centred = VAEEncoder(4, 3, 8, 5, input_norm=norm).double()
    centred.init_from_data(x)
    mean = x.mean(0)
    std = (x - mean).pow(2).mean().sqrt() if norm == "standard" else torch.ones((), dtype=x.dtype)
    torch.testing.assert_close(centred.input_mean, mean)
    torch.testing.assert_close(centred.input_std, std)
    plain = VAEEncoder(4, 3, 8, 5).double()
    plain.load_state_dict({k: v for k, v in centred.state_dict().items() if not k.startswith("input_")})
    probe = _images(seed + 1, 3).double()
    for a, b in zip(centred(probe), plain((probe - mean) / std)):
        torch.testing.assert_close(a, b)
    # the training images come out with zero mean (and, standardised, unit pixel variance)
    z = (x - centred.input_mean) / centred.input_std
    assert float(z.mean(0).abs().max()) < 1e-9
    if norm == "standard":
        assert float(z.pow(2).mean()) == pytest.approx(1.0, rel=1e-9)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "none"])
def test_output_bias_makes_the_untrained_decoder_draw_the_mean_image(activation):
    low = -0.9 if activation == "tanh" else 0.0
    target = _images(3, 10, low=low, high=0.95)
    dec = VAEDecoder(4, 3, 8, 5, output_activation_name=activation, init_output_bias=True)
    init_from_data(type("M", (), {"modules": lambda self: {"decoder": dec}})(), _Data(_images(4, 10), target))
    with torch.no_grad():
        dec.body[2].weight.zero_()  # the bias alone: what the decoder draws at a zero hidden layer
        out = dec(torch.randn(2, 5))
    torch.testing.assert_close(out, target.mean(0).expand_as(out), atol=1e-5, rtol=1e-5)


def test_output_bias_is_clamped_inside_the_sigmoid_range():
    target = torch.zeros(4, 3, 4, 4)
    target[:, 0] = 1.0  # a channel always 1, one always 0: logit would be infinite
    dec = VAEDecoder(4, 3, 8, 5, init_output_bias=True)
    dec.init_from_data(target)
    bias = dec.body[2].bias.detach()
    assert bool(torch.isfinite(bias).all())
    assert float(torch.sigmoid(bias).max()) < 1 and float(torch.sigmoid(bias).min()) > 0


def test_options_off_change_nothing():
    enc, dec = VAEEncoder(4, 3, 8, 5), VAEDecoder(4, 3, 8, 5)
    assert not [k for k in enc.state_dict() if k.startswith("input_")]
    before = {k: v.clone() for k, v in {**enc.state_dict(), **dec.state_dict()}.items()}
    enc.init_from_data(_images(0, 6))
    dec.init_from_data(_images(0, 6))
    after = {**enc.state_dict(), **dec.state_dict()}
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_init_from_data_rejects_images_that_do_not_fit():
    enc = VAEEncoder(4, 3, 8, 5, input_norm="standard")
    with pytest.raises(UsageError, match=r"VAEEncoder.init_from_data: expected input of shape \(batch, 3, 4, 4\)"):
        enc.init_from_data(_images(0, 6, size=8))
    with pytest.raises(UsageError, match="pixel std 0"):
        enc.init_from_data(torch.full((5, 3, 4, 4), 0.3))
    same = VAEEncoder(4, 3, 8, 5, input_norm="mean")
    same.init_from_data(torch.full((5, 3, 4, 4), 0.3))  # centring alone needs no spread
    assert torch.equal(same.input_mean, torch.full((3, 4, 4), 0.3))
    with pytest.raises(UsageError, match="input_norm must be one of none, mean, standard, got 'median'"):
        VAEEncoder(4, 3, 8, 5, input_norm="median")
    dec = VAEDecoder(4, 3, 8, 5, init_output_bias=True)
    with pytest.raises(UsageError, match="VAEDecoder.init_from_data"):
        dec.init_from_data(_images(0, 6), _images(1, 6, size=2))


@pytest.mark.parametrize("key, value", [("input_norm", "median"), ("input_norm", 1), ("init_output_bias", "maybe")])
def test_bad_option_values_are_one_line_usage_errors(key, value):
    with pytest.raises(UsageError, match=key) as info:
        genreg.create("model", "vae", **{key: value})
    assert "\n" not in str(info.value)


class _Data:
    def __init__(self, x, target=None):
        self.x, self.target = x, target


@pytest.fixture(scope="module")
def centred_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("vae-init") / "run"
    # a tiny learning rate: after one step the output bias is still (almost) its data-set start
    return tiny_run(out, "vae", *TINY, "model.input_norm=standard", "model.init_output_bias=true",
                    "opt.lr=1e-9", "train.checkpoint_every=1", steps=1).run_dir


def test_training_sets_the_statistics_and_the_checkpoint_carries_them(centred_run):
    train = build_dataset({"name": "galaxies", "size": 32, "n": 16}, "train", 0).x.double()
    mean = train.mean(0)
    std = (train - mean).pow(2).mean().sqrt()
    step_dir = ckpt.list_checkpoints(centred_run)[-1][1]
    tensors = load_file(str(step_dir / ckpt.TENSORS))
    torch.testing.assert_close(tensors["model.encoder.input_mean"].double(), mean, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(tensors["model.encoder.input_std"].double(), std, atol=1e-6, rtol=1e-6)
    bias = tensors["model.decoder.body.2.bias"].double()
    torch.testing.assert_close(bias, torch.logit(mean.clamp(1e-4, 1 - 1e-4)).reshape(-1), atol=1e-5, rtol=1e-5)


def test_a_reloaded_run_gives_the_same_outputs_without_the_training_data(centred_run):
    step_dir = ckpt.list_checkpoints(centred_run)[-1][1]
    tensors = load_file(str(step_dir / ckpt.TENSORS))
    loaded = load_run(centred_run, "cpu").model
    assert float(loaded.encoder.input_std) != 1.0  # the stored statistics, not the identity start
    # the same weights in a model that does not centre, fed the standardised images by hand
    plain = genreg.create("model", "vae", image_size=32, channels=3, hidden=16)
    weights = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.") and ".input_" not in k}
    plain.encoder.load_state_dict({k[len("encoder."):]: v for k, v in weights.items() if k.startswith("encoder.")})
    plain.decoder.load_state_dict({k[len("decoder."):]: v for k, v in weights.items() if k.startswith("decoder.")})
    x = build_dataset({"name": "galaxies", "size": 32, "n": 8}, "test", 0).x
    with torch.no_grad():
        mu, logvar = loaded.encoder(x)
        mean, std = tensors["model.encoder.input_mean"], tensors["model.encoder.input_std"]
        want_mu, want_logvar = plain.encoder((x - mean) / std)
        assert torch.equal(mu, want_mu) and torch.equal(logvar, want_logvar)
        assert torch.equal(loaded.decoder(mu), plain.decoder(want_mu))
        again = load_run(centred_run, "cpu").model
        assert torch.equal(again.decoder(again.encoder(x)[0]), loaded.decoder(mu))
