"""Moving MNIST clips (Srivastava et al. 2015): one or two digits bouncing inside a black frame, labelled by a
digit's direction of motion and its class.

The direction needs time to see: every frame on its own shows a digit somewhere, and the positions a frame shows
are distributed the same way for opposite directions (uniform starts; a digit that reaches a wall bounces back).
"""
from __future__ import annotations

import numpy as np

from .dataset import Dataset

# direction k is the angle 45 k degrees counter-clockwise from "right", in image coordinates (rows grow downwards)
DIRECTIONS = ("right", "up-right", "up", "up-left", "left", "down-left", "down", "down-right")
_STEP = np.array([(1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1)])  # (dx, dy) per frame


class MovingMNIST(Dataset):
    """Clips ``x (N, 1, T, S, S)`` float32 in ``[0, 1]`` with ``direction (N,)`` and ``digit (N,)`` int64.

    Items are ``(clip (1, T, S, S), direction)``; ``get_batch`` returns ``(clips, directions, digits)``.
    ``start (N, 2)`` (x, y of the labelled digit's top-left corner in frame 0), ``path (N, K, T, 2)`` (every
    digit's corner in every frame), ``digits (N, K)``, ``directions (N, K)`` and ``speed`` are kept for checks.
    """

    classes = DIRECTIONS
    digit_classes = tuple(str(d) for d in range(10))
    kind = "video"
    normalization = None

    def __init__(self, x, direction, digit, start, speed, name="moving-mnist", path=None, digits=None,
                 directions=None):
        self.x, self.direction, self.digit = x, direction, digit
        self.start, self.speed, self.name = start, speed, name
        self.path, self.digits, self.directions = path, digits, directions
        self.input_shape = tuple(x.shape[1:])

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return self.x[index], int(self.direction[index])

    def get_batch(self, indices):
        idx = np.asarray(indices, np.int64)
        return self.x[idx], self.direction[idx], self.digit[idx]


def _shrink(images, side):
    """``(N, 28, 28)`` uint8 -> ``(N, side, side)`` float32 in [0, 1] by area averaging (PIL's box filter)."""
    from PIL import Image

    if images.shape[1] == side:
        return images.astype(np.float32) / 255
    return np.stack([np.asarray(Image.fromarray(im).resize((side, side), Image.BOX), np.float32) / 255
                     for im in images])


def bounce(u, room):
    """Unfolded coordinates ``u`` (integers) -> positions in ``[0, room]`` reflected at both walls.

    A digit moving ``v`` px/frame from ``p0`` is at ``bounce(p0 + v t, room)``: the triangle wave of period
    ``2 room`` (a mirror at 0 and at ``room``), so it turns around on the frame where it would leave.
    """
    if room == 0:
        return np.zeros_like(u)
    m = np.mod(u, 2 * room)
    return np.where(m <= room, m, 2 * room - m)


def moving_mnist(split="train", n=1000, frames=16, size=64, seed=0, digit_size=28, speed=None, root=None,
                 source=None, num_digits=1, bounce_walls=True):
    """``n`` deterministic clips of ``num_digits`` MNIST digits moving in 8 directions, bouncing off the walls.

    The label is the *labelled digit*'s class and its direction of motion from frame 0 to frame 1 (one of
    ``DIRECTIONS``; the start is drawn so that first step does not touch a wall, later ones bounce).
    With two digits they are of different classes and the labelled one is the smaller class, so a model must
    find both digits, compare them and follow the right one; the other moves in its own random direction. The
    digits are drawn with ``max`` where they overlap.

    Args:
        split: ``"train"`` draws digits from the MNIST training images, ``"test"`` from the test images.
        n: number of clips.
        frames: ``T``, frames per clip.
        size: ``S``, side of each square frame in pixels.
        seed: the same seed gives the same clips (digits, directions, starts).
        digit_size: side the 28x28 digit is shrunk to (area averaging) before it is placed.
        speed: pixels per frame along each moving axis; default: about two thirds of the free room over the
            clip (at least 1 px/frame).
        root: where the MNIST files are (default ``$CONVNET_DATA``; see ``data.mnist``).
        source: optional ``(images (M, h, h) uint8, labels (M,))`` to draw digits from instead of MNIST.
        num_digits: 1 or 2 digits per clip.
        bounce_walls: True: digits start anywhere and bounce off the walls; False: straight lines only (the
            start is drawn so the whole path stays inside; refused when it cannot).

    Returns:
        ``MovingMNIST`` with ``x (n, 1, frames, size, size)``, ``direction``, ``digit``, ``start``, ``speed``,
        ``path (n, num_digits, frames, 2)``, ``digits`` and ``directions`` ``(n, num_digits)``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"moving_mnist: split must be 'train' or 'test', received {split!r}")
    for name, v in (("n", n), ("frames", frames), ("size", size), ("digit_size", digit_size)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"moving_mnist: {name} must be a positive integer, received {v!r}")
    if num_digits not in (1, 2):
        raise ValueError(f"moving_mnist: num_digits must be 1 or 2, received {num_digits!r}")
    if digit_size > size:
        raise ValueError(f"moving_mnist: digit_size ({digit_size}) must be at most size ({size})")
    room = size - digit_size  # a digit's corner moves within [0, room] on each axis
    if speed is None:  # travel about two thirds of the room, so the start still varies
        speed = max(1, min(round(room / (1.5 * max(frames - 1, 1))), room // max(frames - 1, 1)))
    travel = speed * (frames - 1)
    if bounce_walls and frames > 1 and speed > room:
        raise ValueError(f"moving_mnist: a digit of {digit_size} px moving {speed} px/frame crosses the whole "
                         f"{room} px of free room in one frame; use a smaller speed or digit_size, or a larger size")
    if not bounce_walls and travel > room:
        raise ValueError(f"moving_mnist: a digit of {digit_size} px moving {speed} px/frame for {frames} frames "
                         f"travels {travel} px but only {room} px fit in a {size} px frame; use fewer frames, a "
                         "smaller digit_size or speed, a larger size, or bounce_walls=True")
    if source is None:
        from .mnist_files import load_idx_dataset

        images, labels = load_idx_dataset("mnist", split, root)
    else:
        images, labels = source
    images, labels = np.asarray(images), np.asarray(labels).astype(np.int64)
    rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    pick = rng.choice(len(images), (n, num_digits), replace=len(images) < n * num_digits)
    if num_digits == 2:  # two different classes: redraw the second digit where it repeats the first
        for _ in range(100):
            same = labels[pick[:, 0]] == labels[pick[:, 1]]
            if not same.any():
                break
            pick[same, 1] = rng.choice(len(images), int(same.sum()))
        else:
            raise ValueError("moving_mnist: two digits of different classes are needed, but the source has one")
        order = np.argsort(labels[pick], axis=1, kind="stable")  # the smaller class is digit 0 (the label)
        pick = np.take_along_axis(pick, order, axis=1)
    digits = _shrink(images[pick.ravel()], digit_size).reshape(n, num_digits, digit_size, digit_size)
    directions = rng.integers(0, 8, (n, num_digits))
    step = _STEP[directions] * speed  # (n, K, 2) pixels per frame
    # starts are uniform over the positions that keep the first step (bouncing) or the whole path (straight)
    # inside the frame: the labelled direction is always the motion between frames 0 and 1, never a wall's echo
    steps_free = 1 if bounce_walls else frames - 1
    lo = np.where(step < 0, -step * steps_free, 0)
    hi = np.where(step > 0, room - step * steps_free, room)
    start = lo + np.floor(rng.random((n, num_digits, 2)) * (hi - lo + 1)).astype(np.int64)
    t = np.arange(frames)[None, None, :, None]
    path = bounce(start[:, :, None, :] + step[:, :, None, :] * t, room)  # (n, K, T, 2) top-left (x, y)
    x = np.zeros((n, 1, frames, size, size), np.float32)
    for i in range(n):
        for k in range(num_digits):
            for f in range(frames):
                cx, cy = path[i, k, f]
                win = x[i, 0, f, cy:cy + digit_size, cx:cx + digit_size]
                np.maximum(win, digits[i, k], out=win)
    ds = MovingMNIST(x, directions[:, 0].astype(np.int64), labels[pick[:, 0]], start[:, 0], speed, path=path,
                     digits=labels[pick], directions=directions.astype(np.int64))
    ds.source_index = pick[:, 0]  # which source image shows the labelled digit
    return ds
