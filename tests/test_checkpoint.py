"""Safe checkpoints: round trip, rebuild from config, atomic writes, corrupt files, mismatches."""
import json
import math
import os
from collections import Counter

import numpy as np
import pytest

import convnet as cn
from convnet import checkpoint, models, nn


def _weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_round_trip_rebuilds_the_architecture(tmp_path):
    model = models.get("lenet5", num_classes=7)
    path = cn.save(tmp_path / "run", model, meta={"dataset": "digits", "normalization": {"mean": [0.3], "std": [0.3]}})
    assert path == str(tmp_path / "run" / "model.safetensors")
    loaded = cn.load(tmp_path / "run")
    assert type(loaded) is type(model) and loaded.config == model.config and not loaded.training
    want, got = _weights(model), _weights(loaded)
    assert want.keys() == got.keys()
    for k in want:
        assert got[k].dtype == want[k].dtype and np.array_equal(got[k], want[k]), k
    assert loaded.checkpoint_meta["dataset"] == "digits"
    side = json.loads((tmp_path / "run" / "model.json").read_text())
    assert side["architecture"]["name"] == "lenet5" and side["architecture"]["num_classes"] == 7
    assert cn.load(tmp_path / "run" / "model.json").config == model.config  # the sidecar path works too


def test_buffers_and_integer_state_survive(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    model[1].running_mean._data[:] = [0.5, -1.5]
    model[1].num_batches_tracked.data = np.array(7, np.int64)
    cn.save(tmp_path / "bn.safetensors", model)
    state = checkpoint.load_state(tmp_path / "bn.safetensors")
    assert state["1.running_mean"].tolist() == [0.5, -1.5] and state["1.num_batches_tracked"] == 7
    assert state["1.num_batches_tracked"].dtype == np.int64
    with pytest.raises(ValueError, match="without an architecture config"):
        cn.load(tmp_path / "bn.safetensors")  # a plain Sequential has no config


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    model = models.get("lenet5")
    target = tmp_path / "model.safetensors"
    cn.save(target, model)
    before = target.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        cn.save(target, models.get("lenet5", num_classes=3))
    assert target.read_bytes() == before  # the old checkpoint is intact
    assert sorted(os.listdir(tmp_path)) == ["model.json", "model.safetensors"]  # no temp files left
    with pytest.raises(OSError):
        cn.save(tmp_path / "new.safetensors", model)
    assert not (tmp_path / "new.safetensors").exists()


def test_truncated_corrupt_and_foreign_files_name_the_file(tmp_path):
    path = cn.save(tmp_path / "m.safetensors", models.get("lenet5"))
    blob = open(path, "rb").read()
    trunc = tmp_path / "trunc.safetensors"
    trunc.write_bytes(blob[:-100])
    with pytest.raises(ValueError, match=f"{trunc} is truncated or corrupt"):
        checkpoint.load_state(trunc)
    with pytest.raises(ValueError, match=f"{trunc} is truncated"):
        cn.load(trunc)
    cut_header = tmp_path / "head.safetensors"
    cut_header.write_bytes(blob[:40])
    with pytest.raises(ValueError, match=f"{cut_header} is truncated: its header needs"):
        cn.load(cut_header)
    png = tmp_path / "picture.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pytest.raises(ValueError, match=f"{png} is not a checkpoint.*expected a convnet checkpoint"):
        cn.load(png)
    with pytest.raises(ValueError, match="is a directory without a model.safetensors"):
        cn.load(tmp_path / "..")
    with pytest.raises(FileNotFoundError, match="missing.safetensors does not exist"):
        cn.load(tmp_path / "missing.safetensors")


def test_plain_safetensors_file_is_not_a_convnet_checkpoint(tmp_path):
    from safetensors.numpy import save_file

    path = tmp_path / "plain.safetensors"
    save_file({"w": np.ones((2, 2), np.float32)}, str(path))
    with pytest.raises(ValueError, match=f"{path} is a safetensors file without convnet metadata"):
        cn.load(path)
    assert checkpoint.load_state(path)["w"].tolist() == [[1, 1], [1, 1]]


def test_shape_mismatch_lists_the_keys(tmp_path):
    model = models.get("lenet5", num_classes=10)
    model.config = dict(model.config, num_classes=5)  # config and weights disagree
    cn.save(tmp_path / "bad.safetensors", model)
    with pytest.raises(ValueError) as e:
        cn.load(tmp_path / "bad.safetensors")
    msg = str(e.value)
    assert str(tmp_path / "bad.safetensors") in msg
    assert "classifier.output.weight" in msg and "classifier.output.bias" in msg and "(10, 84)" in msg


def test_no_pickle_anywhere(tmp_path):
    path = cn.save(tmp_path / "m.safetensors", models.get("lenet5"))
    head = open(path, "rb").read(9)
    assert head[8:9] == b"{" and b"\x80" not in head[:2]  # a JSON header, not a pickle stream


def test_training_state_nested_round_trip(tmp_path):
    state = {
        "model": {"w": np.arange(6, dtype=np.float32).reshape(2, 3)},
        "optimizer": {"state": {0: {"momentum_buffer": np.ones(3), "step": 4}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0], "foreach": None}]},
        "scheduler": {"milestones": Counter({3: 1, 5: 2}), "best": math.inf, "_last_lr": [0.1]},
        "rng": cn.get_rng_state(),
        "scalar": np.float32(0.25),
        "history": [{"epoch": 1, "val_accuracy": 0.5}],
    }
    path = tmp_path / "training_state.safetensors"
    checkpoint.save_training_state(path, state)
    back = checkpoint.load_training_state(path)
    assert np.array_equal(back["model"]["w"], state["model"]["w"])
    assert back["optimizer"]["state"][0]["step"] == 4 and 0 in back["optimizer"]["state"]
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert isinstance(back["scheduler"]["milestones"], Counter) and back["scheduler"]["milestones"][5] == 2
    assert back["scheduler"]["best"] == math.inf and back["rng"] == state["rng"]
    assert back["scalar"].dtype == np.float32 and back["scalar"] == np.float32(0.25)
    assert checkpoint.load_state(path)["w"].shape == (2, 3)  # model weights readable as a state dict
    model_ckpt = cn.save(tmp_path / "m.safetensors", models.get("lenet5"))
    with pytest.raises(ValueError, match="is a model checkpoint, not a training checkpoint"):
        checkpoint.load_training_state(model_ckpt)
