"""``opt.lr_schedule`` of the reconstruction trainer: the schedule function (constant, cosine
decay over train.steps; Loshchilov & Hutter 2017), the rates a run logs, bad values."""

import json
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import genreg
from genreg.errors import UsageError
from genreg.training.schedule import scheduled_lr

TINY_VAE = ["data=galaxies", "data.size=32", "data.n=32", "train.batch_size=8", "model.hidden=8",
            "model.latent_dim=2", "train.log_every=1", "train.sample_every=0", "train.checkpoint_every=0",
            "train.device=cpu"]


@settings(max_examples=60, deadline=None)
@given(lr=st.floats(1e-6, 1.0), steps=st.integers(1, 5000), final=st.floats(0.0, 1.0), data=st.data())
def test_cosine_falls_from_lr_to_the_final_fraction(lr, steps, final, data):
    rates = [scheduled_lr("cosine", lr, s, steps, final) for s in range(1, steps + 2)]
    assert rates[0] == pytest.approx(lr, rel=1e-12)  # the first update runs at opt.lr
    assert all(b <= a * (1 + 1e-12) for a, b in zip(rates, rates[1:]))  # never rises
    assert all(lr * final * (1 - 1e-12) <= r <= lr * (1 + 1e-12) for r in rates)
    # past the last step the rate stays at the final one
    late = data.draw(st.integers(steps + 1, steps + 10_000))
    assert scheduled_lr("cosine", lr, late, steps, final) == pytest.approx(lr * final, rel=1e-9, abs=1e-300)
    # the closed form: torch's CosineAnnealingLR with T_max = steps, eta_min = final * lr
    s = data.draw(st.integers(1, steps))
    want = lr * final + (lr - lr * final) * (1 + math.cos(math.pi * (s - 1) / steps)) / 2
    assert scheduled_lr("cosine", lr, s, steps, final) == pytest.approx(want, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(lr=st.floats(1e-6, 1.0), steps=st.integers(1, 100), step=st.integers(1, 200))
def test_constant_is_the_learning_rate_at_every_step(lr, steps, step):
    assert scheduled_lr("constant", lr, step, steps) == lr


def test_cosine_matches_torchs_cosine_annealing():
    steps, lr, final = 12, 0.3, 0.1
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr * final)
    for s in range(1, steps + 1):
        assert scheduled_lr("cosine", lr, s, steps, final) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-9)
        opt.step()
        sched.step()


@pytest.mark.parametrize("args, message", [
    (("step", 1e-3, 1, 10), "opt.lr_schedule must be one of constant, cosine, got 'step'"),
    (("cosine", 1e-3, 0, 10), "step and steps must be >= 1"),
    (("cosine", 1e-3, 1, 0), "step and steps must be >= 1"),
])
def test_bad_schedule_arguments_are_usage_errors(args, message):
    with pytest.raises(UsageError, match=message):
        scheduled_lr(*args)


def _logged_lrs(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [(row["step"], row["lr"]) for row in rows if "lr" in row]


def test_a_cosine_run_logs_the_scheduled_rates_and_the_default_stays_constant(tmp_path):
    cosine = genreg.train("vae", overrides=[*TINY_VAE, "train.steps=5", "opt.lr=1e-2", "opt.lr_schedule=cosine",
                                            "opt.lr_final=0.1"], out=tmp_path / "cosine", quiet=True)
    logged = _logged_lrs(cosine.run_dir)
    assert [s for s, _ in logged] == [1, 2, 3, 4, 5]
    for step, lr in logged:
        assert lr == pytest.approx(scheduled_lr("cosine", 1e-2, step, 5, 0.1), rel=1e-9)
    assert logged[-1][1] < 0.2e-2  # it did decay
    default = genreg.train("vae", overrides=[*TINY_VAE, "train.steps=3", "opt.lr=1e-2"], out=tmp_path / "const",
                           quiet=True)
    assert [lr for _, lr in _logged_lrs(default.run_dir)] == [1e-2] * 3
    stored = genreg.config.resolve("vae")
    assert stored.opt.lr_schedule == "constant" and stored.opt.lr_final == 0.0


def test_a_resumed_cosine_run_continues_on_the_same_curve(tmp_path):
    common = [*TINY_VAE, "opt.lr=1e-2", "opt.lr_schedule=cosine"]
    genreg.train("vae", overrides=[*common, "train.steps=3", "train.checkpoint_every=3"], out=tmp_path / "a", quiet=True)
    resumed = genreg.train(overrides=["train.steps=6"], resume=tmp_path / "a", quiet=True)
    # the first leg ran a 3-step schedule; the resumed steps 4-6 follow the 6-step curve
    tail = [(s, lr) for s, lr in _logged_lrs(resumed.run_dir) if s > 3]
    assert [s for s, _ in tail] == [4, 5, 6]
    for step, lr in tail:
        assert lr == pytest.approx(scheduled_lr("cosine", 1e-2, step, 6), rel=1e-9)


@pytest.mark.parametrize("override, message", [
    ("opt.lr_schedule=linear", "opt.lr_schedule"),
    ("opt.lr_final=1.5", "opt.lr_final must be in [0, 1] (a fraction of opt.lr), got 1.5"),
    ("opt.lr_final=-0.1", "opt.lr_final must be in [0, 1]"),
])
def test_bad_schedule_settings_are_one_line_errors(tmp_path, override, message):
    with pytest.raises(UsageError) as info:
        genreg.train("vae", overrides=[*TINY_VAE, "train.steps=2", override], out=tmp_path / "run", quiet=True)
    assert "\n" not in str(info.value) and message in str(info.value)


@pytest.mark.cuda
def test_a_schedule_inside_a_cuda_graph_is_a_one_line_error(tmp_path, cuda_device):
    with pytest.raises(UsageError) as info:
        genreg.train("vae", overrides=[*TINY_VAE, "train.device=cuda", "train.steps=2", "train.cuda_graph=true",
                                       "opt.lr_schedule=cosine"], out=tmp_path / "run", quiet=True)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("opt.lr_schedule=cosine cannot run inside a CUDA graph")
