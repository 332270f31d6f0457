"""Reading, rescaling and saving images for the filter demos, and the kernel gallery.

Pillow and matplotlib are imported inside the functions so ``import convnet`` stays light.

Filter responses are signed (an edge kernel answers -300 on one side of an edge and +300
on the other), so they are mapped to 0..255 by :func:`to_uint8` with one of three rules:

* ``'abs'`` (default): ``255 · |r| / max|r|``; the strength of the response whatever its
  sign, black where the kernel sees nothing. Best for edge detectors.
* ``'minmax'``: ``255 · (r − min r) / (max r − min r)``; keeps the sign, so a zero response
  is mid-grey for a signed kernel.
* ``'clip'``: ``clip(r, 0, 255)``; no rescaling, for kernels that sum to 1 (box, gaussian5,
  sharpen) where the output is already an image.
"""
from __future__ import annotations

import os

import numpy as np

from .conv import convolve2d, correlate2d
from .kernels import KERNELS

SCALINGS = ("abs", "minmax", "clip")


def load_image(path, mode="L"):
    """Read an image file as a float64 array in 0..255.

    Args:
        path: image file (anything Pillow reads: PNG, JPEG, ...).
        mode: ``'L'`` for grayscale (H, W) (default) or ``'RGB'`` for (H, W, 3).

    Raises:
        FileNotFoundError: no such file. ValueError: the file is not a readable image.
        Both messages name the file.
    """
    from PIL import Image, UnidentifiedImageError

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such image file: '{path}'")
    from ..data.images import MAX_IMAGE_PIXELS
    from ..errors import FileFormatError

    try:
        with Image.open(path) as im:
            if im.size[0] * im.size[1] > MAX_IMAGE_PIXELS:
                raise FileFormatError(f"{path} is too large: {im.size[0]}x{im.size[1]} pixels (at most "
                                      f"{MAX_IMAGE_PIXELS:,} are read)")
            return np.asarray(im.convert(mode), dtype=np.float64)
    except Image.DecompressionBombError as err:
        raise FileFormatError(f"{path} is too large to read safely ({err})") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f"cannot read '{path}' as an image ({err})") from None


def to_uint8(response, scaling="abs"):
    """Map a filter response to a displayable uint8 image (see the module notes for the rules).

    A constant response (nothing to rescale) gives all zeros under ``'abs'``/``'minmax'``.

        >>> to_uint8(np.array([[-2.0, 0.0, 1.0]]))
        array([[255,   0, 128]], dtype=uint8)
    """
    r = np.asarray(response, dtype=np.float64)
    if scaling == "abs":
        r = np.abs(r)
        top = r.max() if r.size else 0.0
        r = r * (255.0 / top) if top > 0 else np.zeros_like(r)
    elif scaling == "minmax":
        lo, hi = (r.min(), r.max()) if r.size else (0.0, 0.0)
        r = (r - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(r)
    elif scaling == "clip":
        r = np.clip(r, 0.0, 255.0)
    else:
        raise ValueError(f"to_uint8: scaling must be one of {SCALINGS}, got {scaling!r}")
    return np.rint(r).astype(np.uint8)


def save_image(array, path):
    """Write a uint8 (H, W) or (H, W, 3) array to ``path`` (format from the extension)."""
    from PIL import Image

    path = os.fspath(path)
    try:
        Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"save_image: cannot write '{path}' ({err})") from None
    return path


def gallery(image, kernels=None, path=None, cols=4, padding="same", flip=False, scaling="abs"):
    """The image next to its response to every kernel, labelled, in one matplotlib figure.

    Args:
        image: (H, W) grayscale array.
        kernels: ``{name: (kH, kW) kernel}``; default :data:`KERNELS` (every named kernel).
        path: if given, the figure is saved there (Agg renderer, no display needed).
        cols: panels per row.
        padding: passed to :func:`correlate2d` (``'same'`` keeps every panel the input size).
        flip: use true convolution (:func:`convolve2d`) instead of correlation.
        scaling: how responses become 0..255 (:func:`to_uint8`).

    Returns:
        the ``matplotlib.figure.Figure``.
    """
    from matplotlib.figure import Figure  # Figure + savefig uses Agg; pyplot is never touched

    kernels = KERNELS if kernels is None else kernels
    op = convolve2d if flip else correlate2d
    panels = [("original", to_uint8(image, "clip"))]
    panels += [(name, to_uint8(op(image, k, padding=padding), scaling)) for name, k in kernels.items()]
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(2.6 * cols, 2.8 * rows))
    for idx, (name, img) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, idx + 1)
        ax.imshow(img, cmap="gray", vmin=0, vmax=255)
        ax.set_title(name, fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    if path is not None:
        fig.savefig(os.fspath(path), dpi=80)
    return fig
