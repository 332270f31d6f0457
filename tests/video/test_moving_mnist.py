"""Moving MNIST: deterministic per seed, the right digits per split, and labels that match the motion."""
import numpy as np
import pytest
from sklearn.datasets import load_digits

import convnet as cn
from convnet import data, models
from convnet.data.moving_mnist import DIRECTIONS


@pytest.fixture
def source():
    d = load_digits()  # 8x8 digits scaled to 0-255: a stand-in for MNIST that needs no files
    return (d.images * (255 / 16)).round().astype(np.uint8), d.target


def test_same_seed_same_clips_other_seed_other_clips(source):
    a = data.moving_mnist("train", 20, frames=6, size=24, seed=3, digit_size=8, source=source)
    b = data.moving_mnist("train", 20, frames=6, size=24, seed=3, digit_size=8, source=source)
    c = data.moving_mnist("train", 20, frames=6, size=24, seed=4, digit_size=8, source=source)
    assert a.x.shape == (20, 1, 6, 24, 24) and a.x.dtype == np.float32
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.direction, b.direction)
    assert not np.array_equal(a.x, c.x)
    assert a.digit.tolist() == source[1][a.source_index].tolist()


# Expected sign of the (x, y) displacement per direction name, y pointing down the image.
SIGNS = {"right": (1, 0), "up-right": (1, -1), "up": (0, -1), "up-left": (-1, -1), "left": (-1, 0),
         "down-left": (-1, 1), "down": (0, 1), "down-right": (1, 1)}


def test_direction_label_matches_centre_of_mass_displacement(source):
    ds = data.moving_mnist("test", 64, frames=5, size=20, seed=0, digit_size=8, source=source, bounce_walls=False)
    assert set(ds.direction.tolist()) == set(range(8))
    ys, xs = np.mgrid[0:20, 0:20]
    for clip, k in zip(ds.x[:, 0], ds.direction):
        first, last = clip[0], clip[-1]
        com = [((xs * f).sum() / f.sum(), (ys * f).sum() / f.sum()) for f in (first, last)]
        dx, dy = com[1][0] - com[0][0], com[1][1] - com[0][1]
        sign = tuple(int(np.sign(v)) if abs(v) > 0.01 else 0 for v in (dx, dy))  # float32 sums: 1e-5 noise
        assert sign == SIGNS[DIRECTIONS[k]]
        moved = [abs(v) for v in (dx, dy) if abs(v) > 0.01]
        np.testing.assert_allclose(moved, ds.speed * 4, atol=1e-3)  # 4 steps of `speed` pixels
        assert clip.sum(axis=(1, 2)).std() < 1e-3  # the whole digit stays inside the frame


def test_split_reads_the_matching_mnist_file(monkeypatch, source):
    seen = []

    def fake(name, split, root=None, download=True):
        seen.append((name, split))
        return source

    monkeypatch.setattr("convnet.data.mnist_files.load_idx_dataset", fake)
    data.moving_mnist("train", 2, frames=4, size=16, digit_size=8)
    data.moving_mnist("test", 2, frames=4, size=16, digit_size=8)
    assert seen == [("mnist", "train"), ("mnist", "test")]


def test_bad_arguments_are_refused(source):
    with pytest.raises(ValueError, match="split"):
        data.moving_mnist("val", 2, source=source)
    with pytest.raises(ValueError, match="travels"):
        data.moving_mnist("train", 2, frames=20, size=16, digit_size=8, speed=2, source=source, bounce_walls=False)
    with pytest.raises(ValueError, match="num_digits"):
        data.moving_mnist("train", 2, size=16, digit_size=8, num_digits=3, source=source)
    with pytest.raises(ValueError, match="digit_size"):
        data.moving_mnist("train", 2, size=16, digit_size=28, source=source)


@pytest.mark.parametrize("name", ["frame_avg_cnn", "c3d_small", "cnn_lstm"])
def test_video_models_shapes_and_backward(name):
    m = models.video.get(name, num_classes=18, width=4)
    x = cn.tensor(np.random.default_rng(0).random((2, 1, 4, 16, 16), dtype=np.float32), requires_grad=True)
    out = m(x)
    assert tuple(out.shape) == (2, 18)
    out.sum().backward()
    assert x.grad is not None and np.isfinite(x.grad.numpy()).all()
    assert models.video.get(**m.config).config == m.config


def test_frame_average_is_blind_to_frame_order():
    """Reversing time reverses the direction but leaves the frame-average model's output unchanged."""
    m = models.video.get("frame_avg_cnn", num_classes=8, width=4).eval()
    x = np.random.default_rng(1).random((2, 1, 5, 16, 16), dtype=np.float32)
    with cn.no_grad():
        a = m(cn.tensor(x)).numpy()
        b = m(cn.tensor(np.ascontiguousarray(x[:, :, ::-1]))).numpy()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    c3d = models.video.get("c3d_small", num_classes=8, width=4).eval()
    with cn.no_grad():
        assert not np.allclose(c3d(cn.tensor(x)).numpy(), c3d(cn.tensor(np.ascontiguousarray(x[:, :, ::-1]))).numpy())
