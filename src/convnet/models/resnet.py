"""ResNet-18/34/50/101/152 (He, Zhang, Ren & Sun, 2015) in torchvision's layout.

A residual block learns ``F(x)`` and outputs ``relu(F(x) + x)``: the identity path lets the
gradient flow straight back through ``+`` (the notes' "gradient highway"). When a block halves
the resolution or changes the width, the shortcut is a strided 1x1 conv + BN (``downsample``,
the paper's option B).

==========  ===========  ===================  ============
name        block        blocks per stage     parameters (1000 classes)
==========  ===========  ===================  ============
resnet18    BasicBlock   2, 2, 2, 2           11,689,512
resnet34    BasicBlock   3, 4, 6, 3           21,797,672
resnet50    Bottleneck   3, 4, 6, 3           25,557,032
resnet101   Bottleneck   3, 4, 23, 3          44,549,160
resnet152   Bottleneck   3, 8, 36, 3          60,192,808
==========  ===========  ===================  ============

State-dict keys match torchvision (``conv1.weight``, ``bn1.running_mean``,
``layer2.0.downsample.0.weight``, ``fc.bias``, ...). Bottlenecks put the stride on the 3x3
conv (torchvision's "v1.5"). Convs are initialised with ``kaiming_normal_(mode="fan_out")``,
batch norms with weight 1 and bias 0, as torchvision does.
"""
from __future__ import annotations

from .. import nn
from . import register


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    """3x3 convolution with padding, no bias (a BN follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                     groups=groups, bias=False, dilation=dilation)


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution, no bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convs: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    Shape: ``(N, inplanes, H, W) -> (N, planes, H/stride, W/stride)``.
    """

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 (strided) -> 1x1 expand (x4), plus the shortcut.

    Shape: ``(N, inplanes, H, W) -> (N, 4*planes, H/stride, W/stride)``.
    """

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride

    def residual(self, x):
        """The residual branch ``F(x)`` (before the addition)."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.residual(x) + identity)


class ResNet(nn.Module):
    """ImageNet ResNet: 7x7/2 stem, 3x3/2 max pool, four stages, global average pool, fc.

    Args:
        block: ``BasicBlock`` or ``Bottleneck`` (or a subclass with the same constructor).
        layers: blocks per stage, e.g. ``[3, 4, 6, 3]``.
        num_classes: outputs of ``fc``.
        in_channels: input channels of ``conv1``.
        zero_init_residual: start each block's last BN at weight 0 so blocks begin as identities.

    Shape:
        - Input: ``(N, in_channels, H, W)``, H and W at least 32 (224 in the paper)
        - Output: ``(N, num_classes)``; spatial size goes ``H -> H/2 (conv1) -> H/4 (maxpool)
          -> H/4, H/8, H/16, H/32 (stages) -> 1 (avgpool)``.

    Example:
        >>> import convnet as cn
        >>> cn.models.get("resnet18", num_classes=10).eval()(cn.randn(1, 3, 64, 64)).shape
        (1, 10)
    """

    def __init__(self, block, layers, num_classes=1000, in_channels=3, zero_init_residual=False):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        init_resnet_(self, zero_init_residual)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.avgpool(x).flatten(1)  # (N, C, 1, 1) -> (N, C)
        return self.fc(x)


def init_resnet_(model, zero_init_residual=False):
    """torchvision's ResNet initialisation: He-normal (fan_out) convs, BN weight 1 / bias 0."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    if zero_init_residual:
        for m in model.modules():
            last_bn = getattr(m, "bn3", None) if isinstance(m, Bottleneck) else (
                getattr(m, "bn2", None) if isinstance(m, BasicBlock) else None)
            if last_bn is not None:
                nn.init.zeros_(last_bn.weight)


@register("resnet18", input_shape=(3, 224, 224))
def resnet18(num_classes=1000, in_channels=3, zero_init_residual=False):
    """ResNet-18 (11,689,512 parameters at 1000 classes)."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels, zero_init_residual)


@register("resnet34", input_shape=(3, 224, 224))
def resnet34(num_classes=1000, in_channels=3, zero_init_residual=False):
    """ResNet-34 (21,797,672 parameters at 1000 classes)."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels, zero_init_residual)


@register("resnet50", input_shape=(3, 224, 224))
def resnet50(num_classes=1000, in_channels=3, zero_init_residual=False):
    """ResNet-50 (25,557,032 parameters at 1000 classes, ~4.1 GMACs at 224x224)."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, zero_init_residual)


@register("resnet101", input_shape=(3, 224, 224))
def resnet101(num_classes=1000, in_channels=3, zero_init_residual=False):
    """ResNet-101 (44,549,160 parameters at 1000 classes)."""
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes, in_channels, zero_init_residual)


@register("resnet152", input_shape=(3, 224, 224))
def resnet152(num_classes=1000, in_channels=3, zero_init_residual=False):
    """ResNet-152 (60,192,808 parameters at 1000 classes)."""
    return ResNet(Bottleneck, [3, 8, 36, 3], num_classes, in_channels, zero_init_residual)
