"""Regression guard: LeNet-5 trained on 6,000 real MNIST images for one epoch must classify 2,000
test images well. A broken backward pass, optimizer or data pipeline cannot land silently.

Measured with this exact setup (Adam 2e-3, batches of 32, first 2,000 test images; 2 shared CPU
cores, about 10 s): 92.3% with seed 0, 90.5% with seed 1 (batches of 64: 90.1%). The threshold 85%
is well under that, while a broken gradient or update leaves the network near chance (10%) or
far below. Skipped (with the reason) where MNIST is absent.
"""
import os

import numpy as np
import pytest

import convnet as cn
from convnet import data, models

THRESHOLD = 0.85


def _mnist_root():
    root = os.environ.get("CONVNET_DATA") or os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                                                          "datasets")
    try:
        from convnet.data.mnist_files import find_files

        found = find_files("mnist", "train", root=root) and find_files("mnist", "test", root=root)
    except (FileNotFoundError, OSError, ValueError):
        return None
    return root if found else None


def test_lenet5_one_epoch_on_6000_mnist_images_reaches_the_threshold():
    root = _mnist_root()
    if root is None:
        pytest.skip("MNIST files not found ($CONVNET_DATA or ../shared/datasets); the guard needs real data")
    cn.manual_seed(0)
    train = data.get("mnist", "train", root=root, size=32, download=False)
    test = data.get("mnist", "test", root=root, size=32, download=False)
    train_loader = data.DataLoader(data.Subset(train, range(6000)), batch_size=32, shuffle=True, seed=0)
    test_loader = data.DataLoader(data.Subset(test, range(2000)), batch_size=500)
    model = models.get("lenet5")
    trainer = cn.Trainer(model, cn.optim.Adam(model.parameters(), lr=2e-3))
    trainer.fit(train_loader, epochs=1, progress=False)
    result = trainer.evaluate(test_loader)
    assert result["num_samples"] == 2000
    assert np.isfinite(result["loss"])
    assert result["accuracy"] >= THRESHOLD, (f"LeNet-5 after 1 epoch on 6,000 MNIST images: test accuracy "
                                             f"{result['accuracy']:.2%} < {THRESHOLD:.0%} (it reaches 90-92%)")
