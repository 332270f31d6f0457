"""CIFAR-10 / CIFAR-100 from the official BINARY distribution (never the python-pickle one).

Binary format (https://www.cs.toronto.edu/~kriz/cifar.html): a file is a sequence of records, each
``label_bytes`` label bytes then 3,072 pixel bytes: the 1,024 red, then green, then blue values of
a 32x32 image, row-major. CIFAR-10 has 1 label byte per record (files ``data_batch_1.bin`` ...
``data_batch_5.bin``, ``test_batch.bin``, names in ``batches.meta.txt``); CIFAR-100 has 2 (coarse,
then fine; files ``train.bin``, ``test.bin``, names in ``fine_label_names.txt``).

Files are looked for in ``root/<folder>/``, ``root/``, ``$CONVNET_DATA/<folder>/`` and
``$CONVNET_DATA/``. Each file's size is checked before reading: a size that is not a whole number
of records, or more records than the format allows, is a ``FileFormatError`` naming the file.
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import FileFormatError
from .mnist_files import DatasetNotFoundError
from .vision_dataset import VisionDataset

__all__ = ["CIFAR10", "CIFAR100", "read_cifar_bin", "write_cifar_bin"]

PIXELS = 3 * 32 * 32
MAX_RECORDS = 60_000  # the largest official file (CIFAR-100 train.bin) has 50,000

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def read_cifar_bin(path, label_bytes=1):
    """Records of one binary file -> ``(images (N, 32, 32, 3) uint8, labels (N, label_bytes) uint8)``.

    Raises:
        FileFormatError: the size is not a positive multiple of the record size, or is larger than
            ``MAX_RECORDS`` records.
    """
    record = label_bytes + PIXELS
    size = os.path.getsize(path)
    if size == 0 or size % record:
        raise FileFormatError(f"{path}: {size} bytes is not a whole number of CIFAR records of {record} bytes "
                              f"({label_bytes} label byte(s) + {PIXELS} pixels); the file is truncated or not "
                              "a CIFAR binary file")
    if size // record > MAX_RECORDS:
        raise FileFormatError(f"{path}: {size // record} records is more than a CIFAR file holds "
                              f"(at most {MAX_RECORDS}); not a CIFAR binary file")
    raw = np.fromfile(path, dtype=np.uint8).reshape(-1, record)  # (N, label_bytes + 3072)
    images = raw[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # (N, 3, 32, 32) -> (N, 32, 32, 3)
    return np.ascontiguousarray(images), raw[:, :label_bytes].copy()


def write_cifar_bin(path, images, labels):
    """Write ``images (N, 32, 32, 3) uint8`` and ``labels (N,)`` or ``(N, k)`` as one binary file (atomic)."""
    from ..checkpoint import atomic_write

    images = np.asarray(images, np.uint8)
    labels = np.asarray(labels, np.uint8).reshape(len(images), -1)
    planes = images.transpose(0, 3, 1, 2).reshape(len(images), PIXELS)  # (N, H, W, 3) -> (N, 3*H*W)
    atomic_write(path, np.concatenate([labels, planes], axis=1).tobytes())


def _names(path, fallback):
    if not os.path.isfile(path):
        return list(fallback)
    if os.path.getsize(path) > 1 << 16:
        raise FileFormatError(f"{path}: {os.path.getsize(path)} bytes is too large for a class-name list")
    with open(path, encoding="utf-8", errors="replace") as f:
        return [line.strip() for line in f if line.strip()]


class _CIFAR(VisionDataset):
    folder = ""
    py_folder = ""
    url = ""
    label_bytes = 1
    num_classes = 10
    train_files: list = []
    test_files: list = []
    meta_file = ""
    default_classes: list = []

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform, target_transform)
        self.train = bool(train)
        files = self.train_files if self.train else self.test_files
        folder = self._find(files, download)
        parts = [read_cifar_bin(os.path.join(folder, f), self.label_bytes) for f in files]
        self.data = np.concatenate([p[0] for p in parts])  # (N, 32, 32, 3) uint8, as torchvision
        labels = np.concatenate([p[1][:, -1] for p in parts])  # the fine label is the last byte
        if labels.size and labels.max() >= self.num_classes:
            bad = next(os.path.join(folder, f) for f, p in zip(files, parts) if p[1][:, -1].max() >= self.num_classes)
            raise FileFormatError(f"{bad}: label {int(labels.max())} is out of range for {self.num_classes} classes")
        self.targets = labels.astype(np.int64).tolist()
        self.classes = _names(os.path.join(folder, self.meta_file), self.default_classes)

    def _find(self, files, download):
        bases = [self.root] + [b for b in [os.environ.get("CONVNET_DATA")] if b]
        dirs = [d for b in bases for d in (os.path.join(b, self.folder), b)]
        for d in dirs:
            if all(os.path.isfile(os.path.join(d, f)) for f in files):
                return d
        where = os.path.join(self.root, self.folder)
        py = [os.path.join(b, self.py_folder) for b in bases if os.path.isdir(os.path.join(b, self.py_folder))]
        if py:
            raise DatasetNotFoundError(
                f"{type(self).__name__}: found the python (pickle) version in {py[0]}, which is never read (loading "
                f"a pickle can run code); download the BINARY version {self.url} and extract it so that "
                f"{where}/ holds {', '.join(files)}")
        how = ("download=True cannot fetch it here (no verified download for CIFAR is built in); "
               if download else "")
        raise DatasetNotFoundError(
            f"{type(self).__name__}: {', '.join(files)} not found in any of: {', '.join(dirs)}. {how}Download the "
            f"binary version {self.url} and extract it into {self.root} (giving {where}/) or into $CONVNET_DATA")

    def _image(self, i):
        from PIL import Image

        return Image.fromarray(self.data[i])  # mode "RGB"

    def __repr__(self):
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n    Root location: {self.root}\n"
                f"    Split: {'Train' if self.train else 'Test'}")


class CIFAR10(_CIFAR):
    """CIFAR-10 (``torchvision.datasets.CIFAR10``) read from the binary version: 50,000 / 10,000 32x32 RGB images.

    Args:
        root: directory holding ``cifar-10-batches-bin/`` (or its files directly).
        train: the five training batches if True, else ``test_batch.bin``.
        transform: applied to each PIL RGB image; target_transform: to each int target.
        download: files cannot be fetched here; without them a ``DatasetNotFoundError`` says where
            to put them.

    Attributes:
        data: ``(N, 32, 32, 3)`` uint8 array; targets: list of ``N`` ints; classes: the 10 names.
    """

    folder, py_folder = "cifar-10-batches-bin", "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    train_files = [f"data_batch_{k}.bin" for k in range(1, 6)]
    test_files = ["test_batch.bin"]
    meta_file = "batches.meta.txt"
    default_classes = CIFAR10_CLASSES


class CIFAR100(_CIFAR):
    """CIFAR-100 (``torchvision.datasets.CIFAR100``), binary version; targets are the fine labels (0-99).

    Each record has a coarse and a fine label byte; ``coarse_targets`` is not kept (torchvision drops it too).
    """

    folder, py_folder = "cifar-100-binary", "cifar-100-python"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
    label_bytes, num_classes = 2, 100
    train_files, test_files = ["train.bin"], ["test.bin"]
    meta_file = "fine_label_names.txt"
    default_classes = [str(k) for k in range(100)]
