"""PyTorch twins of LeNet-5 and ResNet-20 (same state_dict keys as convnet's) for the Captum checks."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as TF
from torch import nn

import convnet as cn


class LeNet5(nn.Module):
    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("c1", nn.Conv2d(in_channels, 6, 5)), ("act1", nn.ReLU()), ("s2", nn.MaxPool2d(2, 2)),
            ("c3", nn.Conv2d(6, 16, 5)), ("act3", nn.ReLU()), ("s4", nn.MaxPool2d(2, 2)),
            ("c5", nn.Conv2d(16, 120, 5)), ("act5", nn.ReLU()),
        ]))
        self.classifier = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()), ("f6", nn.Linear(120, 84)), ("act6", nn.ReLU()),
            ("output", nn.Linear(84, num_classes)),
        ]))

    def forward(self, x):
        return self.classifier(self.features(x))


class PadShortcut(nn.Module):
    def __init__(self, pad_channels, stride=2):
        super().__init__()
        self.pad_channels, self.stride = pad_channels, stride

    def forward(self, x):
        s, p = self.stride, self.pad_channels
        return TF.pad(x[:, :, ::s, ::s], (0, 0, 0, 0, p, p))


class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = (PadShortcut((planes - in_planes) // 2, stride) if stride != 1 or in_planes != planes
                         else nn.Identity())

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self, num_classes=10, in_channels=3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        in_planes, layers = 16, []
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for s in (stride, 1, 1):
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


def twins(name, seed=0):
    """(ours, theirs) in eval mode with the same weights; ResNet-20 gets non-trivial BN statistics."""
    cn.manual_seed(seed)
    ours = cn.models.get(name)
    rng = np.random.default_rng(seed)
    for key, t in ours.state_dict().items():   # random BN statistics so BN is not the identity
        if key.endswith("running_mean"):
            t._data[...] = rng.normal(0, 0.1, t.shape)
        elif key.endswith("running_var"):
            t._data[...] = rng.uniform(0.5, 1.5, t.shape)
    theirs = {"lenet5": LeNet5, "resnet20": ResNet20}[name]()
    theirs.load_state_dict({k: torch.from_numpy(np.array(v._data)) for k, v in ours.state_dict().items()},
                           strict=True)
    ours.eval()
    theirs.eval()
    return ours, theirs
