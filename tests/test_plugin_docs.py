"""docs/plugins.md's API section is true: its R1 example runs and the shapes it states hold."""

import re
from pathlib import Path

import pytest
import torch

import genreg
from genreg.interfaces import Critic, critic_score
from genreg.kernels import grad_penalty
from genreg.losses.penalties import critic_input_grad

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


class TinyCritic(Critic):
    def __init__(self, num_classes=0):
        super().__init__()
        self.input_shape, self.num_classes = (3, 4), num_classes
        self.net = torch.nn.Linear(12, 1 + num_classes)

    def forward(self, x, y=None):
        out = self.net(x.flatten(1))
        return (out[:, 0], out[:, 1:]) if self.num_classes else out[:, 0]


def r1_class():
    block = next(b for b in re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S) if "class R1" in b)
    namespace = {}
    exec(block, namespace)
    return namespace["R1"]


@pytest.mark.parametrize("num_classes", [0, 2])
def test_the_guides_r1_penalty_runs_with_the_stated_shapes(num_classes):
    torch.manual_seed(0)
    critic = TinyCritic(num_classes)
    real, fake = torch.randn(5, 3, 4), torch.randn(5, 3, 4)
    labels = torch.randint(0, 2, (5,)) if num_classes else None
    assert critic_score(critic(real, labels)).shape == (5,)
    grad = critic_input_grad(critic, real, labels)
    assert grad.shape == real.shape and grad.dtype == real.dtype and grad.requires_grad
    per_sample = grad_penalty(grad, "div", p=2.0)
    assert per_sample.shape == (5,)
    torch.testing.assert_close(per_sample, grad.flatten(1).pow(2).sum(1))
    assert grad_penalty(grad, "gp").shape == (5,)
    value = r1_class()(gamma=4.0)(critic, real, fake, labels)
    assert value.shape == ()
    value.backward()  # reaches the critic's parameters (second order through the critic)
    assert critic.net.weight.grad is not None and critic.net.weight.grad.abs().sum() > 0
    with pytest.raises(genreg.UsageError, match="gamma must be >= 0"):
        r1_class()(gamma=-1.0)


def _signature_text(fn) -> str:
    """``x, *, target=None, name="data"``: a signature as the guide writes it."""
    import inspect

    parts, star = [], False
    for p in list(inspect.signature(fn).parameters.values()):
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        default = "" if p.default is p.empty else "=" + (f'"{p.default}"' if isinstance(p.default, str) else repr(p.default))
        parts.append(p.name + default)
    return ", ".join(parts)


@pytest.mark.parametrize("name, fn", [
    ("ArrayDataset", "genreg.data.base:ArrayDataset"),
    ("grad_penalty", "genreg.kernels:grad_penalty"),
    ("critic_input_grad", "genreg.losses.penalties:critic_input_grad"),
    ("AdversarialModel", "genreg.models.base:AdversarialModel"),
    ("ReconstructionModel", "genreg.models.base:ReconstructionModel"),
])
def test_the_guide_states_the_real_signatures(name, fn):
    import importlib

    module, _, attr = fn.partition(":")
    obj = getattr(importlib.import_module(module), attr)
    assert f"{name}({_signature_text(obj)})" in GUIDE.read_text()
