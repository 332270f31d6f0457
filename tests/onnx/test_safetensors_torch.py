"""Weights a PyTorch user saved with ``safetensors.torch.save_file(model.state_dict(), f)`` load
into the matching zoo model by key, and give the same outputs; ``torch.save`` pickles are refused
with the conversion recipe."""
import os
import sys

import numpy as np
import pytest

import convnet as cn
from convnet.errors import FileFormatError

torch = pytest.importorskip("torch")
st_torch = pytest.importorskip("safetensors.torch")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
from torch_models import ResNetCifar  # noqa: E402  (torch's ResNet-20, same keys as ours)


def _trained_looking(net):
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return net.eval()


def test_torch_resnet20_safetensors_load_into_zoo_resnet20(tmp_path):
    torch.manual_seed(0)
    theirs = _trained_looking(ResNetCifar(n=3, num_classes=10))
    path = tmp_path / "resnet20.safetensors"
    st_torch.save_file(theirs.state_dict(), str(path))

    ours = cn.models.get("resnet20")
    ours.load_state_dict(cn.checkpoint.load_state(path))          # strict: every key matches
    ours.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    with cn.no_grad():
        got = ours(cn.tensor(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


def test_torch_pickle_is_refused_with_conversion_instructions(tmp_path):
    path = tmp_path / "resnet20.pt"
    torch.save(ResNetCifar(n=3).state_dict(), str(path))
    with pytest.raises(FileFormatError, match="safetensors") as info:
        cn.checkpoint.load_state(path)
    assert "save_file" in str(info.value)
