"""The lecture notes' case-study networks, built by name::

    import convnet as cn
    model = cn.models.get("lenet5")                       # 10 classes, 1 input channel
    model = cn.models.get("resnet20", num_classes=100)
    model = cn.models.get(**model.config)                 # rebuild from a checkpoint's config
    cn.models.names()                                     # every registered name
    cn.models.default_input_shape("resnet50")             # (3, 224, 224)

Every builder takes ``num_classes`` and ``in_channels`` plus its own keyword options and
stores them on the model as ``model.config`` (with ``"name"``), so ``get(**model.config)``
builds the same architecture again. ``get(name)`` and the builders called directly
(``cn.models.resnet50()``) both default to the paper's class count, like torchvision's
``get_model``: 1000 for the ImageNet networks (AlexNet, ZFNet, VGG, GoogLeNet, ResNet-18..152,
SE-ResNet-50), 10 for LeNet-5 (MNIST) and the CIFAR-10 networks (ResNet-20..110, NiN) and the
notes' small examples. Both accept ``weights=None`` (random initialisation, the default) or the
name of weights shipped in ``convnet/weights`` (``available_weights(name)``; e.g.
``get("lenet5", weights="mnist")``): the model comes back with them loaded (SHA-256 checked), in
training mode like torchvision's, with ``model.checkpoint_meta`` holding the dataset, its
normalisation, the class names and the input shape. Any other value is a ``ValueError`` listing
what is available.

State-dict keys of ``alexnet``, ``vgg*``, ``googlenet`` and ``resnet18..152`` are the same as
torchvision's, so their weights can be loaded with ``load_state_dict``.
"""
from __future__ import annotations

import difflib
import functools
import inspect

_REGISTRY = {}  # name -> (builder, default (C, H, W) input shape)
_WEIGHTS = None  # name -> {weights name: index entry}, read from convnet/weights/index.json on first use


def register(name, input_shape):
    """Decorator: register ``builder(num_classes=..., in_channels=..., **options)`` as ``name``.

    The wrapped builder records its bound arguments in ``model.config`` (plus ``"name"``).
    ``input_shape`` is the ``(C, H, W)`` the network is drawn for in its paper.
    """
    def deco(fn):
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def build(*args, weights=None, **kwargs):
            _check_weights(name, weights)
            if weights is not None:  # unspecified options take the values the weights were trained with
                stored = {k: v for k, v in _weights_table()[name][weights]["config"].items() if k != "name"}
                kwargs = {**{k: v for k, v in stored.items() if k in list(sig.parameters)[len(args):]}, **kwargs}
            try:
                bound = sig.bind(*args, **kwargs)
            except TypeError as e:
                known = [p for p in sig.parameters]
                raise TypeError(f"models.{name}: {e}; options are {known}") from None
            bound.apply_defaults()
            model = fn(*bound.args, **bound.kwargs)
            model.config = {"name": name, **bound.arguments}
            if weights is not None:
                _load_weights(model, name, weights)
            return model

        if name in _REGISTRY:
            raise ValueError(f"models.register: name {name!r} is already registered")
        _REGISTRY[name] = (build, tuple(input_shape))
        return build
    return deco


def _weights_table():
    global _WEIGHTS
    if _WEIGHTS is None:
        from .. import weights as shipped

        _WEIGHTS = shipped.index()
    return _WEIGHTS


def available_weights(name):
    """Names of the pretrained weights that ``get(name, weights=...)`` accepts.

    E.g. ``['digits', 'fashion-mnist', 'mnist']`` for ``lenet5``, ``[]`` for a model with none.

    ``convnet.weights.info(name, weights)`` gives each one's dataset, test accuracy and command.
    """
    _lookup(name, "available_weights")
    return sorted(_weights_table().get(name, {}))


def _load_weights(model, name, weights):
    """Copy the shipped ``weights`` (SHA-256 checked) into ``model``; attach their meta."""
    from .. import weights as shipped

    trained = shipped.load(name, weights)
    try:
        model.load_state_dict(trained.state_dict())
    except (KeyError, ValueError) as e:
        raise ValueError(f"models.{name}: weights={weights!r} were trained with options {trained.config}, which "
                         f"do not fit the requested {model.config}: {e.args[0] if e.args else e}") from None
    object.__setattr__(model, "checkpoint_meta", dict(trained.checkpoint_meta))
    object.__setattr__(model, "weights_info", trained.weights_info)


def _check_weights(name, weights):
    """``weights=None`` means random initialisation; anything else must be an available name."""
    if weights is None:
        return
    available = sorted(_weights_table().get(name, {}))
    if isinstance(weights, str) and weights in available:
        return
    listed = ", ".join(repr(w) for w in available) if available else "none (only weights=None, random init)"
    raise ValueError(f"models.{name}: weights={weights!r} is not available; available weights for "
                     f"{name}: {listed}")


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


def get(name, num_classes=None, in_channels=None, weights=None, **options):
    """Build the registered network ``name`` (torchvision's ``get_model``).

    Args:
        name: one of ``names()``.
        num_classes: size of the output layer; ``None`` (default) takes the paper's class
            count: 1000 for the ImageNet networks, 10 for LeNet-5 and the CIFAR-10 ones.
        in_channels: input channels; ``None`` takes the model's default (1 for ``lenet5``,
            3 for the rest), i.e. ``default_input_shape(name)[0]``.
        weights: ``None`` (default): random initialisation; or one of ``available_weights(name)``
            (e.g. ``"mnist"`` for ``lenet5``): shipped trained weights, checked by SHA-256. Any
            other value raises a ``ValueError`` listing the available ones.
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
    _check_weights(name, weights)
    if in_channels is None and weights is None:
        in_channels = shape[0]
    if in_channels is not None:
        options["in_channels"] = in_channels
    if num_classes is not None:
        options["num_classes"] = num_classes
    return build(weights=weights, **options)


# One line per model for ``convnet summary --list``: the paper, its year, and what the notes use it for.
_RESNET = "He et al. 2015, residual connections"
_CIFAR_RESNET = "He et al. 2015, CIFAR-10 ResNet (6n+2 layers, option-A shortcuts): depth vs accuracy"
_VGG = "Simonyan & Zisserman 2014, stacks of 3x3 convolutions"
DESCRIPTIONS = {
    "lenet5": "LeCun et al. 1998, handwritten digits: the notes' first CNN, trained on MNIST",
    "simple_cnn": "the notes' 39x39x3 example network: output sizes by hand (3 convs -> 1960 features)",
    "jarrett": "Jarrett et al. 2009, filter bank -> tanh -> |x| -> LCN -> pooling: the notes' stage",
    "alexnet": "Krizhevsky et al. 2012 (torchvision's one-tower version): ReLU, dropout, ImageNet",
    "alexnet_original": "Krizhevsky et al. 2012 as in the paper: two groups, LRN, overlapping pooling",
    "zfnet": "Zeiler & Fergus 2013, AlexNet with a 7x7 stride-2 first layer: visualising features",
    "nin": "Lin et al. 2013, Network in Network (CIFAR-10): 1x1 convolutions, global average pooling",
    "googlenet": "Szegedy et al. 2014, GoogLeNet / Inception v1: 1x1 bottlenecks, parallel branches",
    **{f"vgg{d}": f"{_VGG}, {d} layers" for d in (11, 13, 16, 19)},
    **{f"vgg{d}_bn": f"{_VGG}, {d} layers with batch norm" for d in (11, 13, 16, 19)},
    **{f"resnet{d}": f"{_RESNET}, {d} layers (ImageNet)" for d in (18, 34, 50, 101, 152)},
    **{f"resnet{d}": f"{_CIFAR_RESNET}, {d} layers" for d in (20, 32, 44, 56, 110)},
    "se_resnet50": "Hu et al. 2017, SENet: ResNet-50 with squeeze-and-excitation channel gates",
    "textcnn": "Kim 2014, sentence CNN (characters): 1-D convolutions of widths 3/4/5, max over time",
    "textcnn_word": "Kim 2014, sentence CNN (words): 1-D convolutions of widths 3/4/5, max over time",
    "vgg_mini": "a small VGG-style digits CNN (3x3 conv pairs, batch norm): Simard et al. 2003's 0.4% role",
    "yolo_v1": "Redmon et al. 2016, YOLO v1 (small backbone): SxS grid, B boxes + class probabilities per cell",
}


def describe(name):
    """One line on the model ``name``: paper, year and what the lecture notes use it for."""
    _lookup(name, "describe")
    return DESCRIPTIONS.get(name, "")


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
from .textcnn import TextCNN, textcnn, textcnn_word  # noqa: E402,F401
from . import video  # noqa: E402,F401  (clip classifiers, outside the image registry: video.get(name))
from .yolo import YOLOv1, yolo_v1  # noqa: E402,F401
from .vgg_mini import VGGMini, vgg_mini  # noqa: E402,F401
