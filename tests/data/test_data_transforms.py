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
    assert np.array_equal(T.RandomHorizontalFlip(1.0)(batch[0]), batch[0, :, :, ::-1])  # single image


@pytest.mark.parametrize("p", [0.0, 0.25, 0.5, 1.0])
def test_horizontal_flip_flips_a_fraction_p_and_exactly_those(p, rng):
    n = 4000
    x = rng.standard_normal((n, 1, 2, 3)).astype(np.float32)  # no sample equals its mirror image
    out = T.RandomHorizontalFlip(p)(x, generator=np.random.default_rng(7))
    assert out.shape == x.shape and out.dtype == x.dtype
    flipped = np.array([np.array_equal(out[i], x[i, :, :, ::-1]) for i in range(n)])
    kept = np.array([np.array_equal(out[i], x[i]) for i in range(n)])
    assert (flipped ^ kept).all(), "every sample is either the input or its mirror image"
    assert abs(flipped.mean() - p) < 0.03, f"flipped a fraction {flipped.mean():.3f}, expected about {p}"
    assert not np.shares_memory(out, x)


@pytest.mark.parametrize("angle, k", [(90, 1), (-90, -1), (180, 2)])
def test_affine_rotation_matches_rot90(batch, angle, k):
    out = T.RandomAffine(degrees=(angle, angle))(batch)
    np.testing.assert_allclose(out, np.rot90(batch, k=k, axes=(2, 3)), atol=1e-5)


def test_affine_identity_and_single_image(batch):
    np.testing.assert_allclose(T.RandomAffine(degrees=0)(batch), batch, atol=1e-6)
    single = T.RandomRotation(0)(batch[0])
    assert single.shape == batch[0].shape and single.dtype == batch.dtype
    np.testing.assert_allclose(single, batch[0], atol=1e-6)  # angle 0: the identity
    np.testing.assert_allclose(T.RandomRotation(0)(batch), batch, atol=1e-6)


def test_rotation_by_90_degrees_is_counter_clockwise():
    x = np.arange(12, dtype=np.float32).reshape(1, 3, 4)[:, :3, :3]  # [[0,1,2],[4,5,6],[8,9,10]]
    want = np.array([[[2, 6, 10], [1, 5, 9], [0, 4, 8]]], np.float32)  # top row becomes the left column
    np.testing.assert_allclose(T.RandomRotation((90, 90))(x), want, atol=1e-5)
    np.testing.assert_allclose(T.RandomRotation((-90, -90))(x), want[:, ::-1, ::-1], atol=1e-5)


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


def test_resize_constant_stays_constant():
    x = np.full((2, 1, 4, 4), 0.25, np.float32)
    r = T.resize(x, (8, 6))
    assert r.shape == (2, 1, 8, 6) and np.allclose(r, 0.25)


@pytest.mark.parametrize("src, size", [((4, 4), (8, 6)), ((8, 8), (28, 28)), ((37, 23), (28, 28)),
                                       ((5, 7), (13, 3)), ((28, 28), (28, 28))])
def test_resize_matches_torch_bilinear_half_pixel(src, size, rng):
    """``resize`` is bilinear with pixel-area (half-pixel) alignment and clamped edges: torch's
    ``interpolate(mode="bilinear", align_corners=False, antialias=False)``, up and down."""
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3) + src).astype(np.float32)
    want = torch.nn.functional.interpolate(torch.tensor(x), size=size, mode="bilinear", align_corners=False).numpy()
    got = T.resize(x, size)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=3e-5)
    np.testing.assert_allclose(T.Resize(size)(x[1]), want[1], rtol=1e-5, atol=3e-5)  # single image


def test_pad_places_the_image_and_fills_the_border(batch):
    out = T.Pad((1, 3), fill=-2.0)(batch)  # (top/bottom, left/right)
    assert out.shape == (5, 2, 9, 13) and out.dtype == batch.dtype
    want = np.full((5, 2, 9, 13), -2.0, np.float32)
    want[:, :, 1:8, 3:10] = batch
    assert np.array_equal(out, want)
    assert T.Pad(2)(np.ones((1, 28, 28), np.float32)).shape == (1, 32, 32)  # MNIST -> LeNet-5 input
    assert T.Pad(2)(batch)[:, :, :2].sum() == 0  # default fill 0


@pytest.mark.parametrize("ours, theirs", [("edge", "replicate"), ("reflect", "reflect")])
def test_pad_modes_match_torch(ours, theirs, batch):
    torch = pytest.importorskip("torch")
    want = torch.nn.functional.pad(torch.tensor(batch), (3, 3, 2, 2), mode=theirs).numpy()
    got = T.Pad((2, 3), padding_mode=ours)(batch)
    assert got.shape == want.shape and np.array_equal(got, want)


def test_bad_input_shape():
    with pytest.raises(ValueError, match="transform: expected an image"):
        T.RandomHorizontalFlip()(np.zeros((3, 3)))
