"""``DistributedSampler``: each rank's share of a dataset's indices (``torch.utils.data.DistributedSampler``).

The index arithmetic is torch's: the (optionally shuffled) indices are padded by repeating their
start until the total divides by ``num_replicas`` (or cut to a multiple with ``drop_last``), then
rank ``r`` takes every ``num_replicas``-th index starting at ``r``. Shuffling draws
``numpy.random.default_rng(seed + epoch).permutation(len(dataset))`` (torch draws ``randperm``
from its own generator, so the shuffled orders differ from torch's while the arithmetic is the
same); call ``set_epoch(epoch)`` before each epoch for a new order, identical on every rank.
"""
from __future__ import annotations

import math
import sys

import numpy as np


def _group_default(name, value, attr):
    if value is not None:
        return int(value)
    dist = sys.modules.get("convnet.distributed")
    if dist is None or not dist.is_initialized():
        raise RuntimeError(f"DistributedSampler: {name} was not given and no process group is initialized "
                           "(call convnet.distributed.init_process_group, or pass num_replicas and rank)")
    return getattr(dist, attr)()


class DistributedSampler:
    """Iterate over this rank's indices of ``dataset`` (pass it as ``DataLoader(sampler=...)``).

    Args:
        dataset: anything with ``len()``.
        num_replicas: number of ranks (default: the process group's world size).
        rank: this rank (default: the process group's rank).
        shuffle: a fresh permutation per epoch (seeded by ``seed + epoch``).
        seed: the shuffling seed; must be the same on every rank.
        drop_last: drop the tail so every rank gets ``floor(len / num_replicas)`` indices; otherwise pad
            by repeating indices to ``ceil(len / num_replicas)`` each.

    Example:
        >>> list(DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False))
        [1, 3, 0]
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        num_replicas = _group_default("num_replicas", num_replicas, "get_world_size")
        rank = _group_default("rank", rank, "get_rank")
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be at least 1, received {num_replicas}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)  # drop the tail
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            indices = np.arange(n)
        if not self.drop_last:
            pad = self.total_size - n
            if pad:  # repeat the start of the order (as often as needed) to reach total_size
                indices = np.concatenate([indices, np.resize(indices, pad)]) if pad > n else \
                    np.concatenate([indices, indices[:pad]])
        else:
            indices = indices[:self.total_size]
        assert len(indices) == self.total_size
        mine = indices[self.rank:self.total_size:self.num_replicas]  # every num_replicas-th, from rank
        return iter(mine.tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Use the order of ``epoch`` (the same on every rank) in the next iteration."""
        self.epoch = int(epoch)

    def __repr__(self):
        return (f"DistributedSampler(num_replicas={self.num_replicas}, rank={self.rank}, shuffle={self.shuffle}, "
                f"seed={self.seed}, drop_last={self.drop_last})")


__all__ = ["DistributedSampler"]
