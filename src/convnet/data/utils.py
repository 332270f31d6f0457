"""``make_grid`` and ``save_image`` with ``torchvision.utils``' semantics (``convnet.data.utils``).

    from convnet.data.utils import make_grid, save_image
    grid = make_grid(images, nrow=8, padding=2)   # (B, C, H, W) -> (C', rows*(H+2)+2, cols*(W+2)+2)
    save_image(images, "batch.png")
"""
from __future__ import annotations

import io
import math
import os

import numpy as np

from ..errors import ShapeError
from ..tensor import Tensor

__all__ = ["make_grid", "save_image"]


def _array(x):
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, (list, tuple)):
        return np.stack([_array(t) for t in x])
    return np.asarray(x)


def _scale(img, low, high):
    img = np.clip(img, low, high)
    return (img - low) / max(high - low, 1e-5)


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False, pad_value=0.0):
    """Tile a batch of images into one image, ``nrow`` images per row, as ``torchvision.utils.make_grid``.

    Args:
        tensor: ``(B, C, H, W)`` batch, a list of ``(C, H, W)`` images, or one ``(C, H, W)`` / ``(H, W)``
            image. Single-channel images are repeated to 3 channels.
        nrow: images per row; the grid has ``ceil(B / nrow)`` rows.
        padding: pixels of ``pad_value`` around and between the images.
        normalize: shift and scale to [0, 1] using ``value_range`` ``(low, high)`` (values are clipped
            to it), or the min and max of the whole batch (of each image if ``scale_each``).

    Shape:
        ``(3 or C, ymaps*(H+padding)+padding, xmaps*(W+padding)+padding)`` with ``xmaps = min(nrow, B)``,
        ``ymaps = ceil(B / xmaps)``; a batch of one image is returned as that image, unpadded.
    """
    x = _array(tensor)
    if x.ndim == 2:
        x = x[None]  # (H, W) -> (1, H, W)
    if x.ndim == 3:
        x = x[None] if x.shape[0] != 1 else np.concatenate([x, x, x])[None]  # (C, H, W) -> (1, C, H, W)
    if x.ndim != 4:
        raise ShapeError(f"make_grid: tensor must be (B, C, H, W), (C, H, W) or (H, W), received shape {x.shape}")
    if x.shape[1] == 1:
        x = np.concatenate([x, x, x], axis=1)  # grey -> RGB
    x = x.copy()
    if normalize:
        if value_range is not None and len(value_range) != 2:
            raise ValueError(f"make_grid: value_range must be (low, high), received {value_range!r}")
        if scale_each:
            for k in range(len(x)):
                lo, hi = value_range if value_range is not None else (x[k].min(), x[k].max())
                x[k] = _scale(x[k], lo, hi)
        else:
            lo, hi = value_range if value_range is not None else (x.min(), x.max())
            x = _scale(x, lo, hi).astype(x.dtype, copy=False)
    if len(x) == 1:
        return Tensor._wrap(x[0], False)
    b, c, h, w = x.shape
    xmaps = min(nrow, b)
    ymaps = math.ceil(b / xmaps)
    hp, wp = h + padding, w + padding
    grid = np.full((c, hp * ymaps + padding, wp * xmaps + padding), pad_value, dtype=x.dtype)
    for k in range(b):
        y0, x0 = (k // xmaps) * hp + padding, (k % xmaps) * wp + padding
        grid[:, y0:y0 + h, x0:x0 + w] = x[k]
    return Tensor._wrap(grid, False)


def save_image(tensor, fp, format=None, **kwargs):
    """Save ``make_grid(tensor, **kwargs)`` (values in [0, 1]) as an 8-bit image file, atomically.

    Pixels are ``clip(255 * v + 0.5, 0, 255)`` truncated to uint8, as torchvision does. ``fp`` is a
    path (the format comes from its extension unless ``format`` is given) or a binary file object.
    """
    from PIL import Image

    from ..checkpoint import atomic_write

    grid = make_grid(tensor, **kwargs)._data
    if grid.ndim == 2:
        grid = grid[None]
    pixels = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)  # (C, H, W) -> (H, W, C)
    img = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
    if hasattr(fp, "write"):
        img.save(fp, format=format)
        return
    path = os.fspath(fp)
    if format is None:
        ext = os.path.splitext(path)[1].lower()
        format = Image.registered_extensions().get(ext)
        if format is None:
            raise ValueError(f"save_image: cannot tell the image format from {path!r}; pass format='PNG'")
    buf = io.BytesIO()
    img.save(buf, format=format)
    atomic_write(path, buf.getvalue())
