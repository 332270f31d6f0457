"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998) as the lecture notes draw it.

::

    input 1@32x32
    C1  conv 5x5, 6 maps      -> 6@28x28      6*(5*5*1+1)    =    156 params
    S2  pool 2x2, stride 2    -> 6@14x14
    C3  conv 5x5, 16 maps     -> 16@10x10     16*(5*5*6+1)   =  2,416
    S4  pool 2x2, stride 2    -> 16@5x5
    C5  conv 5x5, 120 maps    -> 120@1x1      120*(5*5*16+1) = 48,120   (= Linear 400 -> 120)
    F6  linear 120 -> 84                      84*(120+1)     = 10,164
    out linear 84 -> 10                       10*(84+1)      =    850
                                                               ------
                                                               61,706

``classic=True`` uses tanh and average pooling like the paper (whose subsampling layers
also had a trainable gain and bias per map, and whose output was an RBF layer: both are
left out here, as in most re-implementations); the default is the modern ReLU + max
pooling. C3 connects every S2 map to every C3 map (the paper's sparse connection table is
not reproduced).
"""
from __future__ import annotations

from collections import OrderedDict

from .. import nn
from . import register


class LeNet5(nn.Module):
    """LeNet-5: two conv/pool stages, C5, F6 and the output layer.

    Args:
        num_classes: outputs of the last layer.
        in_channels: input channels (1 for the paper's grey-level digits).
        classic: tanh + average pooling (paper) instead of ReLU + max pooling.
        padding: zero padding of C1; ``padding=2`` takes 28x28 MNIST digits to the 32x32
            the network is drawn for (the paper centred the digits in a 32x32 field).

    Shape:
        - Input: ``(N, in_channels, 32, 32)`` (or 28x28 with ``padding=2``)
        - Output: ``(N, num_classes)``

    Example:
        >>> import convnet as cn
        >>> cn.models.get("lenet5")(cn.randn(2, 1, 32, 32)).shape
        (2, 10)
    """

    def __init__(self, num_classes=10, in_channels=1, classic=False, padding=0):
        super().__init__()
        act = nn.Tanh if classic else nn.ReLU
        pool = nn.AvgPool2d if classic else nn.MaxPool2d
        self.features = nn.Sequential(OrderedDict([
            ("c1", nn.Conv2d(in_channels, 6, kernel_size=5, padding=padding)),
            ("act1", act()),
            ("s2", pool(kernel_size=2, stride=2)),
            ("c3", nn.Conv2d(6, 16, kernel_size=5)),
            ("act3", act()),
            ("s4", pool(kernel_size=2, stride=2)),
            ("c5", nn.Conv2d(16, 120, kernel_size=5)),
            ("act5", act()),
        ]))
        self.classifier = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),
            ("f6", nn.Linear(120, 84)),
            ("act6", act()),
            ("output", nn.Linear(84, num_classes)),
        ]))

    def forward(self, x):
        return self.classifier(self.features(x))


@register("lenet5", input_shape=(1, 32, 32))
def lenet5(num_classes=10, in_channels=1, classic=False, padding=0):
    """LeNet-5 (see :class:`LeNet5`); 61,706 parameters with 10 classes and 1 input channel."""
    return LeNet5(num_classes, in_channels, classic=classic, padding=padding)
