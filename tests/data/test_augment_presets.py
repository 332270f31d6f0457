"""The named training augmentations of ``convnet train --augment`` / ``convnet reproduce``: each one fills
uncovered pixels with the dataset's normalised black, and the names are refused clearly when unknown."""
import numpy as np
import pytest

import convnet as cn
from convnet.data.augment_presets import PRESETS, background, preset


class Fake:
    normalization = {"mean": [0.25], "std": [0.5]}
    input_shape = (1, 16, 16)


def test_background_is_a_normalised_black_pixel():
    assert background(Fake()) == pytest.approx((0 - 0.25) / 0.5)
    Fake2 = type("F", (), {"normalization": None, "input_shape": (1, 8, 8)})
    assert background(Fake2()) == 0.0


@pytest.mark.parametrize("name", ["crop", "crop+flip", "affine", "elastic"])
def test_an_all_black_batch_stays_black(name):
    """Shifts, rotations and warps move pixels in from outside: they must come in as black (-0.5 here)."""
    cn.manual_seed(0)
    x = np.full((8, 1, 16, 16), -0.5, np.float32)
    y = np.asarray(preset(name, Fake())(x))
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_allclose(y, -0.5, atol=1e-6)


@pytest.mark.parametrize("name", ["crop", "crop+flip", "affine", "elastic"])
def test_a_bright_square_is_moved_not_lost(name):
    cn.manual_seed(1)
    x = np.full((8, 1, 16, 16), -0.5, np.float32)
    x[:, :, 5:11, 5:11] = 1.5
    y = np.asarray(preset(name, Fake())(x))
    assert not np.allclose(y, x)  # something changed in at least one image
    assert (y.max(axis=(1, 2, 3)) > 1.0).all()  # the square is still there in every image


def test_crop_flip_mirrors_about_half_the_images():
    cn.manual_seed(2)
    x = np.full((200, 1, 16, 16), -0.5, np.float32)
    x[:, :, 6:10, 0:2] = 1.5  # a bar on the left edge: a 2-pixel shift keeps it on the left half
    y = np.asarray(preset("crop+flip", Fake())(x))
    right = (y[:, 0, :, 8:] > 1.0).any(axis=(1, 2))
    assert 0.35 < right.mean() < 0.65


def test_none_and_unknown_names():
    assert preset("none", Fake()) is None
    assert set(PRESETS) == {"none", "crop", "crop+flip", "affine", "elastic"}
    with pytest.raises(ValueError, match="unknown name 'blur'; valid names: none, crop, crop\\+flip"):
        preset("blur", Fake())
