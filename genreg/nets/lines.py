"""Narrow-band interference-line removal: fit and subtract the strongest sinusoids in a band.

Why: the ``realistic`` radio noise carries interference lines, sinusoids of a random
frequency per trace over the whole trace. The dae1d network's receptive field (about 70
samples) cannot cancel a sinusoid spanning 500 samples, and a learned spectral gate
(:mod:`genreg.nets.spectral`) did not help; fitting the line is what a radio analysis does.

Method, per trace and repeated ``count`` times on the residual (no learned weights):

1. the magnitude of the zero-padded FFT (``pad`` x the trace length, so bins of
   1 / (pad L) cycles per sample) inside the band ``[low, high]``; its largest bin;
2. the frequency refined by a parabola through the log magnitudes of that bin and its two
   neighbours (error well under a padded bin for a clean line);
3. the line's amplitude and phase by least squares: the 2x2 normal equations of
   ``a cos(2 pi f t) + b sin(2 pi f t)`` over the whole trace, solved in closed form;
4. that sinusoid subtracted.

A pulse 10-30 samples long projects little onto a sinusoid over the whole trace, so
removing a "line" where there is none costs it little. Measured in numpy on the radio test
traces (scripts/dae_ceiling.py, SNR 2-3, 3 lines): a known-shape whitened matched filter goes
from 89.9 % to 97.6 % after removing 3 lines.

Shapes: (B, 1, L) or (B, L) float tensor -> the same shape and dtype, on the input's device
(``torch.fft`` only: exports through TorchScript and ``torch.export``). The line frequency
(an argmax) carries no gradient; the subtraction is linear in the input.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..errors import UsageError

RADIO_SAMPLING_RATE_HZ = 180e6
RADIO_LINE_BAND_HZ = (30e6, 85e6)


class LineRemoval(nn.Module):
    """Subtract the ``count`` strongest sinusoids in ``band_hz`` from each trace (see the module docstring).

    ``length``: samples per trace (fixed: sizes the band's bins); ``sampling_rate_hz`` and
    ``band_hz`` (low, high) in Hz, 0 < low < high <= Nyquist; ``pad``: zero-padding factor of
    the peak search. Raises UsageError for a count < 1, a length < 4, a pad < 1, a band
    outside (0, Nyquist] or one narrower than a padded bin, and for inputs of another shape.
    """

    def __init__(self, length: int, count: int = 3, *, sampling_rate_hz: float = RADIO_SAMPLING_RATE_HZ,
                 band_hz: tuple[float, float] = RADIO_LINE_BAND_HZ, pad: int = 8) -> None:
        super().__init__()
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise UsageError(f"LineRemoval: count is the number of lines to remove, an integer >= 1, got {count!r}")
        if isinstance(length, bool) or not isinstance(length, int) or length < 4:
            raise UsageError(f"LineRemoval: length must be an integer >= 4, got {length!r}")
        if isinstance(pad, bool) or not isinstance(pad, int) or pad < 1:
            raise UsageError(f"LineRemoval: pad must be an integer >= 1, got {pad!r}")
        low, high = (float(v) for v in band_hz)
        nyquist = sampling_rate_hz / 2
        if not (sampling_rate_hz > 0 and 0 < low < high <= nyquist):
            raise UsageError(f"LineRemoval: band_hz must satisfy 0 < low < high <= Nyquist ({nyquist:g} Hz), "
                             f"got ({low:g}, {high:g}) at {sampling_rate_hz:g} Hz")
        self.length, self.count, self.pad = length, count, pad
        self.nfft = pad * length
        self.lo_bin = math.ceil(low / sampling_rate_hz * self.nfft)
        self.hi_bin = min(math.floor(high / sampling_rate_hz * self.nfft), self.nfft // 2)
        if self.hi_bin - self.lo_bin < 2:
            raise UsageError(f"LineRemoval: band ({low:g}, {high:g}) Hz holds fewer than 3 search bins")
        self.band_hz, self.sampling_rate_hz = (low, high), float(sampling_rate_hz)

    def frequencies(self, x: Tensor) -> Tensor:
        """The strongest line's frequency per trace, cycles per sample: (B, L) -> (B,)."""
        mag = torch.fft.rfft(x, n=self.nfft, dim=-1).abs()
        band = mag[:, self.lo_bin:self.hi_bin + 1]
        i = band.argmax(dim=-1, keepdim=True)
        last = band.shape[-1] - 1
        logs = torch.log(band + torch.finfo(band.dtype).tiny)
        a = logs.gather(-1, (i - 1).clamp(0, last))
        b = logs.gather(-1, i)
        c = logs.gather(-1, (i + 1).clamp(0, last))
        curvature = a - 2 * b + c
        # vertex of the parabola; a flat top (curvature ~ 0) keeps the bin itself
        offset = torch.where(curvature.abs() > 1e-12, 0.5 * (a - c) / torch.where(curvature == 0, 1.0, curvature),
                             torch.zeros_like(curvature)).clamp(-0.5, 0.5)
        return ((i + self.lo_bin).to(x.dtype) + offset).squeeze(-1) / self.nfft

    def forward(self, x: Tensor) -> Tensor:
        squeeze = x.dim() == 3
        if not ((x.dim() == 2 or (squeeze and x.shape[1] == 1)) and x.shape[-1] == self.length):
            raise UsageError(f"LineRemoval: expected input of shape (batch, 1, {self.length}) or "
                             f"(batch, {self.length}), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise UsageError(f"LineRemoval: expected a floating-point input, got {x.dtype}")
        res = x.reshape(x.shape[0], self.length)
        t = torch.arange(self.length, device=x.device, dtype=x.dtype)
        for _ in range(self.count):
            phase = 2 * math.pi * self.frequencies(res.detach()).unsqueeze(-1) * t   # (B, L)
            cos, sin = torch.cos(phase), torch.sin(phase)
            # least squares for a cos + b sin: the 2x2 normal equations, solved in closed form
            cc, ss, cs = (cos * cos).sum(-1), (sin * sin).sum(-1), (cos * sin).sum(-1)
            xc, xs = (res * cos).sum(-1), (res * sin).sum(-1)
            det = cc * ss - cs * cs
            ok = det > 1e-9 * cc * ss  # a frequency at 0 or Nyquist has no sine part: fit the cosine only
            safe = torch.where(ok, det, torch.ones_like(det))
            amp_cos = torch.where(ok, (xc * ss - xs * cs) / safe, xc / cc)
            amp_sin = torch.where(ok, (xs * cc - xc * cs) / safe, torch.zeros_like(xs))
            res = res - amp_cos.unsqueeze(-1) * cos - amp_sin.unsqueeze(-1) * sin
        return res.reshape(x.shape)

    def extra_repr(self) -> str:
        return (f"length={self.length}, count={self.count}, band_hz=({self.band_hz[0]:g}, {self.band_hz[1]:g}), "
                f"sampling_rate_hz={self.sampling_rate_hz:g}, pad={self.pad}")
