"""Tiny training runs (a few steps on a few samples) for the model tests."""

import genreg

TRAIN = ["train.log_every=1", "train.sample_every=0", "train.checkpoint_every=0", "train.device=cpu"]


def tiny_run(out, model, *overrides, steps=2):
    return genreg.train(model, overrides=[*TRAIN, f"train.steps={steps}", *overrides], out=out, quiet=True)
