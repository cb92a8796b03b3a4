"""On a GPU the networks and the penalty path give what they give on the CPU (skipped without one)."""

import copy

import pytest
import torch

from genreg.losses.penalties import GradientPenalty
from genreg.nets.dae1d import DAE1d
from genreg.nets.dcgan import DCGANCritic, DCGANGenerator
from genreg.nets.trace1d import TraceCritic

pytestmark = pytest.mark.cuda


@pytest.fixture
def no_tf32(monkeypatch):
    """float32 convolutions and matmuls in full precision: Ampere and later GPUs use TF32
    (10-bit mantissa) for them by default, too coarse for the CPU comparison. monkeypatch
    restores the flags afterwards."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)


def test_dae_and_dcgan_match_cpu(cuda_device, no_tf32):
    torch.manual_seed(0)
    for model, x in [(DAE1d().eval(), torch.rand(4, 1, 500)),
                     (DCGANCritic(64, base_channels=8, num_classes=3, norm="layer"), torch.rand(4, 3, 64, 64))]:
        on_gpu = copy.deepcopy(model).to(cuda_device)
        want, got = model(x), on_gpu(x.to(cuda_device))
        for a, b in zip(want if isinstance(want, tuple) else (want,), got if isinstance(got, tuple) else (got,)):
            torch.testing.assert_close(b.cpu(), a, atol=1e-4, rtol=1e-3)
    g = DCGANGenerator(64, base_channels=8, num_classes=3).to(cuda_device)
    assert g(g.sample_latent(2), torch.tensor([0, 2], device=cuda_device)).shape == (2, 3, 64, 64)


@pytest.mark.parametrize("make,shape", [(lambda: TraceCritic(norm="layer"), (8, 1, 500)),
                                        (lambda: DCGANCritic(64, base_channels=8, norm="layer"), (8, 3, 64, 64))])
def test_gradient_penalty_matches_cpu(cuda_device, make, shape, monkeypatch):
    torch.manual_seed(0)
    critic = make().double()
    real, fake = torch.rand(shape, dtype=torch.float64), torch.rand(shape, dtype=torch.float64)
    eps = torch.rand(shape[0], dtype=torch.float64)
    # the penalty draws eps with torch.rand on the data's device (a different generator on the GPU):
    # hand it the same values on both devices
    rand = torch.rand
    monkeypatch.setattr(torch, "rand", lambda *a, **k: eps.to(k.get("device") or "cpu"))
    want = GradientPenalty()(critic, real, fake)
    got = GradientPenalty()(copy.deepcopy(critic).to(cuda_device), real.to(cuda_device), fake.to(cuda_device))
    monkeypatch.setattr(torch, "rand", rand)
    torch.testing.assert_close(got.cpu(), want)
