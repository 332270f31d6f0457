"""Elastic distortion: a constant field moves a pixel by a known amount; the random field is SciPy's
Gaussian-smoothed uniform noise scaled by alpha (Simard et al. 2003)."""
import numpy as np
import pytest

from convnet.data import transforms as T
from convnet.data.transforms_elastic import elastic_displacement, elastic_transform


@pytest.mark.parametrize("dy, dx", [(2.0, -3.0), (0.0, 1.0), (-4.0, 0.0)])
def test_constant_field_displaces_a_pixel(dy, dx):
    img = np.zeros((1, 1, 15, 15), np.float32)
    img[0, 0, 7, 6] = 1.0
    field = np.empty((2, 15, 15), np.float32)
    field[0], field[1] = dy, dx
    out = elastic_transform(img, field)
    expected = np.zeros_like(img)
    expected[0, 0, int(7 - dy), int(6 - dx)] = 1.0  # output p reads input p + d
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_half_pixel_field_splits_the_pixel_bilinearly():
    img = np.zeros((1, 9, 9), np.float32)
    img[0, 4, 4] = 1.0
    field = np.zeros((2, 9, 9), np.float32)
    field[1] = 0.5
    out = elastic_transform(img, field)
    assert out[0, 4, 3] == pytest.approx(0.5) and out[0, 4, 4] == pytest.approx(0.5) and out.sum() == pytest.approx(1)


def test_random_field_is_smoothed_uniform_noise_times_alpha():
    from scipy import ndimage

    d = elastic_displacement(3, 20, 24, alpha=34.0, sigma=4.0, generator=np.random.default_rng(7))
    noise = np.random.default_rng(7).uniform(-1, 1, size=(3, 2, 20, 24))
    ref = 34.0 * np.stack([[ndimage.gaussian_filter(noise[n, k], 4.0) for k in range(2)] for n in range(3)])
    np.testing.assert_allclose(d, ref, atol=1e-4)
    assert d.dtype == np.float32


def test_elastic_transform_is_seeded_per_sample_and_keeps_dtype():
    x = np.random.default_rng(0).random((4, 1, 28, 28)).astype(np.float32)
    aug = T.ElasticTransform(alpha=34.0, sigma=4.0)
    a, b = aug(x, generator=np.random.default_rng(1)), aug(x, generator=np.random.default_rng(1))
    assert np.array_equal(a, b) and a.dtype == np.float32 and a.shape == x.shape
    assert not np.allclose(a, x)
    assert not np.allclose(a[0] - x[0], a[1] - x[1])  # each sample has its own field
    np.testing.assert_allclose(T.ElasticTransform(alpha=0.0)(x), x, atol=1e-6)


def test_elastic_on_pil_and_bad_arguments():
    from PIL import Image

    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8))
    out = T.ElasticTransform()(img, generator=np.random.default_rng(0))
    assert isinstance(out, Image.Image) and out.mode == "L" and out.size == (28, 28)
    with pytest.raises(ValueError, match="sigma"):
        T.ElasticTransform(sigma=0)


def test_compose_resamples_affine_then_elastic_once_with_the_same_draws():
    x = np.random.default_rng(0).random((6, 2, 20, 20)).astype(np.float32)
    affine = T.RandomAffine(15, translate=(0.1, 0.1), shear=10)
    # with a zero field the fused pair is the affine warp alone, drawn from the same numbers
    fused = T.Compose([affine, T.ElasticTransform(alpha=0.0)])(x, generator=np.random.default_rng(4))
    np.testing.assert_allclose(fused, affine(x, generator=np.random.default_rng(4)), atol=1e-6)
    # with an identity affine it is the elastic warp alone
    elastic = T.ElasticTransform(34.0, 4.0)
    fused = T.Compose([T.RandomAffine(0), elastic])(x, generator=np.random.default_rng(4))
    g = np.random.default_rng(4)
    g.uniform(0, 0, size=6)  # RandomAffine(0) draws its (zero) angles first
    np.testing.assert_allclose(fused, elastic(x, generator=g), atol=5e-6)  # the affine map rounds to 1e-6 px
    # a displaced pixel: translate by whole pixels, then a constant field, equals their sum
    img = np.zeros((1, 1, 15, 15), np.float32)
    img[0, 0, 7, 7] = 1.0
    shift = T.RandomAffine(0, translate=(2 / 15, 0))
    moved = T.Compose([shift, T.ElasticTransform(alpha=0.0)])(img, generator=np.random.default_rng(0))
    g = np.random.default_rng(0)
    g.uniform(0, 0, size=1)  # the angle
    tx = g.uniform(-2, 2, size=1)[0]  # translate fx * W = 2 pixels
    expected = elastic_transform(img, np.stack([np.zeros((15, 15)), np.full((15, 15), -tx)]).astype(np.float32))
    np.testing.assert_allclose(moved, expected, atol=1e-6)
