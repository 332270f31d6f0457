"""VGG-11/13/16/19 (Simonyan & Zisserman, 2014), with and without batch norm, torchvision's layout.

Only 3x3 convs (stride 1, padding 1) and 2x2 max pools: two stacked 3x3 convs see 5x5, three
see 7x7 (the notes' receptive-field argument) with fewer parameters (3·9C² < 49C²) and more
non-linearities. Channels double after each pool: 64, 128, 256, 512, 512.

``features`` holds the conv stack (``features.0.weight`` is the first conv; in ``vgg16`` the
last conv is ``features.28``), ``avgpool`` is an adaptive average pool to 7x7 (identity at
224x224; it lets small inputs through), ``classifier`` is Linear(25088, 4096) - ReLU - Dropout -
Linear(4096, 4096) - ReLU - Dropout - Linear(4096, classes) (``classifier.0/3/6``).

========  =====================  =========================
name      conv layers            parameters (1000 classes)
========  =====================  =========================
vgg11     8   (config A)         132,863,336
vgg13     10  (config B)         133,047,848
vgg16     13  (config D)         138,357,544   (~15.5 GMACs)
vgg19     16  (config E)         143,667,240
========  =====================  =========================

Initialisation as torchvision: convs He-normal (fan_out) with zero bias, BN 1/0, linears
N(0, 0.01) with zero bias.
"""
from __future__ import annotations

from .. import nn
from . import register

# Numbers are conv output channels, "M" a 2x2 max pool.
CFGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}


def make_layers(cfg, batch_norm=False, in_channels=3):
    """The ``features`` stack for a config list: conv3x3 [BN] ReLU ..., "M" -> MaxPool2d(2, 2)."""
    layers = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU())
        in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """VGG: a ``features`` stack, adaptive average pool to 7x7 and a 3-layer ``classifier``.

    Args:
        features: the conv stack (see :func:`make_layers`), ending with 512 channels.
        num_classes: outputs of the last linear layer.
        dropout: dropout probability in the classifier.
        hidden: width of the two hidden classifier layers (4096 in the paper; smaller values
            give a light model for small datasets and quick tests).

    Shape:
        - Input: ``(N, C, H, W)`` with H, W >= 32 (five 2x2 pools); 224 in the paper
        - Output: ``(N, num_classes)``

    Example:
        >>> import convnet as cn
        >>> cn.models.get("vgg11", num_classes=10, hidden=64)(cn.randn(1, 3, 32, 32)).shape
        (1, 10)
    """

    def __init__(self, features, num_classes=1000, dropout=0.5, hidden=4096):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, hidden), nn.ReLU(), nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.avgpool(self.features(x)).flatten(1)  # (N, 512, 7, 7) -> (N, 25088)
        return self.classifier(x)


def _builder(depth, cfg, batch_norm):
    name = f"vgg{depth}" + ("_bn" if batch_norm else "")

    @register(name, input_shape=(3, 224, 224))
    def build(num_classes=1000, in_channels=3, dropout=0.5, hidden=4096):
        return VGG(make_layers(CFGS[cfg], batch_norm, in_channels), num_classes, dropout, hidden)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = (f"VGG-{depth} (configuration {cfg})" + (" with batch norm" if batch_norm else "")
                     + "; see the module docstring for parameter counts.")
    return build


vgg11 = _builder(11, "A", False)
vgg11_bn = _builder(11, "A", True)
vgg13 = _builder(13, "B", False)
vgg13_bn = _builder(13, "B", True)
vgg16 = _builder(16, "D", False)
vgg16_bn = _builder(16, "D", True)
vgg19 = _builder(19, "E", False)
vgg19_bn = _builder(19, "E", True)
