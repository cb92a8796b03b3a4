"""Fake-tensor rules for the ops in genreg._C, and autograd for conv1d_block and upconv1d_block.

Imported only once the extension has loaded. The autograd of gp_interpolate,
grad_penalty and grad_penalty_backward is in C++ (csrc/autograd.cpp: no Python per
call). Backward formulas are fused ops or plain differentiable torch ops, so double
backward (needed by gradient penalties) works.
"""

from __future__ import annotations

import torch

OPS = ("gp_interpolate", "grad_penalty", "grad_penalty_backward", "grad_penalty_forward",
       "grad_penalty_backward_sumsq", "conv1d_block_forward", "conv1d_block_backward",
       "upconv1d_block_forward", "upconv1d_block_backward")


@torch.library.register_fake("genreg::gp_interpolate")
def _gp_interpolate_fake(real, fake, eps):
    torch._check(real.shape == fake.shape, lambda: "gp_interpolate: real and fake shapes differ")
    torch._check(eps.numel() == real.shape[0], lambda: "gp_interpolate: eps needs one value per sample")
    return torch.empty_like(real, memory_format=torch.contiguous_format)


# --- grad_penalty -----------------------------------------------------------------
# The forward kernel computes the per-sample penalty; its backward is a second op,
# grad_penalty_backward, whose result flows into `grads` -- and from there into the
# critic's parameters through the create_graph=True graph that produced `grads`.
# grad_penalty_forward / grad_penalty_backward_sumsq are the same pair with each
# sample's sum of squares (float64) handed from forward to backward, so the backward
# reads g once; grad_penalty's autograd uses them where the backend has them (CPU).
# All their autograd is in csrc/autograd.cpp.


@torch.library.register_fake("genreg::grad_penalty")
def _grad_penalty_fake(grads, mode, center, p):
    torch._check(grads.dim() >= 1, lambda: "grad_penalty: grads needs a batch dimension")
    return grads.new_empty((grads.shape[0],))


@torch.library.register_fake("genreg::grad_penalty_backward")
def _grad_penalty_backward_fake(grad_out, grads, mode, center, p):
    torch._check(grad_out.shape == (grads.shape[0],), lambda: "grad_penalty_backward: grad_out must be (B,)")
    return torch.empty_like(grads, memory_format=torch.contiguous_format)


@torch.library.register_fake("genreg::grad_penalty_forward")
def _grad_penalty_forward_fake(grads, mode, center, p):
    torch._check(grads.dim() >= 1, lambda: "grad_penalty_forward: grads needs a batch dimension")
    return grads.new_empty((grads.shape[0],)), grads.new_empty((grads.shape[0],), dtype=torch.float64)


@torch.library.register_fake("genreg::grad_penalty_backward_sumsq")
def _grad_penalty_backward_sumsq_fake(grad_out, grads, sumsq, mode, center, p):
    torch._check(grad_out.shape == (grads.shape[0],), lambda: "grad_penalty_backward_sumsq: grad_out must be (B,)")
    torch._check(sumsq.shape == (grads.shape[0],), lambda: "grad_penalty_backward_sumsq: sumsq must be (B,)")
    return torch.empty_like(grads, memory_format=torch.contiguous_format)


# --- conv1d_block -----------------------------------------------------------------
# Forward and backward are fused kernels. The backward op has its own autograd
# formula in plain torch ops (convolutions), so a critic built from conv1d_block
# can be used with a gradient penalty (second order), and further orders work too.


@torch.library.register_fake("genreg::conv1d_block_forward")
def _conv1d_block_forward_fake(x, weight, bias, activation, negative_slope, pool):
    torch._check(x.dim() == 3 and weight.dim() == 3, lambda: "conv1d_block: x and weight must be 3-d")
    length = x.shape[2] // 2 if pool else x.shape[2]
    shape = (x.shape[0], weight.shape[0], length)
    return x.new_empty(shape), x.new_empty(shape, dtype=torch.uint8)


def _block_grads_fake(x, weight, has_bias):
    """(grad x, grad weight, grad bias or an empty tensor): what both blocks' backward ops return."""
    grad_bias = x.new_empty((weight.shape[0],) if has_bias else (0,))
    return (torch.empty_like(x, memory_format=torch.contiguous_format),
            torch.empty_like(weight, memory_format=torch.contiguous_format), grad_bias)


@torch.library.register_fake("genreg::conv1d_block_backward")
def _conv1d_block_backward_fake(grad_out, x, weight, code, activation, negative_slope, pool, has_bias):
    return _block_grads_fake(x, weight, has_bias)


def _conv1d_block_forward_setup(ctx, inputs, output):
    x, weight, bias, activation, negative_slope, pool = inputs
    ctx.save_for_backward(x, weight, output[1])
    ctx.block_args = (activation, negative_slope, pool, bias is not None)
    ctx.mark_non_differentiable(output[1])


def _conv1d_block_forward_backward(ctx, grad_out, _grad_code):
    x, weight, code = ctx.saved_tensors
    grad_x, grad_w, grad_b = torch.ops.genreg.conv1d_block_backward(grad_out, x, weight, code, *ctx.block_args)
    has_bias = ctx.block_args[3]
    return grad_x, grad_w, (grad_b if has_bias else None), None, None, None


torch.library.register_autograd("genreg::conv1d_block_forward", _conv1d_block_forward_backward,
                                setup_context=_conv1d_block_forward_setup)


def _negative_side_slope(activation, negative_slope):
    return {"relu": 0.0, "leaky_relu": negative_slope}.get(activation, 1.0)


def _times_slope(t, code, activation, negative_slope):
    """t times the activation's slope at z (1 where the code says z > 0); relu selects 0
    there instead of multiplying, so an infinite t gives 0, as torch's relu backward."""
    positive = (code & 2) != 0
    if activation == "relu":
        return torch.where(positive, t, torch.zeros((), dtype=t.dtype, device=t.device))
    slope = torch.where(positive, torch.ones((), dtype=t.dtype, device=code.device),
                        torch.full((), _negative_side_slope(activation, negative_slope), dtype=t.dtype,
                                   device=code.device))
    return t * slope


def _grad_at_z(grad_out, code, length, activation, negative_slope, pool):
    """The gradient at the pre-activation z (B, C, L) from that at the output, in torch ops."""
    g = _times_slope(grad_out, code, activation, negative_slope)
    if not pool:
        return g
    second = (code & 1).to(torch.bool)
    zero = torch.zeros_like(g)
    pairs = torch.stack((torch.where(second, zero, g), torch.where(second, g, zero)), dim=-1)
    g = pairs.reshape(g.shape[0], g.shape[1], 2 * g.shape[2])
    return torch.nn.functional.pad(g, (0, length - g.shape[2]))


def _grad_at_out(grad_z, code, activation, negative_slope, pool):
    """The adjoint of _grad_at_z: pick each output's winning position, times the slope."""
    if pool:
        out_len = code.shape[2]
        pairs = grad_z[..., : 2 * out_len].reshape(code.shape[0], code.shape[1], out_len, 2)
        grad_z = pairs.gather(-1, (code & 1).long().unsqueeze(-1)).squeeze(-1)
    return _times_slope(grad_z, code, activation, negative_slope)


def _conv1d_block_backward_setup(ctx, inputs, output):
    grad_out, x, weight, code, activation, negative_slope, pool, has_bias = inputs
    ctx.save_for_backward(grad_out, x, weight, code)
    ctx.block_args = (activation, negative_slope, pool, has_bias)


def _conv1d_block_backward_backward(ctx, up_x, up_w, up_b):
    """The backward op is linear in grad_out through gz (the gradient at z):
    grad_x = conv_transpose1d(gz, w), grad_w = conv1d_weight(x, gz), grad_b = sum gz."""
    grad_out, x, weight, code = ctx.saved_tensors
    activation, negative_slope, pool, has_bias = ctx.block_args
    F = torch.nn.functional
    pad = weight.shape[2] // 2
    gz = _grad_at_z(grad_out, code, x.shape[2], activation, negative_slope, pool)
    d_grad_out = d_x = d_w = None
    if ctx.needs_input_grad[0]:
        terms = []
        if up_x is not None:
            terms.append(F.conv1d(up_x, weight, padding=pad))
        if up_w is not None:
            terms.append(F.conv1d(x, up_w, padding=pad))
        if has_bias and up_b is not None:
            terms.append(up_b.reshape(1, -1, 1).expand(x.shape[0], -1, x.shape[2]))
        if terms:
            d_grad_out = _grad_at_out(sum(terms[1:], terms[0]), code, activation, negative_slope, pool)
    if ctx.needs_input_grad[1] and up_w is not None:
        d_x = F.conv_transpose1d(gz, up_w, padding=pad)
    if ctx.needs_input_grad[2] and up_x is not None:
        d_w = torch.nn.grad.conv1d_weight(up_x, weight.shape, gz, padding=pad)
    return d_grad_out, d_x, d_w, None, None, None, None, None


torch.library.register_autograd("genreg::conv1d_block_backward", _conv1d_block_backward_backward,
                                setup_context=_conv1d_block_backward_setup)


# --- upconv1d_block -----------------------------------------------------------------
# The decoder block act(conv1d(upsample_nearest(x, size)) + b): fused forward and
# backward; the backward op's own autograd formula is the conv1d_block one with x
# replaced by its upsampled copy u = U x, in plain differentiable torch ops
# (U = index_select of each position's source, U^T = index_add).


def _nearest_sources(length, size, like):
    """The input position each of ``size`` upsampled positions copies: F.interpolate's own
    rule, read off an upsampled arange (exact while length < 2**24)."""
    positions = torch.arange(length, dtype=like.dtype, device=like.device).reshape(1, 1, length)
    return torch.nn.functional.interpolate(positions, size=size, mode="nearest").reshape(size).long()


@torch.library.register_fake("genreg::upconv1d_block_forward")
def _upconv1d_block_forward_fake(x, weight, bias, size, activation, negative_slope):
    torch._check(x.dim() == 3 and weight.dim() == 3, lambda: "upconv1d_block: x and weight must be 3-d")
    shape = (x.shape[0], weight.shape[0], size)
    return x.new_empty(shape), x.new_empty(shape, dtype=torch.uint8)


@torch.library.register_fake("genreg::upconv1d_block_backward")
def _upconv1d_block_backward_fake(grad_out, x, weight, code, size, activation, negative_slope, has_bias):
    return _block_grads_fake(x, weight, has_bias)


def _upconv1d_block_forward_setup(ctx, inputs, output):
    x, weight, bias, size, activation, negative_slope = inputs
    ctx.save_for_backward(x, weight, output[1])
    ctx.block_args = (size, activation, negative_slope, bias is not None)
    ctx.mark_non_differentiable(output[1])


def _upconv1d_block_forward_backward(ctx, grad_out, _grad_code):
    x, weight, code = ctx.saved_tensors
    grad_x, grad_w, grad_b = torch.ops.genreg.upconv1d_block_backward(grad_out, x, weight, code, *ctx.block_args)
    return grad_x, grad_w, (grad_b if ctx.block_args[3] else None), None, None, None


torch.library.register_autograd("genreg::upconv1d_block_forward", _upconv1d_block_forward_backward,
                                setup_context=_upconv1d_block_forward_setup)


def _upconv1d_block_backward_setup(ctx, inputs, output):
    grad_out, x, weight, code, size, activation, negative_slope, has_bias = inputs
    ctx.save_for_backward(grad_out, x, weight, code)
    ctx.block_args = (size, activation, negative_slope, has_bias)


def _upconv1d_block_backward_backward(ctx, up_x, up_w, up_b):
    """With gz = grad_out * slope(code) and u = U x: grad_x = U^T conv_transpose1d(gz, w),
    grad_w = conv1d_weight(u, gz), grad_b = sum gz -- linear in grad_out."""
    grad_out, x, weight, code = ctx.saved_tensors
    size, activation, negative_slope, has_bias = ctx.block_args
    F = torch.nn.functional
    pad = weight.shape[2] // 2
    src = _nearest_sources(x.shape[2], size, x)
    upsample = lambda t: t.index_select(2, src)
    gz = _times_slope(grad_out, code, activation, negative_slope)
    d_grad_out = d_x = d_w = None
    if ctx.needs_input_grad[0]:
        terms = []
        if up_x is not None:
            terms.append(F.conv1d(upsample(up_x), weight, padding=pad))
        if up_w is not None:
            terms.append(F.conv1d(upsample(x), up_w, padding=pad))
        if has_bias and up_b is not None:
            terms.append(up_b.reshape(1, -1, 1).expand(x.shape[0], -1, size))
        if terms:
            d_grad_out = _times_slope(sum(terms[1:], terms[0]), code, activation, negative_slope)
    if ctx.needs_input_grad[1] and up_w is not None:
        d_u = F.conv_transpose1d(gz, up_w, padding=pad)
        d_x = x.new_zeros(x.shape).index_add(2, src, d_u)
    if ctx.needs_input_grad[2] and up_x is not None:
        d_w = torch.nn.grad.conv1d_weight(upsample(up_x), weight.shape, gz, padding=pad)
    return d_grad_out, d_x, d_w, None, None, None, None, None


torch.library.register_autograd("genreg::upconv1d_block_backward", _upconv1d_block_backward_backward,
                                setup_context=_upconv1d_block_backward_setup)
