"""Learning-rate schedules of the reconstruction trainer (``opt.lr_schedule``).

``constant``  ``opt.lr`` at every step (the default).
``cosine``    cosine decay from ``opt.lr`` to ``opt.lr * opt.lr_final`` over ``train.steps``
              (Loshchilov & Hutter 2017, "SGDR: Stochastic Gradient Descent with Warm
              Restarts", without restarts; torch's ``CosineAnnealingLR`` with
              ``T_max = train.steps``): the update of step s (1-based) uses
              lr_final * lr + (1 - lr_final) * lr * (1 + cos(pi * (s - 1) / steps)) / 2.

The rate is a function of the step alone, so a resumed run continues on the same curve;
steps past ``train.steps`` keep the final rate.
"""

from __future__ import annotations

import math

from ..errors import UsageError

SCHEDULES = ("constant", "cosine")


def scheduled_lr(schedule: str, lr: float, step: int, steps: int, final: float = 0.0) -> float:
    """The learning rate of update ``step`` (1-based) of ``steps`` under ``schedule``.

    ``lr`` > 0 is the initial rate, ``final`` in [0, 1] the last rate as a fraction of it.
    Raises UsageError for an unknown schedule, ``step`` < 1 or ``steps`` < 1."""
    if schedule not in SCHEDULES:
        raise UsageError(f"opt.lr_schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    if step < 1 or steps < 1:
        raise UsageError(f"scheduled_lr: step and steps must be >= 1, got step {step}, steps {steps}")
    if schedule == "constant":
        return lr
    t = min(step - 1, steps) / steps
    return lr * (final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * t)))
