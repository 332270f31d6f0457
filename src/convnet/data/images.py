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
"""
from __future__ import annotations

import numpy as np

from .transforms import resize, to_chw_float

__all__ = ["load_image_batch", "prepare_image", "RECIPES"]

RECIPES = ("digits", "mnist", "resize")


def _read(path, channels):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            return img.convert("L" if channels == 1 else "RGB")
    except FileNotFoundError:
        raise FileNotFoundError(f"cannot read image {path}: no such file") from None
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"cannot read image {path}: not a readable PNG/JPEG image ({e})") from None


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


def load_image_batch(paths, input_shape, normalization=None, recipe="resize", invert="auto"):
    """Read image files into a normalised ``(N, C, H, W)`` float32 batch (see the module docstring).

    Raises:
        FileNotFoundError / ValueError naming the file that cannot be read.
    """
    c = int(input_shape[0])
    batch = [prepare_image(to_chw_float(np.asarray(_read(p, c))), input_shape, recipe, invert) for p in paths]
    x = np.stack(batch).astype(np.float32)  # (N, C, H, W)
    if normalization:
        mean = np.asarray(normalization["mean"], np.float32).reshape(1, -1, 1, 1)
        std = np.asarray(normalization["std"], np.float32).reshape(1, -1, 1, 1)
        x = (x - mean) / std
    return x
