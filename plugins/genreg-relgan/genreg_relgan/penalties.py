"""R1 regularisation (Mescheder, Geiger, Nowozin, "Which training methods for GANs do
actually converge?", 2018): penalise the critic's gradient on real data only."""

from genreg import kernels
from genreg.errors import UsageError
from genreg.losses.penalties import critic_input_grad


class R1Penalty:
    name = "r1"

    def __init__(self, gamma: float = 10.0) -> None:
        if gamma < 0:
            raise UsageError(f"r1: gamma must be >= 0, got {gamma}")
        self.gamma = gamma

    def __call__(self, critic, real, fake, labels=None):
        grad = critic_input_grad(critic, real, labels)
        # ||g||^2 per sample is genreg's "div" penalty with p = 2 (fused where built)
        return (self.gamma / 2) * kernels.grad_penalty(grad, "div", p=2.0).mean()

    def __repr__(self) -> str:
        return f"R1Penalty(gamma={self.gamma})"
