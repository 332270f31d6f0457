"""``resnet20/32/44/56(residual=False)``: the plain networks of He et al. 2016, Figure 6 (same layers, no
shortcut additions). References: the paper's parameter counts, a torch twin of the plain block, and
closed-form outputs of a network whose block convolutions are zeroed."""
import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet import models
from helpers import assert_same

torch = pytest.importorskip("torch")

# He et al. 2015/2016, Table 6 (option A, 10 classes): 0.27M, 0.46M, 0.66M, 0.85M; exact counts
PARAMS = {20: 269_722, 32: 464_154, 44: 658_586, 56: 853_018}


@pytest.mark.parametrize("depth", [20, 32, 44, 56])
def test_plain_has_the_same_parameters_and_keys_as_the_residual_net(depth):
    plain = models.get(f"resnet{depth}", residual=False)
    res = models.get(f"resnet{depth}")
    assert sum(p._data.size for p in plain.parameters()) == PARAMS[depth]
    assert sum(p._data.size for p in res.parameters()) == PARAMS[depth]
    assert {k: v.shape for k, v in plain.state_dict().items()} == {k: v.shape for k, v in res.state_dict().items()}
    blocks = [b for layer in (plain.layer1, plain.layer2, plain.layer3) for b in layer]
    assert len(blocks) == 3 * (depth - 2) // 6
    assert all(not b.residual and "shortcut" not in dict(b.named_children()) for b in blocks)
    assert plain.config == {"name": f"resnet{depth}", "num_classes": 10, "in_channels": 3, "residual": False}


def zero_block_convs(model):
    for layer in (model.layer1, model.layer2, model.layer3):
        for block in layer:
            block.conv1.weight._data[...] = 0
            block.conv2.weight._data[...] = 0


def test_zeroed_branches_residual_passes_the_shortcut_plain_gives_zero(rng):
    x = cn.tensor(rng.standard_normal((2, 3, 32, 32)).astype(np.float32))
    out = {}
    for residual in (True, False):
        cn.manual_seed(0)
        m = models.get("resnet20", residual=residual).eval()  # BN running stats (0, 1): bn(0) = bias = 0
        zero_block_convs(m)
        with cn.no_grad():
            stem = m.relu(m.bn1(m.conv1(x)))._data                 # (2, 16, 32, 32), not zero
            out[residual] = (stem, m.layer3(m.layer2(m.layer1(cn.tensor(stem))))._data, m(x)._data,
                             m.fc.bias._data)
    stem, feats, logits, bias = out[False]
    assert np.abs(stem).max() > 0
    assert_same(feats, np.zeros((2, 64, 8, 8), np.float32))      # relu(0 + nothing) = 0 in every block
    assert_same(logits, np.broadcast_to(bias, (2, 10)))           # fc(avgpool(0)) = fc.bias
    # residual: each block is relu(0 + shortcut(x)): identity, then option A twice (subsample, zero-pad 8+8, 16+16)
    stem, feats, _, _ = out[True]
    expected = stem[:, :, ::2, ::2][:, :, ::2, ::2]                # (2, 16, 8, 8)
    expected = np.pad(expected, ((0, 0), (8, 8), (0, 0), (0, 0)))
    expected = np.pad(expected, ((0, 0), (16, 16), (0, 0), (0, 0)))  # (2, 64, 8, 8)
    np.testing.assert_allclose(feats, expected, rtol=0, atol=0)


@pytest.mark.parametrize("in_planes,planes,stride", [(16, 16, 1), (16, 32, 2)])
def test_plain_block_matches_a_torch_twin(in_planes, planes, stride, rng):
    block = models.resnet_cifar.CifarBasicBlock(in_planes, planes, stride, residual=False)
    tw = torch.nn.Sequential(
        torch.nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False), torch.nn.BatchNorm2d(planes), torch.nn.ReLU(),
        torch.nn.Conv2d(planes, planes, 3, 1, 1, bias=False), torch.nn.BatchNorm2d(planes), torch.nn.ReLU())
    with torch.no_grad():
        for ours, theirs in ((block.conv1, tw[0]), (block.bn1, tw[1]), (block.conv2, tw[3]), (block.bn2, tw[4])):
            for name, p in theirs.named_parameters():
                bn_weight = isinstance(theirs, torch.nn.BatchNorm2d) and name == "weight"
                value = rng.uniform(0.5, 1.5, p.shape) if bn_weight else rng.standard_normal(p.shape) * 0.2
                p.copy_(torch.from_numpy(value.astype(np.float32)))
                getattr(ours, name)._data[...] = p.numpy()
    x = rng.standard_normal((2, in_planes, 8, 8)).astype(np.float32)
    up = rng.standard_normal((2, planes, 8 // stride, 8 // stride)).astype(np.float32)
    xc, xt = cn.tensor(x, requires_grad=True), torch.from_numpy(x).requires_grad_(True)
    out, out_t = block(xc), tw(xt)                               # training mode: batch statistics
    (out * cn.tensor(up)).sum().backward()
    (out_t * torch.from_numpy(up)).sum().backward()
    np.testing.assert_allclose(out._data, out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(xc.grad._data, xt.grad.numpy(), rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(block.conv1.weight.grad._data, tw[0].weight.grad.numpy(), rtol=1e-3, atol=1e-4)


def test_gradients_reach_every_parameter_of_plain20(rng):
    m = models.get("resnet20", residual=False, in_channels=1)
    x = cn.tensor(rng.standard_normal((4, 1, 16, 16)).astype(np.float32))
    target = cn.tensor(np.array([0, 1, 2, 3]))
    F.cross_entropy(m(x), target).backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and np.isfinite(p.grad._data).all(), name
        assert np.abs(p.grad._data).max() > 0, name


def test_round_trip_and_bad_value(tmp_path):
    m = models.get("resnet20", residual=False, num_classes=4)
    back = cn.load(cn.save(m, tmp_path / "plain20.safetensors"))
    assert back.config["residual"] is False and not back.layer1[0].residual
    assert models.get(**m.config).config == m.config
    with pytest.raises(TypeError, match="'residual' must be True or False"):
        models.get("resnet32", residual="no")
