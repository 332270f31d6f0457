"""Image files -> model inputs for `convnet predict`: the digits recipe reproduces data.digits exactly."""
import numpy as np
import pytest
from PIL import Image

from convnet import data
from convnet.data.images import load_image_batch, prepare_image


def _centred_index(raw):
    """A digit whose ink spans all 8 rows and is horizontally centred, with nothing outside its box.

    The UCI bitmaps are height-normalised and centred (ink always spans the rows, usually
    columns 1-6), so cropping such a digit to its ink and padding it back to a square is a no-op.
    """
    for i, img in enumerate(raw):
        ink = img[0] > 0.2 * img.max()
        r, c = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
        outside = img[0].copy()
        outside[:, c[0]:c[-1] + 1] = 0
        if r[0] == 0 and r[-1] == 7 and c[0] == 7 - c[-1] and not outside.any():
            return i
    raise AssertionError("no centred digit")


def test_digits_recipe_reproduces_training_images(tmp_path):
    raw8 = data.digits("test", size=8, normalize=False).images
    i = _centred_index(raw8)
    ref = data.digits("test", size=32)
    # what a user might have: the digit scanned at 4x, dark ink on white paper, as a PNG
    paper = (255 - np.round(raw8[i, 0] * 16) * 255 / 16).astype(np.uint8)
    path = tmp_path / "scan.png"
    Image.fromarray(paper).resize((32, 32), Image.NEAREST).save(path)
    x = load_image_batch([path], (1, 32, 32), ref.normalization, recipe="digits")
    np.testing.assert_allclose(x[0], ref.images[i], atol=0.02)  # 8-bit PNG quantisation: 1/255 / std


def test_mnist_recipe_centres_the_ink_in_20x20():
    img = np.zeros((1, 100, 60), np.float32)
    img[0, 10:90, 5:25] = 1.0  # a tall bar off to the left
    out = prepare_image(img, (1, 32, 32), recipe="mnist", invert="no")
    assert out.shape == (1, 32, 32)
    ink = out[0] > 0.1
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    assert rows[-1] - rows[0] + 1 == 20 and cols[-1] - cols[0] + 1 <= 7
    cy, cx = np.argwhere(ink).mean(axis=0)
    assert abs(cy - 15.5) <= 1 and abs(cx - 15.5) <= 1


def test_auto_invert_and_resize_rgb():
    white = np.ones((3, 10, 10), np.float32)
    white[:, 4:6, 4:6] = 0.0  # dark dot on white
    out = prepare_image(white, (3, 5, 5), recipe="resize")
    assert out.shape == (3, 5, 5) and out[:, 0, 0].max() < 0.05 and out[:, 2, 2].min() > 0.5
    assert prepare_image(white, (1, 10, 10), recipe="resize", invert="no")[0, 0, 0] == 1.0


def test_unreadable_files_are_named(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("no pixels here")
    with pytest.raises(ValueError, match=f"cannot read image {bad}"):
        load_image_batch([bad], (1, 32, 32))
    with pytest.raises(FileNotFoundError, match="missing.png: no such file"):
        load_image_batch([tmp_path / "missing.png"], (1, 32, 32))
    with pytest.raises(ValueError, match="recipe must be one of"):
        prepare_image(np.zeros((1, 4, 4)), (1, 4, 4), recipe="magic")
