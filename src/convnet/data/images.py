"""Image files -> model input, prepared the way the training images were (for ``convnet predict``).

Three recipes, chosen from the dataset a checkpoint was trained on:

- ``"digits"`` (scikit-learn digits): the UCI digits are size-normalised bitmaps whose ink fills
  the frame, averaged down to 8x8. So: crop to the ink's bounding box, pad the short side to a
  square (aspect ratio kept), average down to 8x8 (box filter), then resize to the input size
  with the same bilinear zoom as ``data.digits``.
- ``"mnist"``: MNIST digits are fitted into a 20x20 box (aspect ratio kept) and centred by their
  centre of mass in 28x28; then padded like the training images.
- ``"resize"``: the whole image resized to the input size (Fashion-MNIST, other data).

Before that the grey levels are scaled to ``[0, 1]`` and, when ``invert="auto"``, inverted if the
image border is light (dark ink on white paper; the training digits are light on dark). After
it, the stored normalisation ``(x - mean) / std`` is applied.

Reading (:func:`read_image`) is defensive:

- the pixel count is checked from the header, before decoding: more than ``MAX_IMAGE_PIXELS``
  (50 megapixels) is a :class:`~convnet.errors.FileFormatError` naming the file and its size;
- 16-bit images (Pillow modes ``I;16*``, ``I``) are scaled by their bit depth (``/ 65535``), not
  clipped; 32-bit float images (``F``) are clipped to ``[0, 1]``;
- transparency is composited onto a background, because a transparent pixel is background: on
  **white** when the opaque ink is dark (mean grey of the pixels with alpha > 0.5 below 0.5), on
  **black** when it is light. A black digit drawn on alpha 0 thus reads as a black digit on white;
- an image with no ink (grey levels spanning less than ``BLANK_CONTRAST``) is flagged by
  :func:`has_ink` so the caller can warn that the prediction means nothing.
"""
from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..errors import FileFormatError
from .transforms import resize

__all__ = ["load_image_batch", "load_images", "read_image", "prepare_image", "has_ink", "ImageBatch", "RECIPES",
           "MAX_IMAGE_PIXELS", "BLANK_CONTRAST"]

RECIPES = ("digits", "mnist", "resize")
MAX_IMAGE_PIXELS = 50_000_000  # refuse larger images before decoding them (a 50 MP greyscale image is 200 MB)
BLANK_CONTRAST = 0.05  # grey levels spanning less than this: no ink


# what Pillow and its format plugins raise on malformed bytes (UnidentifiedImageError is an OSError)
_UNREADABLE = (OSError, ValueError, SyntaxError, EOFError, MemoryError, struct.error, IndexError, KeyError,
               TypeError, AttributeError, ZeroDivisionError)


def _open(path):
    """Open ``path`` lazily (header only) and check its size; FileFormatError naming the file."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"cannot read image {path}: no such file") from None
    except Image.DecompressionBombError as e:  # over twice Pillow's own limit: it gives only the pixel count
        import re

        n = re.search(r"\((\d+) pixels\)", str(e))
        size = f"{int(n.group(1)):,} pixels" if n else "too many pixels"
        raise FileFormatError(f"cannot read image {path}: it has {size}, more than the "
                              f"{MAX_IMAGE_PIXELS:,}-pixel limit") from None
    except IsADirectoryError:
        raise FileFormatError(f"cannot read image {path}: it is a directory") from None
    except _UNREADABLE as e:
        raise FileFormatError(f"cannot read image {path}: not a readable PNG/JPEG image ({e})") from None
    w, h = img.size
    if w * h > MAX_IMAGE_PIXELS or w < 1 or h < 1:
        img.close()
        raise FileFormatError(f"cannot read image {path}: it has {w * h:,} pixels ({w}x{h}), outside the "
                              f"accepted 1 to {MAX_IMAGE_PIXELS:,}-pixel range")
    return img


def _pixels(img):
    """Decoded Pillow image -> ``(colour (H, W, C) float32 in [0, 1], alpha (H, W) or None)``."""
    mode = img.mode
    if mode.startswith("I;16") or mode == "I":
        a = np.asarray(img).astype(np.float64)  # (H, W) uint16 / int32
        bits = 16 if mode.startswith("I;16") or a.max(initial=0) <= 65535 else 32
        return np.clip(a / (2 ** bits - 1), 0.0, 1.0).astype(np.float32)[:, :, None], None
    if mode == "F":
        return np.clip(np.nan_to_num(np.asarray(img, np.float32)), 0.0, 1.0)[:, :, None], None
    if mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in img.info:
        rgba = np.asarray(img.convert("RGBA"), np.float32) / 255.0  # (H, W, 4)
        return rgba[:, :, :3], rgba[:, :, 3]
    if mode in ("1", "L", "P"):
        return (np.asarray(img.convert("L"), np.float32) / 255.0)[:, :, None], None
    return np.asarray(img.convert("RGB"), np.float32) / 255.0, None


def _composite(colour, alpha):
    """Blend onto white when the opaque ink is dark, onto black when it is light (module docstring)."""
    if alpha is None or alpha.min() >= 1.0:
        return colour
    opaque = alpha > 0.5
    grey = colour.mean(axis=2)  # (H, W)
    ink_is_dark = not opaque.any() or float(grey[opaque].mean()) < 0.5
    background = 1.0 if ink_is_dark else 0.0
    a = alpha[:, :, None]
    return a * colour + (1.0 - a) * background


def read_image(path, channels=1):
    """Read an image file as ``(channels, H, W)`` float32 in ``[0, 1]`` (see the module docstring).

    Raises:
        FileNotFoundError: no such file.
        FileFormatError (a ValueError) naming the file: not an image, corrupt, truncated or too large.
    """
    img = _open(path)
    try:
        with img:
            img.load()
            colour, alpha = _pixels(img)
    except _UNREADABLE as e:
        raise FileFormatError(f"cannot read image {path}: not a readable PNG/JPEG image ({e})") from None
    x = _composite(colour, alpha)  # (H, W, C)
    if channels == 1 and x.shape[2] == 3:
        x = x @ np.array([0.299, 0.587, 0.114], np.float32)[:, None]  # ITU-R 601 luma, as Pillow's "L"
    elif x.shape[2] != channels:
        x = np.repeat(x[:, :, :1], channels, axis=2)
    return np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32)  # (H, W, C) -> (C, H, W)


def has_ink(x):
    """Whether an image ``(C, H, W)`` in ``[0, 1]`` has any ink: grey levels spanning ``BLANK_CONTRAST``."""
    return float(x.max() - x.min()) >= BLANK_CONTRAST


def _ink_box(x, threshold=0.2):
    """Bounding box ``(top, bottom, left, right)`` of pixels brighter than ``threshold * max``."""
    ink = x.max(axis=0) > threshold * max(float(x.max()), 1e-6)  # (H, W)
    if not ink.any():
        return 0, x.shape[1], 0, x.shape[2]
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def _square(x):
    """Zero-pad the shorter spatial side of ``(C, H, W)`` so the ink keeps its aspect ratio."""
    c, h, w = x.shape
    s = max(h, w)
    top, left = (s - h) // 2, (s - w) // 2
    out = np.zeros((c, s, s), x.dtype)
    out[:, top:top + h, left:left + w] = x
    return out


def _pil_resize(x, hw, method="bilinear"):
    """Resize ``(C, H, W)`` floats to ``(C, *hw)`` with Pillow (antialiased when shrinking)."""
    from PIL import Image

    f = {"bilinear": Image.BILINEAR, "box": Image.BOX}[method]
    chans = [np.asarray(Image.fromarray(ch.astype(np.float32), mode="F").resize((hw[1], hw[0]), f)) for ch in x]
    return np.clip(np.stack(chans).astype(np.float32), 0.0, 1.0)


def _digits_recipe(x, out_hw):
    t, b, l, r = _ink_box(x)
    small = _pil_resize(_square(x[:, t:b, l:r]), (8, 8), "box")  # (C, 8, 8): block averages like UCI's
    return np.clip(resize(small, out_hw), 0.0, 1.0)


def _mnist_recipe(x, out_hw):
    from scipy import ndimage

    t, b, l, r = _ink_box(x)
    crop = x[:, t:b, l:r]
    h, w = crop.shape[1:]
    scale = 20.0 / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    fitted = _pil_resize(crop, (nh, nw))  # (C, <=20, <=20), longest side 20
    canvas = np.zeros((x.shape[0], 28, 28), np.float32)
    cy, cx = ndimage.center_of_mass(fitted.sum(axis=0) + 1e-12)
    top = int(np.clip(round(14 - cy), 0, 28 - fitted.shape[1]))
    left = int(np.clip(round(14 - cx), 0, 28 - fitted.shape[2]))
    canvas[:, top:top + fitted.shape[1], left:left + fitted.shape[2]] = fitted
    ph, pw = max(0, (out_hw[0] - 28) // 2), max(0, (out_hw[1] - 28) // 2)
    out = np.pad(canvas, ((0, 0), (ph, ph), (pw, pw)))
    return out if out.shape[1:] == tuple(out_hw) else np.clip(resize(out, out_hw), 0, 1)


def prepare_image(x, input_shape, recipe="resize", invert="auto"):
    """One image ``(C, H, W)`` in ``[0, 1]`` -> ``(C, H_in, W_in)`` prepared like the training data."""
    c, h, w = (int(v) for v in input_shape)
    if x.shape[0] != c:
        x = np.repeat(x[:1], c, axis=0)
    border = np.concatenate([x[:, 0].ravel(), x[:, -1].ravel(), x[:, :, 0].ravel(), x[:, :, -1].ravel()])
    if invert == "yes" or (invert == "auto" and border.mean() > 0.5):
        x = 1.0 - x
    if recipe == "digits":
        return _digits_recipe(x, (h, w))
    if recipe == "mnist":
        return _mnist_recipe(x, (h, w))
    if recipe == "resize":
        return _pil_resize(x, (h, w)) if x.shape[1:] != (h, w) else x
    raise ValueError(f"prepare_image: recipe must be one of {', '.join(RECIPES)}; received {recipe!r}")


@dataclass
class ImageBatch:
    """What :func:`load_images` returns.

    ``x`` is the normalised ``(N_ok, C, H, W)`` batch of the readable files, ``paths`` their paths in
    order; ``failed`` holds ``(path, message)`` for the files that could not be read and ``blank``
    the paths of readable images without ink.
    """

    x: np.ndarray
    paths: list
    failed: list = field(default_factory=list)
    blank: list = field(default_factory=list)


def load_images(paths, input_shape, normalization=None, recipe="resize", invert="auto"):
    """Read image files like :func:`load_image_batch`, but keep going past unreadable files.

    Returns:
        :class:`ImageBatch`; a missing or unreadable file goes to ``failed`` with its message.
    """
    c = int(input_shape[0])
    good, ok_paths, failed, blank = [], [], [], []
    for p in paths:
        try:
            raw = read_image(p, c)
        except (FileNotFoundError, FileFormatError) as e:
            failed.append((p, str(e)))
            continue
        if not has_ink(raw):
            blank.append(p)
        good.append(prepare_image(raw, input_shape, recipe, invert))
        ok_paths.append(p)
    x = np.stack(good).astype(np.float32) if good else np.zeros((0, *map(int, input_shape)), np.float32)
    return ImageBatch(_normalize(x, normalization), ok_paths, failed, blank)


def load_image_batch(paths, input_shape, normalization=None, recipe="resize", invert="auto"):
    """Read image files into a normalised ``(N, C, H, W)`` float32 batch (see the module docstring).

    Raises:
        FileNotFoundError / FileFormatError naming the first file that cannot be read.
    """
    c = int(input_shape[0])
    batch = [prepare_image(read_image(p, c), input_shape, recipe, invert) for p in paths]
    x = np.stack(batch).astype(np.float32)  # (N, C, H, W)
    return _normalize(x, normalization)


def _normalize(x, normalization):
    """``(x - mean) / std`` per channel of ``(N, C, H, W)``, with the checkpoint's statistics."""
    if not normalization:
        return x
    mean = np.asarray(normalization["mean"], np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(normalization["std"], np.float32).reshape(1, -1, 1, 1)
    return (x - mean) / std
