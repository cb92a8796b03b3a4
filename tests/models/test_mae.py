"""mae1d and mae: patching, masking, the masked-patch loss, configs, and training through genreg.train
(loss terms logged, exact resume, every kernel backend)."""

import json
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import genreg
from genreg.errors import UsageError
from genreg.kernels import use_backend
from genreg.nets.mae import normalise_patches, num_masked, random_masking, sincos_1d, sincos_2d
from genreg.training import checkpoint as ckpt

from tiny_runs import tiny_run

SMALL = dict(embed_dim=16, depth=1, heads=2, decoder_dim=8, decoder_depth=1, decoder_heads=2)


def small(name, **kw):
    return genreg.create("model", name, **{**SMALL, **kw}).net


# ------------------------------------------------------------------------------ masking


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 6), length=st.integers(2, 80), ratio=st.floats(0.01, 0.99), seed=st.integers(0, 2**31))
def test_random_masking_hides_exactly_round_ratio_times_length_and_restore_inverts(n, length, ratio, seed):
    ids_keep, ids_restore, mask = random_masking(n, length, ratio, generator=torch.Generator().manual_seed(seed))
    hidden = num_masked(length, ratio)
    assert hidden == math.floor(ratio * length + 0.5)
    assert ids_keep.shape == (n, length - hidden) and ids_restore.shape == mask.shape == (n, length)
    assert torch.equal(mask.sum(1), torch.full((n,), float(hidden)))  # per sample, not on average
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    # ids_restore is a permutation whose inverse starts with ids_keep: visible patches first
    shuffle = ids_restore.argsort(1)
    assert torch.equal(shuffle.gather(1, ids_restore), torch.arange(length).expand(n, -1))
    assert torch.equal(shuffle[:, :length - hidden], ids_keep)
    assert torch.equal(mask.gather(1, ids_keep), torch.zeros_like(ids_keep, dtype=mask.dtype))


def test_masks_differ_between_samples_and_follow_the_generator():
    a = random_masking(64, 50, 0.75, generator=torch.Generator().manual_seed(1))[2]
    b = random_masking(64, 50, 0.75, generator=torch.Generator().manual_seed(1))[2]
    assert torch.equal(a, b)
    assert len({tuple(row.tolist()) for row in a}) == 64


def test_sine_cosine_tables():
    t = sincos_1d(8, torch.arange(5))
    assert t.shape == (5, 8) and torch.allclose(t[0], torch.tensor([0.0] * 4 + [1.0] * 4))
    assert torch.allclose(t[:, :4].pow(2) + t[:, 4:].pow(2), torch.ones(5, 4))
    grid = sincos_2d(16, 3, 4)
    assert grid.shape == (12, 16)
    assert torch.equal(grid[5, :8], sincos_1d(8, torch.tensor([1]))[0])  # patch 5 = row 1, column 1
    assert len({tuple(r.tolist()) for r in grid}) == 12  # every patch has its own position


# ------------------------------------------------------------------------------ patches and shapes


@settings(max_examples=15, deadline=None)
@given(patch=st.sampled_from([5, 10, 25]), channels=st.integers(1, 2), n=st.integers(1, 3))
def test_mae1d_patchify_round_trip_and_layout(patch, channels, n):
    net = small("mae1d", length=100, channels=channels, patch_size=patch)
    x = torch.randn(n, channels, 100)
    p = net.patchify(x)
    assert p.shape == (n, 100 // patch, channels * patch) and net.num_patches == 100 // patch
    assert torch.equal(p[:, 1].reshape(n, channels, patch), x[:, :, patch:2 * patch])
    assert torch.equal(net.unpatchify(p), x)


@settings(max_examples=10, deadline=None)
@given(size=st.sampled_from([16, 32]), patch=st.sampled_from([2, 4, 8]), n=st.integers(1, 2))
def test_mae_patchify_round_trip_and_layout(size, patch, n):
    net = small("mae", image_size=size, channels=3, patch_size=patch)
    x = torch.rand(n, 3, size, size)
    p = net.patchify(x)
    g = size // patch
    assert p.shape == (n, g * g, 3 * patch * patch)
    # patch g + 1 is row 1, column 1; its values are the pixels of that square (any order within)
    square = x[:, :, patch:2 * patch, patch:2 * patch]
    assert torch.equal(p[:, g + 1].sort(1).values, square.reshape(n, -1).sort(1).values)
    assert torch.equal(net.unpatchify(p), x)


@pytest.mark.parametrize("name, shape", [("mae1d", (4, 1, 500)), ("mae", (4, 3, 32, 32)), ("mae", (2, 3, 64, 64))])
def test_forward_shapes_and_a_fixed_mask(name, shape):
    kw = {"image_size": shape[-1]} if name == "mae" else {}
    model = genreg.create("model", name, **kw)
    net = model.net
    assert model.input_shape == model.output_shape == shape[1:]
    x = torch.rand(shape)
    state = torch.get_rng_state()
    y = net(x)
    assert torch.equal(torch.get_rng_state(), state)  # the figure's mask does not touch the global RNG
    assert y.shape == x.shape and y.dtype == x.dtype and torch.equal(net(x), y)
    assert net.features(x).shape == (shape[0], net.embed_dim)
    # the probe's encoder sees every patch, nothing masked (as in the paper's linear probing)
    assert torch.allclose(net.features(x), net.encode(x).mean(1))
    hidden = num_masked(net.num_patches, 0.75)
    assert net.encode(x, net.random_masking(shape[0])[0]).shape == (shape[0], net.num_patches - hidden, net.embed_dim)
    assert net.num_patches == (50 if name == "mae1d" else 64)


@pytest.mark.parametrize("name, shape, kw", [("mae1d", (3, 1, 100), {"length": 100}),
                                             ("mae", (3, 3, 16, 16), {"image_size": 16})])
def test_reconstruction_copies_visible_patches(name, shape, kw):
    for norm in (False, True):
        net = small(name, norm_pix_loss=norm, **kw)
        x = torch.rand(shape)
        recon, mask = net.reconstruct(x, torch.Generator().manual_seed(0))
        same = (net.patchify(recon) == net.patchify(x)).all(-1)
        assert torch.equal(same, mask == 0)  # visible: copied bit for bit; hidden: predicted


# ------------------------------------------------------------------------------ the loss


@pytest.mark.parametrize("name, shape, kw", [("mae1d", (4, 1, 100), {"length": 100}),
                                             ("mae", (4, 3, 16, 16), {"image_size": 16})])
@pytest.mark.parametrize("norm", [False, True])
def test_loss_is_the_mse_on_hidden_patches_only(name, shape, kw, norm):
    net = small(name, norm_pix_loss=norm, **kw)
    x = torch.rand(shape)
    seen = {}

    def keep_prediction(module, inputs, out):
        seen["pred"] = out

    net.decoder_pred.register_forward_hook(keep_prediction)
    torch.manual_seed(3)
    terms = net.loss_terms(x, torch.zeros_like(x))  # the data's target is not what an MAE predicts
    torch.manual_seed(3)
    mask = net.random_masking(shape[0])[2]  # the same draw as inside loss_terms
    assert list(terms) == ["masked_mse"] and terms["masked_mse"].dim() == 0
    pred = seen["pred"]
    pred.retain_grad()
    target = normalise_patches(net.patchify(x)) if norm else net.patchify(x)
    want = ((pred - target).pow(2).mean(-1) * mask).sum() / mask.sum()
    torch.testing.assert_close(terms["masked_mse"], want)
    terms["masked_mse"].backward()
    grad_per_patch = pred.grad.abs().sum(-1)
    assert torch.all(grad_per_patch[mask == 0] == 0)  # visible patches do not enter the loss
    assert torch.all(grad_per_patch[mask == 1] > 0)


def test_target_data_scores_hidden_patches_against_the_datas_target():
    x, clean = torch.rand(4, 1, 100), torch.rand(4, 1, 100)
    weights = small("mae1d", length=100).state_dict()

    def loss(net, t):
        torch.manual_seed(5)  # the same mask every time
        return float(net.loss_terms(x, t)["masked_mse"].detach())

    losses = {}
    for target in ("input", "data"):
        net = small("mae1d", length=100, target=target)
        net.load_state_dict(weights)
        losses[target] = [loss(net, x), loss(net, clean)]
    assert losses["input"][0] == losses["input"][1]  # "input" ignores the data's target
    assert losses["data"][0] == losses["input"][0] and losses["data"][1] != losses["data"][0]


def test_norm_pix_targets_have_zero_mean_unit_variance():
    net = small("mae", image_size=16, norm_pix_loss=True)
    t = net.target_patches(torch.rand(2, 3, 16, 16))
    torch.testing.assert_close(t.mean(-1), torch.zeros(t.shape[:2]), atol=1e-5, rtol=0)
    torch.testing.assert_close(t.var(-1, unbiased=False), torch.ones(t.shape[:2]), atol=1e-3, rtol=0)


# ------------------------------------------------------------------------------ configs


@pytest.mark.parametrize("name, kw, words", [
    ("mae1d", {"patch_size": 7}, "patch_size=7 does not divide the trace length 500"),
    ("mae1d", {"mask_ratio": 1.0}, "mask_ratio must be in (0, 1)"),
    ("mae1d", {"mask_ratio": 0.005}, "hides 0 of 50 patches"),
    ("mae1d", {"embed_dim": 30, "heads": 4}, "embed_dim must be a positive multiple of model.heads"),
    ("mae", {"image_size": 32, "patch_size": 5}, "patch_size=5 does not divide the image size 32"),
    ("mae", {"decoder_dim": 18, "decoder_heads": 3}, "multiple of model.decoder_heads and of 4"),
    ("mae", {"objective": "mse+kl"}, "must be mse"),
    ("mae", {"depth": 0}, "model.depth must be >= 1"),
])
def test_bad_configs_are_one_line_errors(name, kw, words):
    with pytest.raises(UsageError) as err:
        genreg.create("model", name, **kw)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_sizes_follow_the_data(tmp_path):
    run = tiny_run(tmp_path / "r", "mae", "data.size=32", "data.n=8", "train.batch_size=4", *[
        f"model.{k}={v}" for k, v in SMALL.items()], steps=1)
    cfg = json.loads((run.checkpoint / "state.json").read_text())["config"]["model"]
    assert cfg["image_size"] == 32 and cfg["channels"] == 3


def test_mae_registers_through_the_plugin_hooks():
    for name in ("mae1d", "mae"):
        entry = genreg.get_entry("model", name)
        assert entry.plugin == "genreg.models" and "mae" in entry.tags


# ------------------------------------------------------------------------------ training


MAE1D_TINY = ["data.n=32", "data.noise_only=0.5", "train.batch_size=8", *[f"model.{k}={v}" for k, v in SMALL.items()]]


def test_training_logs_the_models_own_loss_term(tmp_path):
    result = tiny_run(tmp_path / "r", "mae1d", *MAE1D_TINY, steps=3)
    records = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3]
    assert all("masked_mse" in r and "mse" not in r and r["masked_mse"] > 0 for r in records)


RESUME = [*MAE1D_TINY, "train.log_every=2", "train.checkpoint_every=3", "train.keep_checkpoints=0"]


def test_resume_is_bitwise_identical(tmp_path):
    tiny_run(tmp_path / "a", "mae1d", *RESUME, steps=6)
    tiny_run(tmp_path / "b", "mae1d", *RESUME, steps=4)
    resumed = genreg.train(overrides=["train.steps=6"], resume=tmp_path / "b" / "checkpoints" / "step-00000003",
                           quiet=True)
    assert resumed.step == 6 and resumed.steps_this_run == 3
    full, _ = ckpt.load(tmp_path / "a" / "checkpoints" / "step-00000006")
    part, _ = ckpt.load(resumed.checkpoint)
    assert sorted(full) == sorted(part) and any(k.startswith("model.net.blocks") for k in full)
    assert all(torch.equal(full[k], part[k]) for k in full)

    def losses(run):
        lines = (tmp_path / run / "metrics.jsonl").read_text().splitlines()
        return [(r["step"], r["masked_mse"]) for r in map(json.loads, lines)]

    assert losses("a") == losses("b")


def test_every_kernel_backend_trains_it_identically(tmp_path):
    # the MAE's networks call no genreg op; its Adam step is genreg's fused one under auto and
    # fused, torch's under reference: auto and fused agree bit for bit, reference to float
    # rounding after one step (an update is ~lr = 1e-3; more steps amplify rounding)
    weights = {}
    for backend in ("reference", "auto", "fused"):
        with use_backend(backend):
            run = tiny_run(tmp_path / backend, "mae", "data.size=32", "data.n=8", "train.batch_size=4",
                           *[f"model.{k}={v}" for k, v in SMALL.items()], steps=1)
        weights[backend], _ = ckpt.load(run.checkpoint)
    ref, auto = weights["reference"], weights["auto"]
    assert all(torch.equal(auto[k], weights["fused"][k]) for k in auto if k.startswith("model."))
    ulp = torch.finfo(torch.float32).eps
    for k in (k for k in ref if k.startswith("model.")):
        torch.testing.assert_close(auto[k], ref[k], rtol=0, atol=1e-8 + 8 * ulp * float(ref[k].abs().max()))
