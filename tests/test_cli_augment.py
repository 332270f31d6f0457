"""`convnet augment`: a grid with the original training images in the first row and augmented rows below."""
import numpy as np
import pytest
from PIL import Image

from convnet import data
from convnet.cli.main import main
from convnet.data.preview import AUGMENTATIONS


def _tiles(png, n, rows, side, pad=2):
    a = np.asarray(Image.open(png).convert("L"), np.float32) / 255
    assert a.shape == (rows * (side + pad) + pad, n * (side + pad) + pad)
    return np.array([[a[pad + r * (side + pad):pad + r * (side + pad) + side,
                        pad + c * (side + pad):pad + c * (side + pad) + side] for c in range(n)] for r in range(rows)])


@pytest.fixture(scope="module")
def digits_train():
    return data.digits("train", size=32, normalize=False)._raw[:, 0]  # (N, 32, 32), the stored [0, 1] images


def test_first_row_holds_training_images_and_rows_below_are_augmented(tmp_path, digits_train, capsys):
    out = tmp_path / "grid.png"
    assert main(["augment", "--dataset", "digits", "--transform", "elastic", "--n", "5", "--versions", "2",
                 "-o", str(out), "--seed", "3"]) == 0
    assert str(out) in capsys.readouterr().out
    tiles = _tiles(out, 5, 3, 32)
    for tile in tiles[0]:  # every original is a training image (to 8-bit precision)
        assert np.abs(digits_train - tile).max(axis=(1, 2)).min() <= 1 / 255 + 1e-6
    for r in (1, 2):
        assert all(np.abs(tiles[r, c] - tiles[0, c]).max() > 0.1 for c in range(5))
    assert not np.array_equal(tiles[1], tiles[2])  # each row is a fresh draw


@pytest.mark.parametrize("name", sorted(set(AUGMENTATIONS) - {"pca-lighting"}))
def test_every_transform_draws_a_grid(tmp_path, name):
    out = tmp_path / f"{name}.png"
    assert main(["augment", "--transform", name, "--n", "3", "--versions", "1", "-o", str(out)]) == 0
    assert Image.open(out).size == (3 * 34 + 2, 2 * 34 + 2)


def test_color_transforms_on_a_photo_folder(tmp_path):
    photos = data.folder.make_sample_folder(str(tmp_path / "photos"), per_class=4, patch=40)
    for name in ("pca-lighting", "color-jitter"):
        out = tmp_path / f"{name}.png"
        assert main(["augment", "--dataset", "folder", "--data-dir", photos, "--transform", name, "--n", "4",
                     "--image-size", "24", "-o", str(out)]) == 0
        img = Image.open(out)
        assert img.mode == "RGB" and img.size == (4 * 26 + 2, 4 * 26 + 2)


def test_list_and_bad_input(tmp_path, capsys):
    assert main(["augment", "--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in AUGMENTATIONS)
    assert main(["augment", "--transform", "blur", "-o", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "blur" in err[0] and "elastic" in err[0]
    assert main(["augment", "--transform", "pca-lighting", "-o", str(tmp_path / "x.png")]) == 2
    assert "RGB" in capsys.readouterr().err
    assert main(["augment", "--dataset", "folder", "-o", str(tmp_path / "x.png")]) == 2
    assert "folder" in capsys.readouterr().err
