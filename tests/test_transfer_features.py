"""``cn.extract_features``: values (the base run by hand), the file (read by the ``safetensors`` package),
resumption after an interruption, and training on the cache = training the head on the fly."""
from __future__ import annotations

import os

import numpy as np
import pytest

import convnet as cn
from convnet import data, models, nn
from convnet.errors import FileFormatError
from convnet.train import evaluate
from convnet.transfer import load_features, replace_head
from helpers import assert_same


@pytest.fixture(scope="module")
def digits():
    ds = data.digits("train")
    return data.Subset(ds, np.arange(300))


def _lenet(seed=0):
    cn.manual_seed(seed)
    return models.get("lenet5")


def test_features_equal_the_base_run_by_hand(digits, tmp_path):
    model = _lenet()
    path = tmp_path / "f.safetensors"
    feats = cn.extract_features(model, digits, "features", path, batch_size=64, chunk_size=100)
    x, y = digits.get_batch(np.arange(len(digits)))
    model.eval()
    with cn.no_grad():
        ref = model.features(cn.tensor(x))._data
    np.testing.assert_allclose(feats.arrays[0], ref, rtol=1e-5, atol=1e-6)
    assert_same(feats.arrays[1], y.astype(np.int64))
    assert not os.path.exists(str(path) + ".parts")
    # any safetensors reader gets the same arrays
    from safetensors.numpy import load_file

    other = load_file(str(path))
    assert_same(other["features"], feats.arrays[0])
    assert_same(other["labels"], feats.arrays[1])


def test_default_layer_is_the_heads_input(digits, tmp_path):
    model = _lenet()
    feats = cn.extract_features(model, digits, None, tmp_path / "f.safetensors", batch_size=128)
    model.eval()
    x, _ = digits.get_batch(np.arange(len(digits)))
    with cn.no_grad():  # LeNet-5's classifier: f6 then its activation, then the output layer
        h = model.classifier.act6(model.classifier.f6(model.features(cn.tensor(x)).flatten(1)))._data
    assert feats.arrays[0].shape == (300, 84)
    np.testing.assert_allclose(feats.arrays[0], h, rtol=1e-5, atol=1e-6)
    assert feats.meta["layer"] == "classifier.output" and feats.meta["where"] == "input"


def test_resume_after_interruption_recomputes_no_chunk(digits, tmp_path):
    model = _lenet()
    full = cn.extract_features(model, digits, "features", tmp_path / "full.safetensors", batch_size=50,
                               chunk_size=50)
    path = tmp_path / "f.safetensors"
    calls = []

    def interrupt(module, inputs, out):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt

    handle = model.features.register_forward_hook(interrupt)
    with pytest.raises(KeyboardInterrupt):
        cn.extract_features(model, digits, "features", path, batch_size=50, chunk_size=50)
    handle.remove()
    assert not path.exists()
    assert sorted(os.listdir(str(path) + ".parts")) == ["chunk-000000.safetensors", "chunk-000001.safetensors"]
    calls.clear()
    with model.features.register_forward_hook(lambda m, i, o: calls.append(1)):
        again = cn.extract_features(model, digits, "features", path, batch_size=50, chunk_size=50)
    assert len(calls) == 4  # chunks 3..6 of 6; chunks 1 and 2 came from disk
    assert_same(again.arrays[0], full.arrays[0])
    assert_same(again.arrays[1], full.arrays[1])
    calls.clear()
    with model.features.register_forward_hook(lambda m, i, o: calls.append(1)):
        cn.extract_features(model, digits, "features", path, batch_size=50, chunk_size=50)
    assert calls == []  # finished file reused


def test_changed_weights_invalidate_the_cache(digits, tmp_path):
    model = _lenet()
    path = tmp_path / "f.safetensors"
    first = cn.extract_features(model, digits, "features", path)
    with cn.no_grad():
        model.features.c1.weight._data += 0.1
    second = cn.extract_features(model, digits, "features", path)
    assert not np.allclose(first.arrays[0], second.arrays[0])


def test_bad_arguments(digits, tmp_path):
    model = _lenet()
    with pytest.raises(ValueError, match="no layer 'backbone'"):
        cn.extract_features(model, digits, "backbone", tmp_path / "f.safetensors")
    with pytest.raises(ValueError, match="chunk_size"):
        cn.extract_features(model, digits, None, tmp_path / "f.safetensors", chunk_size=0)
    (tmp_path / "x.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(FileFormatError):
        load_features(tmp_path / "x.safetensors")


def test_cached_head_training_equals_on_the_fly(digits, tmp_path):
    """Same seed, same head init, same batches: a head trained on the cache ends with the weights of the
    head trained through the frozen base, and reaches the same accuracy."""
    def setup():
        model = _lenet(1)
        cn.manual_seed(5)
        head = replace_head(model, 10)
        cn.freeze(model)
        cn.unfreeze(model, "classifier.output")
        return model, head

    model, head = setup()
    opt = cn.optim.SGD(head.parameters(), lr=0.2, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(6):
        for x, y in data.DataLoader(digits, batch_size=32, shuffle=True, seed=3):
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
    fly = {k: v._data.copy() for k, v in head.state_dict().items()}

    model2, head2 = setup()
    assert_same({k: v._data for k, v in head2.state_dict().items()},
                {k: v._data for k, v in setup()[1].state_dict().items()})
    feats = cn.extract_features(model2, digits, None, tmp_path / "f.safetensors")
    opt = cn.optim.SGD(head2.parameters(), lr=0.2, momentum=0.9)
    head2.train()
    for _ in range(6):
        for f, y in data.DataLoader(feats, batch_size=32, shuffle=True, seed=3):
            opt.zero_grad()
            loss_fn(head2(f), y).backward()
            opt.step()
    for k, v in head2.state_dict().items():
        np.testing.assert_allclose(v._data, fly[k], rtol=1e-4, atol=1e-5, err_msg=k)
    test = data.digits("test")
    acc = [evaluate(m, data.DataLoader(test, batch_size=256))["accuracy"] for m in (model, model2)]
    assert acc[0] == acc[1] and acc[0] > 0.2  # above chance (0.1)
