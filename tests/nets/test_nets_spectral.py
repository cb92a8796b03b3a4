"""SpectralGate: the learned per-trace band-pass / line notch in front of the dae1d encoder."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genreg.errors import UsageError
from genreg.nets.dae1d import DAE1d
from genreg.nets.spectral import SpectralGate


def test_an_untrained_gate_scales_every_bin_by_the_same_gain():
    torch.manual_seed(0)
    gate = SpectralGate(500, hidden=8)
    x = torch.randn(3, 1, 500)
    expected = 1 / (1 + math.exp(-2.0))  # sigmoid of the static logits' start
    torch.testing.assert_close(gate.gain(x), torch.full((3, 1, 251), expected))
    torch.testing.assert_close(gate(x), expected * x, rtol=1e-4, atol=1e-5)


@settings(max_examples=20, deadline=None)
@given(scale=st.floats(1e-3, 1e3), seed=st.integers(0, 2**16))
def test_the_gain_does_not_depend_on_the_traces_scale(scale, seed):
    torch.manual_seed(seed)
    gate = SpectralGate(64, hidden=4, kernel_size=3)
    torch.nn.init.normal_(gate.net[-1].weight)  # a gate that actually looks at the spectrum
    x = torch.randn(2, 1, 64, dtype=torch.float64)
    gate = gate.double()
    torch.testing.assert_close(gate.gain(scale * x), gate.gain(x), rtol=1e-4, atol=1e-4)


def test_a_gate_can_learn_to_notch_a_line_at_a_random_frequency():
    # 300 Adam steps on sinusoid + white noise -> white noise: the line must go, wherever it is
    torch.manual_seed(1)
    gate = SpectralGate(128, hidden=8, kernel_size=5)
    opt = torch.optim.Adam(gate.parameters(), lr=1e-2)
    t = torch.arange(128.0)

    def batch(n=32):
        freq = torch.randint(10, 55, (n, 1, 1)).float() / 128
        line = 3 * torch.cos(2 * math.pi * freq * t + 6.28 * torch.rand(n, 1, 1))
        noise = torch.randn(n, 1, 128)
        return line + noise, noise

    for _ in range(300):
        x, target = batch()
        loss = torch.mean((gate(x) - target) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, target = batch(256)
    with torch.no_grad():
        before, after = torch.mean((x - target) ** 2), torch.mean((gate(x) - target) ** 2)
    assert after < 0.2 * before, (before, after)


def test_bad_gate_settings_and_inputs_are_usage_errors():
    with pytest.raises(UsageError, match="odd kernel_size"):
        SpectralGate(500, kernel_size=4)
    with pytest.raises(UsageError, match=r"expected input of shape \(batch, 1, 500\)"):
        SpectralGate(500)(torch.randn(2, 1, 499))
    with pytest.raises(UsageError, match="spectral_gate is a channel count"):
        DAE1d(spectral_gate=-1)


def test_dae1d_with_a_gate_trains_every_weight_and_keeps_its_shapes():
    torch.manual_seed(0)
    model = DAE1d(skips=True, spectral_gate=8)
    out = model(torch.rand(4, 1, 500))
    assert out.shape == (4, 1, 500) and out.min() >= 0 and out.max() <= 1
    torch.nn.functional.mse_loss(out, torch.rand(4, 1, 500)).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    with pytest.raises(UsageError, match=r"expected input of shape \(batch, 1, 500\)"):
        model(torch.rand(2, 1, 400))
