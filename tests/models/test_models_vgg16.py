"""VGG-16 built once (138M parameters): its count, torchvision keys and summary MACs."""
import pytest

from convnet import models
from convnet.summary import summary


@pytest.fixture(scope="module")
def vgg16():
    return models.get("vgg16")  # the paper's 1000 classes by default (torchvision's get_model)


def test_vgg16_params(vgg16):
    assert sum(p._data.size for p in vgg16.parameters()) == 138_357_544


def test_vgg16_keys(vgg16):
    sd = {k: tuple(v.shape) for k, v in vgg16.state_dict().items()}
    assert len(sd) == 13 * 2 + 3 * 2
    assert sd["features.0.weight"] == (64, 3, 3, 3)
    assert sd["features.28.weight"] == (512, 512, 3, 3) and sd["features.28.bias"] == (512,)
    assert sd["classifier.0.weight"] == (4096, 25088)
    assert sd["classifier.3.weight"] == (4096, 4096)
    assert sd["classifier.6.bias"] == (1000,)


def test_vgg16_summary_scaled_input(vgg16):
    # All VGG convs are 'same' and the pools halve exactly, so conv MACs scale with (H/224)^2:
    # 15,346,630,656 at 224 (torchvision's 15.47 GFLOPs minus the classifier) -> /49 at 32.
    # The classifier is fixed: 25088*4096 + 4096^2 + 4096*1000.
    s = summary(vgg16, (3, 32, 32))
    classifier = 25088 * 4096 + 4096 * 4096 + 4096 * 1000
    assert s.total_macs == 15_346_630_656 // 49 + classifier
    assert s.total_params == 138_357_544
    rows = {r.name: r for r in s.rows}
    assert rows["features.0"].macs == 64 * 32 * 32 * 3 * 9
    assert rows["features.30"].receptive_field == 212  # pool5 of VGG-16
    assert rows["features.30"].output_shape == (1, 512, 1, 1)
