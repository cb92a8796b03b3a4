"""Short trainings on toy data: the networks learn and the metrics see it (slow: run with -m slow;
about 4 + 7 minutes on 2 busy CPU cores).

Plain loops written here, independent of genreg's trainers, so that a failure points at the
networks or the metrics.
"""

import math

import numpy as np
import pytest
import torch

from genreg.losses.penalties import GradientPenalty
from genreg.metrics.coverage import mode_coverage
from genreg.metrics.denoiser import denoise_accuracy
from genreg.nets.dae1d import DAE1d
from genreg.nets.mlp2d import MLPCritic, MLPGenerator

pytestmark = pytest.mark.slow


def toy_traces(n, generator):
    """Bipolar Gaussian pulses at random positions plus uniform noise, normalised to [0, 1] per trace
    (the same affine map for the noisy trace and its clean target)."""
    t = torch.arange(500.0)
    pos = torch.randint(30, 470, (n, 1), generator=generator).float()
    amp = 0.5 + torch.rand(n, 1, generator=generator)
    clean = amp * (torch.exp(-0.5 * ((t - pos) / 3) ** 2) - 0.6 * torch.exp(-0.5 * ((t - pos - 6) / 3) ** 2))
    noisy = clean + (torch.rand(n, 500, generator=generator) - 0.5)
    lo, hi = noisy.min(1, keepdim=True).values, noisy.max(1, keepdim=True).values
    return ((noisy - lo) / (hi - lo)).unsqueeze(1), ((clean - lo) / (hi - lo)).unsqueeze(1)


def test_dae_learns_to_find_the_pulse():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    x_train, y_train = toy_traces(1024, g)
    x_test, y_test = toy_traces(256, g)
    model = DAE1d()
    with torch.no_grad():
        before = denoise_accuracy(model(x_test), y_test)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(200):
        idx = torch.randint(0, len(x_train), (32,), generator=g)
        loss = torch.nn.functional.mse_loss(model(x_train[idx]), y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = denoise_accuracy(model(x_test), y_test)
    assert after > before + 0.3, (before, after)


def ring8(n, generator, std=0.02):
    k = torch.randint(0, 8, (n,), generator=generator).float()
    centres = torch.stack([2 * torch.cos(2 * math.pi * k / 8), 2 * torch.sin(2 * math.pi * k / 8)], 1)
    return centres + std * torch.randn(n, 2, generator=generator)


def test_wgan_gp_on_ring8_covers_more_modes_than_the_untrained_generator():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(2)
    angles = 2 * np.pi * np.arange(8) / 8
    centres = np.stack([2 * np.cos(angles), 2 * np.sin(angles)], 1)
    gen, critic = MLPGenerator(), MLPCritic()
    penalty = GradientPenalty(weight=0.1)  # lambda 0.1, as in the WGAN-GP authors' toy experiments
    opt_g = torch.optim.Adam(gen.parameters(), lr=1e-3, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))

    def coverage():
        with torch.no_grad():
            return mode_coverage(gen(gen.sample_latent(2000, generator=g)), centres, 0.02)

    before = coverage()
    for _ in range(800):
        for _ in range(5):
            real = ring8(128, g)
            fake = gen(gen.sample_latent(128, generator=g)).detach()
            loss_d = critic(fake).mean() - critic(real).mean() + penalty(critic, real, fake)
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
        loss_g = -critic(gen(gen.sample_latent(128, generator=g))).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    after = coverage()
    print("before", before, "after", after)
    assert after["modes_covered"] > before["modes_covered"], (before, after)
    assert after["high_quality"] > before["high_quality"], (before, after)
