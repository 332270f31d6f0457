"""The 1,797 real 8x8 handwritten digits that ship inside scikit-learn (works offline).

This is the UCI "Optical Recognition of Handwritten Digits" test set (43 writers; pixel values
0..16, ink bright on a dark background, like MNIST) as bundled with scikit-learn.

Preparation, fixed so that every run and every machine sees the same data:

1. pixels scaled to ``[0, 1]`` (divide by 16) and resized to ``size x size`` (default 32, LeNet-5's
   input) with bilinear interpolation (``scipy.ndimage.zoom``, pixel-area aligned);
2. a fixed *stratified* split (NumPy generator seeded with 0, per class): 20% ``test`` (359 images),
   then 10% of the rest ``val`` (143), the remaining 1,295 ``train``; ``trainval`` = ``train`` +
   ``val`` (1,438). Every class keeps its share in every split;
3. normalisation ``(x - mean) / std`` with the mean and standard deviation of all ``trainval``
   pixels (one value each, the image has one channel), applied to every split. The values are
   stored in the dataset's ``normalization`` so checkpoints can reproduce them at predict time.
"""
from __future__ import annotations

import importlib.util
import os

import numpy as np

from .dataset import ImageDataset

__all__ = ["digits", "DIGITS_SPLITS"]

DIGITS_SPLITS = ("train", "val", "test", "trainval")
TEST_FRACTION = 0.2
VAL_FRACTION = 0.1
SPLIT_SEED = 0

_cache = {}


def _load_raw():
    """``(images (1797, 8, 8) float64 in 0..16, labels (1797,) int64)`` from scikit-learn's copy."""
    spec = importlib.util.find_spec("sklearn")
    path = None
    if spec is not None and spec.submodule_search_locations:
        path = os.path.join(list(spec.submodule_search_locations)[0], "datasets", "data", "digits.csv.gz")
    if path and os.path.exists(path):
        # Same file and parsing as sklearn.datasets.load_digits, without importing all of sklearn (~1 s).
        table = np.loadtxt(path, delimiter=",")
        return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:  # pragma: no cover - sklearn is a dependency
        raise RuntimeError("digits: scikit-learn is required for the embedded digits dataset "
                           "(pip install scikit-learn)") from e
    d = load_digits()
    return d.images, d.target.astype(np.int64)


def stratified_split(labels, fraction, seed):
    """Indices ``(rest, held_out)``: ``round(fraction * count)`` of each class go to ``held_out``."""
    gen = np.random.default_rng(seed)
    held = []
    for k in np.unique(labels):
        idx = np.flatnonzero(labels == k)
        held.append(gen.permutation(idx)[: int(round(fraction * len(idx)))])
    held = np.sort(np.concatenate(held))
    rest = np.setdiff1d(np.arange(len(labels)), held)
    return rest, held


def _prepared(size):
    if size not in _cache:
        from .transforms import resize

        raw, labels = _load_raw()
        x = (raw / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8) in [0, 1]
        if size != 8:
            x = np.clip(resize(x, (size, size)), 0.0, 1.0)  # (1797, 1, size, size)
        trainval, test = stratified_split(labels, TEST_FRACTION, SPLIT_SEED)
        tr, va = stratified_split(labels[trainval], VAL_FRACTION, SPLIT_SEED)
        splits = {"train": trainval[tr], "val": trainval[va], "test": test, "trainval": trainval}
        mean, std = float(x[trainval].mean()), float(x[trainval].std())
        _cache[size] = (x, labels, splits, mean, std)
    return _cache[size]


def digits(split="train", size=32, normalize=True):
    """The scikit-learn digits as an ``ImageDataset`` of ``(1, size, size)`` images and labels 0-9.

    Args:
        split: ``"train"`` (1,295), ``"val"`` (143), ``"test"`` (359) or ``"trainval"`` (1,438).
        size: side of the resized square image (32 for LeNet-5; 8 keeps the original pixels).
        normalize: apply the ``trainval`` mean/std normalisation (see the module docstring).

    Returns:
        ``ImageDataset`` with ``.images`` ``(N, 1, size, size)`` float32, ``.labels`` ``(N,)``
        int64, ``.normalization`` and ``.classes``.

    Example:
        >>> ds = digits("test")
        >>> ds.images.shape, ds.labels[:5]
        ((359, 1, 32, 32), array([...]))
    """
    if split not in DIGITS_SPLITS:
        raise ValueError(f"digits: split must be one of {', '.join(DIGITS_SPLITS)}; received {split!r}")
    if int(size) != size or size < 1:
        raise ValueError(f"digits: size must be a positive integer, received {size!r}")
    x, labels, splits, mean, std = _prepared(int(size))
    idx = splits[split]
    return ImageDataset(x[idx], labels[idx], mean=[mean] if normalize else None, std=[std] if normalize else None,
                        classes=[str(k) for k in range(10)], name="digits")
