"""DataLoader(num_workers=N): same batches as in-process, errors re-raised, no processes left; collate vs torch."""
import gc
import multiprocessing as mp
from collections import namedtuple

import numpy as np
import pytest

import convnet as cn
from convnet.data import DataLoader, Dataset, TensorDataset, default_collate, get_worker_info
from convnet.data import transforms as T
from helpers import assert_same


class _Augmented(Dataset):
    """Per-sample random augmentation drawn from the global generator, as torchvision transforms do."""

    def __init__(self, n=23, fail_at=None):
        self.x = np.arange(n * 12, dtype=np.float32).reshape(n, 1, 3, 4)
        self.flip = T.RandomHorizontalFlip(0.5)
        self.fail_at = fail_at

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        if i == self.fail_at:
            raise ValueError(f"sample {i} is unreadable")
        noise = cn._backend.default_generator().standard_normal(2).astype(np.float32)
        return {"x": self.flip(self.x[i]), "noise": noise, "i": i}


def _epochs(loader, n=2):
    return [[{k: v.numpy() for k, v in b.items()} for b in loader] for _ in range(n)]


def _no_children():
    gc.collect()
    assert mp.active_children() == []


@pytest.mark.parametrize("shuffle", [False, True])
def test_workers_give_the_batches_of_num_workers_0(shuffle):
    ref = _epochs(DataLoader(_Augmented(), batch_size=4, shuffle=shuffle, seed=3))
    for n in (1, 2, 3):
        got = _epochs(DataLoader(_Augmented(), batch_size=4, shuffle=shuffle, seed=3, num_workers=n))
        assert len(got[0]) == len(ref[0]) == 6
        for e in range(2):
            for a, b in zip(got[e], ref[e]):
                assert_same(a, b)
    # the augmentation is random: two epochs differ and some samples are flipped
    assert not np.array_equal(ref[0][0]["noise"], ref[1][0]["noise"])
    _no_children()


def test_unseeded_loader_follows_manual_seed_with_workers():
    def run(workers):
        cn.manual_seed(11)
        return _epochs(DataLoader(_Augmented(), batch_size=5, shuffle=True, num_workers=workers), 1)[0]

    for a, b in zip(run(2), run(0)):
        assert_same(a, b)


def test_array_dataset_fast_path_with_workers_and_batch_transform():
    ds = TensorDataset(np.random.default_rng(0).standard_normal((30, 1, 4, 4)).astype(np.float32), np.arange(30))
    mk = lambda n: DataLoader(ds, batch_size=7, shuffle=True, seed=1, num_workers=n,  # noqa: E731
                              transform=T.RandomHorizontalFlip(0.5))
    for (xa, ya), (xb, yb) in zip(mk(0), mk(2)):
        assert_same(xa, xb)
        assert_same(ya, yb)
    _no_children()


def test_worker_error_is_raised_in_main_process_with_traceback():
    loader = DataLoader(_Augmented(fail_at=9), batch_size=4, num_workers=2)
    with pytest.raises(ValueError) as err:
        list(loader)
    msg = str(err.value)
    assert "sample 9 is unreadable" in msg and "DataLoader worker process" in msg
    assert "__getitem__" in msg and "Traceback" in msg  # the worker's traceback text
    _no_children()


def test_no_processes_left_after_end_break_and_gc():
    loader = DataLoader(_Augmented(), batch_size=2, num_workers=2)
    assert sum(1 for _ in loader) == 12
    _no_children()
    for _ in loader:
        break
    _no_children()
    it = iter(loader)
    next(it)
    assert len(mp.active_children()) == 2
    del it
    _no_children()


def test_persistent_workers_stay_between_epochs_and_go_with_the_loader():
    loader = DataLoader(_Augmented(), batch_size=4, num_workers=2, persistent_workers=True, seed=0)
    ref = _epochs(DataLoader(_Augmented(), batch_size=4, seed=0))
    first = list(loader)
    pids = sorted(p.pid for p in mp.active_children())
    assert len(pids) == 2
    for _ in loader:  # a broken-off epoch must not leak its batches into the next one
        break
    second = list(loader)
    assert sorted(p.pid for p in mp.active_children()) == pids
    for a, b in zip(first + second, ref[0] + _epochs(DataLoader(_Augmented(), batch_size=4, seed=0), 3)[2]):
        assert_same({k: v.numpy() for k, v in a.items()}, b)
    del loader
    _no_children()


class _WhoAmI(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return np.array([info.id, info.num_workers, int(info.dataset is self), _INIT.get("id", -1)])


_INIT = {}


def _init(worker_id):
    _INIT["id"] = worker_id


def test_worker_init_fn_and_get_worker_info():
    assert get_worker_info() is None
    batches = [b.numpy() for b in DataLoader(_WhoAmI(), batch_size=2, num_workers=2, worker_init_fn=_init)]
    # batch b is built by worker b % 2, which saw its own id in worker_init_fn
    for b, arr in enumerate(batches):
        assert arr.tolist() == [[b % 2, 2, 1, b % 2]] * 2
    assert _INIT == {}  # worker_init_fn ran in the workers only
    _no_children()


def test_loader_attributes_and_bad_arguments():
    ds = _Augmented(10)
    loader = DataLoader(ds, batch_size=4, num_workers=1, pin_memory=True, shuffle=True)
    assert len(loader) == 3 and loader.dataset is ds and loader.batch_size == 4
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="persistent_workers"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="sampler"):
        DataLoader(ds, sampler=[0, 1], shuffle=True)


# ---------------------------------------------------------------- default_collate vs torch
def _same_nested(ours, theirs):
    import torch

    if isinstance(theirs, torch.Tensor):
        assert_same(ours, theirs)
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs)
        for k in theirs:
            _same_nested(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same_nested(a, b)
    else:
        assert ours == theirs


Pair = namedtuple("Pair", "a b")


def _samples(rng, k):
    return [{"img": rng.standard_normal((2, 3)).astype(np.float32),
             "label": int(rng.integers(10)), "weight": float(rng.random()),
             "flag": bool(k % 2), "name": f"s{k}", "u8": rng.integers(0, 255, (4,)).astype(np.uint8),
             "scalar": np.float64(rng.random()),
             "nested": (rng.standard_normal(3), [k, k + 1], {"z": np.int32(k)}),
             "pair": Pair(np.arange(2, dtype=np.int16) + k, 0.5 * k)} for k in range(3)]


def test_default_collate_matches_torch_on_dicts_and_nesting(rng):
    import torch
    from torch.utils.data import default_collate as torch_collate

    samples = _samples(rng, 3)
    _same_nested(default_collate(samples), torch_collate(samples))
    ours = [(cn.tensor(s["img"]), s["label"]) for s in samples]
    theirs = [(torch.tensor(s["img"]), s["label"]) for s in samples]
    _same_nested(default_collate(ours), torch_collate(theirs))


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1]])
    with pytest.raises(TypeError, match="ToTensor"):
        default_collate([object(), object()])


class _MallocSetting(Dataset):
    """Reports whether ``_keep_freed_memory`` ran in the process that loads the sample."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        from convnet.data import workers

        return np.float32(getattr(workers, "_test_kept", False))


def test_workers_keep_freed_memory_and_the_main_process_does_not(monkeypatch):
    import sys

    from convnet.data import workers

    if sys.platform.startswith("linux") and "glibc" in " ".join(__import__("platform").libc_ver()):
        assert workers._keep_freed_memory() is True  # glibc accepts both mallopt settings
    real = workers._keep_freed_memory

    def recording():
        workers._test_kept = True
        return real()

    monkeypatch.setattr(workers, "_keep_freed_memory", recording)
    in_workers = [b.numpy().tolist() for b in DataLoader(_MallocSetting(), batch_size=2, num_workers=2)]
    in_main = [b.numpy().tolist() for b in DataLoader(_MallocSetting(), batch_size=2)]
    assert in_workers == [[1.0, 1.0], [1.0, 1.0]] and in_main == [[0.0, 0.0], [0.0, 0.0]]
    _no_children()
