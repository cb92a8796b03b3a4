"""The generator EMA: averaged weights, and normalisation statistics that belong to them.

References are computed here without genreg.training.ema: the EMA recursion from the
generator's weights recorded after every step, and the standing statistics from the inputs
each normalisation layer sees (forward pre-hooks), averaged with explicit formulas.
"""

import copy
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import genreg
from genreg.interfaces import Generator
from genreg.training import checkpoint as ckpt
from genreg.training import ema as ema_mod

pytestmark = pytest.mark.usefixtures("one_thread")

# a conditional BatchNorm generator on 2-D points (the study's basic GAN with BatchNorm MLPs)
BN_RUN = ["data=toy-labelled", "model.num_classes=3", "model.mlp_norm=batch", "model.hidden=16", "model.layers=2",
          "opt.lr_g=0.01", "opt.lr_d=0.01", "train.batch_size=16", "train.sample_every=0", "train.log_every=1000",
          "train.checkpoint_every=0", "train.seed=3"]


# ----------------------------------------------------------------------------- references


def _norm_reference(layer: nn.Module, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of the batches' per-channel means and unbiased variances (BatchNorm: over the batch
    and the spatial positions; InstanceNorm: per sample over the positions, then over samples)."""
    means, variances = [], []
    for x in inputs:
        if isinstance(layer, nn.modules.instancenorm._InstanceNorm):
            flat = x.flatten(2)  # (B, C, positions)
            means.append(flat.mean(2).mean(0))
            variances.append(flat.var(2, unbiased=True).mean(0))
        else:
            flat = x.transpose(0, 1).flatten(1)  # (C, B * positions)
            means.append(flat.mean(1))
            variances.append(flat.var(1, unbiased=True))
    return torch.stack(means).mean(0), torch.stack(variances).mean(0)


def reference_stats(generator: nn.Module, *, batch_size: int, seed: int, batches: int = ema_mod.STANDING_BATCHES):
    """{layer name: (mean, var)} of every BatchNorm/InstanceNorm layer of a copy of ``generator``
    run on the documented standing batches (latents, then labels, from one seeded generator)."""
    net = copy.deepcopy(generator).eval()
    names = {m: n for n, m in net.named_modules()
             if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm))
             and m.track_running_stats}
    seen = {m: [] for m in names}
    hooks = [m.register_forward_pre_hook(lambda mod, args: seen[mod].append(args[0].detach().clone()))
             for m in names]
    for m in names:
        m.train()  # batch statistics inside the network; dropout and the rest in eval mode
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _ in range(batches):
            z = torch.randn(batch_size, generator.latent_dim, generator=gen)
            y = torch.randint(generator.num_classes, (batch_size,), generator=gen) if generator.num_classes else None
            net(z, y)
    for h in hooks:
        h.remove()
    return {names[m]: _norm_reference(m, xs) for m, xs in seen.items()}


def assert_standing(generator: nn.Module, *, batch_size: int, seed: int, reference_of=None):
    expected = reference_stats(reference_of if reference_of is not None else generator,
                               batch_size=batch_size, seed=seed)
    assert expected, "the generator has no normalisation layer with running statistics"
    layers = dict(generator.named_modules())
    for name, (mean, var) in expected.items():
        torch.testing.assert_close(layers[name].running_mean, mean, rtol=1e-5, atol=1e-6, msg=f"{name} mean")
        torch.testing.assert_close(layers[name].running_var, var, rtol=1e-5, atol=1e-6, msg=f"{name} var")


def train_recording(steps: int, decay: float, out: Path, extra=()):
    """Train the BatchNorm GAN; return (result, trainer, generator weights before step 1 and after each step)."""
    seen = []
    holder = {}

    def on_step_start(run, step):
        if step == 1:
            seen.append([p.detach().clone() for p in run.trainer.generator.parameters()])
            holder["trainer"] = run.trainer

    def on_step_end(run, step, metrics):
        seen.append([p.detach().clone() for p in run.trainer.generator.parameters()])

    result = genreg.train("gan", overrides=[*BN_RUN, f"model.ema_decay={decay}", f"train.steps={steps}", *extra],
                          out=out, quiet=True, callbacks={"step_start": on_step_start, "step_end": on_step_end})
    return result, holder["trainer"], seen


def ema_reference(weights: list[list[torch.Tensor]], decay: float) -> list[torch.Tensor]:
    ema = [w.double() for w in weights[0]]
    for step in weights[1:]:
        ema = [decay * e + (1 - decay) * w.double() for e, w in zip(ema, step)]
    return ema


def with_weights(generator: nn.Module, weights: list[torch.Tensor]) -> nn.Module:
    net = copy.deepcopy(generator)
    with torch.no_grad():
        for p, w in zip(net.parameters(), weights):
            p.copy_(w)
    return net


# ----------------------------------------------------------------------------- the trainer's EMA


def test_ema_of_a_batchnorm_generator_matches_the_independent_reference(toys, tmp_path):
    decay, steps = 0.8, 12
    result, trainer, weights = train_recording(steps, decay, tmp_path / "run")
    assert len(weights) == steps + 1
    expected = ema_reference(weights, decay)
    for p, e in zip(trainer.ema.parameters(), expected):
        torch.testing.assert_close(p.double(), e, rtol=1e-4, atol=1e-5)
    # its running statistics are those of the averaged weights, not the live generator's
    seed = ema_mod.standing_seed(3)
    reference = with_weights(trainer.generator, expected)
    assert_standing(trainer.ema, batch_size=16, seed=seed, reference_of=reference)
    live_means = [m.running_mean for m in ema_mod.running_stat_layers(trainer.generator)]
    ema_means = [m.running_mean for m in ema_mod.running_stat_layers(trainer.ema)]
    assert any(not torch.allclose(a, b, atol=1e-3) for a, b in zip(live_means, ema_means))

    # the loaders (genreg eval / sample / genreg.load) get exactly the checkpoint's EMA
    stored = ckpt.load_run(result.run_dir)
    for (key, a), b in zip(stored.ema.state_dict().items(), trainer.ema.state_dict().values()):
        assert torch.equal(a, b), key
    # and its eval-mode samples are what the reference network draws with those statistics
    z, y = torch.randn(256, stored.ema.latent_dim), torch.arange(256) % 3
    reference.load_state_dict({k: v for k, v in stored.ema.state_dict().items()})  # buffers as checked above
    with torch.no_grad():
        torch.testing.assert_close(stored.ema.eval()(z, y), reference.eval()(z, y))
        # statistics that belong to the weights: eval mode close to the network's own batch statistics
        batch_mode = copy.deepcopy(stored.ema).train()(z, y)
        eval_mode = stored.ema(z, y)
    gap = (eval_mode - batch_mode).abs().mean() / batch_mode.std()
    assert gap < 0.1, f"eval-mode samples differ from batch-statistics samples by {gap:.3f} std"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(decay=st.floats(0.01, 0.999), steps=st.integers(1, 5))
def test_ema_weights_and_statistics_for_any_decay(toys, decay, steps):
    with tempfile.TemporaryDirectory() as tmp:
        _, trainer, weights = train_recording(steps, decay, Path(tmp) / "run")
    expected = ema_reference(weights, decay)
    for p, e in zip(trainer.ema.parameters(), expected):
        torch.testing.assert_close(p.double(), e, rtol=1e-4, atol=1e-5)
    assert_standing(trainer.ema, batch_size=16, seed=ema_mod.standing_seed(3),
                    reference_of=with_weights(trainer.generator, expected))


def test_resume_of_a_batchnorm_ema_run_is_bitwise_identical(toys, tmp_path):
    from test_train_checkpoint import assert_same_tensors

    every = ["train.checkpoint_every=2", "train.keep_checkpoints=0", "train.sample_every=3"]
    genreg.train("gan", overrides=[*BN_RUN, *every, "model.ema_decay=0.7", "train.steps=10"],
                 out=tmp_path / "a", quiet=True)
    genreg.train("gan", overrides=[*BN_RUN, *every, "model.ema_decay=0.7", "train.steps=5"],
                 out=tmp_path / "b", quiet=True)
    result = genreg.train(overrides=["train.steps=10"], resume=tmp_path / "b" / "checkpoints" / "step-00000004",
                          quiet=True)
    assert result.steps_this_run == 6
    assert_same_tensors(tmp_path / "a" / "checkpoints" / "step-00000010", result.checkpoint)


def test_a_checkpoint_with_the_live_generators_statistics_is_corrected_when_loaded(toys, tmp_path):
    """Checkpoints written before the fix stored the live generator's buffers in ema.*."""
    result, trainer, _ = train_recording(6, 0.8, tmp_path / "run")
    tensors, state = ckpt.load(result.checkpoint)
    for key in list(tensors):
        if key.startswith("ema.") and ("running_" in key or "num_batches" in key):
            tensors[key] = tensors["generator." + key[len("ema."):]].clone()  # the old behaviour
    state["trainer"].pop(ema_mod.STATS_KEY)
    old = tmp_path / "old" / "checkpoints" / "step-00000006"
    ckpt.save(old, tensors, state)
    stored = ckpt.load_run(old)
    assert_standing(stored.ema, batch_size=16, seed=ema_mod.standing_seed(3))
    for key, value in stored.ema.state_dict().items():
        assert torch.equal(value, trainer.ema.state_dict()[key]), key


# ----------------------------------------------------------------------------- standing_stats itself


class ConvGenerator(Generator):
    """Every kind of layer with running statistics, plus dropout (must stay in eval mode)."""

    def __init__(self, num_classes: int = 2):
        super().__init__()
        self.latent_dim, self.num_classes, self.output_shape = 6, num_classes, (1, 8, 8)
        self.embed = nn.Embedding(num_classes, 6)
        self.fc = nn.Linear(6, 4 * 16)
        self.bn1 = nn.BatchNorm1d(4 * 16, momentum=0.3)
        self.up = nn.ConvTranspose2d(4, 3, 4, 2, 1)
        self.bn2 = nn.BatchNorm2d(3)
        self.drop = nn.Dropout(0.5)
        self.conv = nn.Conv2d(3, 2, 3, padding=1)
        self.inorm = nn.InstanceNorm2d(2, affine=True, track_running_stats=True)
        self.out = nn.Conv2d(2, 1, 1)

    def forward(self, z, y=None):
        h = torch.relu(self.bn1(self.fc(z * self.embed(y))))
        h = torch.relu(self.bn2(self.up(h.view(-1, 4, 4, 4))))
        return torch.tanh(self.out(torch.relu(self.inorm(self.conv(self.drop(h))))))


def test_standing_stats_of_every_norm_kind_match_the_reference():
    torch.manual_seed(0)
    g = ConvGenerator()
    with torch.no_grad():
        for p in g.parameters():
            p.add_(0.3 * torch.randn_like(p))
        g.bn2.running_mean.fill_(5.0)  # stale statistics that must not leak into the result
    g.train()
    g.drop.eval()  # mixed modes come back as they were
    modes = {n: m.training for n, m in g.named_modules()}
    rng = torch.get_rng_state()
    assert ema_mod.standing_stats(g, batch_size=5, seed=11) == 3
    assert torch.equal(torch.get_rng_state(), rng), "the global RNG moved"
    assert {n: m.training for n, m in g.named_modules()} == modes
    assert g.bn1.momentum == 0.3 and g.bn2.momentum == 0.1
    assert_standing(g, batch_size=5, seed=11)
    assert int(g.bn1.num_batches_tracked) == int(g.bn2.num_batches_tracked) == ema_mod.STANDING_BATCHES
    # a function of the weights and the seed only
    again = copy.deepcopy(g)
    again.bn1.running_var.fill_(-1.0)
    ema_mod.standing_stats(again, batch_size=5, seed=11)
    assert all(torch.equal(a, b) for a, b in zip(g.buffers(), again.buffers()))


def test_standing_stats_leave_a_generator_without_running_statistics_alone():
    g = nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2))
    g.latent_dim = 2
    assert ema_mod.standing_stats(g, batch_size=4, seed=0) == 0
    assert ema_mod.running_stat_layers(ConvGenerator()) != []
    with pytest.raises(ValueError, match="batch_size >= 2"):
        ema_mod.standing_stats(ConvGenerator(), batch_size=1, seed=0)


def test_ready_follows_the_weights_even_when_no_python_update_ran():
    """Under train.cuda_graph the EMA step is replayed from a graph: ready() must notice the
    new weights by itself."""
    ema = ema_mod.GeneratorEMA(ConvGenerator(), 0.9, batch_size=5, train_seed=4)
    seed = ema_mod.standing_seed(4)
    assert_standing(ema.ready(), batch_size=5, seed=seed)
    with torch.no_grad():
        for p in ema.module.parameters():
            p.mul_(1.5).add_(0.1)  # what a replayed graph does to the weights, behind our back
    assert_standing(ema.ready(), batch_size=5, seed=seed)
    before = [b.clone() for b in ema.module.buffers()]
    with torch.no_grad():
        ema.module.bn2.running_mean.add_(1.0)
    ema.loaded(standing=True)  # stored standing statistics are taken as they are
    assert not torch.equal(ema.ready().bn2.running_mean, before[list(dict(ema.module.named_buffers())).index(
        "bn2.running_mean")])
    ema.loaded(standing=False)  # older checkpoints: recomputed on use
    assert_standing(ema.ready(), batch_size=5, seed=seed)
