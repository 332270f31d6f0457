"""A detection task on real handwritten digits: MNIST digits scattered over a blank canvas.

Each canvas holds ``digits[0]``..``digits[1]`` MNIST digits (training digits for ``split="train"``,
test digits for ``split="test"``, so the two splits never share a digit image). Each digit is cropped
to its ink, scaled so its longer side is 20-40 pixels, and placed where it overlaps no earlier digit
by more than ``max_overlap`` (intersection over the smaller box). Its box is the tight box around its
ink in pixel-edge coordinates ``(x1, y1, x2, y2)`` (torchvision's convention: the box of pixel
column ``c`` spans ``[c, c + 1)``), its label the digit's class. The same ``seed`` gives the same
canvases, bit for bit.

Example::

    from convnet import data
    ds = data.multi_digit("train", 1000, seed=0)
    image, target = ds[0]        # (1, 96, 96) float32 in [0, 1]; {"boxes": (K, 4), "labels": (K,)}
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from .dataset import Dataset
from .mnist_files import load_idx_dataset

__all__ = ["MultiDigit", "multi_digit", "INK_THRESHOLD"]

INK_THRESHOLD = 0.1  # grey levels below this (in [0, 1]) after scaling are set to 0: they are not ink
SIZE_RANGE = (20, 40)


class MultiDigit(Dataset):
    """Canvases with boxes and labels (built by :func:`multi_digit`).

    Attributes:
        images: ``(N, 1, canvas, canvas)`` float32 in ``[0, 1]`` (light ink on black).
        targets: list of ``{"boxes": (K, 4) float32 (x1, y1, x2, y2), "labels": (K,) int64}``.
        sources: list of ``(K,)`` int64 arrays, the MNIST index of each placed digit.
        split: ``"train"`` or ``"test"``.
        classes: ``["0", ..., "9"]``.
    """

    classes = [str(k) for k in range(10)]
    name = "multi-digit"

    def __init__(self, images, targets, sources, split):
        self.images, self.targets, self.sources, self.split = images, targets, sources, split

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.images[index], self.targets[index]


def _crop_to_ink(digit):
    """The rows and columns of a (28, 28) uint8 digit that hold ink."""
    rows, cols = np.nonzero(digit)
    return digit[rows.min():rows.max() + 1, cols.min():cols.max() + 1]


def _scaled(digit, size):
    """The ink crop scaled (bilinear) so its longer side is ``size`` px, faint pixels zeroed, float in [0, 1]."""
    crop = _crop_to_ink(digit)
    h, w = crop.shape
    f = size / max(h, w)
    new = (max(1, round(w * f)), max(1, round(h * f)))  # PIL takes (width, height)
    out = np.asarray(Image.fromarray(crop).resize(new, Image.BILINEAR), dtype=np.float32) / 255.0
    out[out < INK_THRESHOLD] = 0.0
    rows, cols = np.nonzero(out)
    return out[rows.min():rows.max() + 1, cols.min():cols.max() + 1]  # tight again after thresholding


def _overlap(box, boxes):
    """Intersection over the smaller area of ``box`` (4,) with each of ``boxes`` (K, 4)."""
    if len(boxes) == 0:
        return np.zeros(0)
    b = np.asarray(boxes)
    iw = np.clip(np.minimum(box[2], b[:, 2]) - np.maximum(box[0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(box[3], b[:, 3]) - np.maximum(box[1], b[:, 1]), 0, None)
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    return iw * ih / np.minimum(area(np.asarray(box)), area(b))


def multi_digit(split="train", n_images=1000, canvas=96, digits=(1, 4), seed=0, root=None, download=True,
                max_overlap=0.15):
    """``n_images`` canvases of ``canvas`` x ``canvas`` pixels with 1-4 MNIST digits each, boxes and labels.

    Args:
        split: ``"train"`` (MNIST training digits) or ``"test"`` (MNIST test digits).
        n_images: number of canvases.
        canvas: side of the square canvas in pixels (at least 40, the largest digit).
        digits: ``(min, max)`` digits per canvas, inclusive.
        seed: the canvases are a function of ``(split, n_images, canvas, digits, seed)``.
        root, download: where the MNIST files are (see :func:`convnet.data.mnist`).
        max_overlap: the largest intersection-over-smaller-box allowed between two digits; a digit
            that finds no such place in 100 tries is left out (the canvas then has fewer digits).

    Returns:
        :class:`MultiDigit`; ``ds[i]`` is ``(image (1, canvas, canvas) float32, {"boxes", "labels"})``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"multi_digit: split must be 'train' or 'test', received {split!r}")
    lo, hi = (int(digits[0]), int(digits[1])) if not np.isscalar(digits) else (int(digits), int(digits))
    if not 1 <= lo <= hi:
        raise ValueError(f"multi_digit: digits must be (min, max) with 1 <= min <= max, received {digits!r}")
    if canvas < SIZE_RANGE[1]:
        raise ValueError(f"multi_digit: canvas must be at least {SIZE_RANGE[1]} pixels, received {canvas}")
    if n_images < 0:
        raise ValueError(f"multi_digit: n_images must be >= 0, received {n_images}")
    mnist_images, mnist_labels = load_idx_dataset("mnist", split, root=root, download=download)
    rng = np.random.default_rng([int(seed), 0 if split == "train" else 1])
    images = np.zeros((n_images, 1, canvas, canvas), dtype=np.float32)
    targets, sources = [], []
    for i in range(n_images):
        boxes, labels, srcs = [], [], []
        for _ in range(int(rng.integers(lo, hi + 1))):
            k = int(rng.integers(len(mnist_images)))
            patch = _scaled(mnist_images[k], int(rng.integers(SIZE_RANGE[0], SIZE_RANGE[1] + 1)))
            h, w = patch.shape
            for _try in range(100):
                x, y = int(rng.integers(0, canvas - w + 1)), int(rng.integers(0, canvas - h + 1))
                box = np.array([x, y, x + w, y + h], dtype=np.float32)
                if not (_overlap(box, boxes) > max_overlap).any():
                    break
            else:
                continue
            region = images[i, 0, y:y + h, x:x + w]
            np.maximum(region, patch, out=region)  # ink over ink: the brighter stroke wins
            boxes.append(box)
            labels.append(int(mnist_labels[k]))
            srcs.append(k)
        targets.append({"boxes": np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
                        "labels": np.asarray(labels, dtype=np.int64)})
        sources.append(np.asarray(srcs, dtype=np.int64))
    return MultiDigit(images, targets, sources, split)
