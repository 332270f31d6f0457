"""``cn.onnx.load`` on networks exported from PyTorch with ``torch.onnx.export`` (the TorchScript
exporter, ``dynamo=False``): our outputs equal torch's on the same input within 1e-4."""
import numpy as np
import pytest

import convnet as cn
from convnet.errors import FileFormatError

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
tnn = torch.nn
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's legacy exporter


class TorchBlockNet(tnn.Module):
    """A small ResNet-style net: conv-BN-ReLU stem, one basic block with a 1x1 downsampling shortcut."""

    def __init__(self):
        super().__init__()
        self.stem = tnn.Sequential(tnn.Conv2d(3, 8, 3, padding=1, bias=False), tnn.BatchNorm2d(8), tnn.ReLU())
        self.conv1 = tnn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False)
        self.bn1 = tnn.BatchNorm2d(16)
        self.conv2 = tnn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn2 = tnn.BatchNorm2d(16)
        self.down = tnn.Sequential(tnn.Conv2d(8, 16, 1, stride=2, bias=False), tnn.BatchNorm2d(16))
        self.pool = tnn.AdaptiveAvgPool2d(1)
        self.fc = tnn.Linear(16, 5)

    def forward(self, x):
        x = self.stem(x)
        out = torch.relu(self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))) + self.down(x))
        return self.fc(torch.flatten(self.pool(out), 1))


class TorchPoolNet(tnn.Module):
    """Max and average pooling branches, concatenation, flatten, Gemm, softmax."""

    def __init__(self):
        super().__init__()
        self.conv = tnn.Conv2d(3, 6, 3, groups=3, dilation=1)
        self.maxp = tnn.MaxPool2d(3, stride=2, padding=1)
        self.avgp = tnn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.fc = tnn.Linear(12 * 6 * 6, 7)

    def forward(self, x):
        y = torch.tanh(self.conv(x))
        y = torch.cat([self.maxp(y), self.avgp(y)], dim=1)
        return torch.softmax(self.fc(torch.flatten(y, 1)), dim=1)


def torch_lenet5():
    return tnn.Sequential(tnn.Conv2d(1, 6, 5), tnn.ReLU(), tnn.MaxPool2d(2, 2), tnn.Conv2d(6, 16, 5), tnn.ReLU(),
                          tnn.MaxPool2d(2, 2), tnn.Conv2d(16, 120, 5), tnn.ReLU(), tnn.Flatten(), tnn.Linear(120, 84),
                          tnn.ReLU(), tnn.Linear(84, 10))


def _randomise_bn(net):
    g = torch.Generator().manual_seed(0)
    for m in net.modules():
        if isinstance(m, tnn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


@pytest.mark.parametrize("make,shape", [(torch_lenet5, (1, 32, 32)), (TorchBlockNet, (3, 12, 12)),
                                        (TorchPoolNet, (3, 13, 13))], ids=["lenet5", "resnet_block", "pool_concat"])
def test_torch_exported_network_runs_here(make, shape, tmp_path):
    torch.manual_seed(0)
    net = make()
    with torch.no_grad():
        _randomise_bn(net)
    net.eval()
    path = tmp_path / "net.onnx"
    torch.onnx.export(net, (torch.randn(1, *shape),), str(path), input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, dynamo=False)
    ours = cn.onnx.load(path)
    assert isinstance(ours, cn.nn.Module) and not ours.training
    for b in (1, 3):
        x = np.random.default_rng(b).standard_normal((b,) + shape).astype(np.float32)
        with torch.no_grad():
            expected = net(torch.from_numpy(x)).numpy()
        with cn.no_grad():
            got = ours(cn.tensor(x)).numpy()
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
    if make is torch_lenet5:  # no batch norm for torch's exporter to fold into the convs
        assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in net.parameters()) == 61706


def test_unsupported_op_names_the_op_and_the_node(tmp_path):
    class Floor(tnn.Module):
        def forward(self, x):
            return torch.floor(x)

    torch.onnx.export(Floor(), (torch.randn(1, 3),), str(tmp_path / "f.onnx"), dynamo=False)
    with pytest.raises(ValueError, match=r"unsupported op 'Floor' \(node '.*'\)"):
        cn.onnx.load(tmp_path / "f.onnx")


def test_not_an_onnx_file(tmp_path):
    (tmp_path / "bad.onnx").write_bytes(b"\x00\x01 definitely not protobuf \xff" * 3)
    with pytest.raises(FileFormatError, match="bad.onnx"):
        cn.onnx.load(tmp_path / "bad.onnx")


@pytest.mark.parametrize("name,shape", [("resnet20", (3, 32, 32)), ("googlenet", (3, 64, 64)),
                                        ("se_resnet50", (3, 32, 32)), ("alexnet_original", (3, 67, 67))])
def test_round_trip_of_our_own_export(name, shape, tmp_path):
    kw = {"hidden": 8} if name.startswith("alexnet") else {}
    model = cn.models.get(name, num_classes=4, **kw).eval()
    cn.onnx.export(model, cn.randn(1, *shape), tmp_path / "m.onnx", dynamic_axes={"input": [0], "output": [0]})
    back = cn.onnx.load(tmp_path / "m.onnx")
    x = cn.randn(2, *shape)
    with cn.no_grad():
        np.testing.assert_allclose(back(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)
