"""Fake-tensor and autograd rules for the ops in genreg._C.

Imported only once the extension has loaded. Backward formulas are fused ops or plain
differentiable torch ops, so double backward (needed by gradient penalties) works.
"""

from __future__ import annotations

import torch

from .reference import per_sample_view

OPS = ("gp_interpolate", "grad_penalty", "grad_penalty_backward")


@torch.library.register_fake("genreg::gp_interpolate")
def _gp_interpolate_fake(real, fake, eps):
    torch._check(real.shape == fake.shape, lambda: "gp_interpolate: real and fake shapes differ")
    torch._check(eps.numel() == real.shape[0], lambda: "gp_interpolate: eps needs one value per sample")
    return torch.empty_like(real, memory_format=torch.contiguous_format)


def _gp_interpolate_setup(ctx, inputs, output):
    real, fake, eps = inputs
    ctx.save_for_backward(real, fake, eps)


def _gp_interpolate_backward(ctx, grad):
    real, fake, eps = ctx.saved_tensors
    need_real, need_fake, need_eps = ctx.needs_input_grad
    w = per_sample_view(eps, grad)
    grad_real = grad * w if (need_real or need_fake) else None
    grad_fake = grad - grad_real if need_fake else None
    grad_eps = (grad * (real - fake)).reshape(grad.shape[0], -1).sum(1).reshape(eps.shape) if need_eps else None
    return (grad_real if need_real else None), grad_fake, grad_eps


torch.library.register_autograd(
    "genreg::gp_interpolate", _gp_interpolate_backward, setup_context=_gp_interpolate_setup
)


# --- grad_penalty -----------------------------------------------------------------
# The forward kernel computes the per-sample penalty; its backward is a second op,
# grad_penalty_backward, whose result flows into `grads` -- and from there into the
# critic's parameters through the create_graph=True graph that produced `grads`.
# grad_penalty_backward has its own autograd formula (plain torch ops, so itself
# differentiable): the penalty can be differentiated twice or more.


@torch.library.register_fake("genreg::grad_penalty")
def _grad_penalty_fake(grads, mode, center, p):
    torch._check(grads.dim() >= 1, lambda: "grad_penalty: grads needs a batch dimension")
    return grads.new_empty((grads.shape[0],))


@torch.library.register_fake("genreg::grad_penalty_backward")
def _grad_penalty_backward_fake(grad_out, grads, mode, center, p):
    torch._check(grad_out.shape == (grads.shape[0],), lambda: "grad_penalty_backward: grad_out must be (B,)")
    return torch.empty_like(grads, memory_format=torch.contiguous_format)


def _grad_penalty_setup(ctx, inputs, output):
    grads, mode, center, p = inputs
    ctx.save_for_backward(grads)
    ctx.penalty_args = (mode, center, p)


def _grad_penalty_backward(ctx, grad):
    (grads,) = ctx.saved_tensors
    if not ctx.needs_input_grad[0]:
        return None, None, None, None
    dgrads = torch.ops.genreg.grad_penalty_backward(grad, grads, *ctx.penalty_args)
    return dgrads, None, None, None


torch.library.register_autograd("genreg::grad_penalty", _grad_penalty_backward, setup_context=_grad_penalty_setup)


def _grad_penalty_backward_setup(ctx, inputs, output):
    grad_out, grads, mode, center, p = inputs
    ctx.save_for_backward(grad_out, grads)
    ctx.penalty_args = (mode, center, p)


def _grad_penalty_backward_backward(ctx, upstream):
    """The op is dg = a_b * g with a_b = grad_out_b * h(s_b), s_b = sum g_b^2; so
    d/d grad_out_b = h(s_b) <upstream_b, g_b> and
    d/d g = a_b * upstream + 2 grad_out_b h'(s_b) <upstream_b, g_b> g."""
    grad_out, grads = ctx.saved_tensors
    mode, center, p = ctx.penalty_args
    h, dh = coefficient_and_slope(grads, mode, center, p)
    rg = (upstream.reshape(grads.shape[0], -1) * grads.reshape(grads.shape[0], -1)).sum(1)
    d_grad_out = h * rg if ctx.needs_input_grad[0] else None
    d_grads = None
    if ctx.needs_input_grad[1]:
        d_grads = (per_sample_view(grad_out * h, grads) * upstream
                   + per_sample_view(2 * grad_out * dh * rg, grads) * grads)
    return d_grad_out, d_grads, None, None, None


def coefficient_and_slope(grads, mode, center, p):
    """h(s) with d penalty / d g = h(s) g, and h'(s), per sample; both 0 where s = 0."""
    s = grads.reshape(grads.shape[0], -1).pow(2).sum(1)
    nonzero = s > 0
    safe = torch.where(nonzero, s, torch.ones_like(s))
    if mode == "gp":
        norm = safe.sqrt()
        h, dh = 2 * (1 - center / norm), center / (norm * safe)
    else:
        h, dh = p * safe.pow(p / 2 - 1), p * (p / 2 - 1) * safe.pow(p / 2 - 2)
    zero = torch.zeros_like(s)
    return torch.where(nonzero, h, zero), torch.where(nonzero, dh, zero)


torch.library.register_autograd("genreg::grad_penalty_backward", _grad_penalty_backward_backward,
                                setup_context=_grad_penalty_backward_setup)
