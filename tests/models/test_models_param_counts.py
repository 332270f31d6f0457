"""Exact parameter counts: the papers' / torchvision's published numbers (independent reference)."""
import pytest

from convnet import models


def n_params(m):
    return sum(p._data.size for p in m.parameters())


SMALL = [  # (name, num_classes, in_channels, params)
    ("lenet5", 10, 1, 61_706),             # 156 + 2,416 + 48,120 + 10,164 + 850
    ("resnet20", 10, 3, 269_722),
    ("resnet32", 10, 3, 464_154),
    ("resnet44", 10, 3, 658_586),
    ("resnet56", 10, 3, 853_018),
    ("resnet110", 10, 3, 1_727_962),
    # simple_cnn: 10*(27+1) + 20*(250+1) + 40*(500+1) + 1960*10+10
    ("simple_cnn", 10, 3, 280 + 5_020 + 20_040 + 19_610),
    # nin: conv 5x5 192 | 1x1 160 | 1x1 96 | 5x5 192 | 1x1 192 | 1x1 192 | 3x3 192 | 1x1 192 | 1x1 10
    ("nin", 10, 3, 14_592 + 30_880 + 15_456 + 460_992 + 37_056 + 37_056 + 331_968 + 37_056 + 1_930),
    # jarrett: conv 3->16 5x5, conv 16->32 5x5, linear 800->10, gains g: 16 + 32 (LCN, abs, pool: no parameters)
    ("jarrett", 10, 3, 16 * 76 + 32 * 401 + 8_010 + 16 + 32),
]


@pytest.mark.parametrize("name, classes, cin, expected", SMALL)
def test_small_model_params(name, classes, cin, expected):
    assert n_params(models.get(name, num_classes=classes, in_channels=cin)) == expected


IMAGENET = [
    ("alexnet", 61_100_840), ("alexnet_original", 60_965_224),
    ("googlenet", 6_624_904),
    ("resnet18", 11_689_512), ("resnet34", 21_797_672), ("resnet50", 25_557_032),
    ("resnet101", 44_549_160), ("resnet152", 60_192_808), ("se_resnet50", 28_088_024),
]
# Each VGG is ~130M float32 parameters (~2 s to initialise): only vgg16 runs by default (in
# test_vgg16.py, which builds it once for its count, keys and summary).
HUGE_SLOW = [("vgg11", 132_863_336), ("vgg11_bn", 132_868_840), ("vgg13", 133_047_848),
             ("vgg13_bn", 133_053_736), ("vgg16_bn", 138_365_992), ("vgg19", 143_667_240),
             ("vgg19_bn", 143_678_248)]


def test_vgg_conv_stacks_and_narrow_head():
    """Every VGG config at a narrow head (fast): conv params + 25088*64+64 + 64*64+64 + 64*10+10."""
    head = 25088 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10
    convs = {"vgg11": 9_220_480, "vgg13": 9_404_992, "vgg16": 14_714_688, "vgg19": 20_024_384}
    for name, conv in convs.items():
        assert n_params(models.get(name, num_classes=10, hidden=64)) == conv + head
        bn = models.get(name + "_bn", num_classes=10, hidden=64)
        n_bn = sum(l.weight._data.size for l in bn.features if type(l).__name__ == "BatchNorm2d")
        assert n_params(bn) == conv + head + 2 * n_bn


@pytest.mark.parametrize("name, expected", IMAGENET)
def test_imagenet_model_params(name, expected):
    m = models.get(name)  # default: the paper's 1000 classes, as torchvision's get_model(name)
    assert n_params(m) == expected
    assert m.config["num_classes"] == 1000
    assert all(p._data.dtype == "float32" for p in m.parameters())


# The paper's class count when get() is given none (torchvision's get_model): ImageNet 1000,
# MNIST / CIFAR-10 10. The big ones are checked through their parameter counts above.
PAPER_CLASSES = [("lenet5", 10), ("resnet20", 10), ("resnet32", 10), ("resnet44", 10), ("resnet56", 10),
                 ("resnet110", 10), ("nin", 10), ("simple_cnn", 10), ("jarrett", 10)]


@pytest.mark.parametrize("name, classes", PAPER_CLASSES)
def test_get_defaults_to_paper_class_count(name, classes):
    m = models.get(name)
    assert m.config["num_classes"] == classes
    expected = dict((n, p) for n, _, _, p in SMALL)[name]
    assert n_params(m) == expected


def test_imagenet_builders_default_to_1000_classes_cheaply():
    """zfnet / alexnet_original / every vgg (narrow head: fast): the last layer has 1000 outputs."""
    for name in ["zfnet", "alexnet_original", "vgg11", "vgg13_bn", "vgg19"]:
        m = models.get(name, hidden=64)
        assert m.config["num_classes"] == 1000
        last = [p for k, p in m.state_dict().items() if k.endswith("bias")][-1]
        assert last.shape == (1000,), name
    assert models.get("zfnet", hidden=64, num_classes=7).config["num_classes"] == 7


def test_weights_none_is_random_init_and_others_are_refused():
    assert models.available_weights("resnet18") == []
    m = models.get("lenet5", weights=None)
    assert n_params(m) == 61_706 and "weights" not in m.config
    assert n_params(models.lenet5(weights=None)) == 61_706
    for call in (lambda: models.get("resnet18", weights="IMAGENET1K_V1"),
                 lambda: models.resnet18(weights="DEFAULT"),
                 lambda: models.get("lenet5", weights=True)):
        with pytest.raises(ValueError, match=r"weights=.*not available.*available weights for (resnet18|lenet5): "
                                             r"(none|'digits', 'fashion-mnist', 'mnist')"):
            call()


@pytest.mark.slow
@pytest.mark.parametrize("name, expected", HUGE_SLOW)
def test_other_vgg_params(name, expected):
    assert n_params(models.get(name, num_classes=1000)) == expected


def test_googlenet_aux_params():
    assert n_params(models.get("googlenet", num_classes=1000, aux_logits=True)) == 13_004_888


def test_alexnet_original_groups_and_lrn():
    m = models.get("alexnet_original", num_classes=1000)
    convs = [l for l in m.features if type(l).__name__ == "Conv2d"]
    assert [c.groups for c in convs] == [1, 2, 1, 2, 2]
    assert [tuple(c.weight.shape) for c in convs][1] == (256, 48, 5, 5)
    lrn = [l for l in m.features if type(l).__name__ == "LocalResponseNorm"]
    assert len(lrn) == 2 and (lrn[0].size, lrn[0].alpha, lrn[0].beta, lrn[0].k) == (5, 1e-4, 0.75, 2.0)
