"""LineRemoval: fitted-sinusoid removal of interference lines in front of the dae1d encoder."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genreg.errors import UsageError
from genreg.models.dae1d import DAE1dConfig
from genreg.nets.dae1d import DAE1d
from genreg.nets.lines import LineRemoval

L, FS = 500, 180e6
T = torch.arange(L, dtype=torch.float64)


def pulse(position: float = 250.0, peak: float = 1.0) -> torch.Tensor:
    """A 55 MHz wavelet under a Gaussian of sigma 4 samples (about the radio pulses' size), peak ``peak``."""
    p = torch.exp(-0.5 * ((T - position) / 4) ** 2) * torch.cos(2 * math.pi * 55e6 / FS * (T - position))
    return peak * p / p.abs().max()


def line(mhz: float, amplitude: float, phase: float) -> torch.Tensor:
    return amplitude * torch.cos(2 * math.pi * mhz * 1e6 / FS * T + phase)


@settings(max_examples=40, deadline=None)
@given(mhz=st.floats(31, 84), phase=st.floats(0, 2 * math.pi), amplitude=st.floats(0.3, 5.0),
       position=st.floats(100, 400))
def test_a_line_is_removed_and_the_pulse_kept(mhz, phase, amplitude, position):
    clean = pulse(position)
    out = LineRemoval(L, 1)((clean + line(mhz, amplitude, phase)).view(1, 1, L))
    err = (out.view(L) - clean).abs().max().item()
    # what is left: the pulse's own projection on the fitted sinusoid (a few % of its peak)
    # plus the line's residue from the frequency estimate's error
    assert err <= 0.08 + 0.01 * amplitude, err
    before = (line(mhz, amplitude, phase) ** 2).mean()
    after = ((out.view(L) - clean) ** 2).mean()
    assert after <= 0.01 * before + 1e-3, (before, after)


@settings(max_examples=20, deadline=None)
@given(mhz=st.lists(st.floats(31, 84), min_size=3, max_size=3), phases=st.lists(st.floats(0, 6.28), min_size=3,
       max_size=3), amplitudes=st.lists(st.floats(0.5, 3.0), min_size=3, max_size=3))
def test_three_lines_in_one_trace_are_all_removed(mhz, phases, amplitudes):
    # lines closer than ~3 padded-free bins (1 MHz) blend into one peak: keep them apart
    freqs = sorted(mhz)
    if min(b - a for a, b in zip(freqs, freqs[1:])) < 2.0:
        freqs = [32.0, 55.0, 78.0]
    lines = sum(line(f, a, p) for f, a, p in zip(freqs, amplitudes, phases))
    clean = pulse()
    out = LineRemoval(L, 3)((clean + lines).view(1, L))
    assert out.shape == (1, L)
    residue = ((out.view(L) - clean) ** 2).mean()
    assert residue <= 0.01 * (lines**2).mean() + 2e-3, residue


def test_lines_outside_the_band_are_left_alone():
    x = (pulse() + line(10.0, 2.0, 0.3)).view(1, 1, L)  # 10 MHz is below the 30-85 MHz band
    out = LineRemoval(L, 2)(x)
    # only in-band sinusoids are fitted: the 10 MHz line survives almost untouched
    assert ((out - x) ** 2).mean() < 0.01 * (line(10.0, 2.0, 0.3) ** 2).mean()


def test_shapes_dtypes_batches_and_gradients():
    torch.manual_seed(0)
    remover = LineRemoval(L, 3)
    x = torch.randn(5, 1, L, requires_grad=True)
    y = remover(x)
    assert y.shape == (5, 1, L) and y.dtype == torch.float32
    y.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    # each trace on its own: a batch changes nothing
    single = torch.cat([remover(x[i:i + 1].detach()) for i in range(5)])
    torch.testing.assert_close(single, y.detach())
    assert remover(torch.randn(2, L, dtype=torch.float64)).dtype == torch.float64
    assert remover(torch.zeros(3, 1, L)).abs().max() == 0  # nothing to fit: nothing subtracted


def test_it_exports_through_tracing_and_torch_export():
    torch.manual_seed(0)
    remover = LineRemoval(L, 2).eval()
    x = (pulse() + line(47.3, 1.5, 1.0)).float().view(1, 1, L).repeat(3, 1, 1) + 0.05 * torch.randn(3, 1, L)
    traced = torch.jit.trace(remover, x[:1], check_trace=False)
    torch.testing.assert_close(traced(x), remover(x))
    program = torch.export.export(remover, (x,), dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))
    torch.testing.assert_close(program.module()(x[:2]), remover(x[:2]))


@pytest.mark.parametrize("count", [0, -1, 1.5, True, "3"])
def test_a_bad_line_count_is_a_usage_error(count):
    with pytest.raises(UsageError, match="count is the number of lines to remove"):
        LineRemoval(L, count)


def test_bad_settings_and_inputs_are_usage_errors():
    with pytest.raises(UsageError, match="band_hz must satisfy"):
        LineRemoval(L, 1, band_hz=(85e6, 30e6))
    with pytest.raises(UsageError, match="band_hz must satisfy"):
        LineRemoval(L, 1, band_hz=(30e6, 95e6))  # above the 90 MHz Nyquist frequency
    with pytest.raises(UsageError, match="fewer than 3 search bins"):
        LineRemoval(L, 1, band_hz=(50e6, 50.01e6))
    with pytest.raises(UsageError, match="pad must be"):
        LineRemoval(L, 1, pad=0)
    with pytest.raises(UsageError, match="length must be"):
        LineRemoval(3, 1)
    with pytest.raises(UsageError, match=r"expected input of shape \(batch, 1, 500\)"):
        LineRemoval(L, 1)(torch.randn(2, 2, L))
    with pytest.raises(UsageError, match="floating-point"):
        LineRemoval(L, 1)(torch.ones(2, L, dtype=torch.int64))
    with pytest.raises(UsageError, match="line_removal is a number of lines"):
        DAE1d(line_removal=-1)
    with pytest.raises(UsageError, match="model.line_removal must be an integer >= 0"):
        DAE1dConfig(line_removal=-2).validate()


def test_dae1d_with_line_removal_ignores_an_added_line():
    torch.manual_seed(0)
    model = DAE1d(skips=True, line_removal=1).eval()
    plain = DAE1d(skips=True).eval()
    plain.load_state_dict(model.state_dict())  # the same weights without the front end
    base = (0.5 + 0.2 * pulse() + 0.02 * torch.randn(L, dtype=torch.float64)).float().view(1, 1, L)
    with_line = base + 0.1 * line(63.0, 1.0, 0.7).float().view(1, 1, L)
    with torch.no_grad():
        out = model(with_line)
        gap_removed = (out - plain(base)).abs().max()  # the line taken out before the encoder
        gap_plain = (plain(with_line) - plain(base)).abs().max()  # the line left in
    assert out.shape == (1, 1, L)
    assert gap_removed < 0.1 * gap_plain, (gap_removed, gap_plain)
