"""Augmentation transforms against NumPy references (rot90, slicing, flips)."""
import numpy as np
import pytest

from convnet.data import transforms as T


@pytest.fixture
def batch(rng):
    return rng.standard_normal((5, 2, 7, 7)).astype(np.float32)


def test_random_crop_takes_windows_of_the_padded_image(batch, rng):
    out = T.RandomCrop(7, padding=2)(batch, generator=np.random.default_rng(0))
    assert out.shape == batch.shape
    padded = np.pad(batch, ((0, 0), (0, 0), (2, 2), (2, 2)))
    for n in range(len(batch)):  # test-side reference: search every window
        hits = [(i, j) for i in range(5) for j in range(5) if np.array_equal(padded[n, :, i:i + 7, j:j + 7], out[n])]
        assert hits, f"sample {n} is not a crop of its padded image"
    same = T.RandomCrop(7)(batch, generator=np.random.default_rng(0))
    assert np.array_equal(same, batch)


def test_random_crop_reproducible_with_generator(batch):
    t = T.RandomCrop(5, padding=1)
    a = t(batch, generator=np.random.default_rng(3))
    b = t(batch, generator=np.random.default_rng(3))
    assert a.shape == (5, 2, 5, 5) and np.array_equal(a, b)


def test_horizontal_flip(batch):
    assert np.array_equal(T.RandomHorizontalFlip(1.0)(batch), batch[..., ::-1])
    assert np.array_equal(T.RandomHorizontalFlip(0.0)(batch), batch)
    out = T.RandomHorizontalFlip(0.5)(batch, generator=np.random.default_rng(1))
    for n in range(len(batch)):
        assert np.array_equal(out[n], batch[n]) or np.array_equal(out[n], batch[n, :, :, ::-1])


@pytest.mark.parametrize("angle, k", [(90, 1), (-90, -1), (180, 2)])
def test_affine_rotation_matches_rot90(batch, angle, k):
    out = T.RandomAffine(degrees=(angle, angle))(batch)
    np.testing.assert_allclose(out, np.rot90(batch, k=k, axes=(2, 3)), atol=1e-5)


def test_affine_identity_and_single_image(batch):
    np.testing.assert_allclose(T.RandomAffine(degrees=0)(batch), batch, atol=1e-6)
    single = T.RandomRotation(0)(batch[0])
    assert single.shape == batch[0].shape


def test_affine_fill_outside():
    x = np.ones((1, 1, 6, 6), np.float32)
    out = T.RandomAffine(degrees=(45, 45), fill=-3.0)(x)
    assert out[0, 0, 0, 0] == -3.0 and out[0, 0, 3, 3] == pytest.approx(1.0)


def test_normalize_compose_and_to_tensor(batch):
    t = T.Compose([T.Normalize([1.0, 2.0], [2.0, 4.0]), T.RandomHorizontalFlip(1.0)])
    want = ((batch - np.array([1, 2]).reshape(1, 2, 1, 1)) / np.array([2, 4]).reshape(1, 2, 1, 1))[..., ::-1]
    np.testing.assert_allclose(t(batch), want, rtol=1e-6)
    img = np.array([[[0, 255, 51]]], np.uint8).repeat(2, axis=0)  # (H=2, W=1, C=3)
    ten = T.ToTensor()(img)
    assert ten.shape == (3, 2, 1) and ten.numpy()[:, 0, 0].tolist() == pytest.approx([0, 1, 0.2])


def test_resize_and_pad():
    x = np.full((2, 1, 4, 4), 0.25, np.float32)
    r = T.resize(x, (8, 6))
    assert r.shape == (2, 1, 8, 6) and np.allclose(r, 0.25)
    assert T.Pad(2)(x).shape == (2, 1, 8, 8)


def test_bad_input_shape():
    with pytest.raises(ValueError, match="transform: expected an image"):
        T.RandomHorizontalFlip()(np.zeros((3, 3)))
