"""``convnet finetune`` / ``convnet features`` run in-process on the digits with tiny epochs."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import convnet as cn
from convnet.checkpoint import load_state
from convnet.cli.main import main


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("pre") / "run")
    assert main(["train", "--epochs", "2", "--out", out, "--no-progress", "--seed", "1"]) == 0
    return out


def _run(args, capsys):
    status = main(args)
    return status, capsys.readouterr()


def test_head_mode_keeps_the_base_bit_for_bit(pretrained, tmp_path, capsys):
    out = str(tmp_path / "head")
    status, _ = _run(["finetune", pretrained, "--mode", "head", "--epochs", "2", "--out", out, "--no-progress"],
                     capsys)
    assert status == 0
    before, after = load_state(pretrained), load_state(out)
    for k in before:
        if not k.startswith("classifier.output."):
            assert np.array_equal(before[k], after[k]), k
    assert not np.array_equal(before["classifier.output.weight"], after["classifier.output.weight"])
    for f in ("model.safetensors", "history.json", "metrics.json", "training_curve.png", "confusion_matrix.png"):
        assert os.path.isfile(os.path.join(out, f)), f
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    assert metrics["accuracy"] > 0.5  # chance is 0.1
    config = json.load(open(os.path.join(out, "config.json")))
    assert config["mode"] == "head" and config["head"] == "classifier.output"
    assert cn.load(out).config["num_classes"] == 10


def test_features_mode_matches_head_mode(pretrained, tmp_path, capsys):
    """Cached features + the same seed give the head mode's weights (within float tolerance)."""
    outs = {}
    for mode in ("head", "features"):
        outs[mode] = str(tmp_path / mode)
        status, _ = _run(["finetune", pretrained, "--mode", mode, "--epochs", "2", "--out", outs[mode],
                          "--no-progress", "--per-class", "20"], capsys)
        assert status == 0
    assert os.path.isfile(os.path.join(outs["features"], "features-train.safetensors"))
    a, b = load_state(outs["head"]), load_state(outs["features"])
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-4, atol=1e-5, err_msg=k)
    hist = json.load(open(os.path.join(outs["features"], "history.json")))
    assert len(hist) == 2


def test_finetune_mode_trains_the_base_at_base_lr(pretrained, tmp_path, capsys):
    out = str(tmp_path / "ft")
    status, io = _run(["finetune", pretrained, "--mode", "finetune", "--freeze", "features.c1", "--epochs", "1",
                       "--lr", "1e-3", "--base-lr", "1e-4", "--out", out, "--no-progress"], capsys)
    assert status == 0, io.err
    before, after = load_state(pretrained), load_state(out)
    assert np.array_equal(before["features.c1.weight"], after["features.c1.weight"])
    assert not np.array_equal(before["features.c3.weight"], after["features.c3.weight"])
    config = json.load(open(os.path.join(out, "config.json")))
    assert (config["lr"], config["base_lr"], config["frozen"]) == (1e-3, 1e-4, ["features.c1.weight",
                                                                              "features.c1.bias"])


def test_model_and_weights(pretrained, tmp_path, capsys):
    out = str(tmp_path / "w")
    status, io = _run(["finetune", "--model", "lenet5", "--weights", os.path.join(pretrained, "model.safetensors"),
                       "--epochs", "1", "--out", out, "--no-progress"], capsys)
    assert status == 0, io.err
    assert np.array_equal(load_state(pretrained)["features.c3.weight"], load_state(out)["features.c3.weight"])


def test_features_command(pretrained, tmp_path, capsys):
    path = str(tmp_path / "feats.safetensors")
    status, io = _run(["features", pretrained, "--split", "test", "--layer", "features", "-o", path], capsys)
    assert status == 0, io.err
    assert "(359, 120, 1, 1)" in io.out
    from safetensors.numpy import load_file

    arrays = load_file(path)
    assert arrays["features"].shape == (359, 120, 1, 1) and arrays["labels"].shape == (359,)


@pytest.mark.parametrize("args, message", [
    (["finetune"], "give the model to start from"),
    (["finetune", "RUN", "--model", "lenet5"], "either RUN or --model"),
    (["finetune", "--model", "lenet6"], "unknown model 'lenet6'"),
    (["finetune", "--model", "lenet5", "--freeze", "backbone"], "'backbone'"),
    (["finetune", "--model", "lenet5", "--epochs", "0"], "--epochs must be at least 1"),
    (["finetune", "--model", "lenet5", "--mode", "features", "--freeze", "features"], "--freeze does not apply"),
    (["features", "nowhere", "-o", "f.safetensors"], "does not exist"),
])
def test_bad_input_one_line_exit_2(args, message, tmp_path, capsys):
    status, io = _run(args + (["--out", str(tmp_path / "o")] if args[0] == "finetune" else []), capsys)
    assert status == 2
    lines = io.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"convnet {args[0]}: error:") and message in lines[0], io.err


def test_your_own_images_folder(pretrained, tmp_path, capsys):
    """The notes' "your own images": a two-class photo folder, the grey digit model's base, a new head."""
    from convnet.data.folder import make_sample_folder

    root = make_sample_folder(str(tmp_path / "photos"), per_class=20, patch=32)
    out = str(tmp_path / "own")
    status, io = _run(["finetune", pretrained, "--dataset", "folder", "--data-dir", root, "--mode", "finetune",
                       "--epochs", "3", "--lr", "3e-3", "--out", out, "--no-progress"], capsys)
    assert status == 0, io.err
    model = cn.load(out)
    assert model.config["num_classes"] == 2 and model.checkpoint_meta["classes"] == ["china", "flower"]
    assert json.load(open(os.path.join(out, "metrics.json")))["num_samples"] == 6
