"""DataLoader workers' transport: large batches through /dev/shm files (same values, none left behind), small
ones pickled; each worker's BLAS limited to one thread."""
import gc
import os

import numpy as np
import pytest

from convnet.data import DataLoader, Dataset, TensorDataset
from convnet.data import transforms as T
from convnet.data import workers
from helpers import assert_same

pytestmark = pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="needs /dev/shm (Linux)")


def _leftovers():
    gc.collect()
    return [f for f in os.listdir("/dev/shm") if f.startswith(f"convnet-loader-{os.getpid()}-")]


def _big():  # 40 x (1, 32, 32) float32: a batch of 20 is 80 KiB, above the 64 KiB threshold
    x = np.random.default_rng(0).standard_normal((40, 1, 32, 32)).astype(np.float32)
    return TensorDataset(x, np.arange(40))


def test_large_batches_come_through_shared_memory_with_the_same_values(monkeypatch):
    made = []
    real = workers._Shared.take
    monkeypatch.setattr(workers._Shared, "take", lambda self: made.append(self.path) or real(self))
    aug = T.Compose([T.RandomAffine(10, translate=(0.1, 0.1)), T.ElasticTransform(34.0, 4.0)])
    mk = lambda n: DataLoader(_big(), batch_size=20, shuffle=True, seed=2, num_workers=n, transform=aug)  # noqa: E731
    for (xa, ya), (xb, yb) in zip(mk(0), mk(2)):
        assert_same(xa, xb)  # float32 images, bit for bit
        assert_same(ya, yb)  # int64 labels (pickled: below the threshold)
    assert len(made) == 2 and all(p.startswith("/dev/shm/convnet-loader-") for p in made)  # the two x batches
    assert _leftovers() == []


def test_no_files_left_after_break_and_after_a_persistent_pool_is_dropped():
    loader = DataLoader(_big(), batch_size=4, num_workers=2)  # 10 batches, 4 in flight
    for b, _ in enumerate(loader):
        if b == 1:
            break
    assert _leftovers() == []
    persistent = DataLoader(_big(), batch_size=4, num_workers=2, persistent_workers=True)
    next(iter(persistent))
    del persistent
    assert _leftovers() == []


class _Threads(Dataset):
    """Each sample reports the largest BLAS / OpenMP pool size seen by the process that loads it."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        from threadpoolctl import threadpool_info

        return np.float32(max([p["num_threads"] for p in threadpool_info()] or [1]))


def test_each_worker_uses_one_blas_thread():
    pytest.importorskip("threadpoolctl")
    got = np.concatenate([b.numpy() for b in DataLoader(_Threads(), batch_size=2, num_workers=2)])
    assert_same(got, np.ones(4, np.float32))
