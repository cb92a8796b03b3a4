"""The update that checks gradients inside the optimiser step (CPU, train.nonfinite=stop):
CheckedAdam (genreg/training/checked_adam.py) over genreg::adam_step_. It must do what the
guard's separate check did: name the step, phase and cause of a bad gradient, keep the
last checkpoint a good one, and train as torch's Adam does."""

import pytest
import torch

import genreg
from genreg import kernels
from genreg.training import checkpoint as ckpt
from genreg.training.checked_adam import CheckedAdam
from genreg.training.guard import NonFiniteError
from genreg.training.overhead import SMALL, op_counts

pytestmark = pytest.mark.usefixtures("one_thread")

AE = ["data=toy-vectors", "train.batch_size=32", "train.sample_every=0"]


@pytest.fixture
def checked():
    if not kernels.has_kernel("adam_step_", "cpu"):
        pytest.skip(f"genreg::adam_step_ has no CPU kernel here: {kernels.extension_state().error}")


def _poison_gradient(step_to_poison):
    """A callback that turns the first parameter's gradient to NaN in one step (the loss stays finite)."""
    hooks = []

    def on_step_start(run, step):
        while hooks:
            hooks.pop().remove()
        if step == step_to_poison:
            first = next(iter(run.trainer.pipeline.parameters()))
            hooks.append(first.register_hook(lambda g: torch.full_like(g, float("nan"))))

    return {"step_start": on_step_start}


@pytest.mark.parametrize("model", ["dae1d", "vae", "mlp-gan"])
def test_the_loop_checks_gradients_in_the_step_and_reads_no_norm(checked, model):
    counts = op_counts(model, SMALL[model])["trainer"]
    assert counts["genreg.adam_step_"] > 0, sorted(counts)
    assert "aten._foreach_norm" not in counts  # no pass of its own over the gradients


@pytest.mark.parametrize("backend", ["auto", "reference"])
def test_a_bad_gradient_stops_naming_step_and_phase(toys, tmp_path, backend):
    """With the checked step (auto) and with the guard's own check (reference kernels)."""
    run_dir = tmp_path / "run"
    with kernels.use_backend(backend), pytest.raises(NonFiniteError) as info:
        genreg.train("mlp-ae", overrides=AE + ["train.steps=10", "train.checkpoint_every=2"], out=run_dir,
                     callbacks=_poison_gradient(5), quiet=True)
    message = str(info.value)
    assert "step 5: reconstruction gradients are not finite (norm nan)" in message, message
    assert "last good checkpoint" in message and "step-00000004" in message
    assert [s for s, _ in ckpt.list_checkpoints(run_dir)] == [2, 4]
    tensors, _ = ckpt.load(ckpt.find(run_dir))
    assert all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())


def test_skip_mode_keeps_the_separate_check_and_drops_the_update(toys, tmp_path):
    params = {}

    def snapshot(run, step, metrics):
        params[step] = [p.detach().clone() for p in run.trainer.pipeline.parameters()]

    genreg.train("mlp-ae", overrides=AE + ["train.steps=4", "train.nonfinite=skip", "train.log_every=4"],
                 out=tmp_path / "run", callbacks=[_poison_gradient(3), {"step_end": snapshot}], quiet=True)
    assert all(torch.equal(a, b) for a, b in zip(params[2], params[3]))
    assert not all(torch.equal(a, b) for a, b in zip(params[3], params[4]))


def test_checked_training_follows_torch_adam(checked, toys, tmp_path):
    """The same run with the checked step and with torch's Adam (reference kernels, so the
    guard checks separately): the same parameters to float32 rounding."""
    finals = {}
    for backend in ("auto", "reference"):
        def keep(run, result, backend=backend):
            finals[backend] = [p.detach().clone() for p in run.trainer.pipeline.parameters()]

        with kernels.use_backend(backend):
            genreg.train("mlp-ae", overrides=AE + ["train.steps=6", "opt.weight_decay=0.01"],
                         out=tmp_path / backend, callbacks={"train_end": keep}, quiet=True)
    for a, b in zip(finals["auto"], finals["reference"]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_state_is_torch_adams(checked):
    """A CheckedAdam state dict continues in torch.optim.Adam, and the reverse (checkpoints
    written before and after the change load either way)."""
    torch.manual_seed(0)
    w = torch.randn(300, 7)
    a = torch.nn.Parameter(w.clone())
    b = torch.nn.Parameter(w.clone())
    opt_a = CheckedAdam([a], lr=1e-2, betas=(0.5, 0.9))
    opt_b = torch.optim.Adam([b], lr=1e-2, betas=(0.5, 0.9), fused=True)
    grads = [torch.randn_like(w) for _ in range(4)]
    for g in grads[:2]:
        a.grad, b.grad = g.clone(), g.clone()
        assert opt_a.checked_step()
        opt_b.step()
    swapped_a = torch.optim.Adam([a], lr=1e-2, betas=(0.5, 0.9), fused=True)
    swapped_a.load_state_dict(opt_a.state_dict())
    swapped_b = CheckedAdam([b], lr=1e-2, betas=(0.5, 0.9))
    swapped_b.load_state_dict(opt_b.state_dict())
    for g in grads[2:]:
        a.grad, b.grad = g.clone(), g.clone()
        swapped_a.step()
        assert swapped_b.checked_step()
    torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-5, atol=1e-7)
    assert float(swapped_b.state[b]["step"]) == 4


def test_what_the_checked_step_does_not_take(checked):
    p = torch.nn.Parameter(torch.randn(4))
    assert CheckedAdam([p], lr=1e-3).can_check()
    assert not CheckedAdam([p], lr=1e-3, amsgrad=True).can_check()
    assert not CheckedAdam([torch.nn.Parameter(torch.randn(4, dtype=torch.float64))], lr=1e-3).can_check()
    assert not CheckedAdam([torch.nn.Parameter(torch.randn(4, 3).t())], lr=1e-3).can_check()
    with kernels.use_backend("reference"):
        assert not CheckedAdam([p], lr=1e-3).can_check()
