"""A reconstruction model's net may supply its own loss terms (``net.loss_terms(x, target)``)."""

import json

import pytest
import torch

import genreg
from genreg.errors import UsageError

pytestmark = pytest.mark.usefixtures("one_thread")

RUN = ["data=toy-vectors", "train.batch_size=32", "train.log_every=5", "train.sample_every=0",
       "train.checkpoint_every=0", "opt.lr=1e-2"]


def read_metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_own_loss_terms_are_optimised_and_logged(toys, tmp_path):
    seen = {}

    def at_start(run):
        net = run.trainer.modules()["net"]
        seen["net"] = net
        seen["weight"] = net.lin.weight.detach().clone()

    result = genreg.train("toy-masked", overrides=RUN + ["train.steps=40"], out=tmp_path / "run",
                          quiet=True, callbacks={"train_start": at_start})
    records = read_metrics(result.run_dir)
    assert [r["step"] for r in records] == [5, 10, 15, 20, 25, 30, 35, 40]
    for r in records:
        assert {"masked_mse", "weight_l2"} <= set(r) and "mse" not in r and "kl" not in r
    # the sum is optimised: the masked error falls
    assert records[-1]["masked_mse"] < 0.5 * records[0]["masked_mse"], records
    net = seen["net"]
    assert not torch.equal(net.lin.weight, seen["weight"])
    # one call of loss_terms per step, through the pipeline; no plain forward while training
    assert net.calls == {"forward": 0, "loss_terms": 40}


def test_the_sum_of_the_terms_is_optimised(toys, tmp_path):
    """The weights of the masked (zeroed) input features get no gradient from masked_mse,
    only from weight_l2: they move (towards 0, by Adam's first step of lr) only because the
    trainer optimises the sum of the terms."""
    captured = {}

    def at_start(run):
        net = run.trainer.modules()["net"]
        captured["w0"] = net.lin.weight.detach().clone()
        captured["net"] = net

    result = genreg.train("toy-masked", overrides=RUN + ["train.steps=1", "train.log_every=1"],
                          out=tmp_path / "run", quiet=True, callbacks={"train_start": at_start})
    w0, w1 = captured["w0"][:, ::2], captured["net"].lin.weight.detach()[:, ::2]
    assert torch.allclose(w1 - w0, -1e-2 * torch.sign(w0), rtol=0, atol=1e-4)  # Adam eps: 1e-8 vs |grad| >= ~1e-6
    record = read_metrics(result.run_dir)[0]
    assert record["masked_mse"] > 0 and record["weight_l2"] > 0


@pytest.mark.parametrize("bad, message", [("vector", "must be a scalar floating tensor"),
                                          ("reserved", "term name 'step'")])
def test_bad_loss_terms_are_one_line_errors(toys, tmp_path, bad, message):
    with pytest.raises(UsageError, match=message):
        genreg.train("toy-masked", overrides=RUN + ["train.steps=1", f"model.bad_terms={bad}"],
                     out=tmp_path / "run", quiet=True)


def test_sample_figure_uses_the_plain_forward(toys, tmp_path):
    seen = {}
    result = genreg.train("toy-masked", overrides=RUN + ["train.steps=2", "train.sample_every=2"],
                          out=tmp_path / "run", quiet=True,
                          callbacks={"train_start": lambda run: seen.setdefault("net", run.trainer.modules()["net"])})
    assert (result.run_dir / "samples" / "step-00000002.png").exists()
    assert seen["net"].calls == {"forward": 1, "loss_terms": 2}
