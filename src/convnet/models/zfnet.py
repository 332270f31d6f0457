"""ZFNet (Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", 2013).

AlexNet re-tuned after looking at its features with a deconvnet: the first layer's 11x11
stride-4 filters aliased and had dead filters, so ZFNet uses **7x7 filters at stride 2**, and
conv2 gets stride 2. Layout for a 224x224 input (Fig. 3 of the paper)::

    conv1  96 @ 7x7 /2, pad 1    -> 96@110x110   ReLU, max pool 3x3/2 -> 55x55, LRN
    conv2 256 @ 5x5 /2            -> 256@26x26    ReLU, max pool 3x3/2 -> 13x13, LRN
    conv3 384 @ 3x3, pad 1        -> 384@13x13    ReLU
    conv4 384 @ 3x3, pad 1        -> 384@13x13    ReLU
    conv5 256 @ 3x3, pad 1        -> 256@13x13    ReLU, max pool 3x3/2 -> 6x6
    fc6 9216 -> 4096, fc7 4096 -> 4096 (ReLU, dropout), fc8 4096 -> classes

The pools use ``ceil_mode=True`` to get the paper's 110 -> 55 and 26 -> 13; the paper's
"contrast normalization across feature maps" is a ``LocalResponseNorm(5)``.
"""
from __future__ import annotations

from .. import nn
from . import register


class ZFNet(nn.Module):
    """ZFNet: AlexNet with a 7x7/2 first layer and a stride-2 conv2.

    Args:
        num_classes: outputs of the last layer.
        in_channels: input channels.
        dropout: dropout probability of the hidden fully connected layers.
        hidden: width of the hidden fully connected layers (4096 in the paper).

    Shape:
        - Input: ``(N, C, 224, 224)`` (at least 63x63; ``avgpool`` fixes the 6x6 grid)
        - Output: ``(N, num_classes)``
    """

    def __init__(self, num_classes=1000, in_channels=3, dropout=0.5, hidden=4096):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 96, kernel_size=7, stride=2, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0),
            nn.Conv2d(96, 256, kernel_size=5, stride=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0),
            nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 384, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Linear(256 * 6 * 6, hidden), nn.ReLU(), nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )
        for m in self.modules():  # the paper: weights N(0, 0.01), biases 0
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.avgpool(self.features(x)).flatten(1)  # (N, 256, 6, 6) -> (N, 9216)
        return self.classifier(x)


@register("zfnet", input_shape=(3, 224, 224))
def zfnet(num_classes=1000, in_channels=3, dropout=0.5, hidden=4096):
    """ZFNet (see :class:`ZFNet`)."""
    return ZFNet(num_classes, in_channels, dropout, hidden)
