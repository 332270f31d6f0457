"""Network in Network (Lin, Chen & Yan, 2013), the CIFAR-10 model.

An **mlpconv** block is a k x k convolution followed by two 1x1 convolutions, each with a
ReLU: a small multilayer perceptron slid over every position (a 1x1 conv is a fully
connected layer applied per pixel across channels). The last mlpconv outputs one map per
class and **global average pooling** turns each map into a class score: no fully connected
layer at all.

Layout for a 32x32 input::

    mlpconv1  5x5 192, 1x1 160, 1x1 96     -> 96@32x32,  max pool 3x3/2 -> 16x16, dropout
    mlpconv2  5x5 192, 1x1 192, 1x1 192    -> 192@16x16, avg pool 3x3/2 -> 8x8,   dropout
    mlpconv3  3x3 192, 1x1 192, 1x1 classes -> classes@8x8, global average pool -> classes

The reference Caffe model also puts a ReLU after the final 1x1 conv; it is left out here so
the class scores are not forced to be non-negative (``final_relu=True`` restores it).
"""
from __future__ import annotations

from collections import OrderedDict

from .. import nn
from . import register


def mlpconv(in_channels, channels, kernel_size, padding, final_relu=True):
    """k x k conv then two 1x1 convs (``channels`` = their three widths), ReLU after each."""
    c1, c2, c3 = channels
    layers = [
        ("conv", nn.Conv2d(in_channels, c1, kernel_size, padding=padding)), ("relu", nn.ReLU()),
        ("cccp1", nn.Conv2d(c1, c2, 1)), ("relu1", nn.ReLU()),
        ("cccp2", nn.Conv2d(c2, c3, 1)),
    ]
    if final_relu:
        layers.append(("relu2", nn.ReLU()))
    return nn.Sequential(OrderedDict(layers))


class NiN(nn.Module):
    """Network in Network: three mlpconv blocks and global average pooling.

    Args:
        num_classes: maps of the last 1x1 conv = number of outputs.
        in_channels: input channels.
        dropout: dropout probability after the first two blocks.
        final_relu: ReLU on the class maps (the Caffe reference model has it).

    Shape:
        - Input: ``(N, C, H, W)``, 32x32 in the paper (any size >= 5 works)
        - Output: ``(N, num_classes)``

    Example:
        >>> import convnet as cn
        >>> cn.models.get("nin")(cn.randn(1, 3, 32, 32)).shape
        (1, 10)
    """

    def __init__(self, num_classes=10, in_channels=3, dropout=0.5, final_relu=False):
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("mlpconv1", mlpconv(in_channels, (192, 160, 96), 5, 2)),
            ("pool1", nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)),
            ("drop1", nn.Dropout(p=dropout)),
            ("mlpconv2", mlpconv(96, (192, 192, 192), 5, 2)),
            ("pool2", nn.AvgPool2d(kernel_size=3, stride=2, ceil_mode=True)),
            ("drop2", nn.Dropout(p=dropout)),
            ("mlpconv3", mlpconv(192, (192, 192, num_classes), 3, 1, final_relu)),
        ]))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.flatten(self.avgpool(self.features(x)))  # (N, classes, 1, 1) -> (N, classes)


@register("nin", input_shape=(3, 32, 32))
def nin(num_classes=10, in_channels=3, dropout=0.5, final_relu=False):
    """Network in Network for CIFAR-10 (see :class:`NiN`)."""
    return NiN(num_classes, in_channels, dropout, final_relu)
