"""torchvision-style datasets: ``datasets.MNIST(root, train=True, transform=None, ...)`` and friends.

Each sample is ``(PIL image, int target)`` before ``transform`` / ``target_transform``, exactly as in
``torchvision.datasets``; the pixels stay ``uint8`` in memory and are converted one sample at a time
by the transform (usually ``Compose([ToTensor(), Normalize(...)])``).

    from convnet.data import datasets, transforms
    train = datasets.MNIST("data", train=True, transform=transforms.ToTensor())
    x, y = train[0]            # x (1, 28, 28) float32 in [0, 1], y an int

MNIST files are looked for in ``root/MNIST/raw/`` (torchvision's layout), ``root/mnist/``, ``root/``,
then ``$CONVNET_DATA`` and the cache (see ``mnist_files``); ``download=True`` fetches them there.
CIFAR-10/100 (binary version) live in ``cifar.py`` and are re-exported here.
"""
from __future__ import annotations

import os

from ..tensor import Tensor
from .cifar import CIFAR10, CIFAR100  # noqa: F401
from .folder import ImageFolder  # noqa: F401
from .mnist_files import find_files, load_idx_dataset
from .vision_dataset import VisionDataset

__all__ = ["VisionDataset", "MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "ImageFolder"]


class MNIST(VisionDataset):
    """MNIST handwritten digits (``torchvision.datasets.MNIST``): 60,000 train / 10,000 test 28x28 images.

    Args:
        root: directory holding ``MNIST/raw/`` (torchvision's layout), ``mnist/`` or the four ``.gz``
            IDX files themselves; ``$CONVNET_DATA`` and the cache are searched after it.
        train: the training split if True, else the test split.
        transform: applied to each PIL image (mode ``"L"``), e.g. ``transforms.ToTensor()``.
        target_transform: applied to each int target.
        download: fetch missing files from the official mirrors (SHA-256 verified).

    Attributes:
        data: ``(N, 28, 28)`` uint8 ``cn.Tensor``.
        targets: ``(N,)`` int64 ``cn.Tensor``.
        classes: torchvision's class names (``"0 - zero"`` ... ``"9 - nine"``).
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]
    _name = "mnist"

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform, target_transform)
        self.train = bool(train)
        split = "train" if self.train else "test"
        where = self.root
        if where is not None:
            raw = os.path.join(where, type(self).__name__, "raw")
            found = find_files(self._name, split, raw) if os.path.isdir(raw) else None
            if found is not None and os.path.commonpath([os.path.abspath(found[0]), os.path.abspath(raw)]) \
                    == os.path.abspath(raw):
                where = raw
        images, labels = load_idx_dataset(self._name, split, where, download)
        self.data = Tensor._wrap(images, False)  # (N, 28, 28) uint8
        self.targets = Tensor._wrap(labels.astype("int64"), False)  # (N,)
        self._labels = self.targets._data

    def _image(self, i):
        from PIL import Image

        return Image.fromarray(self.data._data[i])  # mode "L"

    def __getitem__(self, index):
        img = self._image(int(index))
        target = int(self._labels[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando, ``torchvision.datasets.FashionMNIST``): MNIST's format with 10 clothing classes."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
    _name = "fashion-mnist"
