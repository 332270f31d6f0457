"""``DataLoader``: batches from a dataset, optionally shuffled, augmented and loaded by worker processes.

Randomness: the shuffling permutation and every batch's augmentation come from one
``np.random.Generator``: a private one seeded by ``seed=`` (or passed as ``generator=``), else the
global ``convnet._backend.default_generator()`` that ``cn.manual_seed`` controls. Each epoch draws
its permutation and then one 63-bit ``epoch_seed``; batch ``b`` is then built with its own generator
``np.random.default_rng([epoch_seed, b])`` (see ``batch_generator``), installed as the global
generator while the batch is fetched, transformed and collated. So a batch's random augmentation
depends only on (loader seed, epoch, batch index), never on ``num_workers`` or on which worker built
it. ``state_dict()`` captures the private generator so a resumed training run draws the same batches.
"""
from __future__ import annotations

import contextlib
import math

import numpy as np

from .. import _backend
from .._backend import default_generator
from .collate import default_collate, to_tensors
from .dataset import IterableDataset, Subset
from .workers import WorkerPool, get_worker_info  # noqa: F401

__all__ = ["DataLoader", "default_collate", "get_worker_info", "batch_generator"]


def _supports_batches(dataset):
    if isinstance(dataset, Subset):
        return _supports_batches(dataset.dataset)
    return hasattr(dataset, "get_batch")


def _to_tensor(a):
    a = np.asarray(a)
    if a.dtype.kind in "iub" and a.dtype != np.bool_:
        a = a.astype(np.int64, copy=False)
    return to_tensors(a)


def batch_generator(epoch_seed, b):
    """The generator that builds batch ``b`` of the epoch whose seed is ``epoch_seed``."""
    return np.random.default_rng([int(epoch_seed), int(b)])


@contextlib.contextmanager
def _global_generator(gen):
    """Install ``gen`` as the global generator for the block (transforms called by datasets draw from it)."""
    saved = _backend._rng.gen
    _backend._rng.gen = gen
    try:
        yield gen
    finally:
        _backend._rng.gen = saved


class _Fetcher:
    """Builds one batch from its indices: picklable state of the loader, run in the main process or a worker."""

    def __init__(self, dataset, batched, collate_fn, transform):
        self.dataset, self.batched, self.collate_fn, self.transform = dataset, batched, collate_fn, transform

    def __call__(self, idx, batch_seed):
        with _global_generator(batch_generator(*batch_seed)) as gen:
            if self.batched:
                batch = list(self.dataset.get_batch(idx))
            else:
                batch = self.collate_fn([self.dataset[int(i)] for i in idx])
            if self.transform is not None:
                batch = list(batch)
                if getattr(self.transform, "uses_generator", False):
                    batch[0] = self.transform(batch[0], generator=gen)
                else:
                    batch[0] = self.transform(batch[0])
        if self.batched:
            return tuple(_to_tensor(a) for a in batch)
        return to_tensors(batch)


class DataLoader:
    """Iterate over ``dataset`` in batches (``torch.utils.data.DataLoader``'s arguments and meanings).

    Args:
        dataset: a ``Dataset``. When it is array-backed (has ``get_batch``) and no ``collate_fn`` is
            given, every batch is gathered with one indexing call; otherwise samples are fetched one
            by one and ``collate_fn`` (default: ``default_collate``, torch's rules) combines them.
        batch_size: samples per batch.
        shuffle: draw a fresh permutation each epoch.
        sampler: an iterable of indices to use instead of ``range(len(dataset))`` (then ``shuffle``
            must be False); its order is used as is.
        num_workers: 0 loads in the main process; ``N > 0`` starts ``N`` worker processes (``fork``
            on Linux) that fetch, augment and collate batches in parallel. Batches come back in the
            same order and with the same values as with ``num_workers=0``.
        collate_fn: turns a list of samples into a batch.
        pin_memory: accepted for compatibility (no effect: there is no device memory to pin for).
        drop_last: drop the final batch when it is smaller than ``batch_size``.
        timeout: seconds to wait for a batch from the workers (0: wait as long as they live).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker after seeding
            (``get_worker_info()`` is available there).
        generator: a ``numpy.random.Generator`` for shuffling and augmentation.
        prefetch_factor: batches requested ahead per worker (default 2 with workers).
        persistent_workers: keep the worker processes between epochs (until the loader is deleted).
        seed: seed of a private generator; the same seed gives the same batches in every process,
            whatever else uses the global generator. Without ``seed``/``generator`` the global
            generator (``cn.manual_seed``) is used.
        transform: applied to each batch of inputs ``x`` (``(B, C, H, W)`` array) after collation;
            transforms from ``convnet.data.transforms`` receive the batch's generator.

    Shape:
        array-backed datasets yield a tuple ``x``: ``(B, C, H, W)`` float32 (as stored), ``y``:
        ``(B,)`` int64; other datasets yield ``collate_fn``'s batch (for ``(image, label)`` samples:
        a list ``[x (B, C, H, W), y (B,)]``). ``B = batch_size`` except possibly the last batch.

    Example:
        >>> ds = TensorDataset(np.zeros((10, 1, 8, 8), np.float32), np.arange(10))
        >>> [tuple(x.shape) for x, y in DataLoader(ds, batch_size=4)]
        [(4, 1, 8, 8), (4, 1, 8, 8), (2, 1, 8, 8)]
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True, seed=None, transform=None):
        if batch_size is None or int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, received {batch_size!r}")
        if int(num_workers) != num_workers or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be a non-negative integer, received {num_workers!r}")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout must be >= 0 seconds, received {timeout!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True are mutually exclusive; received both")
        if batch_sampler is not None:
            raise ValueError("DataLoader: batch_sampler is not supported; pass batch_size (and sampler) instead")
        if prefetch_factor is not None and (num_workers == 0 or prefetch_factor < 1):
            raise ValueError(f"DataLoader: prefetch_factor needs num_workers > 0 and a value >= 1, received "
                             f"prefetch_factor={prefetch_factor!r} with num_workers={num_workers}")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers=True needs num_workers > 0")
        if generator is not None and not hasattr(generator, "permutation"):
            raise TypeError(f"DataLoader: generator must be a numpy.random.Generator, received {type(generator)}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.sampler = sampler
        self.num_workers = int(num_workers)
        self.pin_memory = bool(pin_memory)
        self.drop_last = bool(drop_last)
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = prefetch_factor if prefetch_factor is not None else (2 if num_workers else None)
        self.persistent_workers = bool(persistent_workers)
        self.seed = seed
        self.transform = transform
        self.collate_fn = collate_fn or default_collate
        self._gen = np.random.default_rng(seed) if seed is not None else generator
        self._iterable = isinstance(dataset, IterableDataset)
        self._batched = collate_fn is None and not self._iterable and _supports_batches(dataset)
        self._fetcher = _Fetcher(dataset, self._batched, self.collate_fn, transform)
        self._pool = None
        self._epoch_id = 0

    @property
    def generator(self) -> np.random.Generator:
        """The generator used for shuffling and augmentation (private if seeded, else global)."""
        return self._gen if self._gen is not None else default_generator()

    def __len__(self):
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _batches(self):
        """This epoch's ``(indices, batch_seed)`` list, drawing the permutation then the epoch seed."""
        gen = self.generator
        if self.sampler is not None:
            order = np.asarray(list(self.sampler), dtype=np.int64)
        else:
            n = len(self.dataset)
            order = gen.permutation(n) if self.shuffle else np.arange(n)
        epoch_seed = int(gen.integers(2**63))
        return [(order[b * self.batch_size:(b + 1) * self.batch_size], (epoch_seed, b)) for b in range(len(self))]

    def __iter__(self):
        if self._iterable:
            return self._iter_stream()
        batches = self._batches()
        if self.num_workers == 0:
            return (self._fetcher(idx, seed) for idx, seed in batches)
        self._epoch_id += 1
        pool = self._pool
        if pool is None or not pool.alive:
            # the workers' base seed comes from the epoch seed, so the loader's generator advances
            # exactly as with num_workers=0
            epoch_seed = batches[0][1][0] if batches else 0
            base_seed = int(np.random.default_rng([epoch_seed, 2**32]).integers(2**31))
            pool = WorkerPool(self.num_workers, self._fetcher, self.dataset, base_seed, self.worker_init_fn)
            if self.persistent_workers:
                self._pool = pool
        return _WorkerIter(pool, batches, self._epoch_id, self.prefetch_factor, self.timeout,
                           owns_pool=not self.persistent_workers)

    def _iter_stream(self):
        it, b = iter(self.dataset), 0
        epoch_seed = int(self.generator.integers(2**63))
        while True:
            with _global_generator(batch_generator(epoch_seed, b)):
                samples = [s for _, s in zip(range(self.batch_size), it)]
            if not samples or (self.drop_last and len(samples) < self.batch_size):
                return
            yield to_tensors(self.collate_fn(samples))
            b += 1

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown()

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
                f"drop_last={self.drop_last}, num_workers={self.num_workers}, seed={self.seed})")


class _WorkerIter:
    """One epoch over a ``WorkerPool``: keeps ``prefetch_factor`` batches per worker in flight, yields in order."""

    def __init__(self, pool, batches, epoch_id, prefetch_factor, timeout, owns_pool):
        self.pool, self.batches, self.epoch_id = pool, batches, epoch_id
        self.timeout, self.owns_pool = timeout, owns_pool
        self.next_send = self.next_yield = 0
        self.ready = {}
        for _ in range(prefetch_factor * pool.num_workers):
            self._send()

    def _send(self):
        b = self.next_send
        if b < len(self.batches):
            idx, seed = self.batches[b]
            self.pool.put(b % self.pool.num_workers, (self.epoch_id, b, idx, seed))
            self.next_send += 1

    def __iter__(self):
        return self

    def __next__(self):
        if self.next_yield >= len(self.batches):
            self.close()
            raise StopIteration
        try:
            while self.next_yield not in self.ready:
                epoch_id, b, out = self.pool.get(self.timeout)
                if epoch_id == self.epoch_id:  # a persistent pool may still return a dropped epoch's batches
                    self.ready[b] = out
            out = self.ready.pop(self.next_yield)
            self.next_yield += 1
            self._send()
            if hasattr(out, "reraise"):
                out.reraise()
        except BaseException:
            self.close()
            raise
        return out

    def __len__(self):
        return len(self.batches)

    def close(self):
        if self.owns_pool:
            self.pool.shutdown()

    def __del__(self):
        self.close()
