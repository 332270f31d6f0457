"""The installed ``convnet`` command run as a user runs it: a subprocess, its exit status, its files.

train -> eval -> predict -> resume on a batch-norm model (resnet20 at 8x8) and LeNet-5, with the
answers checked (accuracy equal to metrics.json, predicted digits equal to the true ones, resumed
weights equal bit for bit to a straight run), plus the run-directory lock, a run killed mid-way
and finished by ``--resume``, and one-line errors.
"""
import json
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from convnet.checkpoint import load_state
from helpers import assert_same

# The console script installed next to this interpreter (pip install -e .); no skip: a missing one fails.
CONVNET = shutil.which("convnet", path=os.path.dirname(sys.executable)) or os.path.join(
    os.path.dirname(sys.executable), "convnet")
BN_RUN = ["--model", "resnet20", "--image-size", "8", "--no-progress", "--seed", "0"]


def convnet(*argv, cwd=None, check=True):
    env = {k: v for k, v in os.environ.items() if k != "CONVNET_DEBUG"}
    res = subprocess.run([CONVNET, *map(str, argv)], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    if check:
        assert res.returncode == 0, f"convnet {' '.join(map(str, argv))} exited {res.returncode}:\n{res.stderr}"
    return res


def one_line_error(res):
    assert res.returncode == 2, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert lines[0].startswith("convnet train: error: ")
    return lines[0]


def history(run):
    return json.loads((run / "history.json").read_text())


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="module")
def straight(work):
    """resnet20 (batch norm) on 8x8 digits, 2 epochs in one go: the reference for every resume."""
    out = work / "straight"
    convnet("train", *BN_RUN, "--epochs", "2", "--out", out)
    return out


def test_train_writes_metrics_and_eval_agrees(straight):
    metrics = json.loads((straight / "metrics.json").read_text())
    assert metrics["num_samples"] == 359 and metrics["epochs_run"] == 2
    assert 0.3 < metrics["accuracy"] <= 1.0  # 10 classes: chance is 0.1; two epochs of resnet20 do far better
    assert np.trace(np.array(metrics["confusion_matrix"])) == round(metrics["accuracy"] * 359)
    res = convnet("eval", straight)
    assert f"accuracy {metrics['accuracy']:.2%}" in res.stdout
    assert f"loss {metrics['loss']:.4f}" in res.stdout


def test_extending_a_finished_run_equals_the_straight_run(work, straight):
    out = work / "extended"
    convnet("train", *BN_RUN, "--epochs", "1", "--out", out)
    assert history(out)[-1]["epoch"] == 1
    res = convnet("train", "--resume", out, "--epochs", "2")
    assert "extending the run from 1 to 2 epochs" in res.stdout and "re-planned" in res.stdout
    assert_same(load_state(out / "model.safetensors"), load_state(straight / "model.safetensors"))
    assert [h["lr"] for h in history(out)] == [h["lr"] for h in history(straight)]
    assert json.loads((out / "config.json").read_text())["epochs"] == 2


def test_killed_run_resumed_without_epochs_finishes_its_own_total(work, straight):
    """SIGKILL after epoch 1 of 2 (its checkpoint is on disk once the epoch line is printed), then --resume alone."""
    out = work / "killed"
    env = {k: v for k, v in os.environ.items() if k != "CONVNET_DEBUG"}
    proc = subprocess.Popen([CONVNET, "train", *BN_RUN, "--epochs", "2", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        for line in proc.stdout:
            if line.startswith("epoch   1"):
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=120)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert [h["epoch"] for h in history(out)] == [1] and not (out / "metrics.json").exists()
    assert (out / ".lock").exists()  # left behind by the killed run: stale, so --resume takes it over
    res = convnet("train", "--resume", out)
    assert "2 epochs" in res.stdout and "test accuracy" in res.stdout
    assert_same(load_state(out / "model.safetensors"), load_state(straight / "model.safetensors"))
    assert [h["lr"] for h in history(out)] == [h["lr"] for h in history(straight)]
    assert not (out / ".lock").exists()


def test_run_missing_only_its_evaluation_is_finished_by_resume(work, straight):
    out = work / "no_metrics"
    shutil.copytree(straight, out)
    want = json.loads((out / "metrics.json").read_text())
    (out / "metrics.json").unlink()
    res = convnet("train", "--resume", out)
    assert "finishing it" in res.stdout
    got = json.loads((out / "metrics.json").read_text())
    assert got["accuracy"] == want["accuracy"] and got["confusion_matrix"] == want["confusion_matrix"]
    assert len(history(out)) == 2  # no extra epoch was trained
    assert "the run is complete" in one_line_error(convnet("train", "--resume", out, check=False))


def test_predict_names_the_digits(work):
    """LeNet-5 after 3 epochs on digits; PNGs of test digits (dark ink on white, 8x8 upscaled) come back right."""
    from PIL import Image

    from convnet import data

    out = work / "lenet"
    convnet("train", "--epochs", "3", "--no-progress", "--out", out)
    raw = data.digits("test", size=8, normalize=False)
    picks = list(range(0, 200, 10))  # 20 digits
    paths, truth = [], []
    for i in picks:
        img = (255 * (1 - raw.images[i, 0] / raw.images[i, 0].max())).astype(np.uint8)
        path = work / f"digit_{i}.png"
        Image.fromarray(img).resize((64, 64), Image.NEAREST).save(path)
        paths.append(path)
        truth.append(str(raw.classes[int(raw.labels[i])]))
    res = convnet("predict", out, *paths, "--top-k", "1")
    predicted = [line.split(": ")[1].split(" (")[0] for line in res.stdout.strip().splitlines()]
    assert len(predicted) == len(picks)
    hits = sum(p == t for p, t in zip(predicted, truth))
    assert hits >= 16, list(zip(predicted, truth))


def test_lock_refuses_a_second_run(tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / ".lock").write_text(f"{os.getpid()}\n")  # this test process is alive: the lock is held
    err = one_line_error(convnet("train", "--epochs", "1", "--out", out, check=False))
    assert f"pid {os.getpid()}" in err and "in use by another run" in err
    assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing was written


def test_non_finite_lr_is_one_line(tmp_path):
    res = convnet("train", "--lr", "nan", "--out", tmp_path / "nan", check=False)
    assert "--lr must be a finite" in one_line_error(res)
    assert not (tmp_path / "nan").exists()


def test_model_options_reach_the_checkpoint_and_survive_resume(tmp_path):
    """--model-option builds the plain Jarrett stage; model.json records it; a resumed run keeps it."""
    out = tmp_path / "run"
    convnet("train", "--model", "jarrett", "--model-option", "lcn=False", "--model-option", "rectify=False",
            "--epochs", "1", "--no-progress", "--out", out)
    arch = json.loads((out / "model.json").read_text())["architecture"]
    assert (arch["name"], arch["lcn"], arch["rectify"], arch["gain"]) == ("jarrett", False, False, True)
    assert json.loads((out / "config.json").read_text())["model_options"] == {"lcn": False, "rectify": False}
    convnet("train", "--resume", out, "--epochs", "2", "--no-progress")
    assert json.loads((out / "model.json").read_text())["architecture"] == arch
    assert len(json.loads((out / "history.json").read_text())) == 2
    from convnet.checkpoint import load_model
    from convnet.nn.normalization import LocalContrastNorm

    model = load_model(str(out))
    assert not any(isinstance(m, LocalContrastNorm) for m in model.modules())


def test_loader_workers_give_the_same_run(tmp_path):
    """``--workers 1`` builds and augments the batches in a loader process: the same weights bit for bit."""
    runs = {}
    for n in (0, 1):
        runs[n] = tmp_path / f"w{n}"
        convnet("train", "--augment", "elastic", "--epochs", "1", "--no-progress", "--workers", n, "--out", runs[n])
    assert_same(load_state(runs[1] / "model.safetensors"), load_state(runs[0] / "model.safetensors"))
    untimed = [[{k: v for k, v in e.items() if k != "time"} for e in history(runs[n])] for n in (0, 1)]
    assert untimed[1] == untimed[0] and len(untimed[0]) == 1


def test_negative_workers_is_one_line(tmp_path):
    err = one_line_error(convnet("train", "--workers", "-1", "--out", tmp_path / "run", check=False))
    assert "--workers must be a non-negative integer, received -1" in err
    assert not (tmp_path / "run").exists()
