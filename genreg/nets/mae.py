"""Masked autoencoder networks (He et al. 2021, "Masked Autoencoders Are Scalable Vision
Learners", arXiv:2111.06377; for 1-D signals as in Audio-MAE, Huang et al. 2022).

A sample is cut into ``L`` non-overlapping patches (``patch_dim`` values each). Per sample,
``round(mask_ratio * L)`` patches are hidden at random: uniform noise is argsorted, the
first ``keep`` indices of that shuffle stay visible (``ids_keep``) and the argsort of the
shuffle (``ids_restore``) puts tokens back in patch order. The encoder, a stack of
pre-norm transformer layers (``torch.nn.TransformerEncoderLayer``), sees the visible
patches only; a narrower decoder gets the encoded visible tokens plus one learned mask
token at every hidden position and predicts all patches. The loss is the mean squared
error over the hidden patches only, optionally against each patch normalised to zero
mean and unit variance (``norm_pix_loss``). Position embeddings are fixed sine-cosine
tables (1-D over patch index for traces, 2-D over patch row and column for images).

:class:`MAE1d` takes traces ``(N, C, T)``, :class:`MAE2d` images ``(N, C, H, W)``; both
float tensors, any dtype the parameters have.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor, nn


def sincos_1d(dim: int, positions: Tensor) -> Tensor:
    """(len(positions), dim) table: sines then cosines of positions at geometric frequencies
    1 / 10000^(2i/dim) (Vaswani et al. 2017). ``dim`` must be even."""
    freq = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim // 2))
    angle = positions.to(torch.float64)[:, None] * freq[None, :]
    return torch.cat([angle.sin(), angle.cos()], dim=1).float()


def sincos_2d(dim: int, rows: int, cols: int) -> Tensor:
    """(rows * cols, dim) table in row-major patch order: half the channels encode the
    row, half the column. ``dim`` must divide by 4."""
    r, c = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
    return torch.cat([sincos_1d(dim // 2, r.reshape(-1)), sincos_1d(dim // 2, c.reshape(-1))], dim=1)


def num_masked(length: int, ratio: float) -> int:
    """Patches hidden per sample: ``ratio * length`` rounded half up."""
    return int(math.floor(ratio * length + 0.5))


def random_masking(n: int, length: int, ratio: float, *, device=None,
                   generator: Optional[torch.Generator] = None) -> tuple[Tensor, Tensor, Tensor]:
    """A fresh random mask per sample: ``(ids_keep (n, keep), ids_restore (n, length),
    mask (n, length))`` with ``mask`` 1.0 on hidden patches, 0.0 on visible ones and
    ``keep = length - num_masked(length, ratio)``. Draws from ``generator`` (a CPU
    generator; the indices then move to ``device``) or else from the global RNG of ``device``."""
    if generator is not None:
        noise = torch.rand(n, length, generator=generator).to(device)
    else:
        noise = torch.rand(n, length, device=device)
    ids_shuffle = noise.argsort(dim=1)  # small noise: visible
    ids_restore = ids_shuffle.argsort(dim=1)  # where each patch sits in the shuffle
    keep = length - num_masked(length, ratio)
    return ids_shuffle[:, :keep], ids_restore, (ids_restore >= keep).float()


def normalise_patches(p: Tensor) -> Tensor:
    """Each patch (last dimension) shifted to zero mean and scaled to unit variance (+1e-6
    in the variance): the targets of ``norm_pix_loss``."""
    return (p - p.mean(-1, keepdim=True)) / (p.var(-1, keepdim=True, unbiased=False) + 1e-6).sqrt()


def _blocks(dim: int, depth: int, heads: int, mlp_ratio: float) -> nn.ModuleList:
    return nn.ModuleList(nn.TransformerEncoderLayer(dim, heads, int(dim * mlp_ratio), dropout=0.0,
                                                    activation="gelu", batch_first=True, norm_first=True)
                         for _ in range(depth))


class MaskedAutoencoder(nn.Module):
    """The shared encoder/decoder over patch sequences; subclasses cut samples into patches.

    ``eval_family = "mae"`` tells ``genreg eval`` to score it as a masked autoencoder.
    """

    eval_family = "mae"
    fixed_mask_seed = 0  # forward()'s mask: the same for every call, independent of the global RNG

    def __init__(self, sample_shape, patch_dim: int, pos: Tensor, *, embed_dim: int, depth: int, heads: int,
                 decoder_dim: int, decoder_depth: int, decoder_heads: int, mlp_ratio: float, mask_ratio: float,
                 norm_pix_loss: bool, target: str = "input") -> None:
        super().__init__()
        self.input_shape = self.output_shape = tuple(sample_shape)
        self.num_patches, self.patch_dim = pos.shape[0], patch_dim
        self.mask_ratio, self.norm_pix_loss, self.embed_dim = float(mask_ratio), bool(norm_pix_loss), embed_dim
        self.target = target  # "input": reconstruct x (the paper's); "data": the data's target (e.g. clean traces)
        self.patch_embed = nn.Linear(patch_dim, embed_dim)
        self.register_buffer("pos", pos, persistent=False)  # fixed: recomputed, not checkpointed
        self.blocks = _blocks(embed_dim, depth, heads, mlp_ratio)
        self.norm = nn.LayerNorm(embed_dim)
        self.decoder_embed = nn.Linear(embed_dim, decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_dim))
        self.register_buffer("decoder_pos", self._pos_table(decoder_dim), persistent=False)
        self.decoder_blocks = _blocks(decoder_dim, decoder_depth, decoder_heads, mlp_ratio)
        self.decoder_norm = nn.LayerNorm(decoder_dim)
        self.decoder_pred = nn.Linear(decoder_dim, patch_dim)
        for m in self.modules():  # the paper's initialisation
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.mask_token, std=0.02)

    # -- subclasses: patch layout
    def patchify(self, x: Tensor) -> Tensor:  # (N, *sample_shape) -> (N, L, patch_dim)
        raise NotImplementedError

    def unpatchify(self, p: Tensor) -> Tensor:  # (N, L, patch_dim) -> (N, *sample_shape)
        raise NotImplementedError

    def _pos_table(self, dim: int) -> Tensor:
        raise NotImplementedError

    # -- the model
    def random_masking(self, n: int, generator: Optional[torch.Generator] = None):
        """``(ids_keep, ids_restore, mask)`` for ``n`` samples at ``mask_ratio``; see the module."""
        return random_masking(n, self.num_patches, self.mask_ratio, device=self.pos.device, generator=generator)

    def encode(self, x: Tensor, ids_keep: Optional[Tensor] = None) -> Tensor:
        """Encoded tokens ``(N, keep, embed_dim)`` of the patches ``ids_keep`` (None: all)."""
        tokens = self.patch_embed(self.patchify(x)) + self.pos
        if ids_keep is not None:
            tokens = tokens.gather(1, ids_keep[..., None].expand(-1, -1, tokens.shape[-1]))
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens)

    def decode(self, tokens: Tensor, ids_restore: Tensor) -> Tensor:
        """Predicted patches ``(N, L, patch_dim)`` from visible tokens in shuffled order."""
        h = self.decoder_embed(tokens)
        n, keep, dim = h.shape
        h = torch.cat([h, self.mask_token.expand(n, self.num_patches - keep, dim)], dim=1)
        h = h.gather(1, ids_restore[..., None].expand(-1, -1, dim)) + self.decoder_pos
        for block in self.decoder_blocks:
            h = block(h)
        return self.decoder_pred(self.decoder_norm(h))

    def features(self, x: Tensor) -> Tensor:
        """Pooled representation ``(N, embed_dim)``: the mean of the encoder's tokens over
        all patches, nothing masked (what a linear probe reads)."""
        return self.encode(x).mean(dim=1)

    def target_patches(self, x: Tensor, target: Optional[Tensor] = None) -> Tensor:
        """What the decoder is trained to predict: the patches of x (``target="input"``) or of
        the data's ``target`` (``target="data"``; x when None), normalised per patch when
        ``norm_pix_loss`` (zero mean, unit variance; +1e-6 in the variance)."""
        p = self.patchify(target if self.target == "data" and target is not None else x)
        return normalise_patches(p) if self.norm_pix_loss else p

    def masked_prediction(self, x: Tensor, generator: Optional[torch.Generator] = None):
        """``(predicted patches (N, L, patch_dim), mask (N, L))`` under a random mask."""
        ids_keep, ids_restore, mask = self.random_masking(len(x), generator)
        return self.decode(self.encode(x, ids_keep), ids_restore), mask.to(x.dtype)

    def loss_terms(self, x: Tensor, target: Optional[Tensor] = None) -> dict[str, Tensor]:
        """``{"masked_mse": ...}``: the MSE of the predicted patches against
        :meth:`target_patches`, averaged over the hidden patches only. The trainer passes the
        data's ``target`` (x itself when the data has none); it is used with
        ``target="data"`` only. The mask comes from the global RNG (checkpointed for exact resume)."""
        pred, mask = self.masked_prediction(x)
        per_patch = (pred - self.target_patches(x, target)).pow(2).mean(-1)
        return {"masked_mse": (per_patch * mask).sum() / mask.sum()}

    def reconstruct(self, x: Tensor, generator: Optional[torch.Generator] = None) -> tuple[Tensor, Tensor]:
        """``(reconstruction like x, mask (N, L))``: visible patches copied from x, hidden
        ones predicted. With ``norm_pix_loss`` the prediction is mapped back with the true
        patch's mean and spread (as the paper's figures do): only its shape is predicted."""
        pred, mask = self.masked_prediction(x, generator)
        p = self.patchify(x)
        if self.norm_pix_loss:
            pred = pred * (p.var(-1, keepdim=True, unbiased=False) + 1e-6).sqrt() + p.mean(-1, keepdim=True)
        return self.unpatchify(torch.where(mask[..., None].bool(), pred, p)), mask

    def forward(self, x: Tensor) -> Tensor:
        """A full reconstruction of x (shape and dtype of x) under a fixed mask at
        ``mask_ratio``: the same patches are hidden on every call (seeded generator, the
        global RNG untouched), so sample figures are comparable across steps."""
        return self.reconstruct(x, torch.Generator().manual_seed(self.fixed_mask_seed))[0]


class MAE1d(MaskedAutoencoder):
    """Traces ``(N, C, T)`` cut into ``T // patch`` patches of ``C * patch`` values."""

    def __init__(self, length: int, channels: int, patch: int, **kw) -> None:
        self.patch, self.channels = patch, channels
        super().__init__((channels, length), channels * patch, self._pos_table(kw["embed_dim"], length // patch), **kw)

    def _pos_table(self, dim: int, length: Optional[int] = None) -> Tensor:
        return sincos_1d(dim, torch.arange(length if length is not None else self.num_patches))

    def patchify(self, x: Tensor) -> Tensor:
        n, c, t = x.shape
        return x.reshape(n, c, t // self.patch, self.patch).permute(0, 2, 1, 3).reshape(n, t // self.patch, -1)

    def unpatchify(self, p: Tensor) -> Tensor:
        n, length, _ = p.shape
        return p.reshape(n, length, self.channels, self.patch).permute(0, 2, 1, 3).reshape(n, self.channels, -1)


class MAE2d(MaskedAutoencoder):
    """Images ``(N, C, H, W)`` cut into ``(H // patch) * (W // patch)`` square patches of
    ``C * patch * patch`` values, row-major."""

    def __init__(self, size: int, channels: int, patch: int, **kw) -> None:
        self.patch, self.channels, self.grid = patch, channels, size // patch
        super().__init__((channels, size, size), channels * patch * patch, self._pos_table(kw["embed_dim"]), **kw)

    def _pos_table(self, dim: int) -> Tensor:
        return sincos_2d(dim, self.grid, self.grid)

    def patchify(self, x: Tensor) -> Tensor:
        n, c, g, p = x.shape[0], self.channels, self.grid, self.patch
        return x.reshape(n, c, g, p, g, p).permute(0, 2, 4, 3, 5, 1).reshape(n, g * g, p * p * c)

    def unpatchify(self, p: Tensor) -> Tensor:
        n, c, g, s = p.shape[0], self.channels, self.grid, self.patch
        return p.reshape(n, g, g, s, s, c).permute(0, 5, 1, 3, 2, 4).reshape(n, c, g * s, g * s)
