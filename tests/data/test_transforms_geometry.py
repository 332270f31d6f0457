"""Geometric augmentation on synthetic images whose answer is known: sheared lines, crop boxes, flips.

References: the geometry of a shear (a line's slope), PyTorch's bilinear ``interpolate`` for the resized
crop, plain slicing for crops and flips.
"""
import math

import numpy as np
import pytest
import torch

import convnet as cn
from convnet.data import transforms as T


def _line_image(size=41, vertical=True):
    img = np.zeros((1, 1, size, size), np.float32)
    if vertical:
        img[..., size // 2] = 1.0
    else:
        img[..., size // 2, :] = 1.0
    return img


def _column_centroids(img, rows):
    cols = np.arange(img.shape[-1])
    return np.array([(img[r] * cols).sum() / img[r].sum() for r in rows])


@pytest.mark.parametrize("angle", [-30.0, 15.0, 40.0])
def test_x_shear_tilts_a_vertical_line_by_the_shear_angle(angle):
    size, c = 41, 20
    out = T.RandomAffine(degrees=0, shear=(angle, angle))(_line_image(size), generator=np.random.default_rng(0))
    rows = np.arange(c - 12, c + 13)  # rows whose sheared line stays inside the image
    slope = np.polyfit(rows - c, _column_centroids(out[0, 0], rows) - c, 1)[0]
    # torchvision's SHx: x' = x - tan(s) y, so the line leans by the shear angle from the vertical
    assert slope == pytest.approx(-math.tan(math.radians(angle)), abs=1e-6)
    assert math.degrees(math.atan(abs(slope))) == pytest.approx(abs(angle), abs=1e-4)


def test_x_shear_keeps_a_horizontal_line():
    img = _line_image(41, vertical=False)
    out = T.RandomAffine(degrees=0, shear=(25, 25))(img, generator=np.random.default_rng(0))
    np.testing.assert_allclose(out, img, atol=1e-6)


def test_y_shear_tilts_a_horizontal_line_and_keeps_a_vertical_one():
    aug = T.RandomAffine(degrees=0, shear=(0, 0, 20, 20))
    vertical = _line_image(41)
    np.testing.assert_allclose(aug(vertical, generator=np.random.default_rng(0)), vertical, atol=1e-6)
    out = aug(_line_image(41, vertical=False), generator=np.random.default_rng(0))[0, 0]
    cols = np.arange(8, 33)
    rows = np.arange(41)
    centroid = np.array([(out[:, k] * rows).sum() / out[:, k].sum() for k in cols])
    slope = np.polyfit(cols - 20, centroid - 20, 1)[0]
    assert slope == pytest.approx(-math.tan(math.radians(20)), abs=1e-6)


def test_shear_ranges_follow_torchvision():
    aug = T.RandomAffine(degrees=0, shear=10)
    _, _, _, _, sx, sy = aug.get_params(5000, 8, 8, np.random.default_rng(0))
    assert -10 <= sx.min() < -9.9 and 9.9 < sx.max() <= 10 and not sy.any()
    _, _, _, _, sx, sy = T.RandomAffine(0, shear=(-5, 5, 2, 3)).get_params(5000, 8, 8, np.random.default_rng(0))
    assert -5 <= sx.min() and sx.max() <= 5 and 2 <= sy.min() and sy.max() <= 3
    with pytest.raises(ValueError, match="shear"):
        T.RandomAffine(0, shear=(1, 2, 3))


def test_affine_without_shear_still_matches_rot90():
    x = np.random.default_rng(0).standard_normal((3, 2, 9, 9)).astype(np.float32)
    out = T.RandomAffine(degrees=(90, 90))(x, generator=np.random.default_rng(0))
    np.testing.assert_allclose(out, np.rot90(x, 1, axes=(2, 3)), atol=1e-5)


def test_affine_batch_is_float32_and_per_sample():
    x = np.random.default_rng(0).random((6, 3, 16, 16)).astype(np.float32)
    aug = T.RandomAffine(degrees=20, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=10)
    out = aug(x, generator=np.random.default_rng(1))
    assert out.dtype == np.float32 and out.shape == x.shape
    again = T.RandomAffine(degrees=20, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=10)(x[2:3], generator=None)
    assert again.shape == (1, 3, 16, 16)


@pytest.mark.parametrize("h, w, largest", [(32, 32, 0.8), (20, 50, 0.45), (60, 17, 0.3)])
def test_random_resized_crop_boxes_lie_inside_the_image(h, w, largest):
    # largest: a box with w/h in [3/4, 4/3] covers at most 20*26.7/1000 of a 20x50 image, 17*22.7/1020 of 60x17
    top, left, bh, bw = T.RandomResizedCrop.get_params(4000, h, w, (0.08, 1.0), (3 / 4, 4 / 3),
                                                       np.random.default_rng(0))
    assert (top >= 0).all() and (left >= 0).all() and (bh >= 1).all() and (bw >= 1).all()
    assert (top + bh <= h).all() and (left + bw <= w).all()
    area = bh * bw / (h * w)
    assert area.min() < 0.2 and area.max() > largest  # the whole feasible scale range is used
    ratio = bw / bh
    inside = (ratio > 0.6) & (ratio < 1.6)  # drawn ratios, widened by rounding to whole pixels
    assert inside.mean() > 0.95


def test_random_resized_crop_resamples_like_torch_bilinear():
    x = np.random.default_rng(0).random((4, 3, 24, 30)).astype(np.float32)
    aug = T.RandomResizedCrop((13, 17), scale=(0.2, 0.9))
    out = aug(x, generator=np.random.default_rng(5))
    top, left, bh, bw = aug.get_params(4, 24, 30, aug.scale, aug.ratio, np.random.default_rng(5))
    for n in range(4):  # reference: crop with slicing, resize with PyTorch (half-pixel bilinear, no antialias)
        crop = torch.from_numpy(x[n:n + 1, :, top[n]:top[n] + bh[n], left[n]:left[n] + bw[n]].copy())
        ref = torch.nn.functional.interpolate(crop, size=(13, 17), mode="bilinear", align_corners=False)
        np.testing.assert_allclose(out[n:n + 1], ref.numpy(), atol=2e-6)


def test_random_resized_crop_on_pil_and_tensor():
    from PIL import Image

    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8))
    out = T.RandomResizedCrop(24)(img, generator=np.random.default_rng(0))
    assert isinstance(out, Image.Image) and out.size == (24, 24) and out.mode == "RGB"
    t = T.RandomResizedCrop((8, 10))(cn.Tensor(np.zeros((3, 20, 20), np.float32)))
    assert isinstance(t, cn.Tensor) and tuple(t.shape) == (3, 8, 10)


def test_vertical_flip():
    x = np.random.default_rng(0).standard_normal((50, 2, 5, 4)).astype(np.float32)
    np.testing.assert_array_equal(T.RandomVerticalFlip(1.0)(x), x[:, :, ::-1])
    np.testing.assert_array_equal(T.RandomVerticalFlip(0.0)(x), x)
    out = T.RandomVerticalFlip(0.5)(x, generator=np.random.default_rng(0))
    flipped = np.array([np.array_equal(o, s[:, ::-1]) for o, s in zip(out, x)])
    kept = np.array([np.array_equal(o, s) for o, s in zip(out, x)])
    assert (flipped ^ kept).all() and 10 < flipped.sum() < 40


def test_center_crop_per_image_and_per_batch():
    x = np.random.default_rng(0).standard_normal((3, 2, 9, 12)).astype(np.float32)
    np.testing.assert_array_equal(T.CenterCrop((5, 6))(x), x[:, :, 2:7, 3:9])
    np.testing.assert_array_equal(T.CenterCrop(5)(x[1]), x[1, :, 2:7, 4:9])
