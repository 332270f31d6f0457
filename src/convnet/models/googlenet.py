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
``branch3_5x5=True`` gives the paper's true 5x5 kernel in that branch (same keys, larger
``branch3.1.conv.weight``): 7,005,832 parameters without the auxiliary classifiers (25 - 9 = 16
more taps on each of the 23,808 channel pairs of the nine 5x5 convolutions: 380,928 more). Its
convolution weights per Inception module, against the "params" column of the paper's Table 1
(K = 1024, as we read the table): 159.5K for 3a (paper 159K), 379K for 3b (380K), 366.75K for 4a
(364K), 438K for 4b (437K), 847K for 4e (840K); 4c, 4d, 5a and 5b differ by 2-7% (the table's own
arithmetic is loose: conv1 is listed as 2.7K, while 7x7x3x64 is 9.4K).

Training with the auxiliary classifiers (``aux_logits=True``): ``convnet.Trainer`` adds each
auxiliary cross-entropy with the paper's weight 0.3 to the main one.
"""
from __future__ import annotations

import functools
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
        ch5x5red, ch5x5: reduction width and outputs of the "5x5" branch.
        pool_proj: outputs of the 1x1 projection after the 3x3/1 max pool.
        branch3_kernel: kernel size of the "5x5" branch: 3 (torchvision's, default) or 5 (the paper's).

    Shape: ``(N, C_in, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)``.
    """

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj, branch3_kernel=3):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=branch3_kernel,
                                                 padding=branch3_kernel // 2))
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
        branch3_5x5: use the paper's 5x5 kernel in the third Inception branch instead of
            torchvision's 3x3 (same state-dict keys; torchvision weights need the default False).

    Shape:
        - Input: ``(N, C, H, W)``, 224x224 in the paper; H, W >= 32 work (e.g. 64x64)
        - Output: ``(N, num_classes)``; 1024@7x7 before the average pool at 224

    Example:
        >>> import convnet as cn
        >>> cn.models.get("googlenet", num_classes=10).eval()(cn.randn(1, 3, 64, 64)).shape
        (1, 10)
    """

    def __init__(self, num_classes=1000, in_channels=3, aux_logits=False, dropout=0.2, branch3_5x5=False):
        super().__init__()
        self.aux_logits = aux_logits
        k = 5 if branch3_5x5 else 3
        block = functools.partial(Inception, branch3_kernel=k)
        self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception3a = block(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = block(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception4a = block(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = block(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = block(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = block(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = block(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)

        self.inception5a = block(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = block(832, 384, 192, 384, 48, 128, 128)

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
def googlenet(num_classes=1000, in_channels=3, aux_logits=False, dropout=0.2, branch3_5x5=False):
    """GoogLeNet (Inception v1), torchvision layout; ``branch3_5x5=True``: the paper's 5x5; see :class:`GoogLeNet`."""
    return GoogLeNet(num_classes, in_channels, aux_logits, dropout, branch3_5x5)
