"""Short in-process training runs: losses move the right way, guards, data checks, outputs."""

import json
import math
import tomllib

import pytest
import torch

import genreg
from genreg.errors import UsageError
from genreg.training import checkpoint as ckpt
from genreg.training.guard import NonFiniteError

pytestmark = pytest.mark.usefixtures("one_thread")

QUIET = dict(quiet=True)



def read_metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_adversarial_run_moves_the_generator_to_the_data(toys, tmp_path):
    seen = {}

    def distance(run):  # mean distance of generated points from the blob's centre (3, 3)
        with torch.no_grad():
            g = run.trainer.generator
            return (g(g.sample_latent(512)) - 3.0).norm(dim=1).mean().item()

    callbacks = {"train_start": lambda run: seen.setdefault("before", distance(run)),
                 "train_end": lambda run, result: seen.setdefault("after", distance(run))}
    result = genreg.train("mlp-gan", overrides=[
        "data=toy-blob", "model.hidden=32", "model.depth=2", "model.n_critic=3", "train.steps=100",
        "train.batch_size=64", "train.log_every=25", "train.sample_every=50", "train.checkpoint_every=50",
        "opt.lr_g=1e-3",
        "opt.lr_d=1e-3", "opt.betas=0.5,0.9"], out=tmp_path / "run", callbacks=callbacks, **QUIET)
    assert seen["before"] > 3.0
    assert seen["after"] < 0.5 * seen["before"], seen
    records = read_metrics(result.run_dir)
    assert [r["step"] for r in records] == [25, 50, 75, 100]
    assert {"d_loss", "penalty", "g_loss", "lr_g", "lr_d", "samples_per_s", "time_s"} <= set(records[0])
    # the critic's estimate of W(data, generated) falls as the generator closes in
    w = [r["d_real"] - r["d_fake"] for r in records]
    assert w[-1] < 0.5 * w[0], w
    assert sorted(p.name for p in (result.run_dir / "samples").iterdir()) == [
        "step-00000050.png", "step-00000100.png"]
    assert [s for s, _ in ckpt.list_checkpoints(result.run_dir)] == [50, 100]
    assert (result.run_dir / "config.toml").read_text().startswith("[model]\nname = \"mlp-gan\"")
    assert json.loads((result.run_dir / "summary.json").read_text())["step"] == 100


def test_class_conditional_run_learns_the_classes(toys, tmp_path):
    result = genreg.train("mlp-gan", overrides=[
        "data=toy-labelled", "model.num_classes=3", "model.hidden=32", "model.depth=2", "model.n_critic=2",
        "model.ema_decay=0.9", "train.steps=60", "train.batch_size=48", "train.log_every=20",
        "train.sample_every=0", "opt.lr_d=1e-3"], out=tmp_path / "run", **QUIET)
    records = read_metrics(result.run_dir)
    assert records[-1]["d_aux"] < 0.8 * records[0]["d_aux"]  # the critic's classifier learns
    assert "g_aux" in records[-1]
    tensors, _ = ckpt.load(result.checkpoint)
    assert any(k.startswith("ema.") for k in tensors)


@pytest.mark.parametrize("extra, terms", [
    ([], {"mse"}),
    (["model.objective=mse+kl", "model.kl_weight=0.001"], {"mse", "kl"}),
    (["data.noise=0.3"], {"mse"}),  # a denoiser: noisy input, clean target
])
def test_reconstruction_loss_goes_down(toys, tmp_path, extra, terms):
    result = genreg.train("mlp-ae", overrides=[
        "data=toy-vectors", "train.steps=120", "train.batch_size=64", "train.log_every=20",
        "train.sample_every=60", "opt.lr=3e-3", *extra], out=tmp_path / "run", **QUIET)
    records = read_metrics(result.run_dir)
    assert terms <= set(records[0])
    assert records[-1]["mse"] < 0.5 * records[0]["mse"], [r["mse"] for r in records]
    assert (result.run_dir / "samples" / "step-00000120.png").exists()


def test_wrong_sample_shape_is_rejected_before_training(toys, tmp_path):
    started = []
    with pytest.raises(UsageError, match=r"data 'toy-blob' has samples of shape \(2,\) but model 'mlp-ae' "
                                         r"takes input of shape \(16,\)"):
        genreg.train("mlp-ae", overrides=["data=toy-blob"], out=tmp_path / "run",
                     callbacks={"train_start": started.append}, **QUIET)
    assert not started
    with pytest.raises(UsageError, match=r"has samples of shape \(16,\) but model 'mlp-gan' has generator output "
                                         r"shape \(2,\)"):
        genreg.train("mlp-gan", overrides=["data=toy-vectors"], out=tmp_path / "run2", **QUIET)


def test_wrong_dtype_and_missing_labels_are_rejected(toys, tmp_path):
    with pytest.raises(UsageError, match=r"toy-vectors' x is torch\.float64 but model 'mlp-ae' has torch\.float32"):
        genreg.train("mlp-ae", overrides=["data=toy-vectors", "data.dtype=float64"], out=tmp_path / "a", **QUIET)
    with pytest.raises(UsageError, match=r"class-conditional \(3 classes\) but data 'toy-blob' has no labels"):
        genreg.train("mlp-gan", overrides=["data=toy-blob", "model.num_classes=3"], out=tmp_path / "b", **QUIET)
    with pytest.raises(UsageError, match=r"dataset 'toy-blob' has no parameter 'colour'; parameters: n, center"):
        genreg.train("mlp-gan", overrides=["data=toy-blob", "data.colour=1"], out=tmp_path / "c", **QUIET)
    with pytest.raises(UsageError, match=r"loss 'bce' rejected its parameters"):
        genreg.train("mlp-gan", overrides=["data=toy-blob", "model.loss=bce", "model.loss_params.gamma=1"],
                     out=tmp_path / "d", **QUIET)


@pytest.fixture(params=["immediate", "deferred"])
def guard_strategy(request, monkeypatch):
    """Both non-finite guard strategies on CPU: read at once, or kept on the device and
    read at log/sample/checkpoint steps (what CUDA runs do)."""
    from genreg.training import loop

    deferred = request.param == "deferred"
    monkeypatch.setattr(loop, "deferred_guard", lambda device, tc: deferred)
    return request.param


def _poison_step(step_to_poison):
    """A callback that makes the batch of one step non-finite (and restores the data after)."""
    saved = {}

    def on_step_start(run, step):
        x = run.dataset.x
        if step == step_to_poison:
            saved["x"] = x.clone()
            x.fill_(float("nan"))
        elif "x" in saved:
            x.copy_(saved.pop("x"))

    return {"step_start": on_step_start}


def test_nonfinite_stop_names_step_and_term_and_keeps_the_last_checkpoint(toys, tmp_path, guard_strategy):
    run_dir = tmp_path / "run"
    with pytest.raises(NonFiniteError) as info:
        genreg.train("mlp-ae", overrides=["data=toy-vectors", "train.steps=10", "train.batch_size=32",
                                          "train.checkpoint_every=2", "train.sample_every=0"],
                     out=run_dir, callbacks=_poison_step(5), **QUIET)
    message = str(info.value)
    assert "step 5: reconstruction loss term 'mse' is nan" in message
    assert "last good checkpoint" in message and "step-00000004" in message
    assert [s for s, _ in ckpt.list_checkpoints(run_dir)] == [2, 4]
    ckpt.load(ckpt.find(run_dir))  # still loadable


def test_nonfinite_stop_in_the_critic(toys, tmp_path, guard_strategy):
    with pytest.raises(NonFiniteError, match=r"step 2: critic loss term 'd_loss' is nan.*no checkpoint was written"):
        genreg.train("mlp-gan", overrides=["data=toy-blob", "train.steps=4", "train.batch_size=32",
                                           "model.hidden=8", "train.sample_every=0", "train.checkpoint_every=0"],
                     out=tmp_path / "run", callbacks=_poison_step(2), **QUIET)


def test_nonfinite_skip_drops_the_update_and_goes_on(toys, tmp_path, guard_strategy):
    params = {}

    def snapshot(run, step, metrics):
        params[step] = [p.detach().clone() for p in run.trainer.pipeline.parameters()]

    callbacks = [_poison_step(3), {"step_end": snapshot}]
    result = genreg.train("mlp-ae", overrides=["data=toy-vectors", "train.steps=6", "train.batch_size=32",
                                               "train.nonfinite=skip", "train.log_every=3", "train.sample_every=0"],
                          out=tmp_path / "run", callbacks=callbacks, **QUIET)
    assert all(torch.equal(a, b) for a, b in zip(params[2], params[3]))  # step 3 changed nothing
    assert not all(torch.equal(a, b) for a, b in zip(params[3], params[4]))  # step 4 trained again
    records = read_metrics(result.run_dir)
    assert [r["skipped"] for r in records] == [1, 1]
    assert all(math.isfinite(r["mse"]) for r in records)  # the skipped step's NaN is not averaged in
    assert all(torch.isfinite(p).all() for p in params[6])


def test_batch_larger_than_the_data_is_an_error(toys, tmp_path):
    with pytest.raises(UsageError, match=r"has 64 samples: too few for one batch of 128"):
        genreg.train("mlp-ae", overrides=["data=toy-vectors", "data.n=64", "train.batch_size=128"],
                     out=tmp_path / "run", **QUIET)


def test_existing_run_directory_is_not_overwritten(toys, tmp_path):
    overrides = ["data=toy-vectors", "train.steps=2", "train.batch_size=32", "train.sample_every=0"]
    genreg.train("mlp-ae", overrides=overrides, out=tmp_path / "run", **QUIET)
    with pytest.raises(UsageError, match=r"already has checkpoints: resume it with --resume"):
        genreg.train("mlp-ae", overrides=overrides, out=tmp_path / "run", **QUIET)


def test_callback_events_fire_in_order(toys, tmp_path):
    events = []

    class Recorder:
        def on_train_start(self, run):
            events.append("train_start")

        def on_critic_step(self, run, step, index, terms):
            events.append(f"critic{step}.{index}")

        def on_generator_step(self, run, step, terms):
            events.append(f"generator{step}")

        def on_checkpoint(self, run, step, path):
            events.append(f"checkpoint{step}")

        def on_train_end(self, run, result):
            events.append("train_end")

    genreg.train("mlp-gan", overrides=["data=toy-blob", "train.steps=2", "train.batch_size=32", "model.hidden=8",
                                       "model.n_critic=2", "train.sample_every=0"],
                 out=tmp_path / "run", callbacks=Recorder(), **QUIET)
    assert events == ["train_start", "critic1.0", "critic1.1", "generator1", "critic2.0", "critic2.1",
                      "generator2", "checkpoint2", "train_end"]
    with pytest.raises(UsageError, match=r"unknown training event 'on_step'"):
        genreg.train("mlp-gan", overrides=["data=toy-blob"], out=tmp_path / "r2",
                     callbacks={"on_step": print}, **QUIET)


def test_cuda_without_a_gpu_is_a_usage_error(toys, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the error cannot occur")
    with pytest.raises(UsageError, match=r"device cuda was requested but torch sees no CUDA device"):
        genreg.train("mlp-ae", overrides=["data=toy-vectors"], device="cuda", out=tmp_path / "run", **QUIET)


def test_resume_with_another_model_is_refused(toys, tmp_path):
    genreg.train("mlp-ae", overrides=["data=toy-vectors", "train.steps=1", "train.batch_size=32",
                                      "train.sample_every=0"], out=tmp_path / "run", **QUIET)
    with pytest.raises(UsageError, match=r"model 'mlp-ae' in the stored config conflicts with model 'mlp-gan'"):
        genreg.train("mlp-gan", resume=tmp_path / "run", **QUIET)


@pytest.mark.cuda
def test_cuda_run_and_exact_resume(toys, tmp_path, cuda_device, monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)  # restored after the test
    overrides = ["data=toy-blob", "model.hidden=16", "train.batch_size=32", "train.sample_every=3",
                 "train.checkpoint_every=2", "train.log_every=1"]
    full = genreg.train("mlp-gan", overrides=overrides + ["train.steps=4"], device="cuda",
                        out=tmp_path / "full", **QUIET)
    genreg.train("mlp-gan", overrides=overrides + ["train.steps=2"], device="cuda", out=tmp_path / "part", **QUIET)
    resumed = genreg.train(overrides=["train.steps=4"], resume=tmp_path / "part", device="cuda", **QUIET)
    a, _ = ckpt.load(full.checkpoint)
    b, _ = ckpt.load(resumed.checkpoint)
    assert "rng.cuda.rank0" in a
    for key in a:  # plain MLPs on one GPU: deterministic kernels, so equal up to float rounding at most
        torch.testing.assert_close(a[key].float(), b[key].float(), rtol=1e-5, atol=1e-6)


def test_time_limit_ends_the_run_early_with_samples_metrics_and_a_checkpoint(toys, tmp_path):
    result = genreg.train("mlp-ae", overrides=["data=toy-vectors", "train.steps=100000", "train.batch_size=32",
                                               "train.max_minutes=0.0001", "train.log_every=1000",
                                               "train.sample_every=1000"], out=tmp_path / "run", **QUIET)
    assert result.time_limited and result.interrupted is None
    assert 1 <= result.step < 100000 and "(time limit of 0.0001 min)" in result.summary
    assert read_metrics(result.run_dir)[-1]["step"] == result.step
    assert (result.run_dir / "samples" / f"step-{result.step:08d}.png").exists()
    assert ckpt.find(result.run_dir).name == ckpt.checkpoint_name(result.step)


def test_callbacks_named_in_the_config(toys, tmp_path):
    toys.StepCounter.instances.clear()
    genreg.train("mlp-ae", overrides=["data=toy-vectors", "train.steps=3", "train.batch_size=32",
                                      "train.sample_every=0", "train.callbacks=train_toys:StepCounter"],
                 out=tmp_path / "run", **QUIET)
    assert [c.steps for c in toys.StepCounter.instances] == [[1, 2, 3]]
    stored = tomllib.loads((tmp_path / "run" / "config.toml").read_text())
    assert stored["train"]["callbacks"] == ["train_toys:StepCounter"]
    with pytest.raises(UsageError, match=r"train\.callbacks: cannot load 'train_toys:Nope'"):
        genreg.train("mlp-ae", overrides=["data=toy-vectors", "train.callbacks=train_toys:Nope"],
                     out=tmp_path / "r2", **QUIET)
    with pytest.raises(UsageError, match=r"not of the form package\.module:attribute"):
        genreg.train("mlp-ae", overrides=["data=toy-vectors", "train.callbacks=print"], out=tmp_path / "r3", **QUIET)
