"""Class conditioning inside the DCGAN networks: conditional norm gains in the generator and
the projection discriminator term (Miyato & Koyama 2018), genreg.nets.conditional."""

import pytest
import torch
from hypothesis import given, settings, strategies as st

from genreg.errors import UsageError
from genreg.nets.conditional import ConditionalNorm, Projection
from genreg.nets.dcgan import DCGANCritic, DCGANGenerator


@settings(max_examples=25, deadline=None)
@given(norm=st.sampled_from(["batch", "layer", "none"]), classes=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_conditional_norm_applies_the_labels_gain_and_bias_to_the_plain_norm(norm, classes, seed):
    torch.manual_seed(seed)
    layer = ConditionalNorm(norm, 4, classes)
    with torch.no_grad():
        layer.gain.weight.normal_()
        layer.bias.weight.normal_()
    h = torch.randn(6, 4, 3, 3)
    y = torch.randint(classes, (6,))
    plain = {"batch": torch.nn.BatchNorm2d(4, affine=False), "layer": torch.nn.GroupNorm(1, 4, affine=False),
             "none": torch.nn.Identity()}[norm](h)
    want = plain * layer.gain.weight[y][:, :, None, None] + layer.bias.weight[y][:, :, None, None]
    torch.testing.assert_close(layer(h, y), want)


def test_conditional_norm_starts_near_the_unconditional_layer():
    layer = ConditionalNorm("batch", 16, 3)
    assert (layer.gain.weight - 1).abs().max() < 0.15 and layer.bias.weight.abs().max() == 0


@settings(max_examples=25, deadline=None)
@given(classes=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_projection_is_the_inner_product_of_the_class_embedding_with_pooled_features(classes, seed):
    torch.manual_seed(seed)
    proj = Projection(5, classes)
    h = torch.randn(4, 5, 2, 2)
    y = torch.randint(classes, (4,))
    want = torch.stack([proj.embed.weight[y[i]] @ h[i].sum(dim=(1, 2)) for i in range(4)])
    torch.testing.assert_close(proj(h, y), want)


def test_cond_norm_generator_draws_different_images_per_class_for_one_latent():
    torch.manual_seed(0)
    g = DCGANGenerator(16, 3, 8, base_channels=8, num_classes=3, cond_norm=True)
    with torch.no_grad():  # make the class gains matter more than their N(1, 0.02) start
        for m in g.modules():
            if isinstance(m, ConditionalNorm):
                m.gain.weight.normal_(1.0, 0.5)
    g.eval()
    z = torch.randn(1, 8).expand(3, 8)
    x = g(z, torch.arange(3))
    assert x.shape == (3, 3, 16, 16)
    assert not torch.allclose(x[0], x[1]) and not torch.allclose(x[1], x[2])
    # default: plain norms, state-dict keys as before
    plain = DCGANGenerator(16, 3, 8, base_channels=8, num_classes=3)
    assert not any(isinstance(m, ConditionalNorm) for m in plain.modules())


def test_projection_critic_scores_depend_on_the_label_and_need_one():
    torch.manual_seed(0)
    critic = DCGANCritic(16, 3, 8, num_classes=3, projection=True).eval()
    with torch.no_grad():
        critic.project.embed.weight.normal_()
    x = torch.rand(1, 3, 16, 16).expand(3, 3, 16, 16)
    score, logits = critic(x, torch.arange(3))
    assert score.shape == (3,) and logits.shape == (3, 3)
    assert score.unique().numel() == 3  # one image, three labels, three scores
    torch.testing.assert_close(logits[0], logits[1])  # the classifier head is not told the label
    with pytest.raises(UsageError, match="pass labels y"):
        critic(x)


def test_conditioning_options_need_classes():
    with pytest.raises(UsageError, match="cond_norm needs num_classes > 0"):
        DCGANGenerator(16, 3, 8, base_channels=8, cond_norm=True)
    with pytest.raises(UsageError, match="projection needs num_classes > 0"):
        DCGANCritic(16, 3, 8, projection=True)
