"""Inputs and checks the conv1d_block / upconv1d_block tests share (CPU and CUDA)."""

import torch

from genreg import kernels

# CPU tolerances: float64 1e-10; float32 1e-4 relative / 1e-5 absolute (the fused loop
# and oneDNN sum the K x C_in products in different orders)
TOL = {torch.float64: dict(rtol=1e-10, atol=1e-10), torch.float32: dict(rtol=1e-4, atol=1e-5)}
ACTS = [("relu", 0.0), ("leaky_relu", 0.2), ("none", 0.0)]


def make_float64(batch, cin, cout, length, k, device, seed, bias=True, non_contiguous=False):
    """x (B, C_in, L), weight (C_out, C_in, K) and bias (C_out,) or None: float64 on
    `device`; x optionally a transposed (B, L, C) buffer."""
    gen = torch.Generator().manual_seed(seed)
    if non_contiguous:
        x = torch.randn(batch, length, cin, generator=gen, dtype=torch.float64).transpose(1, 2)
    else:
        x = torch.randn(batch, cin, length, generator=gen, dtype=torch.float64)
    w = torch.randn(cout, cin, k, generator=gen, dtype=torch.float64) / (cin * k) ** 0.5
    b = torch.randn(cout, generator=gen, dtype=torch.float64) * 0.1 if bias else None
    return x.to(device), w.to(device), None if b is None else b.to(device)


def make(batch, cin, cout, length, k, dtype, seed, non_contiguous=False, bias=True):
    """CPU inputs of `dtype` that require grad (see make_float64)."""
    tensors = make_float64(batch, cin, cout, length, k, "cpu", seed, bias=bias, non_contiguous=non_contiguous)
    return tuple(None if t is None else t.to(dtype).requires_grad_(True) for t in tensors)


def critic_penalty_gradients(device) -> dict:
    """The parameter gradients of a WGAN-GP penalty through a 1-D critic made of two
    conv1d_block layers (second order through the block), on the fused and the
    reference path: {backend: (grad w1, grad b1, grad w2, grad head)}."""
    from genreg.losses.penalties import GradientPenalty

    gen = torch.Generator().manual_seed(0)
    shapes = [(4, 1, 5), (4,), (6, 4, 3), (6 * 5,)]
    params = [torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes]
    w1, b1, w2, head = (p.to(device).requires_grad_(True) for p in params)

    def critic(x, y=None):
        h = kernels.conv1d_block(x, w1, b1, "leaky_relu", 0.2)
        h = kernels.conv1d_block(h, w2, None, "leaky_relu", 0.2)
        return h.flatten(1) @ head

    real = torch.randn(3, 1, 21, generator=gen, dtype=torch.float64).to(device)
    fake = torch.randn(3, 1, 21, generator=gen, dtype=torch.float64).to(device)
    results = {}
    for backend in ("fused", "reference"):
        torch.manual_seed(1)  # the penalty's interpolation weights: the same on both paths
        with kernels.use_backend(backend):
            loss = GradientPenalty(10.0)(critic, real, fake)
            results[backend] = torch.autograd.grad(loss, (w1, b1, w2, head))
    return results
