"""MSGAN's mode-seeking term (Mao et al. 2019): ``model.mode_seeking`` on adversarial models."""

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import genreg
from genreg.cli import main
from genreg.losses.mode_seeking import EPS, mode_seeking_term, paired_labels

pytestmark = pytest.mark.usefixtures("one_thread")

RUN = ["data=toy-labelled", "model.num_classes=3", "model.hidden=16", "model.depth=2", "model.n_critic=1",
       "train.batch_size=10", "train.log_every=1", "train.sample_every=0", "train.checkpoint_every=0"]


@settings(max_examples=50, deadline=None)
@given(classes=st.integers(1, 12), batch=st.integers(1, 65), seed=st.integers(0, 2**31 - 1))
def test_paired_labels_pair_the_two_halves(classes, batch, seed):
    torch.manual_seed(seed)
    y = paired_labels(classes, batch, "cpu")
    half = batch // 2
    assert y.shape == (batch,) and y.dtype == torch.int64
    assert int(y.min()) >= 0 and int(y.max()) < classes
    assert torch.equal(y[:half], y[half:2 * half])


@settings(max_examples=40, deadline=None)
@given(batch=st.integers(2, 33), seed=st.integers(0, 2**31 - 1))
def test_term_is_the_inverse_ratio_of_image_to_latent_distance(batch, seed):
    g = torch.Generator().manual_seed(seed)
    fake, z = torch.randn(batch, 3, 4, 4, generator=g), torch.randn(batch, 5, generator=g)
    half = batch // 2
    image = sum(float((fake[i] - fake[half + i]).abs().sum()) for i in range(half)) / (half * 48)
    latent = sum(float((z[i] - z[half + i]).abs().sum()) for i in range(half)) / (half * 5)
    want = 1.0 / (image / latent + EPS)
    assert float(mode_seeking_term(fake, z)) == pytest.approx(want, rel=1e-5)


def test_collapsed_pairs_cost_most_and_the_gradient_spreads_them():
    z = torch.randn(16, 4, generator=torch.Generator().manual_seed(0))
    same = torch.zeros(16, 8)
    assert float(mode_seeking_term(same, z)) == pytest.approx(1 / EPS)
    # a linear generator G(z) = zW with small weights: descending the term makes W larger,
    # i.e. the samples of different latents further apart
    w = (0.01 * torch.randn(4, 8, generator=torch.Generator().manual_seed(1))).requires_grad_(True)
    before = float(mode_seeking_term(z @ w.detach(), z))
    for _ in range(20):
        (grad,) = torch.autograd.grad(mode_seeking_term(z @ w, z), w)
        w = (w - 1e-4 * grad).detach().requires_grad_(True)
    assert float(mode_seeking_term(z @ w.detach(), z)) < 0.5 * before


@pytest.mark.parametrize("fake, z", [(torch.zeros(1, 3), torch.zeros(1, 2)), (torch.zeros(4, 3), torch.zeros(3, 2))])
def test_term_refuses_unpaired_batches(fake, z):
    with pytest.raises(ValueError, match="mode_seeking_term needs >= 2 samples"):
        mode_seeking_term(fake, z)


def test_the_trainer_adds_the_term_on_paired_classes(toys, tmp_path):
    calls = []

    def at_start(run):
        def hook(module, args, out):
            if torch.is_grad_enabled():  # the generator update (critic steps draw under no_grad)
                calls.append((args[0].detach().clone(), args[1].clone(), out.detach().clone()))
        run.trainer.generator.register_forward_hook(hook)

    result = genreg.train("mlp-gan", overrides=RUN + ["train.steps=4", "model.mode_seeking=0.5"],
                          out=tmp_path / "run", quiet=True, callbacks={"train_start": at_start})
    records = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert len(calls) == 4 and [r["step"] for r in records] == [1, 2, 3, 4]
    for (z, y, out), record in zip(calls, records):
        assert torch.equal(y[:5], y[5:])  # the pairs share their class
        assert record["g_ms"] == pytest.approx(0.5 * float(mode_seeking_term(out, z)), rel=1e-5)


def test_off_by_default_no_term_is_logged(toys, tmp_path):
    result = genreg.train("mlp-gan", overrides=RUN + ["train.steps=2"], out=tmp_path / "run", quiet=True)
    record = json.loads((result.run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    assert "g_ms" not in record and "g_aux" in record


@pytest.mark.parametrize("extra, message", [
    (["model.mode_seeking=-1"], "model.mode_seeking must be >= 0, got -1"),
    (["model.mode_seeking=1", "train.batch_size=1"], "model.mode_seeking compares pairs of samples"),
])
def test_bad_settings_are_one_line_errors(toys, tmp_path, capsys, extra, message):
    assert main(["train", "mlp-gan", "--out", str(tmp_path / "run"), "--quiet", *RUN, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
