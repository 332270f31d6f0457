"""The lecture notes' case-study networks, built by name.

    import convnet as cn
    model = cn.models.get("lenet5")                       # 10 classes, 1 input channel
    model = cn.models.get("resnet20", num_classes=100)
    model = cn.models.get(**model.config)                 # rebuild from a checkpoint's config
    cn.models.names()                                     # every registered name
    cn.models.default_input_shape("resnet50")             # (3, 224, 224)

Every builder takes ``num_classes`` and ``in_channels`` plus its own keyword options and
stores them on the model as ``model.config`` (with ``"name"``), so ``get(**model.config)``
builds the same architecture again. The builders can also be called directly
(``cn.models.resnet50()``); they then default to the paper's class count (1000 for the
ImageNet networks) whereas ``get`` defaults to ``num_classes=10``.

State-dict keys of ``alexnet``, ``vgg*``, ``googlenet`` and ``resnet18..152`` are the same as
torchvision's, so their weights can be loaded with ``load_state_dict``.
"""
from __future__ import annotations

import difflib
import functools
import inspect

_REGISTRY = {}  # name -> (builder, default (C, H, W) input shape)


def register(name, input_shape):
    """Decorator: register ``builder(num_classes=..., in_channels=..., **options)`` as ``name``.

    The wrapped builder records its bound arguments in ``model.config`` (plus ``"name"``).
    ``input_shape`` is the ``(C, H, W)`` the network is drawn for in its paper.
    """
    def deco(fn):
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def build(*args, **kwargs):
            try:
                bound = sig.bind(*args, **kwargs)
            except TypeError as e:
                known = [p for p in sig.parameters]
                raise TypeError(f"models.{name}: {e}; options are {known}") from None
            bound.apply_defaults()
            model = fn(*bound.args, **bound.kwargs)
            model.config = {"name": name, **bound.arguments}
            return model

        if name in _REGISTRY:
            raise ValueError(f"models.register: name {name!r} is already registered")
        _REGISTRY[name] = (build, tuple(input_shape))
        return build
    return deco


def names():
    """Sorted list of the registered model names."""
    return sorted(_REGISTRY)


def _lookup(name, fn):
    if not isinstance(name, str):
        raise TypeError(f"models.{fn}: name must be a str, got {type(name).__name__}")
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, _REGISTRY, n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise ValueError(f"models.{fn}: unknown model {name!r}.{hint} Known models: {names()}")
    return _REGISTRY[name]


def get(name, num_classes=10, in_channels=None, **options):
    """Build the registered network ``name``.

    Args:
        name: one of ``names()``.
        num_classes: size of the output layer (default 10; ``None`` takes the builder's
            own default, the paper's: 1000 for the ImageNet networks).
        in_channels: input channels; ``None`` takes the model's default (1 for ``lenet5``,
            3 for the rest), i.e. ``default_input_shape(name)[0]``.
        **options: the builder's own keyword options (e.g. ``classic=True`` for ``lenet5``,
            ``aux_logits=True`` for ``googlenet``).

    Returns:
        The model (in training mode) with ``model.config`` set so ``get(**model.config)``
        rebuilds it.

    Example:
        >>> m = get("lenet5")
        >>> sum(p.numel() for p in m.parameters())
        61706
    """
    build, shape = _lookup(name, "get")
    if in_channels is None:
        in_channels = shape[0]
    if num_classes is not None:
        options["num_classes"] = num_classes
    return build(in_channels=in_channels, **options)


def default_input_shape(name):
    """The ``(C, H, W)`` input the network ``name`` is designed for, e.g. ``(1, 32, 32)`` for lenet5."""
    return _lookup(name, "default_input_shape")[1]


# Importing the families registers their builders.
from .lenet import LeNet5, lenet5  # noqa: E402,F401
from .simple import Jarrett, SimpleCNN, jarrett, simple_cnn  # noqa: E402,F401
from .alexnet import AlexNet, AlexNetOriginal, alexnet, alexnet_original  # noqa: E402,F401
from .zfnet import ZFNet, zfnet  # noqa: E402,F401
from .vgg import (VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn,  # noqa: E402,F401
                  vgg19, vgg19_bn)
from .nin import NiN, nin  # noqa: E402,F401
from .googlenet import GoogLeNet, GoogLeNetOutputs, googlenet  # noqa: E402,F401
from .resnet import (BasicBlock, Bottleneck, ResNet, resnet18, resnet34,  # noqa: E402,F401
                     resnet50, resnet101, resnet152)
from .resnet_cifar import (CifarResNet, resnet20, resnet32, resnet44, resnet56,  # noqa: E402,F401
                           resnet110)
from .senet import SEBottleneck, SELayer, se_resnet50  # noqa: E402,F401
