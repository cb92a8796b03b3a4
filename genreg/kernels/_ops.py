"""Fake-tensor (meta) rules for genreg's ops, so they work under torch.compile.

Imported only once the extension has loaded. The op list itself is declared once, in
C++ (csrc/ops.cpp, read here as ``genreg._C.OPS``); every op there needs a rule here
(checked at import). Where the rest of an op lives -- one rule for all of them:

  kernels   csrc/cpu/*.cpp, csrc/cuda/*.cu (each registers its backend)
  autograd  csrc/autograd/*.cpp, all in C++ at the Autograd key, for every backend:
            no Python runs per call (a Python autograd.Function cost about 35 us per
            penalty forward+backward, as much as the kernels at (256, 1, 500))
  fake      here
"""

from __future__ import annotations

import torch

from genreg import _C

OPS: tuple[str, ...] = tuple(_C.OPS)

_RULES = {}


def _fake(name):
    def register(fn):
        _RULES[name] = fn
        return fn

    return register


@_fake("gp_interpolate")
def _gp_interpolate_fake(real, fake, eps):
    torch._check(real.shape == fake.shape, lambda: "gp_interpolate: real and fake shapes differ")
    torch._check(eps.numel() == real.shape[0], lambda: "gp_interpolate: eps needs one value per sample")
    return torch.empty_like(real, memory_format=torch.contiguous_format)


@_fake("grad_penalty_forward")
def _grad_penalty_forward_fake(grads, mode, center, p):
    torch._check(grads.dim() >= 1, lambda: "grad_penalty_forward: grads needs a batch dimension")
    return grads.new_empty((grads.shape[0],)), grads.new_empty((grads.shape[0],), dtype=torch.float64)


@_fake("grad_penalty_backward")
def _grad_penalty_backward_fake(grad_out, grads, sumsq, mode, center, p):
    torch._check(grad_out.shape == (grads.shape[0],), lambda: "grad_penalty_backward: grad_out must be (B,)")
    torch._check(sumsq.shape == (grads.shape[0],), lambda: "grad_penalty_backward: sumsq must be (B,)")
    return torch.empty_like(grads, memory_format=torch.contiguous_format)


@_fake("conv1d_block_forward")
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


@_fake("conv1d_block_backward")
def _conv1d_block_backward_fake(grad_out, x, weight, code, activation, negative_slope, pool, has_bias):
    return _block_grads_fake(x, weight, has_bias)


@_fake("upconv1d_block_forward")
def _upconv1d_block_forward_fake(x, weight, bias, size, activation, negative_slope):
    torch._check(x.dim() == 3 and weight.dim() == 3, lambda: "upconv1d_block: x and weight must be 3-d")
    shape = (x.shape[0], weight.shape[0], size)
    return x.new_empty(shape), x.new_empty(shape, dtype=torch.uint8)


@_fake("upconv1d_block_backward")
def _upconv1d_block_backward_fake(grad_out, x, weight, code, size, activation, negative_slope, has_bias):
    return _block_grads_fake(x, weight, has_bias)


@_fake("adam_step_")
def _adam_step_fake(params, exp_avgs, exp_avg_sqs, grads, steps, lr, beta1, beta2, eps, weight_decay):
    return torch.empty((), dtype=torch.bool, device=params[0].device if params else "cpu")


if set(_RULES) != set(OPS):
    raise ImportError(f"genreg/kernels/_ops.py has fake rules for {sorted(_RULES)} but genreg._C declares "
                      f"{sorted(OPS)}: add the missing rule (and drop any stale one)")
for _name, _rule in _RULES.items():
    torch.library.register_fake(f"genreg::{_name}")(_rule)
