"""PyTorch twins of convnet's models and the weight copy that proves they are twins.

The benchmark times our model against a PyTorch model of the same architecture. To be sure the
two really are the same network, ``twin`` copies our ``state_dict`` into the PyTorch model
(``strict=True``: same keys, same shapes) and compares the two forward passes in eval mode.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class LeNet5(nn.Module):
    """LeNet-5 as ``convnet.models.lenet5`` builds it (same state_dict keys); input 1x32x32.

    C1 conv 5x5 (6) - act - S2 pool - C3 conv 5x5 (16) - act - S4 pool - C5 conv 5x5 (120) -
    act - F6 linear 120->84 - act - output linear 84->10.
    """

    def __init__(self, num_classes=10, in_channels=1, act=nn.ReLU, pool=nn.MaxPool2d):
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("c1", nn.Conv2d(in_channels, 6, 5)), ("act1", act()), ("s2", pool(2, 2)),
            ("c3", nn.Conv2d(6, 16, 5)), ("act3", act()), ("s4", pool(2, 2)),
            ("c5", nn.Conv2d(16, 120, 5)), ("act5", act()),
        ]))
        self.classifier = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()), ("f6", nn.Linear(120, 84)), ("act6", act()),
            ("output", nn.Linear(84, num_classes)),
        ]))

    def forward(self, x):
        return self.classifier(self.features(x))


class PadShortcut(nn.Module):
    """He et al.'s option-A shortcut: subsample by ``stride``, zero-pad ``p`` channels each side."""

    def __init__(self, pad_channels, stride=2):
        super().__init__()
        self.pad_channels, self.stride = pad_channels, stride

    def forward(self, x):
        s, p = self.stride, self.pad_channels
        return F.pad(x[:, :, ::s, ::s], (0, 0, 0, 0, p, p))


class BasicBlock(nn.Module):
    """CIFAR basic block: two 3x3 conv-BN layers, identity or option-A shortcut."""

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride != 1 or in_planes != planes:
            self.shortcut = PadShortcut((planes - in_planes) // 2, stride)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNetCifar(nn.Module):
    """ResNet-(6n+2) for 32x32 inputs (n=3: ResNet-20, 269,722 parameters), as ``convnet.models.resnet20``."""

    def __init__(self, n=3, num_classes=10, in_channels=3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        in_planes, layers = 16, []
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for s in [stride] + [1] * (n - 1):
                blocks.append(BasicBlock(in_planes, planes, s))
                in_planes = planes
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def twin(ours, theirs, x):
    """Copy ``ours``' weights into ``theirs`` and compare eval-mode outputs on ``x`` (NumPy).

    Returns (ok: bool, message). ``ok`` is False when keys/shapes differ or outputs disagree.
    """
    import convnet as cn

    sd = {k: torch.from_numpy(np.array(v.data if hasattr(v, "data") else v))
          for k, v in ours.state_dict().items()}
    try:
        theirs.load_state_dict(sd, strict=True)
    except RuntimeError as exc:
        return False, f"state_dict mismatch: {str(exc).splitlines()[0]} ..."
    ours.eval()
    theirs.eval()
    with cn.no_grad():
        a = ours(cn.tensor(x))._data
    with torch.no_grad():
        b = theirs(torch.from_numpy(x)).numpy()
    ours.train()
    theirs.train()
    err = float(np.max(np.abs(a - b))) if a.shape == b.shape else float("inf")
    return err < 1e-3, f"max |ours - torch| = {err:.2e} on eval forward"
