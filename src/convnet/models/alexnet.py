"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012) in two layouts.

``alexnet`` is torchvision's single-tower variant (the "one weird trick" widths 64-192-384-
256-256, no LRN, input 224 with padding 2 in conv1; 61,100,840 parameters at 1000 classes).
Its state-dict keys match torchvision's (``features.0.weight`` ... ``classifier.6.bias``).

``alexnet_original`` is the paper's network as split over two GPUs: conv2, conv4 and conv5
only see the maps on their own GPU, i.e. they are grouped convolutions with ``groups=2``;
conv3 and the fully connected layers talk across GPUs. Local response normalization
(size 5, alpha 1e-4, beta 0.75, k 2) follows the ReLUs of conv1 and conv2, then max pooling
(3x3, stride 2: overlapping). Input 227x227 so that conv1 gives 55x55 without padding.
60,965,224 parameters at 1000 classes::

    conv1  96 @ 11x11 /4          3 -> 96             34,944
    conv2 256 @ 5x5, groups 2    48 -> 128 per group  307,456
    conv3 384 @ 3x3             256 -> 384            885,120
    conv4 384 @ 3x3, groups 2   192 -> 192 per group  663,936
    conv5 256 @ 3x3, groups 2   192 -> 128 per group  442,624
    fc6  9216 -> 4096                              37,752,832
    fc7  4096 -> 4096                              16,781,312
    fc8  4096 -> 1000                               4,097,000

Note: ``nn.LocalResponseNorm`` follows PyTorch/Caffe and divides ``alpha`` by ``size``;
the paper's formula has no such division (use ``lrn_alpha=5e-4`` to reproduce it exactly).
"""
from __future__ import annotations

from .. import nn
from . import register


class AlexNet(nn.Module):
    """torchvision's AlexNet: five convs (64, 192, 384, 256, 256) and three linear layers.

    Args:
        num_classes: outputs of ``classifier.6``.
        in_channels: input channels.
        dropout: dropout probability before ``classifier.1`` and ``classifier.4``.
        hidden: width of the hidden fully connected layers (4096 in the paper).

    Shape:
        - Input: ``(N, C, H, W)``, 224x224 in the paper (at least 63x63)
        - Output: ``(N, num_classes)``; ``features`` gives 256@6x6 at 224, ``avgpool``
          makes it 6x6 for any input size.
    """

    def __init__(self, num_classes=1000, in_channels=3, dropout=0.5, hidden=4096):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, hidden), nn.ReLU(),
            nn.Dropout(p=dropout), nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        x = self.avgpool(self.features(x)).flatten(1)  # (N, 256, 6, 6) -> (N, 9216)
        return self.classifier(x)


class AlexNetOriginal(nn.Module):
    """The 2012 paper's AlexNet with its two-GPU split expressed as ``groups=2`` convolutions.

    Args:
        num_classes: outputs of the last layer.
        in_channels: input channels.
        dropout: dropout probability of the two hidden fully connected layers.
        hidden: width of the hidden fully connected layers (4096 in the paper).
        lrn_alpha: ``alpha`` of the LRN layers (PyTorch convention: divided by ``size``).

    Shape:
        - Input: ``(N, C, 227, 227)`` (at least 67x67; ``avgpool`` fixes the 6x6 grid)
        - Output: ``(N, num_classes)``

    Initialisation as in the paper: weights N(0, 0.01); biases 1 in conv2, conv4, conv5 and
    the hidden fully connected layers (so ReLUs start with positive inputs), 0 elsewhere.
    """

    def __init__(self, num_classes=1000, in_channels=3, dropout=0.5, lrn_alpha=1e-4, hidden=4096):
        super().__init__()

        def lrn():
            return nn.LocalResponseNorm(size=5, alpha=lrn_alpha, beta=0.75, k=2.0)

        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 96, kernel_size=11, stride=4), nn.ReLU(), lrn(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2), nn.ReLU(), lrn(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2), nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, hidden), nn.ReLU(),
            nn.Dropout(p=dropout), nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )
        ones = {id(self.features[i]) for i in (4, 10, 12)} | {id(self.classifier[i]) for i in (1, 4)}
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.constant_(m.bias, 1.0 if id(m) in ones else 0.0)

    def forward(self, x):
        x = self.avgpool(self.features(x)).flatten(1)  # (N, 256, 6, 6) -> (N, 9216)
        return self.classifier(x)


@register("alexnet", input_shape=(3, 224, 224))
def alexnet(num_classes=1000, in_channels=3, dropout=0.5, hidden=4096):
    """torchvision's AlexNet (61,100,840 parameters at 1000 classes)."""
    return AlexNet(num_classes, in_channels, dropout, hidden)


@register("alexnet_original", input_shape=(3, 227, 227))
def alexnet_original(num_classes=1000, in_channels=3, dropout=0.5, lrn_alpha=1e-4, hidden=4096):
    """The paper's two-group AlexNet with LRN (60,965,224 parameters at 1000 classes)."""
    return AlexNetOriginal(num_classes, in_channels, dropout, lrn_alpha, hidden)
