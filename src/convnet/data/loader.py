"""``DataLoader``: batches of ``(x, y)`` tensors from a dataset, optionally shuffled and augmented.

Randomness (shuffling and augmentation) comes from one ``np.random.Generator``: a private one
seeded by ``seed=`` (reproducible and independent of everything else), or else the global
``convnet._backend.default_generator()`` that ``cn.manual_seed`` controls. ``state_dict()``
captures the private generator so a resumed training run draws the same batches.
"""
from __future__ import annotations

import math

import numpy as np

from .._backend import default_generator
from ..tensor import Tensor
from .dataset import Subset

__all__ = ["DataLoader", "default_collate"]


def default_collate(samples):
    """Stack a list of samples ``[(x_0, y_0), (x_1, y_1), ...]`` into arrays ``(X, Y)``."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(default_collate([s[i] for s in samples]) for i in range(len(first)))
    return np.stack([np.asarray(s._data if isinstance(s, Tensor) else s) for s in samples])


def _supports_batches(dataset):
    if isinstance(dataset, Subset):
        return _supports_batches(dataset.dataset)
    return hasattr(dataset, "get_batch")


def _to_tensor(a):
    a = np.asarray(a)
    if a.dtype.kind in "iub" and a.dtype != np.bool_:
        a = a.astype(np.int64, copy=False)
    return Tensor._wrap(a, False)


class DataLoader:
    """Iterate over ``dataset`` in batches of ``(x, y)`` ``cn.Tensor``s.

    Args:
        dataset: a ``Dataset``. When it is array-backed (has ``get_batch``) every batch is gathered
            with one indexing call; otherwise samples are fetched one by one and ``collate_fn``
            stacks them.
        batch_size: samples per batch.
        shuffle: draw a fresh permutation each epoch.
        drop_last: drop the final batch when it is smaller than ``batch_size``.
        seed: seed of a private generator for shuffling and ``transform``; the same seed gives the
            same batches in every process, whatever else uses the global generator. Without it the
            global generator (``cn.manual_seed``) is used.
        transform: applied to each batch of inputs ``x`` (``(B, C, H, W)`` NumPy array). Transforms
            from ``convnet.data.transforms`` receive the loader's generator.
        collate_fn: turns a list of samples into a tuple of arrays (default: ``np.stack`` per field).

    Shape:
        yields ``x``: ``(B, C, H, W)`` float32 (as stored), ``y``: ``(B,)`` int64, with
        ``B = batch_size`` except possibly the last batch.

    Example:
        >>> ds = TensorDataset(np.zeros((10, 1, 8, 8), np.float32), np.arange(10))
        >>> [tuple(x.shape) for x, y in DataLoader(ds, batch_size=4)]
        [(4, 1, 8, 8), (4, 1, 8, 8), (2, 1, 8, 8)]
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None, transform=None,
                 collate_fn=None):
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, received {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.transform = transform
        self.collate_fn = collate_fn or default_collate
        self._gen = np.random.default_rng(seed) if seed is not None else None
        self._batched = collate_fn is None and _supports_batches(dataset)

    @property
    def generator(self) -> np.random.Generator:
        """The generator used for shuffling and augmentation (private if seeded, else global)."""
        return self._gen if self._gen is not None else default_generator()

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _fetch(self, idx):
        if self._batched:
            return self.dataset.get_batch(idx)
        return self.collate_fn([self.dataset[int(i)] for i in idx])

    def __iter__(self):
        gen = self.generator
        n = len(self.dataset)
        order = gen.permutation(n) if self.shuffle else np.arange(n)
        for b in range(len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            batch = list(self._fetch(idx))
            if self.transform is not None:
                if getattr(self.transform, "uses_generator", False):
                    batch[0] = self.transform(batch[0], generator=gen)
                else:
                    batch[0] = self.transform(batch[0])
            yield tuple(_to_tensor(a) for a in batch)

    # ------------------------------------------------------------------ resumable state
    def state_dict(self):
        """The private generator's state (``None`` when the global generator is used)."""
        return {"seed": self.seed, "generator": None if self._gen is None else self._gen.bit_generator.state}

    def load_state_dict(self, state):
        if state.get("generator") is not None:
            bg = getattr(np.random, state["generator"]["bit_generator"])()
            bg.state = state["generator"]
            self._gen = np.random.Generator(bg)

    def __repr__(self):
        return (f"DataLoader(n={len(self.dataset)}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, seed={self.seed})")
