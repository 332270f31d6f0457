"""Bouncing Moving MNIST: paths checked against a frame-by-frame simulation, pixels against the placed digits,
and the two-digit labelling rule (the smaller class is the labelled digit)."""
import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from convnet import data


@pytest.fixture
def source():
    d = load_digits()
    return (d.images * (255 / 16)).round().astype(np.uint8), d.target


STEP = {0: (1, 0), 1: (1, -1), 2: (0, -1), 3: (-1, -1), 4: (-1, 0), 5: (-1, 1), 6: (0, 1), 7: (1, 1)}


def simulate(start, direction, speed, frames, room):
    """Move and reflect one frame at a time: the velocity flips when a step would cross a wall."""
    p = np.array(start, float)
    v = np.array(STEP[int(direction)], float) * speed
    out = [p.copy()]
    for _ in range(frames - 1):
        p = p + v
        for a in range(2):
            if p[a] < 0:
                p[a], v[a] = -p[a], -v[a]
            elif p[a] > room:
                p[a], v[a] = 2 * room - p[a], -v[a]
        out.append(p.copy())
    return np.array(out)


def render(clip_digits, path, size):
    frames = np.zeros((path.shape[1], size, size), np.float32)
    for img, pts in zip(clip_digits, path):
        d = img.shape[0]
        for f, (x, y) in enumerate(pts):
            frames[f, y:y + d, x:x + d] = np.maximum(frames[f, y:y + d, x:x + d], img)
    return frames


@pytest.mark.parametrize("speed", [1, 3, 5])
def test_bouncing_paths_match_a_step_by_step_simulation(source, speed):
    ds = data.moving_mnist("train", 40, frames=12, size=20, digit_size=8, speed=speed, seed=2, source=source)
    room = 12
    bounced = 0
    for i in range(len(ds)):
        ref = simulate(ds.path[i, 0, 0], ds.directions[i, 0], speed, 12, room)
        np.testing.assert_array_equal(ds.path[i, 0], ref)
        bounced += int(np.any(np.diff(np.sign(np.diff(ref, axis=0)), axis=0) != 0))
    assert bounced > 0  # some clips really hit a wall
    assert ds.path.min() >= 0 and ds.path.max() <= room
    np.testing.assert_array_equal(ds.start, ds.path[:, 0, 0])


def test_pixels_are_the_digits_at_their_path(source):
    images, labels = source
    ds = data.moving_mnist("test", 10, frames=6, size=16, digit_size=8, seed=0, source=source, num_digits=2)
    assert ds.x.shape == (10, 1, 6, 16, 16)
    for i in range(10):
        first = images[ds.source_index[i]].astype(np.float32) / 255  # 8x8 source: no resize
        assert labels[ds.source_index[i]] == ds.digit[i]
        others = [img for img in images[np.flatnonzero(labels == ds.digits[i, 1])].astype(np.float32) / 255]
        # the second digit is some image of its class; find which one reproduces the clip
        matches = [o for o in others if np.allclose(render([first, o], ds.path[i], 16), ds.x[i, 0], atol=1e-6)]
        assert matches, f"clip {i} is not the max of its two placed digits"


def test_two_digits_have_different_classes_and_the_smaller_is_labelled(source):
    ds = data.moving_mnist("train", 200, frames=4, size=16, digit_size=8, seed=5, source=source, num_digits=2)
    assert ds.digits.shape == (200, 2) and ds.directions.shape == (200, 2)
    assert (ds.digits[:, 0] < ds.digits[:, 1]).all()
    np.testing.assert_array_equal(ds.digit, ds.digits[:, 0])
    np.testing.assert_array_equal(ds.direction, ds.directions[:, 0])
    assert set(ds.direction.tolist()) == set(range(8))
    # the other digit's direction is drawn independently, not copied
    assert (ds.directions[:, 0] != ds.directions[:, 1]).mean() > 0.7


def test_digit_shrinking_uses_area_averaging():
    img = np.zeros((28, 28), np.uint8)
    img[:14, :14] = 255
    ds = data.moving_mnist("test", 1, frames=2, size=20, digit_size=14, source=(img[None], np.array([3])))
    ref = np.asarray(Image.fromarray(img).resize((14, 14), Image.BOX), np.float32) / 255
    x, y = ds.path[0, 0, 0]
    np.testing.assert_allclose(ds.x[0, 0, 0, y:y + 14, x:x + 14], ref, atol=1e-6)


def test_the_first_step_shows_the_labelled_direction(source):
    """No clip starts against a wall: frame 0 -> 1 always moves the way the label says, for every digit."""
    ds = data.moving_mnist("train", 300, frames=10, size=20, digit_size=8, speed=3, seed=4, source=source,
                           num_digits=2)
    first = ds.path[:, :, 1] - ds.path[:, :, 0]  # (n, K, 2)
    expected = np.array([STEP[int(d)] for d in ds.directions.ravel()]).reshape(first.shape) * 3
    np.testing.assert_array_equal(first, expected)
    assert (np.abs(np.diff(ds.path, axis=2)) < 3).any()  # later steps do bounce


def test_a_speed_that_crosses_the_frame_in_one_step_is_refused(source):
    with pytest.raises(ValueError, match="crosses the whole 12 px of free room in one frame"):
        data.moving_mnist("train", 2, frames=4, size=20, digit_size=8, speed=13, source=source)
