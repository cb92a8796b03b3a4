"""The DCGAN critic's minibatch standard deviation channel (Karras et al. 2018)."""

import torch

from genreg.nets.dcgan import DCGANCritic, _batch_std


def test_batch_std_is_zero_for_identical_samples_and_positive_otherwise():
    h = torch.randn(1, 8, 4, 4).expand(5, 8, 4, 4)
    assert _batch_std(h).abs().max() < 1e-3
    s = _batch_std(torch.randn(5, 8, 4, 4))
    assert s.shape == (5, 1, 4, 4) and bool((s > 0.5).all())
    assert _batch_std(torch.randn(1, 8, 4, 4)).shape == (1, 1, 4, 4)


def test_critic_with_minibatch_std_keeps_its_output_shapes_and_sees_the_batch():
    torch.manual_seed(0)
    critic = DCGANCritic(32, 3, 8, num_classes=3, minibatch_std=True).eval()
    x = torch.rand(6, 3, 32, 32)
    score, logits = critic(x)
    assert score.shape == (6,) and logits.shape == (6, 3)
    # the first sample's score depends on the rest of the batch only through the extra channel
    alone = critic(torch.cat([x[:1], x[:1].expand(5, 3, 32, 32)]))[0][0]
    assert not torch.allclose(alone, score[0])
    plain = DCGANCritic(32, 3, 8, num_classes=3).eval()
    assert plain.score.in_channels + 1 == critic.score.in_channels
