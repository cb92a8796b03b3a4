"""A learned, per-trace spectral gate: the neural counterpart of a band-pass plus line notches.

Why: the ``realistic`` radio noise is coloured (most of its power below the pulse's band)
and carries narrow interference lines at a random frequency per trace. A line is a
sinusoid over the whole trace, so a stack of short convolutions (the DAE's receptive
field is about 70 samples) cannot cancel it, while in the spectrum it is one or two bins
standing out. The gate looks at each trace's log-magnitude spectrum, decides a gain in
[0, 1] per frequency bin and applies it: ``y = irfft(rfft(x) * g(x))``.

``g`` = sigmoid(static per-bin logit (a learned band-pass) + a small Conv1d net over the
trace's log-magnitude spectrum relative to its own median (a learned, adaptive notch)).
The net's last layer starts at zero and the static logits at +2, so an untrained gate
passes every bin at gain 0.88 and the DAE starts as without it.

Shapes: (B, 1, L) float -> (B, 1, L) float, L fixed at construction (the number of bins,
L // 2 + 1, sizes the static logits). Uses ``torch.fft`` (exports through TorchScript; ONNX
export needs an opset with DFT).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import UsageError


class SpectralGate(nn.Module):
    """Per-bin gain in [0, 1] from the trace's own spectrum; see the module docstring.

    ``hidden``: channels of the Conv1d net over frequency bins (kernel ``kernel_size``,
    odd). Raises UsageError for a non-positive length or hidden size or an even kernel.
    """

    def __init__(self, length: int, hidden: int = 16, kernel_size: int = 7) -> None:
        super().__init__()
        if length < 4 or hidden < 1 or kernel_size < 1 or kernel_size % 2 == 0:
            raise UsageError(f"SpectralGate: needs length >= 4, hidden >= 1 and an odd kernel_size, got "
                             f"{length}, {hidden}, {kernel_size}")
        self.length = int(length)
        bins = self.length // 2 + 1
        self.static_logit = nn.Parameter(torch.full((bins,), 2.0))
        pad = kernel_size // 2
        self.net = nn.Sequential(nn.Conv1d(1, hidden, kernel_size, padding=pad), nn.ReLU(),
                                 nn.Conv1d(hidden, hidden, kernel_size, padding=pad), nn.ReLU(),
                                 nn.Conv1d(hidden, 1, kernel_size, padding=pad))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def gain(self, x: Tensor) -> Tensor:
        """(B, 1, L) traces -> (B, 1, L // 2 + 1) gains in [0, 1]."""
        spectrum = torch.fft.rfft(x, dim=-1)
        return self._gain(spectrum)

    def _gain(self, spectrum: Tensor) -> Tensor:
        mag = spectrum.abs()
        # the floor scales with each trace (an absolute one would make faint traces' gains
        # differ from loud ones'); finfo.tiny keeps an all-zero trace finite
        floor = 1e-6 * mag.mean(dim=-1, keepdim=True) + torch.finfo(mag.dtype).tiny
        logmag = torch.log(mag + floor)
        logmag = logmag - logmag.median(dim=-1, keepdim=True).values  # relative: scale-free
        return torch.sigmoid(self.static_logit + self.net(logmag))

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3 or x.shape[1] != 1 or x.shape[-1] != self.length:
            raise UsageError(f"SpectralGate: expected input of shape (batch, 1, {self.length}), got {tuple(x.shape)}")
        spectrum = torch.fft.rfft(x, dim=-1)
        return torch.fft.irfft(spectrum * self._gain(spectrum), n=self.length, dim=-1)
