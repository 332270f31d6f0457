"""SE-ResNet-50 (Hu, Shen & Sun, "Squeeze-and-Excitation Networks", 2017).

A squeeze-and-excitation layer re-weights the channels of a residual branch:

    squeeze:  z_c = mean over (H, W) of u_c                    (N, C, H, W) -> (N, C)
    excite:   s = sigmoid(W2 relu(W1 z + b1) + b2)             (N, C) -> (N, C/r) -> (N, C)
    scale:    out_c = s_c * u_c                                (N, C, H, W)

with reduction ``r = 16``. Each SE layer adds ``2 C^2/r + C/r + C`` parameters, 2,530,992 in
all on top of ResNet-50's 25,557,032: 28,088,024 at 1000 classes. Keys follow ResNet's
(``layer1.0.conv1.weight``, ...) with ``layer1.0.se.fc1.weight`` / ``se.fc2`` for the SE layer.
"""
from __future__ import annotations

from .. import nn
from . import register
from .resnet import Bottleneck, ResNet


class SELayer(nn.Module):
    """Squeeze-and-excitation: per-channel gates from global context.

    Args:
        channels: C of the input.
        reduction: bottleneck ratio r of the two fully connected layers.

    Shape: ``(N, C, H, W) -> (N, C, H, W)``.
    """

    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden, channels)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        n, c = x.shape[0], x.shape[1]
        z = x.mean(dim=(2, 3))                                 # squeeze: (N, C)
        s = self.sigmoid(self.fc2(self.relu(self.fc1(z))))     # excite: (N, C)
        return x * s.reshape(n, c, 1, 1)                       # (N, C) -> (N, C, 1, 1) broadcast


class SEBottleneck(Bottleneck):
    """ResNet bottleneck whose residual branch passes through an :class:`SELayer` before ``+``."""

    def __init__(self, inplanes, planes, stride=1, downsample=None, reduction=16):
        super().__init__(inplanes, planes, stride, downsample)
        self.se = SELayer(planes * self.expansion, reduction)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.se(self.residual(x)) + identity)


@register("se_resnet50", input_shape=(3, 224, 224))
def se_resnet50(num_classes=1000, in_channels=3, zero_init_residual=False):
    """SE-ResNet-50 (28,088,024 parameters at 1000 classes)."""
    return ResNet(SEBottleneck, [3, 4, 6, 3], num_classes, in_channels, zero_init_residual)
