"""GoogLeNet / Inception v1 (Szegedy et al., "Going Deeper with Convolutions", 2014).

An Inception module runs four branches on the same input and concatenates them along the
channels: a 1x1 conv, a 1x1 "reduce" then 3x3, a 1x1 reduce then a larger conv, and a 3x3
max pool then a 1x1 "pool projection". The 1x1 reductions are the point (the notes' cost
argument): a 5x5 conv with 32 filters on 28x28x192 costs 28·28·32·5·5·192 = 120.4M
multiplications; reducing to 16 channels with a 1x1 conv first costs 28·28·16·192 +
28·28·32·5·5·16 = 12.4M.

Layout and state-dict keys follow torchvision (``conv1.conv.weight``, ``conv1.bn.running_var``,
``inception3a.branch2.1.conv.weight``, ``aux1.fc2.bias``, ``fc.weight``): every conv is a
:class:`BasicConv2d` (conv without bias, BN with eps 1e-3, ReLU). Like torchvision, the
"5x5" branch uses a 3x3 kernel (torchvision issue #906, kept for weight compatibility).
6,624,904 parameters without and 13,004,888 with the two auxiliary classifiers (1000 classes).
"""
from __future__ import annotations

from collections import namedtuple

from .. import cat, nn
from . import register

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])
GoogLeNetOutputs.__doc__ = "Training-mode output of GoogLeNet with ``aux_logits=True``."


class BasicConv2d(nn.Module):
    """``relu(bn(conv(x)))`` with a bias-free conv and ``BatchNorm2d(eps=0.001)``."""

    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Four parallel branches concatenated on channels.

    Args:
        in_channels: C_in.
        ch1x1: outputs of the 1x1 branch.
        ch3x3red, ch3x3: 1x1 reduction width and outputs of the 3x3 branch.
        ch5x5red, ch5x5: reduction width and outputs of the "5x5" branch (3x3 kernel, as torchvision).
        pool_proj: outputs of the 1x1 projection after the 3x3/1 max pool.

    Shape: ``(N, C_in, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)``.
    """

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        return cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: avg pool to 4x4, 1x1 conv to 128, fc 2048->1024, dropout 0.7, fc.

    Shape: ``(N, C_in, H, W) -> (N, num_classes)``.
    """

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d((4, 4))
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(p=0.7)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.conv(self.pool(x)).flatten(1)  # (N, 128, 4, 4) -> (N, 2048)
        return self.fc2(self.dropout(self.relu(self.fc1(x))))


class GoogLeNet(nn.Module):
    """Inception v1: stem, nine Inception modules, global average pool, dropout 0.2, fc.

    Args:
        num_classes: outputs of ``fc`` (and of the auxiliary heads).
        in_channels: input channels of ``conv1``.
        aux_logits: add the two auxiliary classifiers (after inception4a and 4d). In training
            mode the forward then returns ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``;
            in eval mode it returns the logits only. Default False (torchvision: True).
        dropout: dropout probability before ``fc``.

    Shape:
        - Input: ``(N, C, H, W)``, 224x224 in the paper; H, W >= 32 work (e.g. 64x64)
        - Output: ``(N, num_classes)``; 1024@7x7 before the average pool at 224

    Example:
        >>> import convnet as cn
        >>> cn.models.get("googlenet").eval()(cn.randn(1, 3, 64, 64)).shape
        (1, 10)
    """

    def __init__(self, num_classes=1000, in_channels=3, aux_logits=False, dropout=0.2):
        super().__init__()
        self.aux_logits = aux_logits
        self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)

        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)

        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes)
            self.aux2 = InceptionAux(528, num_classes)
        else:
            self.aux1 = None
            self.aux2 = None

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)

        # torchvision: truncated N(0, 0.01) on [-2, 2] (no truncation in practice) for convs
        # and linears, BN weight 1 / bias 0.
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, 0.01)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))                      # 224 -> 112 -> 56
        x = self.maxpool2(self.conv3(self.conv2(x)))          # 56 -> 28
        x = self.maxpool3(self.inception3b(self.inception3a(x)))  # 256, 480 channels; 28 -> 14
        x = self.inception4a(x)                               # 512@14x14
        use_aux = self.training and self.aux1 is not None
        aux1 = self.aux1(x) if use_aux else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))  # 528@14x14
        aux2 = self.aux2(x) if use_aux else None
        x = self.maxpool4(self.inception4e(x))                # 832@7x7
        x = self.inception5b(self.inception5a(x))             # 1024@7x7
        x = self.avgpool(x).flatten(1)                        # (N, 1024, 1, 1) -> (N, 1024)
        x = self.fc(self.dropout(x))
        if use_aux:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


@register("googlenet", input_shape=(3, 224, 224))
def googlenet(num_classes=1000, in_channels=3, aux_logits=False, dropout=0.2):
    """GoogLeNet (Inception v1), torchvision layout; see :class:`GoogLeNet`."""
    return GoogLeNet(num_classes, in_channels, aux_logits, dropout)
