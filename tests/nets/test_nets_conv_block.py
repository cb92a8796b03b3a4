"""ConvPoolBlock: uses genreg.kernels.conv1d_block when the kernels provide it, the reference otherwise."""

import pytest
import torch
import torch.nn.functional as F

from genreg import kernels
from genreg.errors import KernelError, UsageError
from genreg.nets import dae1d
from genreg.nets.dae1d import ConvPoolBlock, conv1d_block_reference


def _by_hand(x, block):
    y = F.conv1d(x, block.conv.weight, block.conv.bias, padding=block.conv.kernel_size[0] // 2)
    y = F.leaky_relu(y, block.negative_slope) if block.activation == "leaky_relu" else F.relu(y)
    return F.max_pool1d(y, 2)


@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
def test_reference_is_conv_activation_pool(act, monkeypatch):
    monkeypatch.delattr(kernels, "conv1d_block", raising=False)  # force the fallback
    torch.manual_seed(0)
    block = ConvPoolBlock(3, 5, 9, activation=act, negative_slope=0.1)
    x = torch.randn(2, 3, 125)
    y = block(x)
    assert y.shape == (2, 5, 62)
    torch.testing.assert_close(y, _by_hand(x, block))


def test_block_calls_the_kernels_op_when_it_exists(monkeypatch):
    calls = []

    def spy(x, weight, bias, activation, negative_slope, pool):
        calls.append((tuple(x.shape), activation, negative_slope, pool))
        return conv1d_block_reference(x, weight, bias, activation, negative_slope, pool)

    monkeypatch.setattr(kernels, "conv1d_block", spy, raising=False)
    block = ConvPoolBlock(1, 4, 9, activation="leaky_relu", negative_slope=0.05)
    block(torch.randn(3, 1, 500))
    assert calls == [((3, 1, 500), "leaky_relu", 0.05, True)]  # pool=2 reaches the op as a bool


def test_a_kernel_breaking_the_shape_contract_is_an_error(monkeypatch):
    monkeypatch.setattr(kernels, "conv1d_block", lambda x, w, b, **kw: x, raising=False)
    with pytest.raises(KernelError, match="expected"):
        ConvPoolBlock(1, 4, 9)(torch.randn(2, 1, 500))


def test_block_gradients_match_the_reference(monkeypatch):
    monkeypatch.delattr(kernels, "conv1d_block", raising=False)
    torch.manual_seed(1)
    block = ConvPoolBlock(2, 2, 3).double()
    x = torch.randn(1, 2, 12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: block(t), (x,))


def test_block_rejects_even_kernels_unknown_activations_and_other_pools():
    with pytest.raises(UsageError, match="odd"):
        ConvPoolBlock(1, 2, 4)
    with pytest.raises(UsageError, match="activation"):
        ConvPoolBlock(1, 2, 3, activation="gelu")
    for bad in (0, 3, True, 2.0):
        with pytest.raises(UsageError, match=r"pool must be 2 \(max-pool 2\) or 1 \(no pooling\)"):
            ConvPoolBlock(1, 2, 3, pool=bad)


@pytest.mark.parametrize("backend", ["auto", "fused", "reference"])
def test_pool_1_means_no_pooling_on_every_path(backend):
    if backend == "fused" and not kernels.has_kernel("conv1d_block_forward", "cpu"):
        pytest.skip("no fused CPU conv1d_block in this installation")
    torch.manual_seed(2)
    block = ConvPoolBlock(2, 3, 5, pool=1)
    x = torch.randn(2, 2, 11)
    with kernels.use_backend(backend):
        y = block(x)
    assert y.shape == (2, 3, 11)
    torch.testing.assert_close(y, F.relu(F.conv1d(x, block.conv.weight, block.conv.bias, padding=2)))


def test_dae_encoder_is_built_from_conv_pool_blocks():
    enc = dae1d.DAE1dEncoder()
    assert [type(b) for b in enc.blocks] == [ConvPoolBlock] * 4
    assert [b.conv.out_channels for b in enc.blocks] == [32, 64, 64, 16]


def test_up_conv_block_calls_the_kernels_op_for_nearest_and_fusable_activations(monkeypatch):
    calls = []

    def spy(x, weight, bias, size, activation, negative_slope):
        calls.append((tuple(x.shape), size, activation, negative_slope))
        return dae1d.upconv1d_block_reference(x, weight, bias, size, activation, negative_slope)

    monkeypatch.setattr(kernels, "upconv1d_block", spy, raising=False)
    x = torch.randn(2, 4, 31)
    torch.manual_seed(3)
    block = dae1d.UpConvBlock(4, 6, 5, 62, activation_name="leaky_relu", negative_slope=0.1)
    y = block(x)
    assert calls == [((2, 4, 31), 62, "leaky_relu", 0.1)]
    by_hand = F.leaky_relu(block.conv(F.interpolate(x, size=62, mode="nearest")), 0.1)
    torch.testing.assert_close(y, by_hand)
    # linear upsampling and activations the kernel lacks stay eager
    for kwargs in (dict(mode="linear"), dict(activation_name="tanh")):
        dae1d.UpConvBlock(4, 6, 5, 62, **kwargs)(x)
    assert len(calls) == 1


@pytest.mark.parametrize("options", [dict(upsample="nearest"), dict(upsample="linear"), dict(skips=True)],
                         ids=["nearest", "linear", "skips"])
def test_dae_gives_the_same_outputs_and_gradients_on_the_fused_and_reference_paths(options):
    if not kernels.has_kernel("upconv1d_block_forward", "cpu"):
        pytest.skip("no fused CPU conv1d kernels in this installation")
    torch.manual_seed(4)
    model = dae1d.DAE1d(length=125, channels=(8, 12, 4), kernel_sizes=(9, 5, 3), **options).double()
    x = torch.rand(3, 1, 125, dtype=torch.float64)
    results = {}
    for backend in ("fused", "reference"):
        with kernels.use_backend(backend):
            y = model(x)
            grads = torch.autograd.grad(y.square().sum(), list(model.parameters()))
        results[backend] = (y, *grads)
    for a, e in zip(results["fused"], results["reference"]):
        torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-12)


def test_dae_skip_connections_run_through_the_kernels_ops(monkeypatch):
    calls = []

    def spy(x, weight, bias, size, activation, negative_slope):
        calls.append((tuple(x.shape), size))
        return dae1d.upconv1d_block_reference(x, weight, bias, size, activation, negative_slope)

    monkeypatch.setattr(kernels, "upconv1d_block", spy, raising=False)
    dae1d.DAE1d(skips=True)(torch.rand(2, 1, 500))
    # each block after the first reads its input plus the encoder's features at that length
    assert calls == [((2, 16, 31), 62), ((2, 128, 62), 125), ((2, 128, 125), 250), ((2, 64, 250), 500)]
