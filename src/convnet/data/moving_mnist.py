"""Moving MNIST clips: one digit gliding across a black frame, labelled by its direction of motion and its digit.

The direction needs time to see: every frame on its own shows a digit somewhere, and the positions a frame shows
are distributed the same way for opposite directions (the start is drawn so the digit never touches a wall).
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
    ``start (N, 2)`` (x, y of the digit's top-left corner in frame 0) and ``speed`` are kept for checks.
    """

    classes = DIRECTIONS
    digit_classes = tuple(str(d) for d in range(10))
    kind = "video"
    normalization = None

    def __init__(self, x, direction, digit, start, speed, name="moving-mnist"):
        self.x, self.direction, self.digit = x, direction, digit
        self.start, self.speed, self.name = start, speed, name
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


def moving_mnist(split="train", n=1000, frames=16, size=64, seed=0, digit_size=28, speed=None, root=None,
                 source=None):
    """``n`` deterministic clips of one MNIST digit moving in a straight line (8 directions).

    Args:
        split: ``"train"`` draws digits from the MNIST training images, ``"test"`` from the test images.
        n: number of clips.
        frames: ``T``, frames per clip.
        size: ``S``, side of each square frame in pixels.
        seed: the same seed gives the same clips (digits, directions, starts).
        digit_size: side the 28x28 digit is shrunk to (area averaging) before it is placed.
        speed: pixels per frame along each moving axis; default: the path covers about two thirds of the
            free room (at least 1 px/frame).
        root: where the MNIST files are (default ``$CONVNET_DATA``; see ``data.mnist``).
        source: optional ``(images (M, h, h) uint8, labels (M,))`` to draw digits from instead of MNIST.

    Returns:
        ``MovingMNIST`` with ``x (n, 1, frames, size, size)``, ``direction``, ``digit``, ``start``, ``speed``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"moving_mnist: split must be 'train' or 'test', received {split!r}")
    for name, v in (("n", n), ("frames", frames), ("size", size), ("digit_size", digit_size)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"moving_mnist: {name} must be a positive integer, received {v!r}")
    if digit_size > size:
        raise ValueError(f"moving_mnist: digit_size ({digit_size}) must be at most size ({size})")
    room = size - digit_size  # the digit's corner moves within [0, room] on each axis
    if speed is None:  # travel about two thirds of the room, so the start still varies
        speed = max(1, min(round(room / (1.5 * max(frames - 1, 1))), room // max(frames - 1, 1)))
    travel = speed * (frames - 1)
    if travel > room:
        raise ValueError(f"moving_mnist: a digit of {digit_size} px moving {speed} px/frame for {frames} frames "
                         f"travels {travel} px but only {room} px fit in a {size} px frame; use fewer frames, a "
                         "smaller digit_size or speed, or a larger size")
    if source is None:
        from .mnist_files import load_idx_dataset

        images, labels = load_idx_dataset("mnist", split, root)
    else:
        images, labels = source
    rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    pick = rng.choice(len(images), n, replace=len(images) < n)
    digits = _shrink(np.asarray(images)[pick], digit_size)  # (n, d, d)
    direction = rng.integers(0, 8, n)
    step = _STEP[direction] * speed  # (n, 2) pixels per frame
    # the start is uniform over the positions that keep the whole path inside the frame
    lo = np.where(step < 0, -step * (frames - 1), 0)
    hi = np.where(step > 0, room - step * (frames - 1), room)
    start = lo + np.floor(rng.random((n, 2)) * (hi - lo + 1)).astype(np.int64)
    x = np.zeros((n, 1, frames, size, size), np.float32)
    for t in range(frames):
        pos = start + step * t  # (n, 2) top-left corner (x, y)
        for i in range(n):
            cx, cy = pos[i]
            x[i, 0, t, cy:cy + digit_size, cx:cx + digit_size] = digits[i]
    ds = MovingMNIST(x, direction.astype(np.int64), np.asarray(labels)[pick].astype(np.int64), start, speed)
    ds.source_index = pick  # which source image each clip shows
    return ds
