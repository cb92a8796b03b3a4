"""MLP generator and critic for the 2-D Gaussian mixtures (ring8, grid25).

The usual mode-collapse set-up: 3 hidden layers of 128 units, ReLU in the generator and
LeakyReLU(0.2) in the critic, linear output (the mixtures live on about [-2, 2]^2 or
[-4, 4]^2, unbounded). Optional class conditioning as in the image networks and a
``norm`` option (``none`` by default; ``batch`` or ``layer`` per hidden layer).
"""

from __future__ import annotations

from typing import Optional, Tuple, Union

from torch import Tensor, nn

from ..errors import UsageError
from ..interfaces import Critic, Generator
from ._common import (NORMS, LabelConditioning, check_choice, check_input, check_latent, check_positive,
                      norm_layer, output_activation)


def _mlp(owner: str, in_dim: int, hidden: int, layers: int, norm: str, act) -> tuple[nn.Sequential, int]:
    check_positive(owner, "hidden", hidden)
    check_positive(owner, "layers", layers)
    check_choice(owner, "norm", norm, NORMS)
    mods: list[nn.Module] = []
    width = in_dim
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), norm_layer(norm, hidden, 0), act()]
        width = hidden
    return nn.Sequential(*mods), width


class MLPGenerator(Generator):
    """(B, latent_dim) latents [+ (B,) labels] -> (B, dim) points."""

    def __init__(self, latent_dim: int = 2, dim: int = 2, hidden: int = 128, layers: int = 3, num_classes: int = 0,
                 embed_dim: int = 8, norm: str = "none", output_activation_name: str = "none") -> None:
        super().__init__()
        owner = "MLPGenerator"
        self.latent_dim = check_positive(owner, "latent_dim", latent_dim)
        self.output_shape = (check_positive(owner, "dim", dim),)
        if num_classes < 0:
            raise UsageError(f"{owner}: num_classes must be >= 0, got {num_classes}")
        self.num_classes = int(num_classes)
        self.condition = LabelConditioning(owner, latent_dim, self.num_classes, embed_dim)
        self.body, width = _mlp(owner, self.condition.out_dim, hidden, layers, norm, nn.ReLU)
        self.head = nn.Sequential(nn.Linear(width, dim), output_activation(output_activation_name))

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        check_latent("MLPGenerator", z, self.latent_dim)
        return self.head(self.body(self.condition(z, y)))


class MLPCritic(Critic):
    """(B, dim) points -> (B,) scores, or ((B,), (B, num_classes)) when num_classes > 0."""

    def __init__(self, dim: int = 2, hidden: int = 128, layers: int = 3, num_classes: int = 0, norm: str = "none",
                 negative_slope: float = 0.2) -> None:
        super().__init__()
        owner = "MLPCritic"
        self.input_shape = (check_positive(owner, "dim", dim),)
        if num_classes < 0:
            raise UsageError(f"{owner}: num_classes must be >= 0, got {num_classes}")
        self.num_classes = int(num_classes)
        self.body, width = _mlp(owner, dim, hidden, layers, norm, lambda: nn.LeakyReLU(negative_slope))
        self.score = nn.Linear(width, 1)
        self.classify = nn.Linear(width, self.num_classes) if self.num_classes > 0 else None

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        check_input("MLPCritic", x, self.input_shape)
        h = self.body(x)
        score = self.score(h).reshape(x.shape[0])
        if self.classify is None:
            return score
        return score, self.classify(h)
