"""models.get / names / default_input_shape / config round trip."""
import pytest

import convnet as cn
from convnet import models


def n_params(m):
    return sum(p._data.size for p in m.parameters())


def test_names_lists_every_case_study():
    expected = {"lenet5", "alexnet", "alexnet_original", "zfnet", "nin", "googlenet", "simple_cnn",
                "jarrett", "se_resnet50"}
    expected |= {f"vgg{d}{bn}" for d in (11, 13, 16, 19) for bn in ("", "_bn")}
    expected |= {f"resnet{d}" for d in (18, 34, 50, 101, 152, 20, 32, 44, 56, 110)}
    assert expected <= set(models.names())
    assert models.names() == sorted(models.names())


@pytest.mark.parametrize("name, shape", [("lenet5", (1, 32, 32)), ("resnet20", (3, 32, 32)),
                                         ("simple_cnn", (3, 39, 39)), ("nin", (3, 32, 32)),
                                         ("resnet50", (3, 224, 224)), ("vgg16", (3, 224, 224)),
                                         ("alexnet_original", (3, 227, 227))])
def test_default_input_shape(name, shape):
    assert models.default_input_shape(name) == shape


def test_get_defaults_and_config():
    m = models.get("lenet5")
    assert m.config == {"name": "lenet5", "num_classes": 10, "in_channels": 1, "classic": False,
                        "padding": 0}
    assert n_params(m) == 61706
    m2 = models.get(**m.config)
    assert type(m2) is type(m) and m2.config == m.config
    assert list(m2.state_dict()) == list(m.state_dict())


def test_get_options_in_config_round_trip():
    m = models.get("lenet5", num_classes=7, in_channels=3, classic=True)
    assert m.config["classic"] is True and m.config["in_channels"] == 3
    m2 = models.get(**m.config)
    assert {k: v.shape for k, v in m2.state_dict().items()} == {k: v.shape for k, v in m.state_dict().items()}
    assert type(m2.features.act1).__name__ == "Tanh" and type(m2.features.s2).__name__ == "AvgPool2d"


def test_builder_called_directly_sets_config_with_paper_defaults():
    m = models.resnet20()
    assert m.config == {"name": "resnet20", "num_classes": 10, "in_channels": 3, "residual": True}
    assert models.get("resnet20", num_classes=None).config["num_classes"] == 10


def test_unknown_name_and_option_errors():
    with pytest.raises(ValueError, match="resnet20"):
        models.get("resnet21")
    with pytest.raises(TypeError, match="lenet5"):
        models.get("lenet5", bogus=1)
    with pytest.raises(ValueError, match="unknown model"):
        models.default_input_shape("nope")
    with pytest.raises(ValueError, match="6n"):
        models.CifarResNet(depth=21)


def test_lazy_attribute():
    assert cn.models is models
