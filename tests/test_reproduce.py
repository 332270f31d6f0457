"""``convnet.reproduce`` and ``convnet reproduce``: the defined runs, one tiny real run on the
offline digits (numbers checked against the saved checkpoint), reports and CLI errors."""
import json

import numpy as np
import pytest

import convnet as cn
from convnet import data, reproduce
from convnet.cli.main import main

TINY = reproduce.Run("test", "digits test accuracy", "-", "-", "digits", {"lenet5": ("lenet5", {})}, epochs=2,
                     batch_size=64)


def test_the_issue_runs_are_defined():
    from convnet.data.augment_presets import PRESETS

    assert {"lenet5-mnist", "lenet5-mnist-affine", "lenet5-mnist-elastic", "simard-mnist-elastic", "simard-mnist-vgg",
            "fashion-resnet20", "jarrett-ablation", "he2016-plain-vs-residual", "googlenet-aux"} <= set(reproduce.names())
    for name, spec in reproduce.RUNS.items():
        assert spec.dataset in data.DATASETS and spec.arms and spec.epochs >= 1, name
        assert spec.augment in PRESETS, name


def test_run_trains_every_arm_and_reports_what_the_checkpoint_scores(monkeypatch, tmp_path):
    monkeypatch.setitem(reproduce.RUNS, "tiny", TINY)
    lines = []
    result = reproduce.run("tiny", seed=0, out=str(tmp_path), log=lines.append)
    arm = result["arms"]["lenet5"]
    assert len(arm["history"]) == 2 and len(lines) == 3
    assert arm["test_error"] == pytest.approx(1 - arm["test_accuracy"])
    # independent of Trainer.evaluate: the saved checkpoint's argmax against the test labels
    model = cn.load(tmp_path / "lenet5" / "model.safetensors")
    test = data.get("digits", "test")
    with cn.no_grad():
        pred = model(cn.tensor(test.images)).numpy().argmax(1)
    assert arm["test_accuracy"] == pytest.approx(float((pred == test.labels).mean()))
    cm = np.array(arm["confusion_matrix"])
    assert cm.sum() == len(test.labels) and np.trace(cm) == int((pred == test.labels).sum())
    assert arm["test_accuracy"] > 0.5
    # the same seed gives the same numbers
    again = reproduce.run("tiny", seed=0, log=lambda line: None)
    assert again["arms"]["lenet5"]["test_accuracy"] == arm["test_accuracy"]
    paths = reproduce.write_report(result, str(tmp_path))
    for p in paths:
        if p.endswith(".png"):
            with open(p, "rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with open(tmp_path / "results.json") as f:
        assert json.load(f)["arms"]["lenet5"]["test_accuracy"] == arm["test_accuracy"]


def test_a_missing_model_option_is_named_before_training(monkeypatch):
    bad = reproduce.Run("x", "x", "x", "x", "digits", {"a": ("lenet5", {"no_such_option": 1})}, epochs=1)
    monkeypatch.setitem(reproduce.RUNS, "bad", bad)
    with pytest.raises(ValueError, match="model 'lenet5' has no option no_such_option"):
        reproduce.run("bad", log=lambda line: None)


def test_cli(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(reproduce.RUNS, "tiny", TINY)
    assert main(["reproduce", "tiny", "--epochs", "1", "--limit", "300", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr()[0]
    assert "test accuracy" in out and "training_curve.png" in out
    assert (tmp_path / "confusion_matrix_lenet5.png").is_file()
    assert main(["reproduce", "nosuch"]) == 2
    assert "unknown run 'nosuch'" in capsys.readouterr()[1]
    assert main(["reproduce", "tiny", "--epochs", "0"]) == 2
    assert "--epochs must be at least 1" in capsys.readouterr()[1]
    assert main(["reproduce", "tiny", "--batch-size", "0"]) == 2
    assert "--batch-size must be at least 1, received 0" in capsys.readouterr()[1]
    assert main(["reproduce", "tiny", "--workers", "-2"]) == 2
    assert "--workers must be a non-negative integer, received -2" in capsys.readouterr()[1]


def test_loader_workers_give_the_same_numbers(monkeypatch, tmp_path):
    import dataclasses

    monkeypatch.setitem(reproduce.RUNS, "tiny", dataclasses.replace(TINY, augment="elastic", epochs=1))
    runs = [reproduce.run("tiny", seed=1, limit=640, log=lambda line: None, num_workers=n, out=str(tmp_path / str(n)))
            for n in (0, 2)]
    arms = [r["arms"]["lenet5"] for r in runs]
    untimed = [[{k: v for k, v in e.items() if k != "time"} for e in a["history"]] for a in arms]
    assert untimed[1] == untimed[0] and arms[1]["test_accuracy"] == arms[0]["test_accuracy"]
    weights = [cn.load(tmp_path / str(n) / "lenet5" / "model.safetensors").state_dict() for n in (0, 2)]
    for k in weights[0]:
        np.testing.assert_array_equal(weights[1][k].numpy(), weights[0][k].numpy())


def test_a_run_s_own_limit_is_its_default_training_set(monkeypatch):
    """``Run(limit=N)`` trains on the first N images unless ``run(limit=...)`` says otherwise."""
    import dataclasses

    seen = []
    real = data.DataLoader

    def spy(dataset, *a, **k):
        seen.append(len(dataset))
        return real(dataset, *a, **k)

    monkeypatch.setattr(data, "DataLoader", spy)
    monkeypatch.setitem(reproduce.RUNS, "small", dataclasses.replace(TINY, epochs=1, limit=200))
    result = reproduce.run("small", log=lambda line: None)
    assert result["limit"] == 200 and seen[0] == 200  # the first loader is the training one
    seen.clear()
    reproduce.run("small", limit=120, log=lambda line: None)
    assert seen[0] == 120
    # batch_size (the CLI's --batch-size) overrides the run's own and is recorded in the result
    batches = []
    monkeypatch.setattr(data, "DataLoader", lambda dataset, *a, **k: batches.append(k.get("batch_size")) or
                        real(dataset, *a, **k))
    result = reproduce.run("small", limit=120, batch_size=50, log=lambda line: None)
    assert batches[0] == 50 and result["spec"]["batch_size"] == 50
    assert reproduce.RUNS["he2016-plain-vs-residual"].limit == 6000  # the documented budget


def test_update_bn_runs_after_training_and_the_checkpoint_holds_its_statistics(monkeypatch, tmp_path):
    spec = reproduce.Run("test", "digits", "-", "-", "digits", {"vgg_mini": ("vgg_mini", {})}, epochs=1,
                         batch_size=64, augment="elastic", update_bn=True)
    monkeypatch.setitem(reproduce.RUNS, "tiny-bn", spec)
    arm = reproduce.run("tiny-bn", seed=0, out=str(tmp_path), log=lambda line: None)["arms"]["vgg_mini"]
    assert {"test_accuracy_before_update_bn", "val_accuracy_after_update_bn"} <= set(arm)
    model = cn.load(tmp_path / "vgg_mini" / "model.safetensors")
    assert cn.checkpoint.read_metadata(tmp_path / "vgg_mini" / "model.safetensors")["meta"]["update_bn"] is True
    # independent: the first batch-norm layer's running mean is the average of its per-batch input means
    train = data.load_splits("digits", size=28)["train"]
    first, means = model.features[0], []
    with cn.no_grad():
        for x, _ in data.DataLoader(train, batch_size=64):
            means.append(first(x).numpy().mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(model.features[1].running_mean.numpy(), np.mean(means, 0), rtol=1e-4, atol=1e-6)
    test = data.get("digits", "test", size=28)
    with cn.no_grad():
        pred = model.eval()(cn.tensor(test.images)).numpy().argmax(1)
    assert arm["test_accuracy"] == pytest.approx(float((pred == test.labels).mean()))
