"""Shipped weights: ``cn.models.get(name, weights=...)``, the index with SHA-256, and
``convnet predict --model M --weights W [--json]`` on a fresh install (no training)."""
import hashlib
import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

import convnet as cn
from convnet import data, models
from convnet import weights as shipped
from convnet.cli.main import main
from convnet.errors import FileFormatError

FIELDS = {"file", "sha256", "config", "dataset", "normalization", "classes", "input_shape", "test_accuracy",
          "command", "seed", "date"}


def _mnist_root():
    from convnet.data.mnist_files import find_files

    root = os.environ.get("CONVNET_DATA") or os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                                                          "datasets")
    return root if find_files("mnist", "test", root=root) else None


def test_available_weights_and_index_entries():
    assert models.available_weights("lenet5") == ["digits", "fashion-mnist", "mnist"]
    assert models.available_weights("resnet18") == []
    assert models.available_weights("resnet20") == ["fashion-mnist"]
    for model, table in shipped.index().items():
        for name, entry in table.items():
            assert FIELDS <= set(entry), (model, name, FIELDS - set(entry))
            file = os.path.join(shipped.FOLDER, entry["file"])
            assert os.path.getsize(file) < 2 * 1024 * 1024
            with open(file, "rb") as f:
                assert hashlib.sha256(f.read()).hexdigest() == entry["sha256"]
            assert 0.9 < entry["test_accuracy"] <= 1.0 and entry["command"].startswith("convnet ")


def test_get_with_weights_loads_them_in_training_mode_with_meta():
    model = models.get("lenet5", weights="mnist")
    assert model.training  # like torchvision: the caller chooses .eval()
    meta = model.checkpoint_meta
    assert meta["dataset"] == "mnist" and meta["classes"] == [str(k) for k in range(10)]
    assert meta["input_shape"] == [1, 32, 32]
    np.testing.assert_allclose(meta["normalization"]["mean"], [0.1307], atol=1e-3)  # MNIST's well-known statistics
    np.testing.assert_allclose(meta["normalization"]["std"], [0.3081], atol=2e-3)
    same = models.lenet5(weights="mnist")
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v._data, same.state_dict()[k]._data)
    fresh = models.get("lenet5")
    assert not np.array_equal(fresh.state_dict()["features.c1.weight"]._data,
                              model.state_dict()["features.c1.weight"]._data)


def test_unknown_or_mismatched_weights_are_refused():
    with pytest.raises(ValueError, match=r"weights='imagenet' is not available.*'digits', 'fashion-mnist', "
                                         r"'mnist'"):
        models.get("lenet5", weights="imagenet")
    with pytest.raises(ValueError, match=r"weights='mnist' were trained with options .*num_classes"):
        models.get("lenet5", weights="mnist", num_classes=5)


def test_a_damaged_file_fails_its_sha256_check(tmp_path):
    folder = tmp_path / "weights"
    shutil.copytree(shipped.FOLDER, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    assert shipped.load("lenet5", "digits", folder=str(folder)).config["name"] == "lenet5"
    file = folder / "lenet5-digits.safetensors"
    raw = bytearray(file.read_bytes())
    raw[-1] ^= 1  # one bit of one weight
    file.write_bytes(bytes(raw))
    with pytest.raises(FileFormatError, match="SHA-256"):
        shipped.load("lenet5", "digits", folder=str(folder))
    file.unlink()
    with pytest.raises(FileFormatError, match="missing"):
        shipped.load("lenet5", "digits", folder=str(folder))


def test_digits_weights_classify_the_digits_test_split():
    model = models.get("lenet5", weights="digits").eval()
    test = data.get("digits", "test")
    with cn.no_grad():
        pred = model(cn.tensor(test.images)).numpy().argmax(1)
    accuracy = float((pred == test.labels).mean())
    assert accuracy >= 0.97 and abs(accuracy - model.weights_info["test_accuracy"]) < 1e-9


def test_mnist_weights_classify_mnist_test_images():
    root = _mnist_root()
    if root is None:
        pytest.skip("MNIST files not found ($CONVNET_DATA or ../shared/datasets)")
    model = models.get("lenet5", weights="mnist").eval()
    test = data.get("mnist", "test", root=root, size=32, download=False)
    with cn.no_grad():
        pred = model(cn.tensor(test.images[:2000])).numpy().argmax(1)
    assert float((pred == test.labels[:2000]).mean()) >= 0.985  # the run measured 99.33% on all 10,000 (98.75% here)


def test_fashion_weights_classify_fashion_mnist_test_images():
    root = _mnist_root()
    if root is None:
        pytest.skip("Fashion-MNIST files not found ($CONVNET_DATA or ../shared/datasets)")
    model = models.get("lenet5", weights="fashion-mnist").eval()
    assert model.checkpoint_meta["classes"][9] == "Ankle boot"
    test = data.get("fashion-mnist", "test", root=root, size=32, download=False)
    with cn.no_grad():
        pred = model(cn.tensor(test.images[:2000])).numpy().argmax(1)
    assert float((pred == test.labels[:2000]).mean()) >= 0.88  # the run measured 90.61% on all 10,000


def test_batch_norm_network_weights_carry_their_running_statistics():
    root = _mnist_root()
    model = models.get("resnet20", weights="fashion-mnist")
    assert model.config["in_channels"] == 1 and model.checkpoint_meta["dataset"] == "fashion-mnist"
    var = model.state_dict()["bn1.running_var"]._data
    assert not np.allclose(var, 1.0)  # trained statistics, not the initial ones
    if root is None:
        pytest.skip("Fashion-MNIST files not found ($CONVNET_DATA or ../shared/datasets)")
    test = data.get("fashion-mnist", "test", root=root, size=32, download=False)
    with cn.no_grad():
        pred = model.eval()(cn.tensor(test.images[:1000])).numpy().argmax(1)
    assert float((pred == test.labels[:1000]).mean()) >= 0.93  # the run measured 94.07% on all 10,000 (95.2% here)


def _digit_pngs(folder, count=6):
    raw = data.digits("test", size=8, normalize=False)
    paths, truth = [], []
    for i in range(count):
        ink = raw.images[i, 0] / raw.images[i, 0].max()
        ink = np.asarray(Image.fromarray((ink * 255).astype(np.uint8)).resize((64, 64), Image.NEAREST))
        Image.fromarray(255 - ink).save(folder / f"d{i}.png")  # dark ink on white paper
        paths.append(folder / f"d{i}.png")
        truth.append(int(raw.labels[i]))
    return paths, truth


def _strict(line):
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")
    return json.loads(line, parse_constant=refuse)


def test_predict_json_with_shipped_weights(capsys, tmp_path):
    paths, truth = _digit_pngs(tmp_path)
    code = main(["predict", "--model", "lenet5", "--weights", "digits", "--json", "--top-k", "2",
                 *map(str, paths)])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = [_strict(line) for line in out.splitlines()]
    assert [r["file"] for r in rows] == [str(p) for p in paths]
    for r in rows:
        assert len(r["top"]) == 2 and set(r["top"][0]) == {"class", "label", "probability"}
        assert r["top"][0]["label"] == str(r["top"][0]["class"])
        assert 1.0 >= r["top"][0]["probability"] >= r["top"][1]["probability"] >= 0.0
    correct = sum(r["top"][0]["class"] == t for r, t in zip(rows, truth))
    assert correct >= 5, (rows, truth)
    # the text output names the same top classes
    assert main(["predict", "--model", "lenet5", "--weights", "digits", *map(str, paths)]) == 0
    text = capsys.readouterr()[0].splitlines()
    assert [line.split(": ")[1].split(" ")[0] for line in text] == [r["top"][0]["label"] for r in rows]


def test_predict_mnist_weights_on_raw_mnist_pngs(capsys, tmp_path):
    root = _mnist_root()
    if root is None:
        pytest.skip("MNIST files not found ($CONVNET_DATA or ../shared/datasets)")
    from convnet.data.idx import read_idx
    from convnet.data.mnist_files import find_files

    images, labels = find_files("mnist", "test", root=root)
    x, y = read_idx(images)[:10], read_idx(labels)[:10]
    paths = []
    for i in range(10):
        Image.fromarray(x[i]).save(tmp_path / f"m{i}.png")
        paths.append(str(tmp_path / f"m{i}.png"))
    assert main(["predict", "--model", "lenet5", "--weights", "mnist", "--json", *paths]) == 0
    rows = [_strict(line) for line in capsys.readouterr()[0].splitlines()]
    assert sum(r["top"][0]["class"] == int(t) for r, t in zip(rows, y)) >= 9


@pytest.mark.parametrize("argv, message", [
    (["--model", "lenet5", "x.png"], "--model and --weights go together"),
    (["--model", "lenet5", "--weights", "imagenet", "x.png"], "--weights: lenet5 has no 'imagenet' weights"),
    (["--model", "nosuch", "--weights", "mnist", "x.png"], "--model: unknown model 'nosuch'"),
    ([], "give a CHECKPOINT"),
])
def test_predict_option_errors_are_one_line(capsys, argv, message):
    assert main(["predict", *argv]) == 2
    err = capsys.readouterr()[1]
    assert message in err and len(err.strip().splitlines()) == 1
