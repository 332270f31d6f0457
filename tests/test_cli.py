"""The ``convnet`` command: help texts, a tiny train -> eval -> predict round trip, summary, errors."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from convnet.cli.main import main

COMMANDS = ["train", "eval", "predict", "summary", "filter"]


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("cmd", [None] + COMMANDS)
def test_help(capsys, cmd):
    with pytest.raises(SystemExit) as e:
        main(([cmd] if cmd else []) + ["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and "usage: convnet" in out
    assert "example" in out.lower()


def test_python_dash_m_entry_point():
    res = subprocess.run([sys.executable, "-m", "convnet", "--version"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.startswith("convnet ")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    code = main(["train", "--epochs", "2", "--batch-size", "64", "--out", str(out), "--no-progress"])
    assert code == 0
    return out


def test_train_writes_the_run_directory(run_dir):
    for name in ("model.safetensors", "model.json", "training_state.safetensors", "history.json", "history.csv",
                 "training_curve.png", "confusion_matrix.png", "metrics.json", "config.json"):
        assert (run_dir / name).is_file(), name
    meta = json.loads((run_dir / "model.json").read_text())
    assert meta["architecture"]["name"] == "lenet5" and meta["meta"]["dataset"] == "digits"
    assert meta["meta"]["input_shape"] == [1, 32, 32] and "test_accuracy" in meta["meta"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["num_samples"] == 359 and np.array(metrics["confusion_matrix"]).sum() == 359


def test_eval(capsys, run_dir):
    code, out, err = _run(capsys, "eval", run_dir, "--top-k", "3")
    assert code == 0, err
    assert "digits test: 359 images" in out and "top-3 accuracy" in out and "confusion matrix" in out
    acc = json.loads((run_dir / "metrics.json").read_text())["accuracy"]
    assert f"accuracy {acc:.2%}" in out  # eval reproduces the accuracy the training run reported


def test_predict_png(capsys, run_dir, tmp_path):
    """Test digits as PNG (grey, dark ink on white, 8x8 upscaled) and JPEG (RGB): the predicted digits are right."""
    from PIL import Image

    from convnet import data

    raw = data.digits("test", size=8, normalize=False)
    paths, truth = [], []
    for i in range(0, 240, 12):  # 20 test digits
        img = (255 * (1 - raw.images[i, 0] / raw.images[i, 0].max())).astype(np.uint8)
        path = tmp_path / (f"digit{i}.png" if i % 24 else f"digit{i}.jpg")
        (Image.fromarray(img).resize((64, 64), Image.NEAREST) if i % 24 else
         Image.fromarray(img).convert("RGB").resize((40, 40))).save(path)
        paths.append(path)
        truth.append(raw.classes[int(raw.labels[i])])
    code, out, err = _run(capsys, "predict", run_dir, *paths, "--top-k", "3")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 20 and lines[1].startswith("digit12.png: ") and lines[1].count("%") == 3
    probs = [float(p.split("(")[1].rstrip("%)")) for p in lines[1].split(": ")[1].split("  ")]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 100.05
    predicted = [line.split(": ")[1].split(" (")[0] for line in lines]
    hits = sum(p == t for p, t in zip(predicted, truth))
    assert hits >= 14, list(zip(predicted, truth))  # a 2-epoch LeNet-5 gets ~85% of the test set right


def test_resume_continues_a_run(capsys, run_dir, tmp_path):
    """1 epoch, then --resume --epochs 2: the same weights (bit for bit) and lr history as 2 epochs straight."""
    from convnet.checkpoint import load_state
    from helpers import assert_same

    part = tmp_path / "part"
    code, out, err = _run(capsys, "train", "--epochs", "1", "--batch-size", "64", "--out", part, "--no-progress")
    assert code == 0, err
    code, out, err = _run(capsys, "train", "--resume", part, "--epochs", "2", "--no-progress")
    assert code == 0, err
    assert "extending the run from 1 to 2 epochs" in out
    resumed, straight = (json.loads((d / "history.json").read_text()) for d in (part, run_dir))
    assert [h["epoch"] for h in resumed] == [1, 2]
    assert [h["lr"] for h in resumed] == [h["lr"] for h in straight]
    assert [h["train_loss"] for h in resumed] == [h["train_loss"] for h in straight]
    assert_same(load_state(part / "model.safetensors"), load_state(run_dir / "model.safetensors"))


def test_summary(capsys):
    code, out, _ = _run(capsys, "summary", "lenet5")
    assert code == 0 and "61,706" in out
    code, out, _ = _run(capsys, "summary", "--list")
    assert code == 0 and "lenet5" in out


def _one_line_error(code, err):
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("argv, expected", [
    (["train", "--model", "nonet"], "unknown model 'nonet'; valid names: "),
    (["train", "--dataset", "cifar99"], "unknown dataset 'cifar99'; valid names: digits, mnist, fashion-mnist"),
    (["summary", "nonet"], "unknown model 'nonet'"),
    (["train", "--epochs", "0", "--out", "{tmp}/x"], "--epochs must be at least 1"),
    (["eval", "{tmp}/missing.safetensors"], "missing.safetensors does not exist"),
    (["train", "--resume", "{tmp}"], "no config.json there"),
])
def test_errors_are_one_line(capsys, tmp_path, argv, expected):
    code, _, err = _run(capsys, *[a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert expected in _one_line_error(code, err)
    if "model" in expected:
        assert "lenet5" in err


def test_argparse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--optimizer", "lbfgs"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "invalid choice: 'lbfgs'" in err and "sgd" in err
    assert len(err.strip().splitlines()) == 1


def test_non_checkpoint_and_unreadable_image(capsys, tmp_path, run_dir):
    notes = tmp_path / "notes.txt"
    notes.write_text("just some text, certainly not a checkpoint\n")
    code, _, err = _run(capsys, "eval", notes)
    assert str(notes) in _one_line_error(code, err) and "expected a convnet checkpoint" in err
    fake = tmp_path / "broken.png"
    fake.write_bytes(b"not an image at all")
    code, _, err = _run(capsys, "predict", run_dir, fake)
    assert f"cannot read image {fake}" in _one_line_error(code, err)
    code, _, err = _run(capsys, "predict", run_dir, tmp_path / "nope.png")
    assert "nope.png: no such file" in _one_line_error(code, err)


def test_filter_subcommand_is_wired(capsys, tmp_path):
    from PIL import Image

    img = tmp_path / "step.png"
    Image.fromarray(np.tile(np.r_[np.zeros(4), np.full(4, 200)].astype(np.uint8), (6, 1))).save(img)
    code, out, err = _run(capsys, "filter", "sobel_x", img, "-o", tmp_path / "edges.png")
    assert code == 0, err
    assert os.path.isfile(tmp_path / "edges.png")
