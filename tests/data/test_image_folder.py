"""ImageFolder (torchvision's layout and attributes), bad files, and `convnet train --dataset folder`
on real photos: patches of scikit-learn's two sample images."""
import json
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from convnet.data import datasets, folder, transforms as T
from convnet.errors import FileFormatError


def _save(path, array, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array, mode).save(path) if mode else Image.fromarray(array).save(path)


@pytest.fixture
def tree(tmp_path, rng):
    root = tmp_path / "pets"
    _save(str(root / "dog" / "b.png"), rng.integers(0, 256, (6, 5, 3), dtype=np.uint8))
    _save(str(root / "dog" / "a.jpg"), rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    _save(str(root / "cat" / "grey.png"), np.full((4, 4), 200, np.uint8))
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255  # red, fully transparent except the top-left pixel
    rgba[0, 0, 3] = 255
    _save(str(root / "cat" / "sub" / "clear.png"), rgba)
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    return root


def test_classes_samples_and_targets_follow_torchvision(tree):
    ds = datasets.ImageFolder(tree)
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    rel = [(os.path.relpath(p, tree), t) for p, t in ds.samples]
    assert rel == [("cat/grey.png", 0), ("cat/sub/clear.png", 0), ("dog/a.jpg", 1), ("dog/b.png", 1)]
    assert ds.targets == [0, 0, 1, 1] and ds.imgs == ds.samples and len(ds) == 4


def test_images_are_rgb_grey_replicated_and_alpha_on_white(tree):
    ds = datasets.ImageFolder(tree, transform=T.ToTensor(), target_transform=lambda t: t + 10)
    grey, target = ds[0]
    assert target == 10 and tuple(grey.shape) == (3, 4, 4)
    np.testing.assert_allclose(grey.numpy(), 200 / 255, rtol=1e-6)
    clear = ds[1][0].numpy()
    np.testing.assert_allclose(clear[:, 0, 0], [1, 0, 0])  # the opaque red pixel
    np.testing.assert_allclose(clear[:, 1:, :], 1.0)  # transparent pixels: white, not the hidden red
    img, _ = datasets.ImageFolder(tree)[3]
    assert img.mode == "RGB" and img.size == (5, 6)


def test_a_corrupt_file_is_named_or_skipped_and_counted(tree):
    bad = tree / "dog" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    with pytest.raises(FileFormatError, match="broken.jpg"):
        datasets.ImageFolder(tree)
    with pytest.warns(UserWarning, match="skipped 1"):
        ds = datasets.ImageFolder(tree, skip_bad=True)
    assert len(ds) == 4 and [os.path.basename(p) for p, _ in ds.skipped] == ["broken.jpg"]


def test_a_truncated_file_is_skipped_or_named_when_read(tree, rng):
    good = tree / "dog" / "big.png"
    _save(str(good), rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    good.write_bytes(good.read_bytes()[:300])  # valid header, truncated pixels
    with pytest.warns(UserWarning):
        assert "big.png" in datasets.ImageFolder(tree, skip_bad=True).skipped[0][0]
    ds = datasets.ImageFolder(tree)
    k = [os.path.basename(p) for p, _ in ds.samples].index("big.png")
    with pytest.raises(FileFormatError, match="big.png"):
        ds[k]


def _png_header_only(path, w, h):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                     + chunk(b"IEND", b""))


def test_oversized_images_are_refused_before_decoding(tree):
    _png_header_only(tree / "dog" / "huge.png", 20000, 20000)  # 400 MP claimed by the header
    with pytest.raises(FileFormatError, match="huge.png.*pixel"):
        datasets.ImageFolder(tree)


def test_missing_or_empty_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such directory"):
        datasets.ImageFolder(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="no class folders"):
        datasets.ImageFolder(tmp_path)
    (tmp_path / "a").mkdir()
    with pytest.raises(FileNotFoundError, match="no readable images"):
        datasets.ImageFolder(tmp_path)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return folder.make_sample_folder(str(tmp_path_factory.mktemp("photos")), per_class=60)


def test_sample_folder_has_two_classes_of_real_photo_patches(photos):
    ds = datasets.ImageFolder(photos)
    assert ds.classes == ["china", "flower"] and np.bincount(ds.targets).tolist() == [60, 60]
    assert ds[0][0].size == (64, 64)


def test_folder_splits_are_stratified_fixed_and_normalized_from_train(photos):
    a, b = folder.folder_splits(photos, size=24), folder.folder_splits(photos, size=24)
    assert {k: len(v) for k, v in a.items()} == {"train": 84, "val": 18, "test": 18}
    for split in a:
        assert np.bincount(a[split].labels).tolist() == [len(a[split]) // 2] * 2
        assert np.array_equal(a[split]._raw, b[split]._raw)
    train = a["train"]._raw.astype(np.float64) / 255
    assert a["train"].input_shape == (3, 24, 24) and a["train"].classes == ["china", "flower"]
    np.testing.assert_allclose(a["test"].normalization["mean"], train.mean(axis=(0, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(a["val"].normalization["std"], train.std(axis=(0, 2, 3)), rtol=1e-6)


def test_grey_folder_gives_one_channel(tmp_path, rng):
    for c in ("a", "b"):
        for k in range(3):
            _save(str(tmp_path / c / f"{k}.png"), rng.integers(0, 256, (10, 12), dtype=np.uint8))
    sp = folder.folder_splits(tmp_path, size=8)
    assert sp["train"].input_shape == (1, 8, 8)
    with pytest.raises(ValueError, match="at least 3"):
        os.remove(tmp_path / "a" / "0.png")
        folder.folder_splits(tmp_path, size=8)


def test_train_on_photo_patches_beats_chance_and_predicts_class_names(photos, tmp_path, capsys):
    from convnet.cli.main import main

    out = str(tmp_path / "run")
    assert main(["train", "--dataset", "folder", "--data-dir", photos, "--epochs", "10", "--batch-size", "8",
                 "--out", out, "--no-progress"]) == 0
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    assert metrics["num_samples"] == 18 and metrics["accuracy"] >= 15 / 18  # chance: 9/18
    meta = json.load(open(os.path.join(out, "model.json")))["meta"]
    assert meta["classes"] == ["china", "flower"] and meta["dark_background"] is False
    assert len(meta["normalization"]["mean"]) == 3
    capsys.readouterr()
    test = folder.folder_splits(photos, size=32)["test"]  # held-out patches, predicted from their files
    assert main(["predict", out, *test.paths, "--top-k", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    predicted = [line.split(": ")[1].split(" (")[0] for line in lines]
    truth = [test.classes[k] for k in test.labels]
    assert len(predicted) == 18 and set(predicted) <= {"china", "flower"}
    assert np.mean([p == t for p, t in zip(predicted, truth)]) >= 15 / 18


def test_train_folder_needs_data_dir(capsys):
    from convnet.cli.main import main

    assert main(["train", "--dataset", "folder", "--epochs", "1"]) == 2
    assert "--data-dir" in capsys.readouterr().err
