"""Synthetic MNIST-format files for the detection tests: solid rectangles whose grey level encodes the label.

Training digits of class k have grey level 60 + 10k (60..150), test digits 165 + 9k (165..246), so a
canvas pixel inside a digit tells both its class and which split it came from.
"""
import numpy as np
import pytest

from convnet.data import write_idx


def level_of_train_digit(k):
    return 60 + 10 * k


def level_of_test_digit(k):
    return 165 + 9 * k


def _fake_split(n, level, rng):
    images = np.zeros((n, 28, 28), np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    for i, k in enumerate(labels):
        h, w = rng.integers(14, 21), rng.integers(6, 15)
        y, x = rng.integers(2, 28 - h - 1), rng.integers(2, 28 - w - 1)
        images[i, y:y + h, x:x + w] = level(int(k))
    return images, labels


@pytest.fixture(scope="session")
def fake_mnist(tmp_path_factory):
    """A root directory with ``mnist/`` train (200 images) and test (100 images) IDX files."""
    root = tmp_path_factory.mktemp("fake_mnist")
    (root / "mnist").mkdir()
    rng = np.random.default_rng(123)
    for prefix, n, level in (("train", 200, level_of_train_digit), ("t10k", 100, level_of_test_digit)):
        images, labels = _fake_split(n, level, rng)
        write_idx(root / "mnist" / f"{prefix}-images-idx3-ubyte", images)
        write_idx(root / "mnist" / f"{prefix}-labels-idx1-ubyte", labels)
    return str(root)
