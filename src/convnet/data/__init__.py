"""Datasets, batching and augmentation (``torch.utils.data`` + ``torchvision.datasets``/``transforms`` names).

    from convnet import data
    train = data.digits("train")                  # 1,295 real 8x8 digits resized to 32x32, offline
    loader = data.DataLoader(train, batch_size=32, shuffle=True, seed=0)
    for x, y in loader:                           # x (32, 1, 32, 32) float32, y (32,) int64
        ...

``data.mnist`` / ``data.fashion_mnist`` read the IDX files from ``--data-dir``/``$CONVNET_DATA``/the
cache, or download them once with SHA-256 verification.
"""
from . import transforms  # noqa: F401
from .dataset import Dataset, ImageDataset, Subset, TensorDataset, random_split  # noqa: F401
from .sklearn_digits import digits  # noqa: F401
from .idx import read_idx, write_idx  # noqa: F401
from .loader import DataLoader, default_collate  # noqa: F401
from .mnist_files import DatasetNotFoundError, fashion_mnist, mnist  # noqa: F401

DATASETS = ("digits", "mnist", "fashion-mnist")


def get(name, split="train", root=None, download=True, size=32):
    """Dataset ``name`` (one of ``DATASETS``) at ``split``, images ``size`` x ``size`` where possible.

    MNIST-format images (28x28) are zero-padded to ``size`` when ``size > 28``.
    """
    key = name.lower().replace("_", "-")
    if key == "digits":
        return digits(split, size=size)
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
    fixed permutation (seed 0).
    """
    key = name.lower().replace("_", "-")
    if key == "digits":
        return {s: digits(s, size=size) for s in ("train", "val", "test")}
    full = get(key, "train", root, download, size)
    train, val = random_split(full, [len(full) - 5000, 5000], seed=0)
    return {"train": train, "val": val, "test": get(key, "test", root, download, size)}
