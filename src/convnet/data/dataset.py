"""Datasets: indexable collections of ``(image, label)`` samples, as in ``torch.utils.data``.

Array-backed datasets (``TensorDataset``, ``ImageDataset``, and ``Subset`` of them) also
implement ``get_batch(indices)``, which fetches a whole batch with one fancy-indexing call so
that the ``DataLoader`` never loops over samples in Python.
"""
from __future__ import annotations

import numpy as np

from .._backend import array_module, default_generator
from ..tensor import Tensor

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "ImageDataset", "Subset", "ConcatDataset",
           "random_split"]


def _as_numpy(x):
    return np.asarray(x._data if isinstance(x, Tensor) else x)


class Dataset:
    """Base class: subclasses implement ``__getitem__(i) -> sample`` and ``__len__``.

    Override ``get_batch(indices) -> tuple of arrays`` when the data live in arrays, so batches
    are gathered in one vectorised step.
    """

    def __getitem__(self, index):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not implement __getitem__")

    def __len__(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not implement __len__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses implement ``__iter__`` (no indexing, no ``len`` needed).

    The ``DataLoader`` batches it in order in the main process (``num_workers`` is not used for it).
    """

    def __iter__(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not implement __iter__")

    def __add__(self, other):
        raise TypeError("IterableDataset: concatenation is not supported")


class TensorDataset(Dataset):
    """Samples are the ``i``-th rows of the given arrays (NumPy arrays or ``cn.Tensor`` objects).

    Args:
        *arrays: arrays with the same first dimension ``N``, e.g. images ``(N, C, H, W)`` and
            labels ``(N,)``.

    Example:
        >>> ds = TensorDataset(np.zeros((4, 1, 8, 8), np.float32), np.arange(4))
        >>> len(ds), ds[1][1]
        (4, tensor(1))
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset: expected at least one array, received none")
        self.arrays = tuple(_as_numpy(a) for a in arrays)
        n = len(self.arrays[0])
        for i, a in enumerate(self.arrays):
            if a.ndim == 0 or len(a) != n:
                raise ValueError(f"TensorDataset: every array needs the same first dimension; array 0 has "
                                 f"{n} rows but array {i} has shape {a.shape}")

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        """Row ``index`` of every array, as tensors sharing the arrays' memory (as torch)."""
        xp = [array_module(a) for a in self.arrays]
        return tuple(Tensor._wrap(m.asarray(a[index]), False) for m, a in zip(xp, self.arrays))

    def get_batch(self, indices):
        """Gather rows ``indices`` (1-d int array) of every array in one indexing call each."""
        return tuple(a[indices] for a in self.arrays)


class ImageDataset(Dataset):
    """Labelled images kept as ``uint8`` or ``float32`` and converted batch by batch.

    A batch is gathered with one indexing call, then (in this order) scaled to ``[0, 1]`` if the
    storage is ``uint8``, zero-padded by ``pad`` pixels on each side (MNIST's 28x28 -> 32x32 for
    LeNet-5), and normalised per channel: ``(x - mean) / std``.

    Args:
        images: ``(N, C, H, W)`` array, ``uint8`` in ``[0, 255]`` or float in ``[0, 1]``.
        labels: ``(N,)`` integer class indices.
        mean, std: per-channel normalisation (sequences of length ``C``), or None for none.
        pad: pixels of zero padding added on every side before normalising.
        classes: class names, index ``k`` names label ``k``.
        name: dataset name recorded in checkpoints (``"digits"``, ``"mnist"``, ...).

    Attributes:
        labels: ``(N,)`` int64.
        images: the whole dataset converted, ``(N, C, H + 2*pad, W + 2*pad)`` float32 (computed on
            access; use ``get_batch`` for large datasets).
        normalization: ``{"mean": [...], "std": [...]}`` as used for training, for checkpoints.
        input_shape: ``(C, H_out, W_out)`` of one converted image.
    """

    def __init__(self, images, labels, mean=None, std=None, pad=0, classes=None, name="images"):
        images, labels = _as_numpy(images), _as_numpy(labels)
        if images.ndim != 4:
            raise ValueError(f"ImageDataset: images must be (N, C, H, W), received shape {images.shape}")
        if labels.shape != (len(images),):
            raise ValueError(f"ImageDataset: labels must be ({len(images)},) to match images {images.shape}, "
                             f"received shape {labels.shape}")
        c = images.shape[1]
        self._raw = images
        self.labels = labels.astype(np.int64, copy=False)
        self.pad = int(pad)
        self.mean = None if mean is None else np.asarray(mean, np.float32).reshape(1, c, 1, 1)
        self.std = None if std is None else np.asarray(std, np.float32).reshape(1, c, 1, 1)
        self.classes = list(classes) if classes is not None else [str(k) for k in range(int(labels.max()) + 1)]
        self.name = name

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        x, y = self.get_batch(np.asarray([index]))
        return x[0], y[0]

    def _convert(self, raw):
        x = raw.astype(np.float32)
        if raw.dtype == np.uint8:
            x *= np.float32(1 / 255)
        if self.pad:
            p = self.pad
            x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))  # (B, C, H + 2p, W + 2p)
        if self.mean is not None:
            x -= self.mean
            x /= self.std
        return x

    def get_batch(self, indices):
        return self._convert(self._raw[indices]), self.labels[indices]

    @property
    def images(self):
        return self._convert(self._raw)

    @property
    def normalization(self):
        if self.mean is None:
            return None
        return {"mean": self.mean.ravel().tolist(), "std": self.std.ravel().tolist()}

    @property
    def input_shape(self):
        _, c, h, w = self._raw.shape
        return (c, h + 2 * self.pad, w + 2 * self.pad)

    @property
    def num_classes(self):
        return len(self.classes)

    def __repr__(self):
        return (f"ImageDataset(name={self.name!r}, n={len(self)}, input_shape={self.input_shape}, "
                f"classes={self.num_classes})")


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (in that order); keeps vectorised batching."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)
        if self.indices.ndim != 1:
            raise ValueError(f"Subset: indices must be 1-d, received shape {self.indices.shape}")
        if len(self.indices) and (self.indices.min() < -len(dataset) or self.indices.max() >= len(dataset)):
            raise ValueError(f"Subset: indices must lie in [0, {len(dataset)}), received range "
                             f"[{self.indices.min()}, {self.indices.max()}]")

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def __getattr__(self, name):
        # Dataset-level metadata (classes, normalization, input_shape, name) passes through.
        if name in ("classes", "normalization", "input_shape", "name", "num_classes"):
            return getattr(self.dataset, name)
        raise AttributeError(f"'Subset' object has no attribute '{name}'")

    @property
    def labels(self):
        return np.asarray(self.dataset.labels)[self.indices]

    def get_batch(self, indices):
        return self.dataset.get_batch(self.indices[indices])


class ConcatDataset(Dataset):
    """The samples of ``datasets`` one after the other (``torch.utils.data.ConcatDataset``).

    Attributes:
        cumulative_sizes: running totals of the lengths, e.g. ``[3, 8]`` for lengths 3 and 5.
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: expected at least one dataset, received none")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset: datasets must be indexable, received an IterableDataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        index = int(index)
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for length {n}")
        index %= n
        k = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        start = self.cumulative_sizes[k - 1] if k else 0
        return self.datasets[k][index - start]


def _permutation(n, generator, seed):
    if seed is not None:
        return np.random.default_rng(seed).permutation(n)
    if generator is None:
        return default_generator().permutation(n)
    gen = generator if hasattr(generator, "permutation") else getattr(generator, "gen", None)
    if gen is None or not hasattr(gen, "permutation"):
        raise TypeError(f"random_split: generator must be a numpy.random.Generator, received {type(generator)}")
    return gen.permutation(n)


def random_split(dataset, lengths, generator=None, seed=None):
    """Split ``dataset`` into non-overlapping ``Subset`` objects of the given lengths.

    Args:
        lengths: integers summing to ``len(dataset)``, or fractions summing to 1 (each split gets
            ``floor(n * f)``, and the remainder goes one by one to the first splits, as in PyTorch).
        generator: a ``numpy.random.Generator`` to draw the permutation from (torch's argument).
        seed: fixes the permutation independently of the global generator; without ``seed`` or
            ``generator`` the global generator (``cn.manual_seed``) is used.

    Example:
        >>> train, val = random_split(TensorDataset(np.arange(10)), [0.8, 0.2], seed=0)
        >>> len(train), len(val)
        (8, 2)
    """
    n = len(dataset)
    lengths = list(lengths)
    if all(0 <= f <= 1 for f in lengths) and abs(sum(lengths) - 1) < 1e-6 and sum(lengths) != n:
        counts = [int(np.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n or any(int(k) != k or k < 0 for k in lengths):
        raise ValueError(f"random_split: lengths must be non-negative integers summing to len(dataset)={n} "
                         f"(or fractions summing to 1), received {lengths}")
    perm = _permutation(n, generator, seed)
    out, start = [], 0
    for k in lengths:
        out.append(Subset(dataset, perm[start:start + int(k)]))
        start += int(k)
    return out
