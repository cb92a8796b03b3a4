"""Every study model builds from the registry and takes a forward/backward step on CPU.

The GANs run on each network family (images, 500-sample traces, 2-D points); the family
follows the data (``arch="auto"``) or is set explicitly. Sizes are kept tiny so each step
takes well under a second.
"""

import dataclasses

import pytest
import torch
import torch.nn.functional as F

import genreg
from genreg.errors import UsageError
from genreg.interfaces import critic_score
from genreg.models._gan_arch import arch_for_shape

STUDY_MODELS = ("dae1d", "vae", "gan", "acgan", "wgan-gp", "wgan-div")
GANS = ("gan", "acgan", "wgan-gp", "wgan-div")

# tiny but complete networks of each family
FAMILY = {
    "dcgan": dict(arch="dcgan", image_size=16, channels=3, base_channels=8, latent_dim=16),
    "trace1d": dict(arch="trace1d", length=500, trace_channels=(8, 8, 4, 4), latent_dim=16),
    "mlp2d": dict(arch="mlp2d", dim=2, hidden=16, layers=2),
}
SHAPES = {"dcgan": (3, 16, 16), "trace1d": (1, 500), "mlp2d": (2,)}


def test_study_models_are_registered_with_summaries():
    names = {e.name for e in genreg.list_entries(kind="model")}
    assert set(STUDY_MODELS) <= names
    for name in STUDY_MODELS:
        entry = genreg.get_entry("model", name)
        assert entry.summary and "study" in entry.tags


@pytest.mark.parametrize("name", GANS)
@pytest.mark.parametrize("family", sorted(FAMILY))
def test_gan_forward_backward_each_family(name, family):
    torch.manual_seed(0)
    model = genreg.create("model", name, **FAMILY[family])
    g, d = model.generator, model.critic
    assert tuple(g.output_shape) == SHAPES[family]
    batch = 4
    y = torch.arange(batch) % g.num_classes if g.num_classes else None
    fake = g(g.sample_latent(batch), y)
    assert fake.shape == (batch,) + SHAPES[family]
    real = torch.rand(batch, *SHAPES[family])
    loss = genreg.create("loss", model.config.loss, **model.config.loss_params)
    penalty = genreg.create("penalty", model.config.penalty, **model.config.penalty_params)
    out_real, out_fake = d(real, y), d(fake.detach(), y)
    d_loss = loss.critic(critic_score(out_real), critic_score(out_fake)) + penalty(d, real, fake, y)
    if y is not None:  # the acGAN's auxiliary class loss on real and generated samples
        d_loss = d_loss + F.cross_entropy(out_real[1], y) + F.cross_entropy(out_fake[1], y)
    d_loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in d.parameters() if p.requires_grad)
    out = d(fake, y)
    g_loss = loss.generator(critic_score(out)) + (F.cross_entropy(out[1], y) if y is not None else 0)
    g_loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in g.parameters())


def test_gan_defaults_match_the_study():
    wgp = genreg.create("model", "wgan-gp").config
    assert (wgp.loss, wgp.penalty, wgp.penalty_params, wgp.n_critic, wgp.norm_d) == \
        ("wasserstein", "gp", {"weight": 10.0}, 5, "layer")
    assert type(wgp).optim_defaults == {"lr_g": 1e-4, "lr_d": 4e-4, "betas": (0.5, 0.999)}
    wdiv = genreg.create("model", "wgan-div").config
    assert (wdiv.penalty, wdiv.penalty_params, wdiv.norm_d) == ("div", {"k": 2.0, "p": 6.0}, "layer")
    assert type(wdiv).optim_defaults["lr_g"] == type(wdiv).optim_defaults["lr_d"] == 2e-4
    gan = genreg.create("model", "gan").config
    assert (gan.loss, gan.penalty, gan.n_critic, gan.norm_d) == ("bce", "none", 1, "batch")
    ac = genreg.create("model", "acgan")
    assert ac.num_classes == 3 and ac.config.loss == "bce"
    # the paper's interpolated WGAN-div penalty is one option away
    alt = genreg.create("model", "wgan-div", penalty_params={"k": 2.0, "p": 6.0, "at": "interpolates"})
    assert genreg.create("penalty", "div", **alt.config.penalty_params).at == "interpolates"


def test_dae1d_shapes_and_step():
    model = genreg.create("model", "dae1d")
    net = model.net
    assert model.input_shape == (1, 500) == model.output_shape
    assert net.encoder(torch.rand(2, 1, 500)).shape == (2, 16, 31)  # the study's 16 x 31 code
    noisy, clean = torch.rand(4, 1, 500), torch.rand(4, 1, 500)
    out = net(noisy)
    assert out.shape == clean.shape and out.min() >= 0 and out.max() <= 1  # sigmoid output
    torch.nn.functional.mse_loss(out, clean).backward()
    assert all(p.grad is not None for p in net.parameters())


@pytest.mark.parametrize("size", [32, 128])
def test_vae_shapes_and_step(size):
    model = genreg.create("model", "vae", image_size=size, hidden=32 if size == 128 else 500)
    assert model.variational and model.input_shape == (3, size, size)
    x = torch.rand(2, 3, size, size)
    mu, logvar = model.encoder(x)
    assert mu.shape == logvar.shape == (2, 50)
    recon = model.decoder(mu + torch.exp(0.5 * logvar) * torch.randn_like(mu))
    loss = torch.nn.functional.mse_loss(recon, x) - 0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(1).mean()
    loss.backward()
    assert all(p.grad is not None for p in model.encoder.parameters())


def test_vae_default_is_the_studys_128():
    model = genreg.create("model", "vae")
    assert model.input_shape == (3, 128, 128)
    assert model.encoder.body[1].in_features == 49152 and model.encoder.body[1].out_features == 500


@pytest.mark.parametrize("shape, arch", [((3, 64, 64), "dcgan"), ((3, 128, 128), "dcgan"), ((1, 500), "trace1d"),
                                         ((2,), "mlp2d")])
def test_arch_follows_the_data(shape, arch):
    cfg = genreg.create("model", "wgan-gp").config.fit_data(shape)
    assert cfg.arch == arch
    model = genreg.create("model", "wgan-gp", **{f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)})
    assert tuple(model.generator.output_shape) == shape and tuple(model.critic.input_shape) == shape


def test_arch_for_an_unusable_shape_is_a_clear_error():
    with pytest.raises(UsageError, match=r"no GAN network family for samples of shape \(3, 5\)"):
        arch_for_shape((3, 5))


def test_explicit_sizes_are_kept():
    cfg = genreg.create("model", "gan", image_size=128).config.fit_data((3, 64, 64))
    assert cfg.image_size == 128  # the trainer then reports the mismatch; no silent change


def test_bad_model_keys_are_one_line_errors():
    with pytest.raises(UsageError, match=r"unknown key model\.imag_size \(did you mean model\.image_size\?\)"):
        genreg.create("model", "gan", imag_size=64)
    with pytest.raises(UsageError, match=r"model.objective of dae1d must be mse"):
        genreg.create("model", "dae1d", objective="mse+kl")
    with pytest.raises(UsageError, match=r"num_classes must be >= 1 for an acGAN"):
        genreg.create("model", "acgan", num_classes=0)


def test_mlp_gan_uses_the_mlp2d_networks():
    from genreg.nets.mlp2d import MLPCritic, MLPGenerator

    model = genreg.create("model", "mlp-gan", hidden=8, depth=2, num_classes=3)
    assert isinstance(model.generator, MLPGenerator) and isinstance(model.critic, MLPCritic)
    score, logits = model.critic(model.generator(torch.randn(5, 8), torch.arange(5) % 3))
    assert score.shape == (5,) and logits.shape == (5, 3)


def test_acgan_aux_fake_and_minibatch_std_settings():
    with pytest.raises(UsageError, match=r"model.aux_fake must be >= 0, got -1"):
        genreg.create("model", "acgan", aux_fake=-1.0)
    model = genreg.create("model", "acgan", image_size=32, base_channels=8, minibatch_std=True)
    assert model.critic.minibatch_std and model.config.aux_fake == 1.0  # Odena et al.'s form by default
    score, logits = model.critic(model.generator(torch.randn(4, model.generator.latent_dim), torch.arange(4) % 3))
    assert score.shape == (4,) and logits.shape == (4, 3)


def test_acgan_class_conditioning_options_default_off_and_reach_the_networks():
    from genreg.nets.conditional import ConditionalNorm

    plain = genreg.create("model", "acgan", image_size=32, base_channels=8)
    assert plain.config.aux_weight_g is None and not plain.config.cond_norm and not plain.config.projection
    assert plain.critic.project is None and not any(isinstance(m, ConditionalNorm) for m in plain.generator.modules())
    model = genreg.create("model", "acgan", image_size=32, base_channels=8, cond_norm=True, projection=True)
    assert any(isinstance(m, ConditionalNorm) for m in model.generator.modules()) and model.critic.project is not None
    y = torch.arange(4) % 3
    score, logits = model.critic(model.generator(torch.randn(4, model.generator.latent_dim), y), y)
    assert score.shape == (4,) and logits.shape == (4, 3)
    with pytest.raises(UsageError, match=r"model.aux_weight_g must be >= 0 \(or none\), got -1"):
        genreg.create("model", "acgan", aux_weight_g=-1.0)
    with pytest.raises(UsageError, match="model.projection is implemented for images"):
        genreg.create("model", "acgan", arch="mlp2d", projection=True)
