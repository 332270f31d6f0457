"""The ``jarrett`` model's ablation switches (``rectify``, ``lcn``) and the notes' trainable gain ``g``.

The reference is a torch twin written here with ``torch.nn`` layers and a hand-written local contrast
normalization in torch (Gaussian window, zero padding re-normalised by the window mass inside the image,
subtract the channel-averaged local mean, divide by ``max(c, sigma)``: Jarrett et al. 2009 as documented in
``F.local_contrast_norm``), so neither the stage nor our LCN is used to compute an expected value.
"""
import itertools
import math

import numpy as np
import pytest

import convnet as cn
from convnet import models
from helpers import assert_same

torch = pytest.importorskip("torch")

OLD_KEYS = ["stage1.conv.weight", "stage1.conv.bias", "stage2.conv.weight", "stage2.conv.bias",
            "classifier.1.weight", "classifier.1.bias"]  # the model's keys before the gain was added


def torch_lcn(x, kernel_size, eps=1e-4):
    """Local contrast normalization in plain torch (sigma = kernel_size / 4, as torch7's default)."""
    sigma = kernel_size / 4
    r = torch.arange(kernel_size, dtype=x.dtype) - (kernel_size - 1) / 2
    g = torch.exp(-r * r / (2 * sigma * sigma))
    g = g / g.sum()
    window = torch.outer(g, g)[None, None]                      # (1, 1, k, k)
    before, after = (kernel_size - 1) // 2, kernel_size - 1 - (kernel_size - 1) // 2

    def blur(t):                                                # (N, 1, H, W), zero padded, 'same'
        return torch.nn.functional.conv2d(torch.nn.functional.pad(t, (before, after, before, after)), window)

    coverage = blur(torch.ones_like(x[:1, :1]))
    v = x - blur(x.mean(1, keepdim=True)) / coverage
    local_sigma = torch.sqrt(blur((v * v).mean(1, keepdim=True)) / coverage + eps ** 2)
    c = local_sigma.mean((2, 3), keepdim=True)
    return v / torch.maximum(local_sigma, c)


class TorchStage(torch.nn.Module):
    def __init__(self, cin, cout, k, lcn_size, rectify, lcn, gain):
        super().__init__()
        self.conv = torch.nn.Conv2d(cin, cout, k)
        self.gain = torch.nn.Parameter(torch.ones(cout)) if gain else None
        self.rectify, self.lcn, self.lcn_size = rectify, lcn, lcn_size
        self.pool = torch.nn.AvgPool2d(2, 2)

    def forward(self, x):
        x = torch.tanh(self.conv(x))
        if self.gain is not None:
            x = x * self.gain[None, :, None, None]
        if self.rectify:
            x = x.abs()
        if self.lcn:
            x = torch_lcn(x, self.lcn_size)
        return self.pool(x)


class TorchJarrett(torch.nn.Module):
    def __init__(self, cin=3, channels=(16, 32), num_classes=10, rectify=True, lcn=True, gain=True):
        super().__init__()
        self.stage1 = TorchStage(cin, channels[0], 5, 5, rectify, lcn, gain)
        self.stage2 = TorchStage(channels[0], channels[1], 5, 5, rectify, lcn, gain)
        self.fc = torch.nn.Linear(channels[1] * 25, num_classes)

    def forward(self, x):
        return self.fc(self.stage2(self.stage1(x)).flatten(1))


def copy_into_twin(ours, twin, rng):
    """Give both the same weights; gains drawn away from 1 so a skipped gain shows."""
    with torch.no_grad():
        for k in ("stage1", "stage2"):
            s, t = getattr(ours, k), getattr(twin, k)
            t.conv.weight.copy_(torch.from_numpy(s.conv.weight._data))
            t.conv.bias.copy_(torch.from_numpy(s.conv.bias._data))
            if t.gain is not None:
                g = rng.uniform(0.5, 2.0, s.gain.weight.shape).astype(np.float32)
                s.gain.weight._data[...] = g
                t.gain.copy_(torch.from_numpy(g))
        twin.fc.weight.copy_(torch.from_numpy(ours.classifier[1].weight._data))
        twin.fc.bias.copy_(torch.from_numpy(ours.classifier[1].bias._data))


@pytest.mark.parametrize("rectify,lcn,gain", list(itertools.product([True, False], repeat=3)))
def test_each_option_changes_the_stage_layers(rectify, lcn, gain):
    m = models.get("jarrett", rectify=rectify, lcn=lcn, gain=gain)
    expected = ["conv", "tanh"] + ["gain"] * gain + ["abs"] * rectify + ["lcn"] * lcn + ["pool"]
    kinds = {"conv": "Conv2d", "tanh": "Tanh", "gain": "Gain", "abs": "Abs", "lcn": "LocalContrastNorm",
             "pool": "AvgPool2d"}
    for stage in (m.stage1, m.stage2):
        assert [name for name, _ in stage.named_children()] == expected
        assert [type(layer).__name__ for layer in stage] == [kinds[n] for n in expected]
    assert m(cn.randn(2, 3, 32, 32)).shape == (2, 10)
    assert m.config["rectify"] is rectify and m.config["lcn"] is lcn and m.config["gain"] is gain


def test_forward_shapes_for_mnist_sized_input():
    m = models.get("jarrett", in_channels=1, num_classes=10, rectify=False, lcn=False)
    assert m(cn.randn(3, 1, 32, 32)).shape == (3, 10)
    m = models.get("jarrett", in_channels=1, input_size=28)   # 28 -> 24 -> 12 -> 8 -> 4
    assert m.classifier[1].in_features == 32 * 4 * 4
    assert m(cn.randn(2, 1, 28, 28)).shape == (2, 10)


def test_state_dict_keys_are_the_old_ones_plus_the_gains():
    default = list(models.get("jarrett").state_dict())
    assert sorted(default) == sorted(OLD_KEYS + ["stage1.gain.weight", "stage2.gain.weight"])
    assert list(models.get("jarrett", gain=False).state_dict()) == OLD_KEYS
    # rectify / lcn have no parameters: switching them off leaves the keys alone
    assert list(models.get("jarrett", rectify=False, lcn=False).state_dict()) == default
    m = models.get("jarrett")
    assert m.stage1.gain.weight.shape == (16,) and m.stage2.gain.weight.shape == (32,)
    assert np.all(m.stage1.gain.weight._data == 1) and np.all(m.stage2.gain.weight._data == 1)
    assert sum(p._data.size for p in m.parameters()) == 16 * 76 + 32 * 401 + 8_010 + 16 + 32


@pytest.mark.parametrize("rectify,lcn,gain", [(True, True, True), (False, False, True), (True, False, True),
                                              (False, True, True), (True, True, False)])
def test_matches_a_torch_twin_forward_and_every_gradient(rectify, lcn, gain, rng):
    ours = models.get("jarrett", rectify=rectify, lcn=lcn, gain=gain)
    twin = TorchJarrett(rectify=rectify, lcn=lcn, gain=gain)
    copy_into_twin(ours, twin, rng)
    x = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
    up = rng.standard_normal((2, 10)).astype(np.float32)

    xc = cn.tensor(x, requires_grad=True)
    out = ours(xc)
    (out * cn.tensor(up)).sum().backward()
    xt = torch.from_numpy(x).requires_grad_(True)
    out_t = twin(xt)
    (out_t * torch.from_numpy(up)).sum().backward()

    np.testing.assert_allclose(out._data, out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(xc.grad._data, xt.grad.numpy(), rtol=1e-3, atol=1e-5)
    pairs = {"stage1.conv.weight": twin.stage1.conv.weight, "stage2.conv.bias": twin.stage2.conv.bias,
             "classifier.1.weight": twin.fc.weight}
    if gain:
        pairs.update({"stage1.gain.weight": twin.stage1.gain, "stage2.gain.weight": twin.stage2.gain})
    params = dict(ours.named_parameters())
    for name, t in pairs.items():
        np.testing.assert_allclose(params[name].grad._data, t.grad.numpy(), rtol=1e-3, atol=1e-5, err_msg=name)


def test_the_gain_receives_a_gradient_and_scales_the_stage():
    m = models.get("jarrett", rectify=False, lcn=False)
    x = cn.randn(2, 3, 32, 32)
    m(x).sum().backward()
    for stage in (m.stage1, m.stage2):
        g = stage.gain.weight.grad
        assert g is not None and g.shape == stage.gain.weight.shape and np.abs(g._data).max() > 0
    # doubling stage 1's gain doubles its output (no |x| / LCN in between, pooling is linear)
    with cn.no_grad():
        before = m.stage1(x)._data
        m.stage1.gain.weight._data[...] = 2.0
        np.testing.assert_allclose(m.stage1(x)._data, 2 * before, rtol=1e-6)


@pytest.mark.parametrize("options", [{}, {"rectify": False, "lcn": False}, {"gain": False, "lcn": False}])
def test_save_load_round_trip(options, tmp_path, rng):
    m = models.get("jarrett", in_channels=1, **options)
    for p in m.parameters():
        p._data[...] = rng.standard_normal(p.shape).astype(np.float32)
    path = cn.save(m, tmp_path / "jarrett.safetensors")
    back = cn.load(path)
    assert back.config == {**m.config, "channels": [16, 32]}  # JSON keeps the tuple as a list
    assert_same({k: v.numpy() for k, v in back.state_dict().items()},
                {k: v.numpy() for k, v in m.state_dict().items()})
    x = cn.tensor(rng.standard_normal((2, 1, 32, 32)).astype(np.float32))
    with cn.no_grad():
        assert_same(back.eval()(x).numpy(), m.eval()(x).numpy())


def test_bad_option_values_are_named():
    with pytest.raises(TypeError, match="'rectify' must be True or False"):
        models.get("jarrett", rectify="yes")
    with pytest.raises(TypeError, match="'lcn' must be True or False"):
        models.get("jarrett", lcn=1)
    assert math.isfinite(float(models.get("jarrett", gain=False)(cn.randn(1, 3, 32, 32)).sum()))
