"""``CheckedAdam``: torch's Adam, plus an update that checks the gradients as it applies them.

The trainers' Adam on CPU when genreg's kernels are built (:func:`.update.adam`). It *is*
a ``torch.optim.Adam(fused=True)``: the same hyperparameters, the same state
(``step``, ``exp_avg``, ``exp_avg_sq``), so checkpoints load either way, and ``step()`` is
torch's. :meth:`checked_step` is the one the loop calls under ``train.nonfinite=stop``:
one pass of :func:`genreg.kernels.adam.adam_step` instead of a norm over every gradient
followed by torch's step (see that module for why, and for what a bad gradient leaves).
"""

from __future__ import annotations

import torch

from ..kernels.adam import CPU_ONLY, adam_step


class CheckedAdam(torch.optim.Adam):
    """``torch.optim.Adam(params, fused=True, **kwargs)`` with :meth:`checked_step`."""

    def __init__(self, params, **kwargs) -> None:
        self._checkable: dict[str, bool] = {}
        super().__init__(params, fused=True, **kwargs)

    def add_param_group(self, param_group: dict) -> None:
        self._checkable = {}
        super().add_param_group(param_group)

    def can_check(self) -> bool:
        """Whether :meth:`checked_step` applies: plain Adam (no amsgrad, maximize,
        decoupled weight decay or tensor learning rate) on float32 contiguous CPU
        parameters, with genreg's fused kernel present (cached per kernel backend)."""
        from .. import kernels

        backend = kernels.get_backend()
        if backend not in self._checkable:
            self._checkable[backend] = kernels.resolve(CPU_ONLY, "cpu") == "fused" and self._plain()
        return self._checkable[backend]

    def _plain(self) -> bool:
        for group in self.param_groups:
            if any(group.get(flag) for flag in ("amsgrad", "maximize", "decoupled_weight_decay", "differentiable",
                                                "capturable")) or isinstance(group["lr"], torch.Tensor):
                return False
            if any(p.device.type != "cpu" or p.dtype != torch.float32 or not p.is_contiguous()
                   for p in group["params"]):
                return False
        return True

    @torch.no_grad()
    def checked_step(self) -> bool:
        """One update of every parameter with a gradient; False if a gradient was NaN or
        +-Inf, and then the update is partial (the caller must stop)."""
        for group in self.param_groups:
            params, grads, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:  # as torch's fused Adam creates it
                    state["step"] = torch.zeros((), dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                params.append(p)
                grads.append(p.grad if p.grad.is_contiguous() else p.grad.contiguous())
                exp_avgs.append(state["exp_avg"])
                exp_avg_sqs.append(state["exp_avg_sq"])
                steps.append(state["step"])
            if not params:
                continue
            torch._foreach_add_(steps, 1)
            beta1, beta2 = group["betas"]
            if not adam_step(params, grads, exp_avgs, exp_avg_sqs, steps, lr=group["lr"], beta1=beta1,
                             beta2=beta2, eps=group["eps"], weight_decay=group["weight_decay"]):
                return False
        return True
