"""A small VGG-style network for 28x28 digits: Simard et al.'s (2003) "small CNN" role, built the modern way.

Simard, Steinkraus & Platt (2003) got 0.4% MNIST test error from a small convolutional network trained on
elastically distorted digits. ``vgg_mini`` is a small network of the same spirit with the later course
material in it: VGG's stacks of 3x3 convolutions (two 3x3 layers see 5x5), batch norm after every
convolution, max pooling, dropout before the classifier::

    input 1@28x28
    conv 3x3 pad 1, 32 -> BN -> ReLU      32@28x28        288 weights (no bias: BN has one)
    conv 3x3 pad 1, 32 -> BN -> ReLU      32@28x28      9,216
    max pool 2x2                          32@14x14
    conv 3x3 pad 1, 64 -> BN -> ReLU      64@14x14     18,432
    conv 3x3 pad 1, 64 -> BN -> ReLU      64@14x14     36,864
    max pool 2x2                          64@7x7
    flatten                               3136
    linear 3136 -> 256 -> BN -> ReLU -> dropout 0.5   802,816
    linear 256 -> 10                                     2,570
                                                   + 896 BN = 871,082 parameters

about 0.87 M parameters and 19 M multiply-adds per 28x28 image (ResNet-20 on 32x32: 0.27 M and 41 M).
``width`` scales every channel count (``width=2``: 64/128 channels), ``hidden`` the classifier's hidden layer.
"""
from __future__ import annotations

from collections import OrderedDict

from .. import nn
from ..shapes import pool_output_size
from . import register


def _conv_bn(cin, cout):
    return [nn.Conv2d(cin, cout, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class VGGMini(nn.Module):
    """Two VGG stages (3x3 conv pairs with batch norm, 2x2 max pooling) and a two-layer classifier.

    Args:
        num_classes: outputs of the last layer.
        in_channels: input channels (1 for grey-level digits).
        input_size: side of the square input (28 for MNIST); the classifier's input is
            ``64 * width * (input_size // 4) ** 2``.
        width: channel multiplier (1: 32 and 64 channels).
        hidden: width of the hidden classifier layer (256).
        dropout: dropout probability before the last layer.

    Shape:
        - Input: ``(N, in_channels, input_size, input_size)``
        - Output: ``(N, num_classes)``

    Example:
        >>> import convnet as cn
        >>> cn.models.get("vgg_mini")(cn.randn(2, 1, 28, 28)).shape
        (2, 10)
    """

    def __init__(self, num_classes=10, in_channels=1, input_size=28, width=1, hidden=256, dropout=0.5):
        super().__init__()
        c1, c2 = 32 * int(width), 64 * int(width)
        self.features = nn.Sequential(
            *_conv_bn(in_channels, c1), *_conv_bn(c1, c1), nn.MaxPool2d(2),
            *_conv_bn(c1, c2), *_conv_bn(c2, c2), nn.MaxPool2d(2))
        side = pool_output_size(pool_output_size(int(input_size), 2, 2), 2, 2)
        self.classifier = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(c2 * side * side, int(hidden), bias=False)),
            ("bn", nn.BatchNorm1d(int(hidden))),
            ("relu", nn.ReLU()),
            ("dropout", nn.Dropout(dropout)),
            ("fc2", nn.Linear(int(hidden), num_classes)),
        ]))

    def forward(self, x):
        return self.classifier(self.features(x))


@register("vgg_mini", input_shape=(1, 28, 28))
def vgg_mini(num_classes=10, in_channels=1, input_size=28, width=1, hidden=256, dropout=0.5):
    """The small VGG-style digits network (see :class:`VGGMini`); 871,082 parameters with the defaults."""
    return VGGMini(num_classes, in_channels, input_size=input_size, width=width, hidden=hidden, dropout=dropout)
