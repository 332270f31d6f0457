"""Output shapes, one forward pass and a few SGD steps per model family, on tiny inputs."""
import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet import models


def x_of(*shape):
    return cn.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32))


@pytest.mark.parametrize("name, shape", [("lenet5", (2, 1, 32, 32)), ("resnet20", (2, 3, 32, 32)),
                                         ("simple_cnn", (2, 3, 39, 39)), ("nin", (1, 3, 32, 32)),
                                         ("jarrett", (2, 3, 32, 32))])
def test_small_nets_default_input(name, shape):
    assert models.default_input_shape(name) == shape[1:]
    m = models.get(name)
    out = m(x_of(*shape))
    assert out.shape == (shape[0], 10)
    assert np.isfinite(out._data).all()


def test_lenet5_classic_and_mnist_padding():
    m = models.get("lenet5", classic=True, padding=2)
    assert m(x_of(2, 1, 28, 28)).shape == (2, 10)
    assert m.features.c1.padding == (2, 2)


def test_simple_cnn_per_layer_shapes():
    m = models.get("simple_cnn")
    x = x_of(1, 3, 39, 39)
    got = {}
    for name, layer in m.named_children():
        x = layer(x)
        got[name] = x.shape
    assert got["conv1"] == (1, 10, 37, 37)   # (39 - 3)/1 + 1
    assert got["conv2"] == (1, 20, 17, 17)   # (37 - 5)/2 + 1
    assert got["conv3"] == (1, 40, 7, 7)     # (17 - 5)/2 + 1
    assert got["flatten"] == (1, 1960)
    assert got["fc"] == (1, 10)


def test_lenet5_intermediate_shapes():
    m = models.get("lenet5")
    x = x_of(1, 1, 32, 32)
    shapes = {}
    for name, layer in m.features.named_children():
        x = layer(x)
        shapes[name] = x.shape[1:]
    assert shapes["c1"] == (6, 28, 28) and shapes["s2"] == (6, 14, 14)
    assert shapes["c3"] == (16, 10, 10) and shapes["s4"] == (16, 5, 5) and shapes["c5"] == (120, 1, 1)


def test_lenet5_matches_torch_with_same_weights():
    torch = pytest.importorskip("torch")
    m = models.get("lenet5")
    ref = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 120, 5), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(120, 84), torch.nn.ReLU(), torch.nn.Linear(84, 10))
    ours = [v._data for v in m.state_dict().values()]
    theirs = list(ref.parameters())
    assert len(ours) == len(theirs) == 10, (len(ours), len(theirs))  # 5 layers, weight and bias each
    with torch.no_grad():
        for i, (p, v) in enumerate(zip(theirs, ours)):
            assert tuple(p.shape) == v.shape, f"tensor {i}: torch {tuple(p.shape)} vs ours {v.shape}"
            p.copy_(torch.from_numpy(v))
    x = np.random.default_rng(1).standard_normal((3, 1, 32, 32)).astype(np.float32)
    expected = ref(torch.from_numpy(x)).detach().numpy()
    y = m(cn.tensor(x))._data
    assert y.shape == expected.shape == (3, 10) and y.dtype == expected.dtype
    np.testing.assert_allclose(y, expected, atol=1e-5, rtol=1e-4)


def test_resnet20_option_a_shortcut_matches_torch():
    """The parameter-free shortcut: subsample by 2, zero-pad channels (planes // 4 each side)."""
    torch = pytest.importorskip("torch")
    m = models.get("resnet20").eval()
    block = m.layer2[0]
    x = np.random.default_rng(2).standard_normal((2, 16, 8, 8)).astype(np.float32)
    sc = block.shortcut(cn.tensor(x))._data
    ref = torch.nn.functional.pad(torch.from_numpy(x)[:, :, ::2, ::2], (0, 0, 0, 0, 8, 8)).numpy()
    np.testing.assert_array_equal(sc, ref)
    assert sum(p._data.size for p in block.shortcut.parameters()) == 0


def sgd_losses(model, x, y, steps=2, lr=0.01):
    opt = cn.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


FAMILIES = [  # (name, options, input shape, lr)
    ("lenet5", {}, (4, 1, 32, 32), 0.05),
    ("simple_cnn", {}, (4, 3, 39, 39), 0.02),
    ("jarrett", {}, (4, 3, 32, 32), 0.05),
    ("resnet20", {}, (4, 3, 16, 16), 0.05),
    ("nin", {"dropout": 0.0}, (2, 3, 16, 16), 0.003),
    # the ImageNet nets with a narrow classifier (hidden=64): the full 4096-wide heads cost
    # seconds per SGD step; their full-size construction is covered by test_param_counts
    ("alexnet", {"dropout": 0.0, "hidden": 64}, (2, 3, 63, 63), 0.01),
    ("alexnet_original", {"dropout": 0.0, "hidden": 64}, (2, 3, 67, 67), 0.001),
    ("zfnet", {"dropout": 0.0, "hidden": 64}, (2, 3, 63, 63), 0.01),
    ("vgg11_bn", {"dropout": 0.0, "hidden": 64}, (2, 3, 32, 32), 0.01),
    ("googlenet", {"dropout": 0.0}, (2, 3, 32, 32), 0.003),
    ("resnet18", {}, (2, 3, 32, 32), 0.01),
]


@pytest.mark.parametrize("name, options, shape, lr", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_family_trains(name, options, shape, lr):
    cn.manual_seed(0)
    m = models.get(name, num_classes=10, **options)
    x = x_of(*shape)
    y = cn.tensor(np.arange(shape[0]) % 10)
    losses = sgd_losses(m, x, y, lr=lr)
    assert all(np.isfinite(losses)), losses
    assert losses[-1] < losses[0], losses
    assert m.eval()(x).shape == (shape[0], 10)


def test_googlenet_aux_outputs():
    m = models.get("googlenet", num_classes=10, aux_logits=True)
    out = m(x_of(2, 3, 64, 64))
    assert isinstance(out, models.GoogLeNetOutputs)
    assert out.logits.shape == out.aux_logits1.shape == out.aux_logits2.shape == (2, 10)
    assert m.eval()(x_of(1, 3, 64, 64)).shape == (1, 10)


def test_se_resnet_trains_and_se_resnet50_runs():
    """SE blocks in a one-block-per-stage ResNet train; the full SE-ResNet-50 runs forward."""
    cn.manual_seed(0)
    m = models.ResNet(models.SEBottleneck, [1, 1, 1, 1], num_classes=10)
    x, y = x_of(2, 3, 32, 32), cn.tensor(np.array([0, 1]))
    losses = sgd_losses(m, x, y, lr=0.01)
    assert losses[-1] < losses[0], losses
    assert models.get("se_resnet50", num_classes=10).eval()(x_of(1, 3, 32, 32)).shape == (1, 10)


def test_se_layer_gates_channels():
    se = models.SELayer(32, reduction=16)
    x = x_of(2, 32, 4, 4)
    out = se(x)._data
    z = x._data.mean(axis=(2, 3))
    h = np.maximum(z @ se.fc1.weight._data.T + se.fc1.bias._data, 0)
    s = 1 / (1 + np.exp(-(h @ se.fc2.weight._data.T + se.fc2.bias._data)))
    np.testing.assert_allclose(out, x._data * s[:, :, None, None], rtol=1e-5, atol=1e-6)


def test_resnet18_small_input():
    assert models.get("resnet18", num_classes=10).eval()(x_of(1, 3, 64, 64)).shape == (1, 10)


def test_jarrett_stage_order():
    m = models.get("jarrett", pool="max")
    assert [type(l).__name__ for l in m.stage1] == ["Conv2d", "Tanh", "Gain", "Abs", "LocalContrastNorm",
                                                         "MaxPool2d"]
    with pytest.raises(ValueError, match="pool"):
        models.get("jarrett", pool="median")
