"""CIFAR-10 ResNets (He et al. 2015, section 4.2): resnet20/32/44/56/110.

``6n + 2`` weighted layers: a 3x3 conv with 16 filters, then three stages of ``n`` basic
blocks with 16, 32 and 64 filters on 32x32, 16x16 and 8x8 maps, global average pooling and
a fully connected layer. Where a stage halves the map and doubles the width, the shortcut
is the paper's parameter-free **option A**: subsample by 2 (``x[:, :, ::2, ::2]``) and
zero-pad the new channels (``planes // 4`` zero maps on each side).

=========  ===  ===========================
name        n   parameters (10 classes)
=========  ===  ===========================
resnet20    3   269,722
resnet32    5   464,154
resnet44    7   658,586
resnet56    9   853,018
resnet110  18   1,727,962
=========  ===  ===========================

Convs use He-normal (fan_out) initialisation; BN weight 1, bias 0.

``residual=False`` builds the **plain** counterpart of He et al. 2016 (CVPR), Figure 6 /
section 4.2 ("plain-20/32/44/56"): the same layers, but no block adds its shortcut, so each
block is ``relu(bn2(conv2(relu(bn1(conv1(x))))))``. With option-A shortcuts (no parameters) the
plain and the residual network have the same parameters and ``state_dict`` keys::

    plain20 = cn.models.get("resnet20", residual=False)
"""
from __future__ import annotations

from .. import nn
from .. import pad  # the public convnet.pad (PyTorch F.pad semantics)
from . import register
from .resnet import conv3x3, init_resnet_


class PadShortcut(nn.Module):
    """Option-A shortcut: ``(N, C, H, W) -> (N, C + 2p, ceil(H/s), ceil(W/s))``, no parameters.

    Keeps every ``stride``-th pixel and appends ``p`` all-zero channels on each side.
    """

    def __init__(self, pad_channels, stride=2):
        super().__init__()
        self.pad_channels, self.stride = pad_channels, stride

    def forward(self, x):
        s, p = self.stride, self.pad_channels
        x = x[:, :, ::s, ::s]                       # (N, C, H, W) -> (N, C, H/s, W/s)
        return pad(x, (0, 0, 0, 0, p, p))           # (N, C, h, w) -> (N, C + 2p, h, w)

    def extra_repr(self):
        return f"pad_channels={self.pad_channels}, stride={self.stride}"


class CifarBasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with an identity or option-A shortcut (``residual=True``), or
    without any shortcut (``residual=False``: the plain block, no ``shortcut`` submodule).

    Shape: ``(N, in_planes, H, W) -> (N, planes, H/stride, W/stride)``.
    """

    expansion = 1

    def __init__(self, in_planes, planes, stride=1, residual=True):
        super().__init__()
        self.residual = residual
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        if not residual:
            pass                                    # plain block: nothing to add
        elif stride != 1 or in_planes != planes:
            self.shortcut = PadShortcut((planes - in_planes) // 2, stride)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if not self.residual:
            return self.relu(out)                   # plain: F(x) alone
        return self.relu(out + self.shortcut(x))    # residual: F(x) + x


class CifarResNet(nn.Module):
    """ResNet for 32x32 inputs with ``depth = 6n + 2`` layers.

    Args:
        depth: 20, 32, 44, 56, 110, ... (``(depth - 2) % 6 == 0``).
        num_classes: outputs of ``fc``.
        in_channels: input channels.
        residual: True (default) adds each block's shortcut; False gives the plain network of
            He et al. 2016, Figure 6 (same layers and parameters, no shortcut additions).

    Shape:
        - Input: ``(N, in_channels, 32, 32)`` (any size; 32 in the paper)
        - Output: ``(N, num_classes)``

    Example:
        >>> import convnet as cn
        >>> cn.models.get("resnet20")(cn.randn(2, 3, 32, 32)).shape
        (2, 10)
    """

    def __init__(self, depth=20, num_classes=10, in_channels=3, residual=True):
        super().__init__()
        if not isinstance(residual, bool):
            raise TypeError(f"CifarResNet: argument 'residual' must be True or False, got {residual!r}")
        self.residual = residual
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"CifarResNet: depth must be 6n + 2 with n >= 1 (20, 32, 44, 56, 110), "
                             f"got {depth}")
        n = (depth - 2) // 6
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.in_planes = 16
        self.layer1 = self._make_layer(16, n, stride=1)
        self.layer2 = self._make_layer(32, n, stride=2)
        self.layer3 = self._make_layer(64, n, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)
        init_resnet_(self)

    def _make_layer(self, planes, blocks, stride):
        layers = []
        for s in [stride] + [1] * (blocks - 1):
            layers.append(CifarBasicBlock(self.in_planes, planes, s, self.residual))
            self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.avgpool(x).flatten(1)  # (N, 64, 1, 1) -> (N, 64)
        return self.fc(x)


def _builder(depth):
    @register(f"resnet{depth}", input_shape=(3, 32, 32))
    def build(num_classes=10, in_channels=3, residual=True):
        return CifarResNet(depth, num_classes, in_channels, residual)

    build.__name__ = build.__qualname__ = f"resnet{depth}"
    build.__doc__ = (f"CIFAR ResNet-{depth} (6n+2 layers, n={(depth - 2) // 6}, option-A shortcuts); "
                     f"``residual=False``: the plain-{depth} network of He et al. 2016, Figure 6.")
    return build


resnet20 = _builder(20)
resnet32 = _builder(32)
resnet44 = _builder(44)
resnet56 = _builder(56)
resnet110 = _builder(110)
