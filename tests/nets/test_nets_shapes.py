"""Every network builds with its defaults and runs forward + backward on CPU with the right shapes."""

import pytest
import torch

from genreg import interfaces
from genreg.errors import UsageError
from genreg.interfaces import critic_score
from genreg.nets.dae1d import DAE1d, DAE1dDecoder, DAE1dEncoder, encoder_lengths
from genreg.nets.dcgan import DCGANCritic, DCGANGenerator
from genreg.nets.mlp2d import MLPCritic, MLPGenerator
from genreg.nets.trace1d import TraceCritic, TraceGenerator
from genreg.nets.vae import VAE, VAEDecoder, VAEEncoder, kl_divergence, reparameterise


def _all_params_have_grad(*modules):
    for m in modules:
        for name, p in m.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), f"{type(m).__name__}.{name} got no gradient"


def test_encoder_lengths_follow_max_pool_floors():
    assert encoder_lengths(500, 4) == [250, 125, 62, 31]


def test_dae1d_shapes_range_and_backward():
    torch.manual_seed(0)
    model = DAE1d()
    assert isinstance(model.encoder, interfaces.Encoder) and isinstance(model.decoder, interfaces.Decoder)
    noisy, clean = torch.rand(4, 1, 500), torch.rand(4, 1, 500)
    code = model.encode(noisy)
    assert code.shape == (4, 16, 31) and code.shape[1] * code.shape[2] == 496
    out = model(noisy)
    assert out.shape == (4, 1, 500)
    assert out.min() >= 0 and out.max() <= 1
    torch.nn.functional.mse_loss(out, clean).backward()
    _all_params_have_grad(model)


def test_dae1d_with_skip_connections_keeps_its_shapes_and_trains_every_weight():
    torch.manual_seed(0)
    model = DAE1d(skips=True)
    noisy, clean = torch.rand(4, 1, 500), torch.rand(4, 1, 500)
    assert model.encode(noisy).shape == (4, 16, 31)
    assert [f.shape[1:] for f in model.encoder.features(noisy)] == [(32, 250), (64, 125), (64, 62), (16, 31)]
    out = model(noisy)
    assert out.shape == (4, 1, 500) and out.min() >= 0 and out.max() <= 1
    torch.nn.functional.mse_loss(out, clean).backward()
    _all_params_have_grad(model)
    assert DAE1d(length=301, channels=(8, 8, 4), kernel_sizes=(5, 5, 3), skips=True)(torch.rand(2, 1, 301)).shape \
        == (2, 1, 301)


def test_dae1d_decoder_with_skip_connections_needs_the_encoders_features():
    decoder = DAE1dDecoder(skips=True)
    with pytest.raises(UsageError, match="skip connections needs the encoder's features"):
        decoder(torch.rand(2, 16, 31))
    features = DAE1dEncoder().features(torch.rand(2, 1, 500))
    assert decoder(features[-1], skips=features).shape == (2, 1, 500)
    with pytest.raises(UsageError, match="got 2"):
        decoder(features[-1], skips=features[2:])


def test_dae1d_other_length_and_odd_sizes_come_back_exactly():
    model = DAE1d(length=301, channels=(8, 8, 4), kernel_sizes=(5, 5, 3))
    assert model(torch.rand(2, 1, 301)).shape == (2, 1, 301)
    assert model.encode(torch.rand(2, 1, 301)).shape == (2, 4, 37)


@pytest.mark.parametrize("bad", [torch.rand(2, 500), torch.rand(2, 1, 499), torch.rand(2, 2, 500)])
def test_dae1d_rejects_wrong_input_shape(bad):
    with pytest.raises(UsageError, match=r"expected input of shape \(batch, 1, 500\)"):
        DAE1dEncoder()(bad)


def test_dae1d_decoder_rejects_wrong_code_shape():
    with pytest.raises(UsageError, match="16, 31"):
        DAE1dDecoder()(torch.rand(2, 16, 30))


def test_dae1d_bad_config_is_a_usage_error():
    with pytest.raises(UsageError, match="odd"):
        DAE1dEncoder(kernel_sizes=(8, 9, 5, 5))
    with pytest.raises(UsageError, match="same non-zero length"):
        DAE1dEncoder(channels=(8, 16), kernel_sizes=(9,))


def test_vae_shapes_variational_and_backward():
    torch.manual_seed(0)
    model = VAE(image_size=32)
    assert model.encoder.variational is True
    x = torch.rand(3, 3, 32, 32)
    recon, mu, logvar = model(x, generator=torch.Generator().manual_seed(1))
    assert recon.shape == x.shape and mu.shape == (3, 50) and logvar.shape == (3, 50)
    assert recon.min() >= 0 and recon.max() <= 1
    loss = torch.nn.functional.mse_loss(recon, x) + 1e-3 * kl_divergence(mu, logvar)
    loss.backward()
    _all_params_have_grad(model)


def test_vae_default_is_the_studys_128x128x3_with_500_hidden_and_50_latent():
    enc, dec = VAEEncoder(), VAEDecoder()
    assert enc.input_shape == (3, 128, 128) and dec.output_shape == (3, 128, 128)
    assert enc.body[1].in_features == 49152 and enc.body[1].out_features == 500
    assert enc.mu.out_features == 50 and enc.logvar.out_features == 50
    assert dec.body[2].out_features == 49152
    mu, logvar = enc(torch.rand(1, 3, 128, 128))
    assert dec(mu).shape == (1, 3, 128, 128)


def test_kl_divergence_known_values():
    mu, logvar = torch.zeros(2, 5), torch.zeros(2, 5)
    assert kl_divergence(mu, logvar).item() == 0.0
    mu = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    logvar = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    # per sample: 0.5 * sum(mu^2 + var - 1 - logvar)
    expected = torch.tensor([0.5 * (1 + 4), 0.5 * 2 * (torch.e - 1 - 1)])
    torch.testing.assert_close(kl_divergence(mu, logvar, reduction="none"), expected)
    torch.testing.assert_close(kl_divergence(mu, logvar, reduction="sum"), expected.sum())


def test_reparameterise_uses_generator_and_is_differentiable():
    mu = torch.zeros(1000, 4, requires_grad=True)
    logvar = torch.full((1000, 4), 2 * torch.log(torch.tensor(3.0)).item(), requires_grad=True)
    z1 = reparameterise(mu, logvar, torch.Generator().manual_seed(5))
    z2 = reparameterise(mu, logvar, torch.Generator().manual_seed(5))
    assert torch.equal(z1, z2)
    assert abs(z1.std().item() - 3.0) < 0.2
    z1.sum().backward()
    assert mu.grad is not None and logvar.grad is not None


@pytest.mark.parametrize("size", [64, 128])
@pytest.mark.parametrize("classes", [0, 3])
def test_dcgan_shapes_and_backward(size, classes):
    torch.manual_seed(0)
    g = DCGANGenerator(image_size=size, num_classes=classes, base_channels=16)
    d = DCGANCritic(image_size=size, num_classes=classes, base_channels=16)
    assert isinstance(g, interfaces.Generator) and isinstance(d, interfaces.Critic)
    y = torch.tensor([0, 2]) if classes else None
    x = g(g.sample_latent(2), y)
    assert x.shape == (2, 3, size, size) and x.min() >= 0 and x.max() <= 1
    out = d(x, y)
    if classes:
        score, logits = out
        assert logits.shape == (2, classes)
        loss = score.mean() + torch.nn.functional.cross_entropy(logits, y)
    else:
        score = out
        loss = score.mean()
    assert score.shape == (2,)
    loss.backward()
    _all_params_have_grad(g, d)


def test_dcgan_128_has_one_more_block_than_64():
    def convs(m):
        return sum(isinstance(x, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) for x in m.modules())

    assert convs(DCGANGenerator(128)) == convs(DCGANGenerator(64)) + 1
    assert convs(DCGANCritic(128)) == convs(DCGANCritic(64)) + 1


def test_dcgan_default_widths_are_the_papers():
    widths = [m.out_channels for m in DCGANGenerator(64).modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert widths == [512, 256, 128, 64, 3]


@pytest.mark.parametrize("norm,kind", [("batch", torch.nn.BatchNorm2d), ("layer", torch.nn.GroupNorm)])
def test_dcgan_norm_option(norm, kind):
    d = DCGANCritic(64, norm=norm, base_channels=8)
    assert any(isinstance(m, kind) for m in d.modules())
    none = DCGANCritic(64, norm="none", base_channels=8)
    assert not any(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.GroupNorm)) for m in none.modules())


def test_layer_norm_critic_scores_do_not_depend_on_the_rest_of_the_batch():
    torch.manual_seed(0)
    d = DCGANCritic(64, norm="layer", base_channels=8)
    x = torch.rand(4, 3, 64, 64)
    torch.testing.assert_close(d(x)[:1], d(x[:1]))


def test_conditional_generator_needs_valid_labels():
    g = DCGANGenerator(64, num_classes=3, base_channels=8)
    z = g.sample_latent(2)
    with pytest.raises(UsageError, match="pass labels"):
        g(z)
    with pytest.raises(UsageError, match=r"\[0, 3\)"):
        g(z, torch.tensor([0, 3]))
    with pytest.raises(UsageError, match="integer"):
        g(z, torch.tensor([0.0, 1.0]))
    with pytest.raises(UsageError, match="latents of shape"):
        g(torch.randn(2, 7), torch.tensor([0, 1]))


def test_conditional_generator_output_depends_on_the_label():
    torch.manual_seed(0)
    g = DCGANGenerator(64, num_classes=3, base_channels=8).eval()
    z = g.sample_latent(1).repeat(2, 1)
    x = g(z, torch.tensor([0, 1]))
    assert not torch.allclose(x[0], x[1])


def test_dcgan_rejects_bad_size():
    with pytest.raises(UsageError, match="power of two"):
        DCGANGenerator(image_size=100)
    with pytest.raises(UsageError, match="norm must be one of"):
        DCGANCritic(norm="instance")


@pytest.mark.parametrize("classes", [0, 3])
def test_trace1d_shapes_and_backward(classes):
    torch.manual_seed(0)
    g, d = TraceGenerator(num_classes=classes), TraceCritic(num_classes=classes, norm="layer")
    y = torch.tensor([0, 1, 2]) if classes else None
    x = g(g.sample_latent(3), y)
    assert x.shape == (3, 1, 500) and x.min() >= 0 and x.max() <= 1
    out = d(x, y)
    score = critic_score(out)
    assert score.shape == (3,)
    loss = score.mean() + (torch.nn.functional.cross_entropy(out[1], y) if classes else 0)
    loss.backward()
    _all_params_have_grad(g, d)


@pytest.mark.parametrize("classes", [0, 8])
def test_mlp2d_shapes_and_backward(classes):
    torch.manual_seed(0)
    g, d = MLPGenerator(num_classes=classes), MLPCritic(num_classes=classes)
    y = torch.arange(5) % 8 if classes else None
    x = g(g.sample_latent(5), y)
    assert x.shape == (5, 2)
    out = d(x, y)
    assert critic_score(out).shape == (5,)
    if classes:
        assert out[1].shape == (5, 8)
    loss = critic_score(out).mean() + (torch.nn.functional.cross_entropy(out[1], y) if classes else 0)
    loss.backward()
    _all_params_have_grad(g, d)


def test_mlp_critic_rejects_wrong_dimension():
    with pytest.raises(UsageError, match=r"\(batch, 2\)"):
        MLPCritic()(torch.rand(4, 3))


def test_latent_interpolation_strip():
    from genreg.nets.vae import interpolate_latents, latent_interpolation

    z = interpolate_latents(torch.zeros(4), torch.ones(4) * 2, steps=5)
    torch.testing.assert_close(z[:, 0], torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0]))
    model = VAE(image_size=16, hidden=32, latent_dim=6).eval()
    x = torch.rand(2, 3, 16, 16)
    strip = latent_interpolation(model.encoder, model.decoder, x[0], x[1], steps=8)
    assert strip.shape == (8, 3, 16, 16)
    torch.testing.assert_close(strip[0], model(x[:1])[0][0])   # the ends are the reconstructions
    torch.testing.assert_close(strip[-1], model(x[1:])[0][0])
    with pytest.raises(UsageError, match="steps"):
        interpolate_latents(torch.zeros(4), torch.ones(4), steps=1)


def test_dae1d_centring_removes_the_trace_level_and_restores_it_at_the_output():
    torch.manual_seed(0)
    model = DAE1d()
    x = torch.rand(3, 1, 500) * 0.5
    # the code does not depend on the trace's level ...
    torch.testing.assert_close(model.encode(x + 0.3), model.encode(x), rtol=0, atol=1e-5)
    # ... and with a silent head, the output is exactly each trace's mean level
    with torch.no_grad():
        model.decoder.head.weight.zero_()
        model.decoder.head.bias.zero_()
    torch.testing.assert_close(model(x), x.mean(-1, keepdim=True).expand_as(x), rtol=1e-5, atol=1e-6)
    # without centring the level reaches the code
    plain = DAE1d(center=False)
    assert not torch.allclose(plain.encode(x + 0.3), plain.encode(x), atol=1e-3)
