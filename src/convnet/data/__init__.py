"""Datasets, batching and augmentation (``torch.utils.data`` + ``torchvision.datasets``/``transforms`` names).

Example::

    from convnet import data
    train = data.digits("train")                  # 1,295 real 8x8 digits resized to 32x32, offline
    loader = data.DataLoader(train, batch_size=32, shuffle=True, seed=0)
    for x, y in loader:                           # x (32, 1, 32, 32) float32, y (32,) int64
        ...

``data.mnist`` / ``data.fashion_mnist`` read the IDX files from ``--data-dir``/``$CONVNET_DATA``/the
cache, or download them once with SHA-256 verification.
"""
from . import transforms  # noqa: F401
from .dataset import (ConcatDataset, Dataset, ImageDataset, IterableDataset, Subset, TensorDataset,  # noqa: F401
                      random_split)
from .sklearn_digits import digits  # noqa: F401
from .idx import read_idx, write_idx  # noqa: F401
from .loader import DataLoader, default_collate, get_worker_info  # noqa: F401
from . import datasets, utils  # noqa: F401,E402  (torchvision-style datasets; make_grid, save_image)
from .mnist_files import DatasetNotFoundError, fashion_mnist, mnist  # noqa: F401
from .folder import ImageFolder, folder_splits  # noqa: F401
from .distributed import DistributedSampler  # noqa: F401
from .multi_digit import MultiDigit, multi_digit  # noqa: F401  (detection canvases of MNIST digits)

from .langid import langid_gnu, langid_splits  # noqa: F401,E402
from .moving_mnist import moving_mnist  # noqa: F401,E402

DATASETS = ("digits", "mnist", "fashion-mnist", "folder", "langid-gnu")  # folder: ImageFolder at root (--data-dir)
TEXT_DATASETS = ("langid-gnu",)  # items are (sentence, label); convnet.text encodes them


def is_text(name):
    """True when the dataset ``name`` holds sentences rather than images."""
    return str(name).lower().replace("_", "-") in TEXT_DATASETS


def get(name, split="train", root=None, download=True, size=32):
    """Dataset ``name`` (one of ``DATASETS``) at ``split``, images ``size`` x ``size`` where possible.

    MNIST-format images (28x28) are zero-padded to ``size`` when ``size > 28``.
    """
    key = name.lower().replace("_", "-")
    if key == "digits":
        return digits(split, size=size)
    if key == "folder":
        return _folder(root, size)[split]
    if key == "langid-gnu":
        return langid_gnu(split, root=root) if split != "val" else langid_splits(root)["val"]
    if key in ("mnist", "fashion-mnist"):
        if split not in ("train", "test"):
            raise ValueError(f"{name}: split must be 'train' or 'test', received {split!r}")
        pad = max(0, (size - 28) // 2)
        fn = mnist if key == "mnist" else fashion_mnist
        return fn(split, root=root, download=download, pad=pad)
    raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")


def load_splits(name, root=None, download=True, size=32):
    """``{"train", "val", "test"}`` datasets of ``name`` for training with validation.

    digits: its fixed stratified splits (1,295 / 143 / 359). MNIST and Fashion-MNIST: the official
    test set, and the official training set split into 55,000 train / 5,000 validation images by a
    fixed permutation (seed 0). folder: an ``ImageFolder`` at ``root`` split 70/15/15 per class
    (``folder.folder_splits``).
    """
    key = name.lower().replace("_", "-")
    if key == "digits":
        return {s: digits(s, size=size) for s in ("train", "val", "test")}
    if key == "folder":
        return _folder(root, size)
    if key == "langid-gnu":  # raw sentences; 10% of the training file for validation (seed 0)
        return langid_splits(root)
    full = get(key, "train", root, download, size)
    train, val = random_split(full, [len(full) - 5000, 5000], seed=0)
    return {"train": train, "val": val, "test": get(key, "test", root, download, size)}


def _folder(root, size):
    """The fixed splits of the image folder ``root`` (``folder.folder_splits``); ``root`` is required."""
    if root is None:
        raise ValueError("folder dataset: no folder given; pass the image folder as root (--data-dir DIR, one "
                         "sub-folder of images per class)")
    return folder_splits(root, size=size)
