"""``convnet train`` options and run directories, in process: one-line errors naming the option,
the run-directory lock and --force, non-finite training, old configs, size warnings, out of memory."""
import json
import math
import os

import numpy as np
import pytest

import convnet as cn
from convnet.checkpoint import load_state
from convnet.cli import train as train_cli
from convnet.cli.main import main
from convnet.rundir import RunDirBusyError, run_directory
from convnet.train import NonFiniteLossError, Trainer, strict_json
from helpers import assert_same


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(code, err):
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("convnet train: error: ")
    return err


@pytest.mark.parametrize("argv, expected", [
    (["--lr", "nan"], "--lr must be a finite non-negative number, received nan"),
    (["--lr", "inf"], "--lr must be a finite non-negative number, received inf"),
    (["--momentum", "nan"], "--momentum must be a finite"),
    (["--weight-decay", "nan"], "--weight-decay must be a finite"),
    (["--lr", "-0.1"], "--lr must be a finite non-negative number, received -0.1"),
    (["--image-size", "0"], "--image-size must be a positive integer"),
    (["--image-size", "4"], "--image-size 4: lenet5 cannot take 4x4 inputs"),
    (["--patience", "-1"], "--patience must be a non-negative integer"),
    (["--seed", "-1"], "--seed must be a non-negative integer"),
    (["--batch-size", "0"], "--batch-size must be an integer of at least 1"),
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--data-dir", "{tmp}/no_such_dir"], "--data-dir {tmp}/no_such_dir: no such directory"),
    (["--model-option", "pool"], "--model-option expects KEY=VALUE with KEY an option name, received 'pool'"),
    (["--model-option", "pool=max"], "--model-option pool: not an option of model 'lenet5'; its options are "
                                     "classic, padding"),
    (["--model", "jarrett", "--model-option", "pool=median"], "--model-option: model 'jarrett' refused"),
])
def test_bad_options_are_refused_by_name(capsys, tmp_path, argv, expected):
    out = tmp_path / "run"
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, _, err = _run(capsys, "train", *argv, "--out", out, "--no-progress")
    assert expected.replace("{tmp}", str(tmp_path)) in _one_line(code, err)
    assert not out.exists()  # refused before anything was written


def test_non_empty_out_needs_force(capsys, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "metrics.json").write_text('{"accuracy": 0.5}')
    code, _, err = _run(capsys, "train", "--out", out, "--epochs", "1", "--no-progress")
    assert "--out" in _one_line(code, err) and "is not empty" in err and "--force" in err
    code, stdout, err = _run(capsys, "train", "--out", out, "--epochs", "1", "--no-progress", "--force")
    assert code == 0, err
    assert (out / "notes.txt").read_text() == "mine"  # --force replaces run files only
    assert json.loads((out / "metrics.json").read_text())["num_samples"] == 359
    assert not (out / ".lock").exists()


def test_lock_is_exclusive_stale_locks_are_taken_over(tmp_path):
    out = tmp_path / "run"
    with run_directory(out):
        assert (out / ".lock").read_text().split() == [str(os.getpid())]
        with pytest.raises(RunDirBusyError, match=f"pid {os.getpid()}"):
            with run_directory(out, fresh=False):
                pass
    assert not out.exists()  # created by the run, nothing written: removed again
    out.mkdir()
    (out / ".lock").write_text("999999999\n")  # no such process: a killed run's lock
    with run_directory(out):
        assert (out / ".lock").read_text().split() == [str(os.getpid())]
    assert not (out / ".lock").exists()


def test_resume_of_an_old_config_fills_defaults(capsys, tmp_path):
    """config.json from before momentum/epochs were saved; metrics.json missing: --resume finishes the run."""
    out = tmp_path / "run"
    code, _, err = _run(capsys, "train", "--out", out, "--epochs", "1", "--batch-size", "128", "--no-progress")
    assert code == 0, err
    config = json.loads((out / "config.json").read_text())
    assert config["epochs"] == 1 and config["momentum"] == 0.9
    del config["momentum"]
    config["epochs"] = 1
    (out / "config.json").write_text(json.dumps(config))
    (out / "metrics.json").unlink()
    code, stdout, err = _run(capsys, "train", "--resume", out, "--no-progress")
    assert code == 0, err
    assert "finishing it" in stdout and (out / "metrics.json").is_file()


def test_non_finite_loss_stops_with_one_line_and_keeps_the_finite_checkpoint(capsys, tmp_path, monkeypatch):
    """Epoch 1 trains normally; from epoch 2 the loss is NaN: exit 2, the epoch-1 weights stay on disk."""
    out = tmp_path / "run"
    real = Trainer.train_epoch

    def poisoned(self, loader, bar=None):
        if self.epoch >= 1:
            self.loss_fn = lambda out_, y: out_.sum() * float("nan")
        return real(self, loader, bar)

    monkeypatch.setattr(Trainer, "train_epoch", poisoned)
    code, _, err = _run(capsys, "train", "--out", out, "--epochs", "3", "--batch-size", "128", "--no-progress")
    err = _one_line(code, err)
    assert "the training loss became nan at epoch 2, batch 1 of 11" in err
    assert f"{out} keeps the checkpoint of epoch 1" in err
    weights = load_state(out / "model.safetensors")
    assert all(np.isfinite(v).all() for v in weights.values())
    assert cn.checkpoint.read_metadata(out / "model.safetensors")["meta"]["epoch"] == 1
    assert [h["epoch"] for h in json.loads((out / "history.json").read_text())] == [1]


def test_non_finite_weights_are_never_saved(tmp_path):
    from convnet import data, nn, optim

    cn.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1))
    loader = data.DataLoader(data.digits("val", size=8), batch_size=256)
    trainer.fit(loader, epochs=1, checkpoint_dir=tmp_path, progress=False)
    saved = load_state(tmp_path / "model.safetensors")
    model[1].weight._data[0, 0] = np.inf  # as if the last step of epoch 2 overflowed
    trainer.train_epoch = lambda loader, bar=None: {"loss": 1.0, "accuracy": 0.5}
    with pytest.raises(NonFiniteLossError, match="1.weight became non-finite during epoch 2"):
        trainer.fit(loader, epochs=2, checkpoint_dir=tmp_path, progress=False)
    assert_same(load_state(tmp_path / "model.safetensors"), saved)


def test_json_files_are_strict():
    clean, bad = strict_json({"loss": float("nan"), "rows": [1.0, float("inf")], "ok": 2})
    assert clean == {"loss": None, "rows": [1.0, None], "ok": 2} and bad == ["loss", "rows[1]"]
    text = cn.train.dumps_strict({"val_loss": math.inf, "accuracy": 0.5})
    parsed = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert parsed["val_loss"] is None and "val_loss" in parsed["note"]


def test_out_of_memory_is_one_line(capsys, monkeypatch):
    def boom(args):
        raise MemoryError("Unable to allocate 80.0 GiB for an array with shape (10000000000,)")

    monkeypatch.setattr(train_cli, "run_train", boom)
    code, _, err = _run(capsys, "train")
    assert "out of memory (Unable to allocate 80.0 GiB" in _one_line(code, err) and "--batch-size" in err


def test_size_mismatch_warning_and_eta(capsys):
    s = dict(train_cli.DEFAULTS, model="vgg11", image_size=None)
    warning = train_cli._size_warning(s, 8)
    assert "resized to 224x224" in warning and "8x8" in warning and "--image-size" in warning
    assert train_cli._size_warning(dict(s, image_size=32), 8) is None
    assert train_cli._size_warning(dict(s, model="lenet5"), 8) is None  # 32x32 from 8x8 is the normal recipe

    eta = train_cli._EpochETA()
    eta.on_train_batch_end(Trainer(cn.nn.Linear(1, 1), None), 1, {"seconds": 2.0, "batches": 100})
    eta.on_train_batch_end(Trainer(cn.nn.Linear(1, 1), None), 2, {"seconds": 4.0, "batches": 100})
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "about 3 min" in out  # 2 s x 100 batches, printed once
    quick = train_cli._EpochETA()
    quick.on_train_batch_end(None, 1, {"seconds": 0.1, "batches": 100})
    assert capsys.readouterr().out == ""
    # a slow first batch (warm-up) and quick ones after it: 0.3 s + 429 x 0.01 s is no minute-long epoch
    warm = train_cli._EpochETA()
    for b in range(1, 40):
        warm.on_train_batch_end(Trainer(cn.nn.Linear(1, 1), None), b, {"seconds": 0.3 + 0.01 * (b - 1),
                                                                        "batches": 430})
    assert capsys.readouterr().out == "" and warm.done
    slow = train_cli._EpochETA()  # 1 s, then 0.2 s per batch over 1 s: 1 + 0.2 x 429 = 87 s
    for b in range(1, 8):
        slow.on_train_batch_end(Trainer(cn.nn.Linear(1, 1), None), b, {"seconds": 1.0 + 0.2 * (b - 1),
                                                                        "batches": 430})
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "0.2 s per batch" in out and "about 87 s" in out


def test_extending_a_step_schedule_replans_it(capsys, tmp_path):
    """3 epochs of StepLR (step every epoch), extended to 6 (step every 2): epochs 4-6 follow the 6-epoch plan."""
    common = ["--schedule", "step", "--batch-size", "256", "--no-progress"]
    code, _, err = _run(capsys, "train", *common, "--epochs", "6", "--out", tmp_path / "straight")
    assert code == 0, err
    code, _, err = _run(capsys, "train", *common, "--epochs", "3", "--out", tmp_path / "part")
    assert code == 0, err
    code, out, err = _run(capsys, "train", "--resume", tmp_path / "part", "--epochs", "6", "--no-progress")
    assert code == 0, err
    assert "extending the run from 3 to 6 epochs: the step schedule is re-planned" in out
    lrs = [[h["lr"] for h in json.loads((tmp_path / d / "history.json").read_text())] for d in ("part", "straight")]
    assert lrs[1] == pytest.approx([2e-3, 2e-3, 2e-4, 2e-4, 2e-5, 2e-5])
    assert lrs[0][:3] == pytest.approx([2e-3, 2e-4, 2e-5])  # the past keeps its 3-epoch plan
    assert lrs[0][3:] == lrs[1][3:]  # not 2e-6, 2e-7, 2e-8 as the old plan would continue


@pytest.mark.parametrize("augment", ["elastic", "crop+flip"])
def test_new_augmentations_train(capsys, tmp_path, augment):
    code, out, err = _run(capsys, "train", "--augment", augment, "--epochs", "1", "--out", tmp_path / "run",
                          "--no-progress")
    assert code == 0, err
    assert json.loads((tmp_path / "run" / "config.json").read_text())["augment"] == augment
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["accuracy"] > 0.3
