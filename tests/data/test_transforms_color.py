"""Colour augmentation against independent references: NumPy formulas written here, ``colorsys``,
Pillow's ``convert("L")`` and scikit-learn's PCA."""
import colorsys

import numpy as np
import pytest

import convnet as cn
from convnet.data import transforms as T
from convnet.data import transforms_color as TC


@pytest.fixture
def rgb(rng):
    return rng.random((5, 3, 6, 7)).astype(np.float32)


def _grey(x):  # test-side reference: ITU-R 601 luma
    return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


def test_grayscale_weights_and_output_channels(rgb):
    for k, w in enumerate((0.299, 0.587, 0.114)):
        pure = np.zeros((1, 3, 2, 2), np.float32)
        pure[:, k] = 1.0
        np.testing.assert_allclose(T.Grayscale()(pure), np.full((1, 1, 2, 2), w), rtol=1e-6)
    np.testing.assert_allclose(T.Grayscale()(rgb), _grey(rgb), rtol=1e-6)
    three = T.Grayscale(3)(rgb[0])
    assert three.shape == (3, 6, 7) and np.array_equal(three[0], three[2])


def test_grayscale_on_pil_is_pillows_luma(rng):
    from PIL import Image

    img = Image.fromarray(rng.integers(0, 256, (9, 8, 3), dtype=np.uint8))
    assert np.array_equal(np.asarray(T.Grayscale()(img)), np.asarray(img.convert("L")))
    assert T.Grayscale(3)(img).mode == "RGB"
    # the array path rounds the same luma to within one grey level of Pillow's integer arithmetic
    arr = T.Grayscale()(np.asarray(img).transpose(2, 0, 1).copy())
    assert arr.dtype == np.uint8 and np.abs(arr[0].astype(int) - np.asarray(img.convert("L"))).max() <= 1


def test_random_grayscale_hits_a_fraction_p(rng):
    x = rng.random((2000, 3, 2, 2)).astype(np.float32)
    out = T.RandomGrayscale(0.3)(x, generator=np.random.default_rng(0))
    grey = np.all(out[:, 0] == out[:, 1], axis=(1, 2)) & np.all(out[:, 1] == out[:, 2], axis=(1, 2))
    assert 0.26 < grey.mean() < 0.34
    np.testing.assert_allclose(out[grey][:, :1], _grey(x[grey]), rtol=1e-6)
    np.testing.assert_array_equal(out[~grey], x[~grey])


@pytest.mark.parametrize("f", [0.0, 0.5, 1.7])
def test_brightness_contrast_saturation_formulas(rgb, f):
    np.testing.assert_allclose(TC.adjust_brightness(rgb, f), np.clip(rgb * f, 0, 1), atol=1e-6)
    mean = _grey(rgb).mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(TC.adjust_contrast(rgb, f), np.clip(f * rgb + (1 - f) * mean, 0, 1), atol=1e-6)
    np.testing.assert_allclose(TC.adjust_saturation(rgb, f), np.clip(f * rgb + (1 - f) * _grey(rgb), 0, 1),
                               atol=1e-6)


@pytest.mark.parametrize("shift", [-0.5, -0.2, 0.0, 0.13, 0.5])
def test_hue_rotation_matches_colorsys(rgb, shift):
    out = TC.adjust_hue(rgb, shift)
    ref = np.empty_like(rgb)
    for n, i, j in np.ndindex(rgb.shape[0], *rgb.shape[2:]):
        h, s, v = colorsys.rgb_to_hsv(*rgb[n, :, i, j])
        ref[n, :, i, j] = colorsys.hsv_to_rgb((h + shift) % 1.0, s, v)
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_hsv_round_trip_and_greys(rgb):
    np.testing.assert_allclose(TC.hsv_to_rgb(TC.rgb_to_hsv(rgb)), rgb, atol=1e-6)
    grey = np.full((1, 3, 2, 2), 0.4, np.float32)
    np.testing.assert_allclose(TC.adjust_hue(grey, 0.3), grey, atol=1e-7)


def test_color_jitter_single_property_equals_its_formula(rgb):
    g = np.random.default_rng(0)
    np.testing.assert_allclose(T.ColorJitter(brightness=(1.4, 1.4))(rgb, generator=g), np.clip(rgb * 1.4, 0, 1),
                               atol=1e-6)
    mean = _grey(rgb).mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(T.ColorJitter(contrast=(0.3, 0.3))(rgb, generator=g),
                               np.clip(0.3 * rgb + 0.7 * mean, 0, 1), atol=1e-6)


def test_color_jitter_draws_factors_per_image_in_range(rng):
    x = np.full((400, 3, 2, 2), 0.25, np.float32)
    out = T.ColorJitter(brightness=0.4)(x, generator=np.random.default_rng(0))
    factors = out[:, 0, 0, 0] / 0.25
    assert 0.6 <= factors.min() < 0.62 and 1.38 < factors.max() <= 1.4
    a = T.ColorJitter(0.4, 0.4, 0.4, 0.1)(x, generator=np.random.default_rng(3))
    b = T.ColorJitter(0.4, 0.4, 0.4, 0.1)(x, generator=np.random.default_rng(3))
    assert np.array_equal(a, b) and a.dtype == np.float32
    with pytest.raises(ValueError, match="hue"):
        T.ColorJitter(hue=0.7)
    with pytest.raises(ValueError, match="channels"):
        T.ColorJitter(0.2)(np.zeros((1, 2, 3, 3), np.float32))


def test_color_jitter_on_pil_grey_and_tensor(rng):
    from PIL import Image

    img = Image.fromarray(rng.integers(0, 256, (9, 8, 3), dtype=np.uint8))
    out = T.ColorJitter(0.3, 0.3, 0.3, 0.05)(img)
    assert isinstance(out, Image.Image) and out.size == img.size and out.mode == "RGB"
    grey = rng.random((2, 1, 5, 5)).astype(np.float32)
    assert T.ColorJitter(0.3, 0.3, 0.3, 0.05)(grey).shape == grey.shape
    t = T.ColorJitter(0.3)(cn.Tensor(rng.random((3, 4, 4)).astype(np.float32)))
    assert isinstance(t, cn.Tensor) and tuple(t.shape) == (3, 4, 4)


def test_pca_lighting_shifts_every_pixel_along_the_given_eigenvector(rgb):
    q, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((3, 3)))
    v = q[:, 0]
    aug = T.PCALighting(alphastd=0.1, eigval=[2.0, 0.0, 0.0], eigvec=q)
    x = np.tile(rgb, (80, 1, 1, 1))  # 400 images
    shift = aug(x, generator=np.random.default_rng(0)) - x  # (N, 3, H, W)
    per_image = shift[:, :, 0, 0]
    np.testing.assert_allclose(shift, np.broadcast_to(per_image[:, :, None, None], shift.shape), atol=1e-6)
    along = per_image @ v  # the shift is alpha * 2 * v with alpha ~ N(0, 0.1)
    np.testing.assert_allclose(per_image, along[:, None] * v[None], atol=1e-6)
    assert abs(along.mean()) < 0.03 and 0.17 < along.std() < 0.23


def test_pca_lighting_eigen_decomposition_matches_sklearn(rng):
    from sklearn.decomposition import PCA

    mix = np.array([[1.0, 0.2, 0.1], [0.5, 0.6, 0.0], [0.2, 0.3, 0.4]])
    pixels = rng.random((4000, 3)) @ mix  # correlated RGB values
    images = pixels.reshape(10, 20, 20, 3).transpose(0, 3, 1, 2).astype(np.float32)  # (N, H, W, 3) -> (N, 3, H, W)
    aug = T.PCALighting.from_images(images)
    pca = PCA(n_components=3).fit(images.transpose(0, 2, 3, 1).reshape(-1, 3).astype(np.float64))
    np.testing.assert_allclose(aug.eigval, pca.explained_variance_, rtol=1e-4)
    for i in range(3):  # same axes up to sign
        assert abs(abs(aug.eigvec[:, i] @ pca.components_[i]) - 1) < 1e-4


def test_pca_lighting_fit_on_a_dataset_uses_the_stored_pixels(rng):
    from convnet.data import ImageDataset

    raw = rng.integers(0, 256, (12, 3, 5, 5), dtype=np.uint8)
    ds = ImageDataset(raw, np.zeros(12, np.int64), mean=[0.5] * 3, std=[0.2] * 3)
    fitted = T.PCALighting.fit(ds)
    direct = T.PCALighting.from_images(raw.astype(np.float32) / 255)
    np.testing.assert_allclose(fitted.eigval, direct.eigval, rtol=1e-5)
    with pytest.raises(ValueError, match="fit"):
        T.PCALighting()(np.zeros((1, 3, 2, 2), np.float32))
