"""Trainer: bit-for-bit repeats, exact resume, early stopping, history files, evaluate vs hand values."""
import csv
import json
import math

import numpy as np
import pytest

import convnet as cn
from convnet import data, nn, optim
from convnet.optim import lr_scheduler
from convnet.train import Trainer, confusion_matrix, topk_correct


def _mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 10))


def _setup(seed=0, loader_seed=None, scheduler=True):
    """A small MLP on the 8x8 digits: SGD momentum + cosine schedule + dropout (all state that must resume)."""
    cn.manual_seed(seed)
    model = _mlp()
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=4) if scheduler else None
    train = data.DataLoader(data.digits("train", size=8), batch_size=64, shuffle=True, seed=loader_seed)
    val = data.DataLoader(data.digits("val", size=8), batch_size=128)
    return Trainer(model, opt, scheduler=sched), train, val


def _weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k


def test_same_seed_repeats_bit_for_bit():
    runs = []
    for _ in range(2):
        t, train, val = _setup(seed=3, loader_seed=1)
        t.fit(train, val, epochs=2, progress=False)
        runs.append((_weights(t.model), [h["train_loss"] for h in t.history]))
    _assert_same(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    t, train, val = _setup(seed=4, loader_seed=1)
    t.fit(train, val, epochs=1, progress=False)
    assert not np.array_equal(_weights(t.model)["1.weight"], runs[0][0]["1.weight"])


@pytest.mark.parametrize("loader_seed", [None, 5])
def test_resume_equals_uninterrupted(tmp_path, loader_seed):
    straight, train, val = _setup(loader_seed=loader_seed)
    straight.fit(train, val, epochs=4, progress=False)

    first, train, val = _setup(loader_seed=loader_seed)
    first.fit(train, val, epochs=2, checkpoint_dir=tmp_path, progress=False)
    cn.manual_seed(999)  # the "crash": a fresh process has other RNG state, weights and loaders
    resumed, train, val = _setup(seed=42, loader_seed=loader_seed)
    resumed.resume(tmp_path)
    assert resumed.epoch == 2 and len(resumed.history) == 2
    resumed.fit(train, val, epochs=4, checkpoint_dir=tmp_path, progress=False)

    _assert_same(_weights(straight.model), _weights(resumed.model))
    assert [h["train_loss"] for h in straight.history] == [h["train_loss"] for h in resumed.history]
    assert resumed.optimizer.param_groups[0]["lr"] == straight.optimizer.param_groups[0]["lr"]


def test_early_stopping_and_history_files(tmp_path):
    t, train, val = _setup(scheduler=False)
    t.optimizer.param_groups[0]["lr"] = 0.0  # nothing can improve after the first epoch
    t.fit(train, val, epochs=10, early_stopping_patience=2, checkpoint_dir=tmp_path, progress=False)
    assert len(t.history) == 3 and t.history[-1].get("early_stopped") and t.best_epoch == 1
    rows = json.loads((tmp_path / "history.json").read_text())
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    with open(tmp_path / "history.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 3 and float(table[0]["val_accuracy"]) == pytest.approx(rows[0]["val_accuracy"])
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"} <= set(table[0])
    meta = cn.checkpoint.read_metadata(tmp_path / "model.safetensors")["meta"]
    assert meta["epoch"] == 1  # the best checkpoint, not the last
    assert (tmp_path / "training_state.safetensors").exists()


def test_plateau_scheduler_gets_val_loss_and_callbacks_run():
    seen, metrics = [], []

    class Recording(lr_scheduler.ReduceLROnPlateau):
        def step(self, value, epoch=None):
            metrics.append(value)
            super().step(value, epoch)

    class Stop(cn.train.Callback):
        def on_epoch_end(self, trainer, logs):
            seen.append(logs["epoch"])
            trainer.stop_training = logs["epoch"] == 2

    t, train, val = _setup(scheduler=False)
    t.scheduler = Recording(t.optimizer, patience=0)
    t.callbacks = [Stop(), lambda trainer, logs: seen.append(-logs["epoch"])]
    t.fit(train, val, epochs=5, progress=False)
    assert seen == [1, -1, 2, -2] and metrics == [h["val_loss"] for h in t.history]


class _Logits(nn.Module):
    """The inputs are the logits: evaluate() sees exactly the scores we hand-pick."""

    def forward(self, x):
        return x * 1.0


def test_evaluate_against_hand_computation():
    logits = np.array([[2.0, 1.0, 0.0],   # true 0, pred 0
                       [0.5, 0.2, 3.0],   # true 1, pred 2, 1 is third -> not in top 2
                       [0.1, 0.9, 0.3],   # true 2, pred 1, 2 second -> top-2 hit
                       [0.0, 5.0, 1.0],   # true 1, pred 1
                       [1.0, 0.0, 2.0]],  # true 0, pred 2, 0 second -> top-2 hit
                      np.float32)
    y = np.array([0, 1, 2, 1, 0])
    loader = data.DataLoader(data.TensorDataset(logits, y), batch_size=2)
    res = Trainer(_Logits(), None, top_k=2).evaluate(loader)
    assert res["accuracy"] == pytest.approx(2 / 5) and res["top2_accuracy"] == pytest.approx(4 / 5)
    want_cm = [[1, 0, 1],
               [0, 1, 1],
               [0, 1, 0]]
    assert res["confusion_matrix"].tolist() == want_cm and res["num_samples"] == 5
    nll = [math.log(sum(math.exp(v) for v in row)) - row[t] for row, t in zip(logits.tolist(), y)]
    assert res["loss"] == pytest.approx(sum(nll) / 5, rel=1e-5)
    assert confusion_matrix([0, 1], [1, 1], 2).tolist() == [[0, 1], [0, 1]]
    assert topk_correct(np.array([[1.0, 1.0, 0.0]]), np.array([1]), 1) == 0  # tie -> lower index wins


def test_fit_convenience_and_errors():
    cn.manual_seed(0)
    train = data.DataLoader(data.digits("train", size=8), batch_size=128, shuffle=True, seed=0)
    val = data.DataLoader(data.digits("val", size=8), batch_size=256)
    trainer = cn.fit(_mlp(), train, val, epochs=3, lr=3e-3, progress=False)
    assert len(trainer.history) == 3 and trainer.history[-1]["val_accuracy"] > 0.8
    with pytest.raises(ValueError, match="early_stopping_patience needs a val_loader"):
        trainer.fit(train, epochs=5, early_stopping_patience=1)
    with pytest.raises(ValueError, match="monitor must be"):
        Trainer(_mlp(), None, monitor="accuracy")


@pytest.mark.slow
def test_lenet5_learns_digits():
    """The one end-to-end training test: LeNet-5 on the real digits passes 90% in a few epochs."""
    cn.manual_seed(0)
    train = data.DataLoader(data.digits("train"), batch_size=32, shuffle=True, seed=0)
    test = data.DataLoader(data.digits("test"), batch_size=256)
    trainer = cn.fit(cn.models.get("lenet5"), train, epochs=4, lr=2e-3, progress=False)
    assert trainer.evaluate(test)["accuracy"] > 0.90


def test_keep_last_saves_the_final_epoch(tmp_path):
    t, train, val = _setup()
    t.keep = "last"
    t.fit(train, val, epochs=2, checkpoint_dir=tmp_path, progress=False)
    assert cn.checkpoint.read_metadata(tmp_path / "model.safetensors")["meta"]["epoch"] == 2
    with pytest.raises(ValueError, match="keep must be 'best' or 'last'"):
        Trainer(_mlp(), None, keep="first")


def _bn_setup(seed=0):
    """A small batch-norm CNN on 8x8 digits: running means/vars and num_batches_tracked must resume too."""
    cn.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 4 * 4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 10))
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=3)
    train = data.DataLoader(data.digits("train", size=8), batch_size=128, shuffle=True, seed=2)
    val = data.DataLoader(data.digits("val", size=8), batch_size=128)
    return Trainer(model, opt, scheduler=sched), train, val


def test_batch_norm_model_resume_equals_uninterrupted(tmp_path):
    from helpers import assert_same

    straight, train, val = _bn_setup()
    straight.fit(train, val, epochs=3, progress=False)

    first, train, val = _bn_setup()
    first.fit(train, val, epochs=1, checkpoint_dir=tmp_path, progress=False)
    resumed, train, val = _bn_setup(seed=7)  # another initialisation, other BN statistics
    resumed.resume(tmp_path)
    assert_same(resumed.model.state_dict(), first.model.state_dict())  # incl. 0-d int64 num_batches_tracked
    resumed.fit(train, val, epochs=3, checkpoint_dir=tmp_path, progress=False)

    want = straight.model.state_dict()
    assert int(want["1.num_batches_tracked"]._data) == 3 * len(train)
    assert_same(resumed.model.state_dict(), want)
    assert [h["lr"] for h in resumed.history] == [h["lr"] for h in straight.history]
