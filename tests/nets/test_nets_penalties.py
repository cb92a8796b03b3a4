"""The critic penalties (gp, div) on the real critics: 1-D per-sample inputs (MLP points),
2-D (traces, (1, L)) and 3-D (images, (C, H, W)), against formulas written out here."""

import pytest
import torch

from genreg.interfaces import Critic
from genreg.losses.penalties import DivergencePenalty, GradientPenalty
from genreg.nets.dcgan import DCGANCritic
from genreg.nets.mlp2d import MLPCritic
from genreg.nets.trace1d import TraceCritic

CASES = {
    "mlp-points": (lambda: MLPCritic(norm="layer"), (6, 2)),
    "trace-1d": (lambda: TraceCritic(length=64, channels=(4, 8), norm="layer"), (5, 1, 64)),
    "image-2d": (lambda: DCGANCritic(image_size=16, base_channels=4, norm="layer"), (4, 3, 16, 16)),
    "acgan-image-2d": (lambda: DCGANCritic(image_size=16, base_channels=4, num_classes=3, norm="layer"), (4, 3, 16, 16)),
}


def _score(critic, x):
    out = critic(x)
    return out[0] if isinstance(out, tuple) else out


def _input_grads(critic, x):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(_score(critic, x).sum(), x, create_graph=True)
    return g


def _norms(g):
    # L2 norm over every non-batch element, written without the library's helpers
    return torch.sqrt((g * g).reshape(g.shape[0], -1).sum(dim=1))


def reference_gp(critic, real, fake, eps, weight=10.0):
    e = eps.reshape((-1,) + (1,) * (real.dim() - 1))
    x_hat = e * real + (1 - e) * fake
    return weight * ((_norms(_input_grads(critic, x_hat)) - 1) ** 2).mean()


def reference_div(critic, real, fake, k=2.0, p=6.0):
    return (k / 2) * (_norms(_input_grads(critic, real)) ** p + _norms(_input_grads(critic, fake)) ** p).mean()


def _param_grads(critic, value):
    critic.zero_grad(set_to_none=True)
    value.backward()
    return [p.grad.clone() for p in critic.parameters() if p.grad is not None]


@pytest.mark.parametrize("case", list(CASES))
def test_gradient_penalty_matches_reference_value_and_parameter_grads(case):
    build, shape = CASES[case]
    torch.manual_seed(0)
    critic = build().double()
    real, fake = torch.rand(shape, dtype=torch.float64), torch.rand(shape, dtype=torch.float64)

    torch.manual_seed(123)
    got = GradientPenalty(weight=10.0)(critic, real, fake)
    torch.manual_seed(123)
    eps = torch.rand(shape[0], dtype=torch.float64)  # the same draw the penalty made
    want = reference_gp(critic, real, fake, eps)
    torch.testing.assert_close(got, want)

    g_got, g_want = _param_grads(critic, got), _param_grads(critic, want)
    assert len(g_got) == len(g_want) > 0
    for a, b in zip(g_got, g_want):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("case", list(CASES))
def test_divergence_penalty_matches_its_formula(case):
    build, shape = CASES[case]
    torch.manual_seed(0)
    critic = build().double()
    real, fake = torch.rand(shape, dtype=torch.float64), torch.rand(shape, dtype=torch.float64)
    got = DivergencePenalty(k=2.0, p=6.0)(critic, real, fake)
    want = reference_div(critic, real, fake)
    torch.testing.assert_close(got, want)
    for a, b in zip(_param_grads(critic, got), _param_grads(critic, want)):
        torch.testing.assert_close(a, b)


class LinearCritic(Critic):
    """D(x) = <w, x>: its input gradient is w everywhere, so the penalties have closed forms."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(w)

    def forward(self, x, y=None):
        return (x * self.w).reshape(x.shape[0], -1).sum(1)


class SquareCritic(Critic):
    """D(x) = 0.5 |x|^2: its input gradient is x itself."""

    def forward(self, x, y=None):
        return 0.5 * (x * x).reshape(x.shape[0], -1).sum(1)


@pytest.mark.parametrize("shape", [(4, 6), (4, 2, 7), (4, 3, 4, 5)])
def test_penalties_in_closed_form_on_1d_2d_3d_inputs(shape):
    torch.manual_seed(2)
    w = torch.randn(shape[1:], dtype=torch.float64)
    norm_w = w.pow(2).sum().sqrt()
    real, fake = torch.randn(shape, dtype=torch.float64), torch.randn(shape, dtype=torch.float64)
    critic = LinearCritic(w)
    torch.testing.assert_close(GradientPenalty(weight=10.0)(critic, real, fake), 10.0 * (norm_w - 1) ** 2)
    # (k/2) * (|w|^p + |w|^p) = k |w|^p
    torch.testing.assert_close(DivergencePenalty(k=2.0, p=6.0)(critic, real, fake), 2.0 * norm_w ** 6)
    torch.testing.assert_close(DivergencePenalty(k=3.0, p=2.0)(critic, real, fake), 3.0 * norm_w ** 2)


@pytest.mark.parametrize("shape", [(5, 3), (5, 1, 8), (5, 2, 3, 3)])
def test_divergence_penalty_at_real_and_fake_points(shape):
    torch.manual_seed(3)
    real, fake = torch.randn(shape, dtype=torch.float64), torch.randn(shape, dtype=torch.float64)
    per_real = real.reshape(shape[0], -1).norm(dim=1)
    per_fake = fake.reshape(shape[0], -1).norm(dim=1)
    want = (2.0 / 2) * (per_real ** 6 + per_fake ** 6).mean()
    torch.testing.assert_close(DivergencePenalty(k=2.0, p=6.0)(SquareCritic(), real, fake), want)


@pytest.mark.parametrize("shape", [(5, 3), (5, 1, 8), (5, 2, 3, 3)])
def test_gradient_penalty_at_per_sample_interpolates(shape):
    torch.manual_seed(4)
    real, fake = torch.randn(shape, dtype=torch.float64), torch.randn(shape, dtype=torch.float64)
    torch.manual_seed(9)
    got = GradientPenalty(weight=10.0)(SquareCritic(), real, fake)
    torch.manual_seed(9)
    eps = torch.rand(shape[0], dtype=torch.float64)
    x_hat = torch.stack([eps[i] * real[i] + (1 - eps[i]) * fake[i] for i in range(shape[0])])
    want = 10.0 * ((x_hat.reshape(shape[0], -1).norm(dim=1) - 1) ** 2).mean()
    torch.testing.assert_close(got, want)
