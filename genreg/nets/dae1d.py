"""1-D convolutional denoising autoencoder for radio traces (the study's DAE).

Encoder: four blocks of Conv1d ("same" padding) + activation + 2x max-pool, so a
500-sample trace shrinks 500 -> 250 -> 125 -> 62 -> 31 and ends in 16 channels: the
code is 16 vectors of length 31 (496 values, about the size of the input).
Decoder: the mirror image, each block an upsample to the encoder's length at that
depth (62 -> 125 -> 250 -> 500, so the odd lengths come back exactly) + Conv1d +
activation, then a final Conv1d to one channel and a sigmoid (the traces are
normalised to [0, 1]).

The encoder's blocks, the decoder's (with nearest upsampling) and the head run through
``genreg.kernels.conv1d_block`` / ``upconv1d_block``: one fused CPU kernel per block
where it pays off (see docs/kernels.md), eager PyTorch elsewhere.

Baseline centring (``center=True``, the default): the network sees each trace minus its
mean, and the mean comes back as the output's offset (added before the sigmoid as its
logit). Why: a normalised trace sits on a baseline near 0.5 that differs per trace, and
that constant dominates every convolution's output while the pulse is a small ripple on
it. Without centring the network spends its first thousands of steps on a flat-output
plateau that predicts only the baseline (measured on genreg's radio data: still on it
after 3000 steps at batch 64); with it, it left the plateau after 300-900 steps.

Defaults (documented choices in the spirit of the study's notebooks): channels
32, 64, 64, 16; kernel sizes 9, 9, 5, 5 (wide kernels first, where the pulse is
resolved); ReLU. All overridable.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import kernels
from ..errors import KernelError, UsageError
from ..interfaces import Decoder, Encoder
from .lines import LineRemoval
from .spectral import SpectralGate
from ._common import (activation, check_choice, check_input, check_positive, inverse_output_activation,
                      output_activation)

FUSABLE_ACTIVATIONS = ("relu", "leaky_relu", "none")


def _act(x: Tensor, name: str, negative_slope: float) -> Tensor:
    if name == "relu":
        return F.relu(x)
    if name == "leaky_relu":
        return F.leaky_relu(x, negative_slope)
    return x


def conv1d_block_reference(x: Tensor, weight: Tensor, bias: Optional[Tensor], activation: str = "relu",
                           negative_slope: float = 0.01, pool: bool = True) -> Tensor:
    """conv1d ("same" padding, odd kernel) + bias + activation + max-pool 2 (``pool``: True/False)."""
    y = _act(F.conv1d(x, weight, bias, padding=weight.shape[-1] // 2), activation, negative_slope)
    return F.max_pool1d(y, 2) if pool else y


def upconv1d_block_reference(x: Tensor, weight: Tensor, bias: Optional[Tensor], size: int,
                             activation: str = "relu", negative_slope: float = 0.01) -> Tensor:
    """nearest upsample to ``size`` + conv1d ("same" padding) + bias + activation."""
    u = F.interpolate(x, size=size, mode="nearest")
    return _act(F.conv1d(u, weight, bias, padding=weight.shape[-1] // 2), activation, negative_slope)


def _conv1d_block_op():
    """genreg.kernels.conv1d_block where the kernels package provides it, else the reference."""
    return getattr(kernels, "conv1d_block", None) or conv1d_block_reference


def _upconv1d_block_op():
    """genreg.kernels.upconv1d_block where the kernels package provides it, else the reference."""
    return getattr(kernels, "upconv1d_block", None) or upconv1d_block_reference


POOLS = (1, 2)


class ConvPoolBlock(nn.Module):
    """Conv1d + activation + max-pool, through ``genreg.kernels.conv1d_block`` when it exists.

    ``pool`` is the pooling window: 2 (max-pool 2, output length ``L // 2``) or 1 (none).
    The op's contract: ``conv1d_block(x, weight, bias, activation, negative_slope, pool)``
    with "same" padding (kernel_size // 2, odd kernels) and ``pool`` a bool.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *,
                 activation: str = "relu", negative_slope: float = 0.01, pool: int = 2) -> None:
        super().__init__()
        check_choice("ConvPoolBlock", "activation", activation, FUSABLE_ACTIVATIONS)
        if kernel_size % 2 != 1:
            raise UsageError(f"ConvPoolBlock: kernel_size must be odd for 'same' padding, got {kernel_size}")
        if isinstance(pool, bool) or not isinstance(pool, int) or pool not in POOLS:
            raise UsageError(f"ConvPoolBlock: pool must be 2 (max-pool 2) or 1 (no pooling), got {pool!r}")
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.activation, self.negative_slope, self.pool = activation, float(negative_slope), int(pool)

    def forward(self, x: Tensor) -> Tensor:
        op = _conv1d_block_op()
        # keywords, so that a kernel with another argument order fails loudly instead of mixing them up
        y = op(x, self.conv.weight, self.conv.bias, activation=self.activation,
               negative_slope=self.negative_slope, pool=self.pool == 2)
        expected = (x.shape[0], self.conv.out_channels, x.shape[-1] // self.pool)
        if tuple(y.shape) != expected:  # a kernel that broke the contract must not pass silently
            raise KernelError(f"conv1d_block returned shape {tuple(y.shape)}, expected {expected}")
        return y

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}, pool={self.pool}"


def encoder_lengths(length: int, blocks: int, pool: int = 2) -> list[int]:
    """Lengths after each pooling block: 500 -> [250, 125, 62, 31] (floor, like max-pool)."""
    out = []
    for _ in range(blocks):
        length //= pool
        out.append(length)
    return out


def _check_config(owner: str, length: int, channels: Sequence[int], kernel_sizes: Sequence[int]) -> None:
    check_positive(owner, "length", length)
    if len(channels) == 0 or len(channels) != len(kernel_sizes):
        raise UsageError(f"{owner}: channels and kernel_sizes need the same non-zero length, got "
                         f"{len(channels)} and {len(kernel_sizes)}")
    for c in channels:
        check_positive(owner, "channels", c)
    for k in kernel_sizes:
        if not isinstance(k, int) or k < 1 or k % 2 == 0:
            raise UsageError(f"{owner}: kernel sizes must be odd positive integers, got {list(kernel_sizes)}")
    if length // 2 ** len(channels) < 1:
        raise UsageError(f"{owner}: length {length} is too short for {len(channels)} pooling blocks")


class DAE1dEncoder(Encoder):
    """(B, 1, length) traces -> (B, channels[-1], length // 2**blocks) codes; (B,16,31) by default."""

    def __init__(self, length: int = 500, channels: Sequence[int] = (32, 64, 64, 16),
                 kernel_sizes: Sequence[int] = (9, 9, 5, 5), activation: str = "relu",
                 negative_slope: float = 0.01) -> None:
        super().__init__()
        channels, kernel_sizes = tuple(channels), tuple(kernel_sizes)
        _check_config("DAE1dEncoder", length, channels, kernel_sizes)
        self.input_shape = (1, length)
        ins = (1,) + channels[:-1]
        self.blocks = nn.Sequential(*[
            ConvPoolBlock(i, o, k, activation=activation, negative_slope=negative_slope, pool=2)
            for i, o, k in zip(ins, channels, kernel_sizes)
        ])
        self.code_shape = (channels[-1], encoder_lengths(length, len(channels))[-1])

    def forward(self, x: Tensor) -> Tensor:
        check_input("DAE1dEncoder", x, self.input_shape)
        return self.blocks(x)

    def features(self, x: Tensor) -> list[Tensor]:
        """Every block's output, shallowest first: [(B,32,250), (B,64,125), (B,64,62), (B,16,31)]."""
        check_input("DAE1dEncoder", x, self.input_shape)
        out = []
        for block in self.blocks:
            x = block(x)
            out.append(x)
        return out


class UpConvBlock(nn.Module):
    """Upsample to an exact length + Conv1d ("same") + activation.

    With ``mode="nearest"`` and a fusable activation (relu, leaky_relu, none) it runs
    through ``genreg.kernels.upconv1d_block`` (one fused kernel on CPU); otherwise eager.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, size: int, *,
                 activation_name: str = "relu", negative_slope: float = 0.01, mode: str = "nearest") -> None:
        super().__init__()
        self.size, self.mode = size, mode
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.act = activation(activation_name, negative_slope)
        self.activation_name, self.negative_slope = activation_name, float(negative_slope)
        self.fusable = mode == "nearest" and activation_name in FUSABLE_ACTIVATIONS and kernel_size % 2 == 1

    def forward(self, x: Tensor) -> Tensor:
        if self.fusable:
            y = _upconv1d_block_op()(x, self.conv.weight, self.conv.bias, self.size,
                                     activation=self.activation_name, negative_slope=self.negative_slope)
            expected = (x.shape[0], self.conv.out_channels, self.size)
            if tuple(y.shape) != expected:  # a kernel that broke the contract must not pass silently
                raise KernelError(f"upconv1d_block returned shape {tuple(y.shape)}, expected {expected}")
            return y
        x = F.interpolate(x, size=self.size, mode=self.mode)
        return self.act(self.conv(x))

    def extra_repr(self) -> str:
        return f"size={self.size}, mode={self.mode!r}"


class DAE1dDecoder(Decoder):
    """(B, 16, 31) codes -> (B, 1, 500) traces in [0, 1]; mirrors :class:`DAE1dEncoder`.

    ``channels`` / ``kernel_sizes`` are the encoder's; the decoder's blocks run them in
    reverse (64, 64, 32, 32 channels with kernels 5, 5, 9, 9 by default), then a final
    Conv1d(kernel_sizes[0]) to one channel and the output activation.

    ``skips=True`` (U-Net style, Ronneberger et al. 2015): every block after the first also
    gets the encoder's output at the length it starts from, concatenated along channels
    (64 + 64 channels at 62, 64 + 64 at 125, 32 + 32 at 250 by default), so the pulse's
    position need not pass through the 31-sample code. ``forward`` then needs ``skips``,
    the encoder's :meth:`DAE1dEncoder.features`.
    """

    def __init__(self, length: int = 500, channels: Sequence[int] = (32, 64, 64, 16),
                 kernel_sizes: Sequence[int] = (9, 9, 5, 5), activation: str = "relu",
                 negative_slope: float = 0.01, upsample: str = "nearest",
                 output_activation_name: str = "sigmoid", skips: bool = False) -> None:
        super().__init__()
        channels, kernel_sizes = tuple(channels), tuple(kernel_sizes)
        _check_config("DAE1dDecoder", length, channels, kernel_sizes)
        check_choice("DAE1dDecoder", "upsample", upsample, ("nearest", "linear"))
        self.output_shape = (1, length)
        lengths = encoder_lengths(length, len(channels))          # [250, 125, 62, 31]
        self.code_shape = (channels[-1], lengths[-1])
        targets = list(reversed([length] + lengths[:-1]))         # [62, 125, 250, 500]
        outs = tuple(reversed(channels[:-1])) + (channels[0],)    # (64, 64, 32, 32)
        ins = (channels[-1],) + outs[:-1]
        self.skips = bool(skips)
        if self.skips:  # block j + 1 also reads the encoder's output at block j's length
            ins = (ins[0],) + tuple(i + c for i, c in zip(ins[1:], reversed(channels[:-1])))
        ks = tuple(reversed(kernel_sizes))
        self.blocks = nn.Sequential(*[
            UpConvBlock(i, o, k, size, activation_name=activation, negative_slope=negative_slope, mode=upsample)
            for i, o, k, size in zip(ins, outs, ks, targets)
        ])
        self.head = nn.Conv1d(outs[-1], 1, kernel_sizes[0], padding=kernel_sizes[0] // 2)
        self.output_activation_name = output_activation_name
        self.out_act = output_activation(output_activation_name)

    def forward(self, z: Tensor, baseline: Optional[Tensor] = None,
                skips: Optional[Sequence[Tensor]] = None) -> Tensor:
        """Codes -> traces; ``baseline`` (B, 1, 1), in output units, shifts each trace's level;
        ``skips`` the encoder's features (needed with ``skips=True``, else ignored)."""
        check_input("DAE1dDecoder", z, self.code_shape)
        if not self.skips:
            h = self.blocks(z)
        else:
            if skips is None or len(skips) != len(self.blocks):
                raise UsageError("DAE1dDecoder: a decoder with skip connections needs the encoder's features "
                                 f"({len(self.blocks)} tensors, DAE1dEncoder.features), got "
                                 f"{'none' if skips is None else len(skips)}")
            h = self.blocks[0](z)
            for block, skip in zip(self.blocks[1:], reversed(skips[:-1])):
                h = block(torch.cat([h, skip], dim=1))
        # the head is a plain conv: conv1d_block without activation or pool (oneDNN is
        # slow with one output channel; the fused kernel is not)
        h = _conv1d_block_op()(h, self.head.weight, self.head.bias, activation="none", negative_slope=0.0,
                               pool=False)
        if baseline is not None:
            h = h + inverse_output_activation(self.output_activation_name, baseline)
        return self.out_act(h)


class DAE1d(nn.Module):
    """Encoder + decoder in one module: ``forward(noisy) -> recovered``; ``encode`` gives the code.

    ``center``: subtract each trace's mean before the encoder and restore it at the output
    (see the module docstring for why it is on by default). ``skips``: U-Net skip
    connections from each encoder block to the decoder (see :class:`DAE1dDecoder`).
    ``spectral_gate``: hidden channels of a :class:`genreg.nets.spectral.SpectralGate` in
    front of the encoder (a learned, per-trace band-pass and line notch; 0 = none).
    ``line_removal``: fit and subtract up to this many interference lines (sinusoids in
    30-85 MHz at the radio data's 180 MHz sampling, :class:`genreg.nets.lines.LineRemoval`)
    after the centring and before the gate and encoder; 0 = none. The output is still
    compared with the clean pulse, so the network never has to learn the lines.
    """

    def __init__(self, length: int = 500, channels: Sequence[int] = (32, 64, 64, 16),
                 kernel_sizes: Sequence[int] = (9, 9, 5, 5), activation: str = "relu",
                 negative_slope: float = 0.01, upsample: str = "nearest", center: bool = True,
                 skips: bool = False, spectral_gate: int = 0, line_removal: int = 0) -> None:
        super().__init__()
        self.center, self.skips = bool(center), bool(skips)
        if spectral_gate < 0:
            raise UsageError(f"DAE1d: spectral_gate is a channel count (0 = none), got {spectral_gate}")
        if isinstance(line_removal, bool) or not isinstance(line_removal, int) or line_removal < 0:
            raise UsageError(f"DAE1d: line_removal is a number of lines (0 = none), got {line_removal!r}")
        self.lines = LineRemoval(length, line_removal) if line_removal else None
        self.gate = SpectralGate(length, spectral_gate) if spectral_gate else None
        self.encoder = DAE1dEncoder(length, channels, kernel_sizes, activation, negative_slope)
        self.decoder = DAE1dDecoder(length, channels, kernel_sizes, activation, negative_slope, upsample,
                                    skips=skips)

    def _split(self, x: Tensor) -> tuple[Tensor, Optional[Tensor]]:
        baseline = None
        if self.center or self.gate is not None or self.lines is not None:
            check_input("DAE1dEncoder", x, self.encoder.input_shape)  # before the mean / FFT, for a clear error
        if self.center:
            baseline = x.mean(dim=-1, keepdim=True)
            x = x - baseline
        if self.lines is not None:
            x = self.lines(x)
        return (x if self.gate is None else self.gate(x)), baseline

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(self._split(x)[0])

    def forward(self, x: Tensor) -> Tensor:
        centred, baseline = self._split(x)
        if not self.skips:
            return self.decoder(self.encoder(centred), baseline)
        features = self.encoder.features(centred)
        return self.decoder(features[-1], baseline, skips=features)

    def extra_repr(self) -> str:
        return f"center={self.center}, skips={self.skips}"
