"""State-dict keys and shapes as torchvision names them (read off torchvision's model sources)."""
import pytest

from convnet import models


def shapes(name, **kw):
    return {k: tuple(v.shape) for k, v in models.get(name, num_classes=1000, **kw).state_dict().items()}


def test_resnet18_keys():
    sd = shapes("resnet18")
    # 20 convs (17 + 3 downsample) + 20 BN x 5 entries + fc weight/bias
    assert len(sd) == 20 + 20 * 5 + 2
    assert sd["conv1.weight"] == (64, 3, 7, 7)
    assert sd["bn1.running_mean"] == (64,)
    assert sd["bn1.num_batches_tracked"] == ()
    assert sd["layer1.0.conv1.weight"] == (64, 64, 3, 3)
    assert sd["layer2.0.downsample.0.weight"] == (128, 64, 1, 1)
    assert sd["layer2.0.downsample.1.running_var"] == (128,)
    assert sd["layer4.1.bn2.bias"] == (512,)
    assert sd["fc.weight"] == (1000, 512) and sd["fc.bias"] == (1000,)
    assert "layer1.0.downsample.0.weight" not in sd


def test_resnet50_keys():
    sd = shapes("resnet50")
    assert len(sd) == 53 + 53 * 5 + 2  # 53 convs, 53 BNs, fc
    assert sd["layer1.0.conv3.weight"] == (256, 64, 1, 1)
    assert sd["layer1.0.downsample.0.weight"] == (256, 64, 1, 1)
    assert sd["layer3.5.bn3.weight"] == (1024,)
    assert sd["layer4.0.conv2.weight"] == (512, 512, 3, 3)
    assert sd["fc.weight"] == (1000, 2048)


def test_alexnet_keys():
    sd = shapes("alexnet")
    assert list(sd) == ["features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias",
                        "features.6.weight", "features.6.bias", "features.8.weight", "features.8.bias",
                        "features.10.weight", "features.10.bias", "classifier.1.weight",
                        "classifier.1.bias", "classifier.4.weight", "classifier.4.bias",
                        "classifier.6.weight", "classifier.6.bias"]
    assert sd["features.3.weight"] == (192, 64, 5, 5)
    assert sd["classifier.1.weight"] == (4096, 9216)


@pytest.mark.parametrize("aux, n_keys", [(False, 57 * 6 + 2), (True, 57 * 6 + 2 + 2 * (6 + 4))])
def test_googlenet_keys(aux, n_keys):
    sd = shapes("googlenet", aux_logits=aux)
    assert len(sd) == n_keys  # 57 BasicConv2d (conv weight + 5 BN entries), fc, aux heads
    assert sd["conv1.conv.weight"] == (64, 3, 7, 7)
    assert sd["conv1.bn.running_var"] == (64,)
    assert sd["inception3a.branch1.conv.weight"] == (64, 192, 1, 1)
    assert sd["inception3a.branch2.1.conv.weight"] == (128, 96, 3, 3)
    assert sd["inception3a.branch3.1.conv.weight"] == (32, 16, 3, 3)  # torchvision's 3x3 "5x5"
    assert sd["inception3a.branch4.1.conv.weight"] == (32, 192, 1, 1)
    assert sd["inception5b.branch2.1.bn.weight"] == (384,)
    assert sd["fc.weight"] == (1000, 1024)
    if aux:
        assert sd["aux1.conv.conv.weight"] == (128, 512, 1, 1)
        assert sd["aux2.fc1.weight"] == (1024, 2048) and sd["aux2.fc2.bias"] == (1000,)


def test_se_resnet50_keys():
    sd = shapes("se_resnet50")
    assert sd["layer1.0.se.fc1.weight"] == (16, 256)
    assert sd["layer4.2.se.fc2.weight"] == (2048, 128)
    assert sd["layer2.0.downsample.0.weight"] == (512, 256, 1, 1)
