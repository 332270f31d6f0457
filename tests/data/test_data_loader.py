"""DataLoader batching, shuffling, seeding, drop_last, vectorised fetching; Subset / random_split."""
import numpy as np
import pytest

import convnet as cn
from convnet.data import DataLoader, Dataset, Subset, TensorDataset, random_split
from convnet.data import transforms as T


def _ds(n=10):
    x = np.arange(n * 4, dtype=np.float32).reshape(n, 1, 2, 2)
    return TensorDataset(x, np.arange(n))


class _NoBatchDataset(Dataset):
    """Item-by-item dataset: exercises the collate path."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full((1, 2, 2), i, np.float32), i


class _BatchOnly(TensorDataset):
    def __getitem__(self, i):
        raise AssertionError("array-backed datasets must be fetched a batch at a time")


@pytest.mark.parametrize("drop_last, sizes", [(False, [4, 4, 2]), (True, [4, 4])])
def test_batch_sizes_dtypes_and_order(drop_last, sizes):
    loader = DataLoader(_ds(10), batch_size=4, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(sizes) and [len(y) for _, y in batches] == sizes
    x, y = batches[0]
    assert isinstance(x, cn.Tensor) and x.dtype == np.float32 and x.shape == (4, 1, 2, 2)
    assert y.dtype == np.int64
    assert np.concatenate([y.numpy() for _, y in batches]).tolist() == list(range(sum(sizes)))


def test_item_dataset_collates_like_array_dataset():
    a = [(x.numpy(), y.numpy()) for x, y in DataLoader(_NoBatchDataset(7), batch_size=3)]
    assert [len(y) for _, y in a] == [3, 3, 1]
    assert a[1][0].shape == (3, 1, 2, 2) and a[1][0][:, 0, 0, 0].tolist() == [3, 4, 5]
    assert a[1][1].dtype == np.int64


def test_array_dataset_is_fetched_vectorised():
    ds = _BatchOnly(np.zeros((9, 1, 2, 2), np.float32), np.arange(9))
    assert sum(len(y) for _, y in DataLoader(ds, batch_size=4, shuffle=True, seed=0)) == 9
    assert sum(len(y) for _, y in DataLoader(Subset(ds, [1, 3, 5]), batch_size=2)) == 3


def _order(loader):
    return np.concatenate([y.numpy() for _, y in loader])


def test_seeded_shuffle_reproducible_and_independent_of_global_rng():
    a, b = DataLoader(_ds(20), batch_size=6, shuffle=True, seed=7), DataLoader(_ds(20), batch_size=6, shuffle=True,
                                                                                seed=7)
    cn.manual_seed(1)
    e1 = _order(a)
    cn.manual_seed(2)
    assert np.array_equal(e1, _order(b))
    assert sorted(e1.tolist()) == list(range(20)) and e1.tolist() != list(range(20))
    assert not np.array_equal(e1, _order(a))  # a new permutation each epoch
    assert not np.array_equal(e1, _order(DataLoader(_ds(20), batch_size=6, shuffle=True, seed=8)))


def test_unseeded_shuffle_uses_global_generator():
    cn.manual_seed(3)
    got = _order(DataLoader(_ds(12), batch_size=5, shuffle=True))
    assert np.array_equal(got, np.random.default_rng(3).permutation(12))


def test_state_dict_resumes_the_same_batches():
    a = DataLoader(_ds(15), batch_size=4, shuffle=True, seed=0)
    _order(a)
    state = a.state_dict()
    expected = _order(a)
    b = DataLoader(_ds(15), batch_size=4, shuffle=True, seed=0)
    b.load_state_dict(state)
    assert np.array_equal(_order(b), expected)


def test_transform_uses_loader_generator():
    ds = _ds(16)

    def run(seed, global_seed):
        cn.manual_seed(global_seed)  # the global seed must not matter: the loader's seed does
        np.random.seed(global_seed)
        loader = DataLoader(ds, batch_size=16, shuffle=True, seed=seed, transform=T.RandomHorizontalFlip(0.5))
        (x, y), = list(loader)
        x, y = x.numpy(), y.numpy()
        src = np.arange(16 * 4, dtype=np.float32).reshape(16, 1, 2, 2)[y]  # the images of _ds
        flipped = np.array([np.array_equal(x[i], src[i][..., ::-1]) for i in range(16)])
        kept = np.array([np.array_equal(x[i], src[i]) for i in range(16)])
        assert (flipped ^ kept).all(), "every sample is its image, flipped or not"
        assert 0 < flipped.sum() < 16, "the transform was applied to some samples only"
        return x, flipped

    a, fa = run(5, 1)
    b, fb = run(5, 2)
    assert np.array_equal(a, b) and np.array_equal(fa, fb)
    assert any(not np.array_equal(fa, run(s, 1)[1]) for s in (6, 7, 8))  # the loader's seed drives it


def test_subset_and_random_split():
    ds = _ds(10)
    sub = Subset(ds, [9, 0, 4])
    assert len(sub) == 3 and sub[0][1] == 9
    assert _order(DataLoader(sub, batch_size=2)).tolist() == [9, 0, 4]
    parts = random_split(ds, [7, 3], seed=0)
    idx = np.concatenate([p.indices for p in parts])
    assert [len(p) for p in parts] == [7, 3] and sorted(idx.tolist()) == list(range(10))
    assert np.array_equal(idx, np.concatenate([p.indices for p in random_split(ds, [7, 3], seed=0)]))
    assert [len(p) for p in random_split(ds, [0.5, 0.5], seed=0)] == [5, 5]


@pytest.mark.parametrize("bad", [dict(batch_size=0), dict(batch_size=2.5)])
def test_bad_batch_size(bad):
    with pytest.raises(ValueError, match="DataLoader: batch_size"):
        DataLoader(_ds(), **bad)


def test_tensor_dataset_length_mismatch():
    with pytest.raises(ValueError, match="TensorDataset"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="random_split"):
        random_split(_ds(10), [3, 3])
