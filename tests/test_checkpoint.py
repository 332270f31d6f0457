"""Safe checkpoints: round trip, rebuild from config, atomic writes, corrupt files, mismatches.

More: every zoo model (test_checkpoint_models.py), files and temporaries (test_checkpoint_files.py),
hostile input (test_checkpoint_hostile.py), PyTorch-style save/load (test_checkpoint_torch.py),
fuzzing (test_checkpoint_fuzz.py).
"""
import json
import math
from collections import Counter

import numpy as np
import pytest
from helpers import assert_same

import convnet as cn
from convnet import checkpoint, models, nn
from convnet.errors import FileFormatError


def _arrays(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_round_trip_rebuilds_the_architecture(tmp_path):
    model = models.get("lenet5", num_classes=7)
    path = cn.save(tmp_path / "run", model, meta={"dataset": "digits", "normalization": {"mean": [0.3], "std": [0.3]}})
    assert path == str(tmp_path / "run" / "model.safetensors")
    loaded = cn.load(tmp_path / "run")
    assert type(loaded) is type(model) and loaded.config == model.config and not loaded.training
    assert_same(_arrays(loaded), _arrays(model))
    assert list(loaded.state_dict()) == list(model.state_dict())
    assert loaded.checkpoint_meta == {"dataset": "digits", "normalization": {"mean": [0.3], "std": [0.3]}}
    side = json.loads((tmp_path / "run" / "model.json").read_text())
    assert side["architecture"]["name"] == "lenet5" and side["architecture"]["num_classes"] == 7
    assert cn.load(tmp_path / "run" / "model.json").config == model.config  # the sidecar path works too


def test_buffers_and_integer_state_survive_with_exact_shapes(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    model[1].running_mean._data[:] = [0.5, -1.5]
    model[1].num_batches_tracked._data = np.array(7, np.int64)
    cn.save(tmp_path / "bn.safetensors", model)
    state = checkpoint.load_state(tmp_path / "bn.safetensors")
    assert_same(state, _arrays(model))
    assert_same(state["1.num_batches_tracked"], np.array(7, np.int64))  # 0-d stays 0-d, not shape (1,)
    with pytest.raises(FileFormatError, match="without an architecture config"):
        cn.load(tmp_path / "bn.safetensors")  # a plain Sequential has no config


def test_batchnorm_model_survives_save_load(tmp_path):
    model = models.get("resnet20", num_classes=3)
    model.train()
    model(cn.randn(2, 3, 16, 16))  # running statistics and num_batches_tracked move
    loaded = cn.load(cn.save(tmp_path / "r.safetensors", model))
    assert_same(_arrays(loaded), _arrays(model))
    x = cn.randn(2, 3, 16, 16)
    model.eval()
    assert_same(loaded(x), model(x))


def test_float64_model_comes_back_in_float64(tmp_path):
    model = models.get("lenet5", num_classes=3).double()
    loaded = cn.load(cn.save(tmp_path / "d.safetensors", model))
    assert_same(_arrays(loaded), _arrays(model))


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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.safetensors"]  # no temp files
    with pytest.raises(OSError):
        cn.save(tmp_path / "new.safetensors", model)
    assert not (tmp_path / "new.safetensors").exists()


def test_truncated_corrupt_and_foreign_files_name_the_file(tmp_path):
    path = cn.save(tmp_path / "m.safetensors", models.get("lenet5"))
    blob = open(path, "rb").read()
    trunc = tmp_path / "trunc.safetensors"
    trunc.write_bytes(blob[:-100])
    for fn in (checkpoint.load_state, cn.load):
        with pytest.raises(FileFormatError, match=f"{trunc} is truncated: its header declares"):
            fn(trunc)
    longer = tmp_path / "longer.safetensors"
    longer.write_bytes(blob + b"\0" * 16)
    with pytest.raises(FileFormatError, match=f"{longer} is corrupt: its header declares"):
        cn.load(longer)
    cut_header = tmp_path / "head.safetensors"
    cut_header.write_bytes(blob[:40])
    with pytest.raises(FileFormatError, match=f"{cut_header} is truncated: its header needs"):
        cn.load(cut_header)
    png = tmp_path / "picture.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pytest.raises(FileFormatError, match=f"{png} is not a checkpoint.*expected a convnet checkpoint"):
        cn.load(png)
    with pytest.raises(FileFormatError, match="is a directory without a model.safetensors"):
        cn.load(tmp_path / "..")
    with pytest.raises(FileNotFoundError, match="missing.safetensors does not exist"):
        cn.load(tmp_path / "missing.safetensors")


def test_files_are_standard_safetensors_both_ways(tmp_path):
    from safetensors.numpy import load_file, save_file

    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    path = cn.save(tmp_path / "ours.safetensors", model)
    assert_same(load_file(path), _arrays(model))  # the reference reader agrees, 0-d included
    plain = tmp_path / "plain.safetensors"
    save_file({"w": np.arange(6, dtype=np.float16).reshape(2, 3), "b": np.array([True, False])}, str(plain))
    assert_same(checkpoint.load_state(plain),
                {"w": np.arange(6, dtype=np.float16).reshape(2, 3), "b": np.array([True, False])})
    with pytest.raises(FileFormatError, match=f"{plain} is a safetensors file without convnet metadata"):
        cn.load(plain)


def test_shape_mismatch_lists_the_keys(tmp_path):
    model = models.get("lenet5", num_classes=10)
    model.classifier.output.weight._data = np.zeros((5, 84), np.float32)  # weights disagree with the config
    cn.save(tmp_path / "bad.safetensors", model)
    with pytest.raises(FileFormatError) as e:
        cn.load(tmp_path / "bad.safetensors")
    msg = str(e.value)
    assert str(tmp_path / "bad.safetensors") in msg
    assert "classifier.output.weight" in msg and "(5, 84)" in msg and "10, 84" in msg


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
    assert_same(back["model"], state["model"])
    assert_same(back["optimizer"]["state"][0]["momentum_buffer"], np.ones(3))
    assert list(back["optimizer"]["state"]) == [0] and back["optimizer"]["state"][0]["step"] == 4
    assert back["optimizer"]["param_groups"] == state["optimizer"]["param_groups"]  # tuple stays a tuple
    assert type(back["scheduler"]["milestones"]) is Counter and back["scheduler"]["milestones"] == Counter({3: 1, 5: 2})
    assert back["scheduler"]["best"] == math.inf and back["rng"] == state["rng"]
    assert type(back["scalar"]) is np.float32
    assert_same(back["scalar"], np.float32(0.25))  # a scalar stays 0-d, not shape (1,)
    assert back["history"] == state["history"]
    assert_same(checkpoint.load_state(path), state["model"])  # model weights readable as a state dict
    model_ckpt = cn.save(tmp_path / "m.safetensors", models.get("lenet5"))
    with pytest.raises(FileFormatError, match="is not a training checkpoint"):
        checkpoint.load_training_state(model_ckpt)


def test_older_files_with_one_element_scalars_still_load(tmp_path):
    """Files written before 0-d shapes were kept stored num_batches_tracked as shape (1,)."""
    from safetensors.numpy import save_file

    model = models.get("resnet20", num_classes=3)
    path = cn.save(tmp_path / "new.safetensors", model)
    info = checkpoint.read_metadata(path)
    old = {k: (v.reshape(1) if v.ndim == 0 else v) for k, v in _arrays(model).items()}
    save_file(old, str(tmp_path / "old.safetensors"), metadata={"format": "convnet.model", "convnet": json.dumps(info)})
    assert_same(_arrays(cn.load(tmp_path / "old.safetensors")), _arrays(model))
