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
    assert calls == [((3, 1, 500), "leaky_relu", 0.05, 2)]


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


def test_block_rejects_even_kernels_and_unknown_activations():
    with pytest.raises(UsageError, match="odd"):
        ConvPoolBlock(1, 2, 4)
    with pytest.raises(UsageError, match="activation"):
        ConvPoolBlock(1, 2, 3, activation="gelu")


def test_dae_encoder_is_built_from_conv_pool_blocks():
    enc = dae1d.DAE1dEncoder()
    assert [type(b) for b in enc.blocks] == [ConvPoolBlock] * 4
    assert [b.conv.out_channels for b in enc.blocks] == [32, 64, 64, 16]
