"""``warp``'s flat-block shortcut: a bilinear read of a constant 2x2 block is the constant, so only the
other points go to SciPy. Reference: one ``scipy.ndimage.map_coordinates`` call per image plane,
written here (every point interpolated; points outside the image replaced by ``fill``).
"""
import numpy as np
import pytest
from scipy import ndimage

from convnet.data import transforms as T
from convnet.data import transforms_geometry as G


def _scipy_per_plane(batch, src_y, src_x, fill):
    n, c, h, w = batch.shape
    out = np.empty((n, c) + src_y.shape[1:], np.float32 if batch.dtype == np.uint8 else batch.dtype)
    for i in range(n):
        for ch in range(c):
            out[i, ch] = ndimage.map_coordinates(batch[i, ch].astype(out.dtype), [src_y[i], src_x[i]], order=1,
                                                 mode="nearest")
    outside = (src_y < 0) | (src_y > h - 1) | (src_x < 0) | (src_x > w - 1)
    out[np.broadcast_to(outside[:, None], out.shape)] = fill
    return np.clip(np.rint(out), 0, 255).astype(np.uint8) if batch.dtype == np.uint8 else out


def _digits(n, c=1, size=20, background=-0.5, seed=0):
    """Strokes on a flat background, like normalised MNIST: most 2x2 blocks are flat."""
    rng = np.random.default_rng(seed)
    x = np.full((n, c, size, size), background, np.float32)
    for i in range(n):
        r0, c0 = rng.integers(4, size - 8, 2)
        x[i, :, r0:r0 + 5, c0:c0 + 2] = rng.uniform(0.5, 2.5, (c, 5, 2))
        x[i, :, r0 + 4, c0:c0 + 5] = rng.uniform(0.5, 2.5, (c, 5))
    return x


def _points(n, h_out, w_out, h, w, spread, seed=1):
    rng = np.random.default_rng(seed)
    ys = np.linspace(0, h - 1, h_out)[None, :, None] + rng.uniform(-spread, spread, (n, h_out, w_out))
    xs = np.linspace(0, w - 1, w_out)[None, None, :] + rng.uniform(-spread, spread, (n, h_out, w_out))
    return ys, xs


@pytest.mark.parametrize("c,h_out,w_out,fill,spread", [(1, 20, 20, -0.5, 3.0), (1, 20, 20, 0.0, 3.0),
                                                        (3, 20, 20, 1.25, 2.0), (1, 13, 27, -0.5, 6.0),
                                                        (2, 20, 20, -0.5, 0.0)])
def test_shortcut_equals_interpolating_every_point(c, h_out, w_out, fill, spread):
    x = _digits(6, c)
    if c > 1:  # a stroke present in one channel only: the block is flat in the others, not in all
        x[0, 1:, 8:10, 8:10] = -0.5
        x[0, 0, 8:10, 8:10] = 3.0
    ys, xs = _points(6, h_out, w_out, 20, 20, spread)
    out = G.warp(x, ys, xs, fill)
    expected = _scipy_per_plane(x, ys, xs, fill)
    assert out.dtype == np.float32 and out.shape == expected.shape
    np.testing.assert_array_equal(out, expected)  # bit for bit
    np.testing.assert_array_equal(G.warp_reference(x, ys, xs, fill), expected)


def test_uint8_and_float64_batches():
    x8 = np.clip(_digits(4) * 60 + 40, 0, 255).astype(np.uint8)
    ys, xs = _points(4, 20, 20, 20, 20, 3.0)
    np.testing.assert_array_equal(G.warp(x8, ys, xs, 7), _scipy_per_plane(x8, ys, xs, 7))
    x64 = _digits(4).astype(np.float64)
    np.testing.assert_allclose(G.warp(x64, ys, xs, 0.0), _scipy_per_plane(x64, ys, xs, 0.0), rtol=0, atol=1e-12)


def _count_interpolated(monkeypatch):
    counts = []
    real = ndimage.map_coordinates

    def counting(image, coords, *args, **kwargs):
        counts.append(np.asarray(coords).reshape(2, -1).shape[1])
        return real(image, coords, *args, **kwargs)

    monkeypatch.setattr(ndimage, "map_coordinates", counting)
    return counts


def test_only_points_near_strokes_are_interpolated(monkeypatch):
    counts = _count_interpolated(monkeypatch)
    x = _digits(8)
    ys, xs = _points(8, 20, 20, 20, 20, 1.0)
    G.warp(x, ys, xs, -0.5)
    assert len(counts) == 1 and 0 < counts[0] < 0.4 * x.size


def test_a_photo_without_flat_blocks_is_interpolated_in_one_call(monkeypatch):
    counts = _count_interpolated(monkeypatch)
    x = np.random.default_rng(0).uniform(size=(4, 3, 20, 20)).astype(np.float32)
    ys, xs = _points(4, 20, 20, 20, 20, 2.0)
    out = G.warp(x, ys, xs, 0.0)
    assert counts == [x.size]
    np.testing.assert_array_equal(out, _scipy_per_plane(x, ys, xs, 0.0))


def test_fused_affine_elastic_batch_is_unchanged_by_the_shortcut(monkeypatch):
    """Same draws, same pixels: the augmentation stream of earlier runs is kept."""
    x = _digits(16, size=28)
    aug = T.Compose([T.RandomAffine(10, translate=(0.08, 0.08), scale=(0.9, 1.1), shear=10, fill=-0.5),
                     T.ElasticTransform(34.0, 4.0, fill=-0.5)])
    fast = aug(x, generator=np.random.default_rng(3))
    monkeypatch.setattr(G, "_FLAT_MAX_SHARE", -1.0)  # never take the shortcut
    dense = aug(x, generator=np.random.default_rng(3))
    np.testing.assert_array_equal(fast, dense)
