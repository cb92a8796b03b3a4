"""Fake-tensor and autograd rules for the ops in genreg._C.

Imported only once the extension has loaded. Backward formulas are written with
differentiable torch ops, so double backward (needed by gradient penalties) works.
"""

from __future__ import annotations

import torch

from .reference import per_sample_view

OPS = ("gp_interpolate",)


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
