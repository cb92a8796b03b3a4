"""Adam that checks the gradients it reads: :func:`adam_step`, the op behind the training
loop's ``train.nonfinite=stop`` on CPU.

Why: the loop must not apply an update whose gradients hold a NaN or Inf (the non-finite
guard, :mod:`genreg.training.guard`). Checking first costs one more pass over every
gradient; on CPU, where a step of a large model is bound by memory bandwidth, that pass
is about 5 % of a 49 M-parameter VAE step. The fused kernel (csrc/cpu/adam_step.cpp)
checks each block of gradients while it sits in cache, just before updating it.

The update is Adam with L2 weight decay (Kingma & Ba 2015, "Adam: A Method for Stochastic
Optimization", Algorithm 1; torch.optim.Adam's arithmetic and state: ``exp_avg``,
``exp_avg_sq``, a float32 ``step``), float32 only. The two backends differ where a
gradient is not finite: the reference checks everything first and updates nothing; the
fused kernel stops at the first bad block, with what came before it already updated, so
its callers must stop (never continue from that state). Where every gradient is finite
they agree to float rounding.

CPU only, by design: on a GPU the extra pass reads HBM at terabytes a second (microseconds
for these models) and torch's fused Adam updates every tensor in one launch, so the loop
keeps torch's kernel there (and the guard's device-side flags).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor

from . import resolve

CPU_ONLY = "adam_step_"  # the op with no CUDA kernel, on purpose (see above)


def adam_step(params: Sequence[Tensor], grads: Sequence[Tensor], exp_avgs: Sequence[Tensor],
              exp_avg_sqs: Sequence[Tensor], steps: Sequence[Tensor], *, lr: float, beta1: float, beta2: float,
              eps: float, weight_decay: float = 0.0) -> bool:
    """One Adam update of ``params`` in place; returns True if every gradient was finite.

    All tensors float32, contiguous, on the CPU, ``grads[k]`` / ``exp_avgs[k]`` /
    ``exp_avg_sqs[k]`` shaped like ``params[k]``; ``steps[k]``: a one-element tensor holding
    the parameter's update count *including* this update (1 on the first). Returns False
    (see the module docstring for what was updated then) if a gradient is NaN or +-Inf.
    The fused kernel raises RuntimeError for lists of different lengths, shapes that do
    not match, or tensors that are not contiguous float32 CPU tensors.
    """
    if resolve(CPU_ONLY, "cpu") == "fused":
        return bool(torch.ops.genreg.adam_step_(list(params), list(exp_avgs), list(exp_avg_sqs), list(grads),
                                                list(steps), float(lr), float(beta1), float(beta2), float(eps),
                                                float(weight_decay)))
    return _reference(params, grads, exp_avgs, exp_avg_sqs, steps, lr, beta1, beta2, eps, weight_decay)


@torch.no_grad()
def _reference(params, grads, exp_avgs, exp_avg_sqs, steps, lr, beta1, beta2, eps, weight_decay) -> bool:
    if not all(bool(torch.isfinite(g).all()) for g in grads):
        return False
    for p, g, m, v, s in zip(params, grads, exp_avgs, exp_avg_sqs, steps):
        if weight_decay:
            g = g.add(p, alpha=weight_decay)
        step = float(s)
        m.mul_(beta1).add_(g, alpha=1 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        denom = (v.sqrt() / math.sqrt(1 - beta2 ** step)).add_(eps)
        p.addcdiv_(m, denom, value=-lr / (1 - beta1 ** step))
    return True
