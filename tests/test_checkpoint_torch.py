"""PyTorch-style ``cn.save(obj, f)`` / ``cn.load(f, map_location, weights_only)``: a script runs after
changing only its imports; the files are plain safetensors that PyTorch's tools read too."""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import assert_same

import convnet as cn
import convnet.functional as F
from convnet import models, nn, optim
from convnet.errors import FileFormatError


def _net():
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))


def _torch_net():
    import torch.nn as tnn

    return tnn.Sequential(tnn.Conv2d(1, 2, 3), tnn.BatchNorm2d(2), tnn.ReLU(), tnn.Flatten(), tnn.Linear(2 * 4 * 4, 3))


def test_state_dict_round_trip_keeps_keys_order_shapes_dtypes(tmp_path):
    model = _net()
    model.train()
    model(cn.randn(4, 1, 6, 6))  # batch-norm buffers move, num_batches_tracked becomes 1
    sd = model.state_dict()
    cn.save(sd, tmp_path / "mnist_cnn.pt")
    back = cn.load(tmp_path / "mnist_cnn.pt", weights_only=True)
    assert type(back) is dict and list(back) == list(sd)
    assert all(isinstance(v, cn.Tensor) for v in back.values())
    assert_same(back, sd)
    fresh = _net()
    fresh.load_state_dict(cn.load(tmp_path / "mnist_cnn.pt"))
    assert_same(fresh.state_dict(), sd)


def test_our_state_dict_file_loads_into_torch_and_back(tmp_path):
    """The file is standard safetensors with torch's key names: torch's model accepts it, and a
    torch state_dict converted the documented way loads into ours with the same outputs."""
    import torch
    from safetensors.torch import load_file, save_file

    ours = _net()
    cn.save(ours.state_dict(), tmp_path / "ours.pt")
    theirs = _torch_net()
    theirs.load_state_dict(load_file(str(tmp_path / "ours.pt")))
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)
    ours.eval(), theirs.eval()
    assert_same(ours(cn.tensor(x)), theirs(torch.tensor(x)).detach(), atol=1e-6, rtol=1e-5)
    torch.manual_seed(1)
    theirs = _torch_net()
    save_file(theirs.state_dict(), str(tmp_path / "weights.safetensors"))
    ours = _net()
    ours.load_state_dict(cn.checkpoint.load_state(tmp_path / "weights.safetensors"))
    ours.eval(), theirs.eval()
    assert_same(ours(cn.tensor(x)), theirs(torch.tensor(x)).detach(), atol=1e-6, rtol=1e-5)


def _same_tree(got, want, where="obj"):
    """Every leaf: same type, and for arrays/tensors the same shape, dtype and values."""
    assert type(got) is type(want) or (isinstance(want, dict) and type(got) is dict), \
        f"{where}: {type(got).__name__} != {type(want).__name__}"
    if isinstance(want, dict):
        assert list(got) == list(want), f"{where}: keys {list(got)} != {list(want)}"
        for k in want:
            assert type(next(g for g in got if g == k)) is type(k), f"{where}: key {k!r} changed type"
            _same_tree(got[k], want[k], f"{where}[{k!r}]")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            _same_tree(g, w, f"{where}[{i}]")
    elif isinstance(want, (cn.Tensor, np.ndarray, np.generic)):
        assert_same(got, want, what=where)
    elif isinstance(want, float) and math.isnan(want):
        assert math.isnan(got), where
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def test_nested_checkpoint_round_trip(tmp_path):
    model = _net()
    opt = optim.Adam(model.parameters(), lr=1e-2)
    F.cross_entropy(model(cn.randn(4, 1, 6, 6)), cn.tensor(np.array([0, 1, 2, 0]))).backward()
    opt.step()
    ckpt = {"epoch": 3, "model": model.state_dict(), "optimizer": opt.state_dict(), "loss": 0.25,
            "best": math.inf, "nan": math.nan, "arch": "net", "note": None, "flag": True,
            "sizes": [1, 2.5, "a", None], "pair": (1, (2, "b")), "ints": {1: "a", -2: [3]},
            "mixed": {"a": 1, 2: "b", 1.5: None, True: 0}, "dunder": {"__array__": "not a tensor"},
            "arrays": {"i32": np.arange(3, dtype=np.int32), "b": np.array([True, False]),
                       "f16": np.ones((2, 0), np.float16), "scalar": np.float64(2.5), "s0": np.array(7)},
            "slashes": {"a/b": cn.ones(1), "a": {"b": cn.zeros(2)}}}
    cn.save(ckpt, tmp_path / "ckpt.pt")
    back = cn.load(tmp_path / "ckpt.pt", map_location="cpu")
    _same_tree(back, ckpt)
    assert list(back["optimizer"]["state"]) == list(ckpt["optimizer"]["state"]) and \
        all(type(k) is int for k in back["optimizer"]["state"])


def _train(model, opt, sched, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = cn.tensor(rng.standard_normal((4, 1, 6, 6)).astype(np.float32))
        y = cn.tensor(rng.integers(0, 3, 4))
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        sched.step()


@pytest.mark.parametrize("make_opt", [
    lambda p: optim.Adam(p, lr=1e-2, weight_decay=1e-3),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
])
def test_training_continues_identically_after_resume(tmp_path, make_opt):
    model = _net()
    opt = make_opt(model.parameters())
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    _train(model, opt, sched, 3, seed=1)
    cn.save({"epoch": 3, "model": model.state_dict(), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict()}, tmp_path / "ckpt.pt")
    _train(model, opt, sched, 3, seed=2)  # the uninterrupted run

    resumed = _net()
    opt2 = make_opt(resumed.parameters())
    sched2 = optim.lr_scheduler.StepLR(opt2, step_size=2, gamma=0.5)
    ckpt = cn.load(tmp_path / "ckpt.pt")
    resumed.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    assert ckpt["epoch"] == 3
    _train(resumed, opt2, sched2, 3, seed=2)
    assert_same(resumed.state_dict(), model.state_dict())
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


def test_zoo_model_saved_whole_comes_back_as_the_model(tmp_path):
    model = models.get("resnet20", num_classes=4)
    path = cn.save(model, tmp_path / "mnist_cnn.pt", meta={"dataset": "digits"})
    assert sorted(os.listdir(tmp_path)) == ["mnist_cnn.pt"]  # no sidecar in PyTorch's form
    assert open(path, "rb").read(9)[8:9] == b"{"  # safetensors, not a pickle, whatever the extension
    loaded = cn.load(path)
    assert isinstance(loaded, type(model)) and loaded.config == model.config and not loaded.training
    assert loaded.checkpoint_meta == {"dataset": "digits"}
    assert_same(loaded.state_dict(), model.state_dict())
    assert cn.checkpoint.load_model(path).config == model.config
    cn.save(model.state_dict(), tmp_path / "sd.pt")
    with pytest.raises(FileFormatError, match="holds a dict, not a model"):
        cn.checkpoint.load_model(tmp_path / "sd.pt")


def test_custom_module_points_to_state_dict(tmp_path):
    with pytest.raises(TypeError, match=r"Sequential without \.config cannot be saved.*state_dict\(\)"):
        cn.save(_net(), tmp_path / "net.pt")
    assert not (tmp_path / "net.pt").exists()
    with pytest.raises(TypeError, match=r"entry 'fn' has a value of type function"):
        cn.save({"fn": lambda x: x}, tmp_path / "f.pt")
    with pytest.raises(TypeError, match="f must be a file path"):
        cn.save({"a": 1}, 3)
    with pytest.raises(IsADirectoryError):
        cn.save({"a": 1}, tmp_path)


def test_both_argument_orders(tmp_path):
    model = models.get("lenet5", num_classes=3)
    old = cn.save(str(tmp_path / "old"), model, {"dataset": "digits"})  # convnet's path-first form
    assert old == str(tmp_path / "old" / "model.safetensors") and (tmp_path / "old" / "model.json").exists()
    new = cn.save(model, str(tmp_path / "new.safetensors"), meta={"dataset": "digits"})
    for p in (old, new):
        m = cn.load(p)
        assert m.config == model.config and m.checkpoint_meta == {"dataset": "digits"}
    assert cn.load(old, False).config == model.config  # the older load(path, strict)
    cn.save("just a string", tmp_path / "s.pt")  # a str object saved to a path: PyTorch's order
    assert cn.load(tmp_path / "s.pt") == "just a string"


def test_map_location_and_weights_only(tmp_path):
    import torch

    cn.save({"w": cn.ones(2)}, tmp_path / "w.pt")
    for loc in (None, "cpu", torch.device("cpu"), {"cuda:0": "cpu"}):
        for weights_only in (None, True, False):
            assert_same(cn.load(tmp_path / "w.pt", map_location=loc, weights_only=weights_only)["w"], cn.ones(2))
    for loc in ("cuda", "cuda:0", torch.device("cuda", 0), {"cpu": "cuda:1"}):
        with pytest.raises(ValueError, match="convnet runs on the CPU only"):
            cn.load(tmp_path / "w.pt", map_location=loc)
    with pytest.raises(TypeError, match="callable map_location"):
        cn.load(tmp_path / "w.pt", map_location=lambda s, loc: s)


def test_checkpoint_module_needs_no_explicit_import(tmp_path):
    cn.save({"w": cn.ones(2)}, tmp_path / "w.pt")
    code = ("import convnet as cn, sys; s = cn.checkpoint.load_state(sys.argv[1]); "
            "print(list(s), s['w'].tolist())")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "w.pt")], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['w'] [1.0, 1.0]"


def test_metadata_of_object_files(tmp_path):
    cn.save({"epoch": 1, "w": cn.ones(1)}, tmp_path / "c.pt", meta={"dataset": "digits"})
    info = cn.checkpoint.read_metadata(tmp_path / "c.pt")
    assert info["format"] == "convnet.object" and info["meta"] == {"dataset": "digits"}
    assert json.dumps(info)  # plain JSON
