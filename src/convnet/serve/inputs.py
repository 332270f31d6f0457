"""Request bodies -> images ``(C, H, W)`` in ``[0, 1]``, refusing hostile input with a clear message.

Every refusal is an :class:`InputError` carrying the HTTP status the server answers with:

- ``400`` a file that is not a readable image (not an image at all, corrupt, truncated) and malformed JSON;
- ``413`` a body over the upload limit, or an image whose header declares more than ``max_pixels``
  pixels (a decompression bomb: a few kilobytes of PNG that would decode to gigabytes). The pixel
  count is read from the header, before any pixel is decoded;
- ``415`` a body that is neither ``multipart/form-data`` nor ``application/json``;
- ``422`` JSON of the wrong shape: ``pixels`` not a rectangular H x W or C x H x W array of numbers,
  NaN or infinite values, values outside 0..255, sides over ``MAX_SIDE``.

Uploaded files are read by :func:`convnet.data.images.read_image`, the reader ``convnet predict`` uses
(16-bit scaling, transparency composited onto the right background), and prepared for the model by
:func:`prepare`: the same recipe ``convnet predict`` picks for the checkpoint's dataset.
"""
from __future__ import annotations

import io
import json
import warnings

import numpy as np

from ..data.images import has_ink, prepare_image, read_image
from ..errors import FileFormatError

__all__ = ["InputError", "decode_image", "decode_pixels", "decode_json", "prepare", "recipe_for", "MAX_PIXELS",
           "MAX_SIDE"]

MAX_PIXELS = 4096 * 4096  # images with more pixels are refused from their header (16.8 MP)
MAX_SIDE = 4096  # longest side of a JSON ``pixels`` array


class InputError(ValueError):
    """Bad request input; ``status`` is the HTTP status code to answer with."""

    def __init__(self, message, status=422):
        super().__init__(message)
        self.status = status


class _Upload(io.BytesIO):
    """The uploaded bytes as a file; named in ``read_image``'s messages as the upload, not a memory address."""

    def __init__(self, data, filename):
        super().__init__(data)
        self._label = f"upload {filename!r}" if filename else "the uploaded file"

    def __str__(self):
        return self._label

    __repr__ = __str__  # Pillow's messages show the file's repr


def decode_image(data, channels, filename=None, max_pixels=MAX_PIXELS):
    """Image file bytes -> ``(channels, H, W)`` float32 in ``[0, 1]``.

    Raises:
        InputError: 400 when the bytes are not a readable image, 413 over ``max_pixels`` pixels.
    """
    from PIL import Image

    if not data:
        raise InputError("the uploaded image is empty (0 bytes)", 400)
    upload = _Upload(data, filename)
    try:  # header only: the size is known before a single pixel is decoded
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(upload) as img:
                w, h = img.size
    except Image.DecompressionBombError as e:  # over twice Pillow's own limit: only its message has the size
        raise InputError(f"{upload}: the image has more than the {max_pixels:,} pixels accepted ({e})", 413) from None
    except Exception:  # noqa: BLE001 - read_image below gives the precise message
        w = h = 0
    if w * h > max_pixels:
        raise InputError(f"{upload}: the image has {w * h:,} pixels ({w}x{h}), more than the {max_pixels:,} "
                         "accepted", 413)
    upload.seek(0)
    try:
        return read_image(upload, channels)
    except FileFormatError as e:
        status = 413 if "pixel" in str(e) and "limit" in str(e) else 400
        raise InputError(str(e), status) from None


def decode_pixels(pixels, channels, max_side=MAX_SIDE):
    """JSON ``pixels`` (H x W or C x H x W numbers in 0..255) -> ``(channels, H, W)`` float32 in ``[0, 1]``.

    Raises:
        InputError (422) naming what was expected and what was received.
    """
    if not isinstance(pixels, list):
        raise InputError(f"'pixels' must be a nested list (H x W or C x H x W) of numbers 0-255, received "
                         f"{type(pixels).__name__}")
    try:
        a = np.asarray(pixels)
    except ValueError:
        raise InputError("'pixels' must be a rectangular array: its rows have different lengths") from None
    if a.dtype == object:
        raise InputError("'pixels' must be a rectangular array of numbers: its rows have different lengths "
                         "or hold non-numbers")
    if a.dtype.kind not in "iuf" or a.size == 0:
        what = "an empty array" if a.size == 0 else f"values of type {a.dtype.kind!r} ({a.dtype})"
        raise InputError(f"'pixels' must hold numbers 0-255, received {what}")
    if a.ndim not in (2, 3):
        raise InputError(f"'pixels' must be H x W or C x H x W, received {a.ndim} dimensions {list(a.shape)}")
    if a.ndim == 3 and a.shape[0] not in (1, 3, channels):
        raise InputError(f"'pixels' C x H x W must have C = 1 or 3 (or the model's {channels}), received "
                         f"shape {list(a.shape)}")
    if max(a.shape[-2:]) > max_side:
        raise InputError(f"'pixels' sides must be at most {max_side}, received shape {list(a.shape)}", 413)
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise InputError(f"'pixels' must be finite numbers 0-255; received {int((~np.isfinite(a)).sum())} "
                         "NaN or infinite value(s)")
    if a.min() < 0 or a.max() > 255:
        raise InputError(f"'pixels' must be in 0-255, received values from {a.min():g} to {a.max():g}")
    x = (a / 255.0).astype(np.float32)
    if x.ndim == 2:
        x = x[None]  # (H, W) -> (1, H, W)
    if x.shape[0] == channels:
        return x
    if channels == 1:  # RGB -> grey with ITU-R 601 luma, as read_image
        return np.tensordot(np.array([0.299, 0.587, 0.114], np.float32), x, axes=1)[None]
    return np.repeat(x[:1], channels, axis=0)


def decode_json(body):
    """Raw JSON bytes -> dict; InputError 400 when it does not parse, 422 when it is not an object."""
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise InputError(f"the body is not valid JSON ({e})", 400) from None
    if not isinstance(obj, dict):
        raise InputError(f"the JSON body must be an object such as {{\"pixels\": [[...]]}}, received "
                         f"{type(obj).__name__}")
    return obj


def recipe_for(meta):
    """``(recipe, invert)`` that ``convnet predict`` uses for a checkpoint's metadata."""
    recipe = {"digits": "digits", "mnist": "mnist"}.get(str(meta.get("dataset", "")).lower(), "resize")
    invert = "auto" if meta.get("dark_background", True) else "no"
    return recipe, invert


def prepare(raw, input_shape, meta):
    """``(C, H, W)`` in ``[0, 1]`` -> ``(prepared (C, H_in, W_in) in [0, 1], has_ink)`` as ``convnet predict``."""
    recipe, invert = recipe_for(meta)
    return prepare_image(raw, input_shape, recipe, invert).astype(np.float32), has_ink(raw)
