"""Tiny training runs (a few steps on a few samples) for the model tests."""

import json

from PIL import Image

import genreg
from genreg.cli import main

TRAIN = ["train.log_every=1", "train.sample_every=0", "train.checkpoint_every=0", "train.device=cpu"]


def tiny_run(out, model, *overrides, steps=2):
    return genreg.train(model, overrides=[*TRAIN, f"train.steps={steps}", *overrides], out=out, quiet=True)


def eval_json(capsys, *args):
    """`genreg eval ARGS --json`, asserted to exit 0; its parsed output."""
    capsys.readouterr()
    assert main(["eval", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def is_png(path):
    """Whether ``path`` is a PNG image larger than 10x10 pixels."""
    with Image.open(path) as im:
        return im.format == "PNG" and im.size[0] > 10 and im.size[1] > 10
