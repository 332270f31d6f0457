"""Every registered model survives ``cn.save`` -> ``cn.load``: same keys, shapes, dtypes and values.

Batch-norm networks used to fail (``num_batches_tracked`` came back with shape (1,)). Models are
built small where their builder allows (``num_classes=3``, a narrow ``hidden`` layer). The ResNets
have no smaller option, so random initialisation (most of their build time) is replaced by a cheap
deterministic fill that differs per tensor, and fsync is skipped: the round trip is what is tested.
"""
import inspect
import json
import os

import numpy as np
import pytest
from helpers import assert_same

import convnet as cn
from convnet import models

NAMES = models.names()


def _small(name):
    build = models._REGISTRY[name][0]
    options = {"num_classes": 3}
    if "hidden" in inspect.signature(build).parameters:
        options["hidden"] = 8  # vgg/alexnet/zfnet: the 4096-wide classifier is most of their weights
    return models.get(name, **options)


@pytest.fixture
def cheap_init(monkeypatch):
    from convnet.nn import init

    counter = iter(range(1, 10**6))
    ramp = np.random.default_rng(0).standard_normal(4096)

    def fill(tensor, *args, **kwargs):
        flat = tensor._data.reshape(-1)  # a view: parameters are contiguous
        flat.fill(0.01 * next(counter))  # differs between tensors
        flat[:4096] = ramp[:flat.size]  # and within one
        return tensor

    monkeypatch.setattr(init, "normal_", fill)
    monkeypatch.setattr(init, "uniform_", fill)
    monkeypatch.setattr(os, "fsync", lambda fd: None)


def _arrays(model):
    return {k: v.numpy() for k, v in model.state_dict().items()}


def test_every_model_is_covered():
    assert len(NAMES) >= 20 and {"lenet5", "resnet20", "vgg11_bn", "googlenet", "resnet152"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_zoo_model_round_trip(name, tmp_path, cheap_init):
    model = _small(name)
    for m in model.modules():  # make buffers differ from their initial values
        if hasattr(m, "num_batches_tracked"):
            m.num_batches_tracked._data[...] = 5
            m.running_mean._data += 0.25
    loaded = cn.load(cn.save(model, tmp_path / f"{name}.pt"))
    assert type(loaded) is type(model) and loaded.config == json.loads(json.dumps(model.config))  # tuples: lists
    assert list(loaded.state_dict()) == list(model.state_dict())
    assert_same(_arrays(loaded), _arrays(model), what=name)
