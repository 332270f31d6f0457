"""The embedded scikit-learn digits: shapes, fixed stratified splits, normalisation."""
import numpy as np
import pytest

from convnet import data


def test_shapes_dtypes_and_sizes():
    sizes = {s: len(data.digits(s)) for s in ("train", "val", "test", "trainval")}
    assert sizes == {"train": 1295, "val": 143, "test": 359, "trainval": 1438}
    ds = data.digits("test")
    assert ds.images.shape == (359, 1, 32, 32) and ds.images.dtype == np.float32
    assert ds.labels.dtype == np.int64 and set(ds.labels.tolist()) == set(range(10))
    assert ds.input_shape == (1, 32, 32) and ds.classes == [str(k) for k in range(10)]
    assert data.digits("train", size=8).images.shape == (1295, 1, 8, 8)


def _rows(a):
    return a[np.lexsort(a.T[::-1])]


def test_splits_partition_sklearn_digits_stratified():
    from sklearn.datasets import load_digits

    ref = load_digits()
    parts = [data.digits(s, size=8, normalize=False) for s in ("train", "val", "test")]
    # (pixels * 16, label) rows of the three splits together are exactly scikit-learn's 1,797 rows
    ours = np.concatenate([np.c_[np.round(p.images.reshape(-1, 64) * 16), p.labels] for p in parts])
    assert np.array_equal(_rows(ours), _rows(np.c_[ref.data, ref.target]))
    ref_counts = np.bincount(ref.target)
    test_counts = np.bincount(parts[2].labels, minlength=10)
    assert np.all(np.abs(test_counts - 0.2 * ref_counts) <= 1)  # stratified: 20% of every class
    val_counts = np.bincount(parts[1].labels, minlength=10)
    assert np.all(np.abs(val_counts - 0.1 * (ref_counts - test_counts)) <= 1)


def test_split_is_fixed():
    a, b = data.digits("val"), data.digits("val")
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.images, b.images)
    import convnet as cn

    from convnet.data import sklearn_digits

    sklearn_digits._cache.clear()  # recompute from scratch
    cn.manual_seed(123)  # the split does not depend on the global generator
    assert np.array_equal(data.digits("val").labels, a.labels)


def test_normalisation_uses_trainval_statistics():
    tv = data.digits("trainval")
    x = tv.images
    assert abs(float(x.mean())) < 1e-4 and abs(float(x.std()) - 1) < 1e-3
    raw = data.digits("trainval", normalize=False).images
    norm = tv.normalization
    np.testing.assert_allclose(x, (raw - norm["mean"][0]) / norm["std"][0], atol=1e-5)
    assert 0.0 <= raw.min() and raw.max() <= 1.0


def test_bad_split_and_size():
    with pytest.raises(ValueError, match="digits: split must be one of"):
        data.digits("validation")
    with pytest.raises(ValueError, match="digits: size"):
        data.digits("train", size=0)
    with pytest.raises(ValueError, match="unknown dataset 'cifar'; valid names: digits, mnist"):
        data.get("cifar")
