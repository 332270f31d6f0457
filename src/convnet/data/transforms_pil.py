"""torchvision transforms that work per image on PIL images as well as on arrays and tensors.

``Resize`` (torchvision's size rule: an int matches the smaller edge), ``CenterCrop``,
``ToPILImage`` and ``Lambda``. The random transforms of ``transforms.py`` accept PIL images through
``Transform.apply_pil`` (PIL in, PIL out), so a torchvision pipeline such as
``Compose([RandomCrop(32, padding=4), RandomHorizontalFlip(), ToTensor(), Normalize(m, s)])`` runs
unchanged as a dataset's per-sample ``transform``.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from . import transforms as _t

__all__ = ["Resize", "CenterCrop", "ToPILImage", "Lambda", "from_pil", "to_pil"]

_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def from_pil(img):
    """PIL image -> ``(C, H, W)`` uint8 array (``L``: C = 1, ``RGB``: C = 3)."""
    a = np.asarray(img)
    return (a[None] if a.ndim == 2 else a.transpose(2, 0, 1)).copy()  # (H, W, C) -> (C, H, W)


def to_pil(chw, mode=None):
    """``(C, H, W)`` array -> PIL image; floats in [0, 1] are scaled by 255 and truncated (torchvision's ``byte()``)."""
    from PIL import Image

    a = np.asarray(chw)
    if a.ndim != 3 or a.shape[0] not in _MODES:
        raise ValueError(f"to_pil: expected a (C, H, W) image with C in 1, 3, 4, received shape {a.shape}")
    if a.dtype.kind == "f":
        a = (a * 255).astype(np.uint8)
    a = a.astype(np.uint8, copy=False)
    img = Image.fromarray(a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0))  # (C, H, W) -> (H, W, C)
    return img if mode is None or mode == img.mode else img.convert(mode)


def _output_size(size, h, w, name):
    """torchvision's rule: an int sets the smaller edge (aspect ratio kept), a pair sets ``(H, W)``."""
    if isinstance(size, (int, np.integer)):
        if size < 1:
            raise ValueError(f"{name}: size must be positive, received {size}")
        if h <= w:
            return int(size), int(size * w / h)
        return int(size * h / w), int(size)
    if len(size) == 1:
        return _output_size(int(size[0]), h, w, name)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"{name}: size must be an int or an (H, W) pair of positive ints, received {size!r}")
    return int(size[0]), int(size[1])


class Resize(_t.Transform):
    """Resize to ``size``: an int matches the smaller edge (aspect ratio kept), ``(H, W)`` is exact.

    PIL images use PIL's bilinear filter (as torchvision does); arrays ``(C, H, W)`` / ``(N, C, H, W)``
    use ``transforms.resize`` (bilinear, pixel-area aligned).
    """

    def __init__(self, size, interpolation="bilinear", max_size=None, antialias=True):
        self.size = size

    def apply(self, batch, generator):
        return _t.resize(batch, _output_size(self.size, *batch.shape[2:], "Resize"))

    def apply_pil(self, img, generator):
        from PIL import Image

        h, w = _output_size(self.size, img.height, img.width, "Resize")
        return img.resize((w, h), Image.BILINEAR)


class CenterCrop(_t.Transform):
    """Cut the central ``size`` window (int or ``(H, W)``); smaller inputs are zero-padded first, as torchvision.

    The window starts at ``top = round((H - H_out) / 2)``, ``left = round((W - W_out) / 2)``.
    """

    def __init__(self, size):
        self.size = size

    def apply(self, batch, generator):
        h_out, w_out = _t._pair(self.size, "CenterCrop")
        _, _, h, w = batch.shape
        if h < h_out or w < w_out:
            ph, pw = max(h_out - h, 0), max(w_out - w, 0)
            batch = np.pad(batch, ((0, 0), (0, 0), (ph // 2, (ph + 1) // 2), (pw // 2, (pw + 1) // 2)))
            _, _, h, w = batch.shape
        top, left = int(round((h - h_out) / 2)), int(round((w - w_out) / 2))
        return batch[:, :, top:top + h_out, left:left + w_out]


class ToPILImage:
    """``(C, H, W)`` tensor or ``(H, W, C)`` / ``(H, W)`` ndarray -> PIL image (floats scaled by 255)."""

    uses_generator = False

    def __init__(self, mode=None):
        self.mode = mode

    def __call__(self, pic):
        if isinstance(pic, Tensor):
            a = pic._data
            a = a[None] if a.ndim == 2 else a
        else:
            a = np.asarray(pic)
            a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1) if a.ndim == 3 else a  # (H, W, C) -> (C, H, W)
        return to_pil(a, self.mode)


class Lambda:
    """Apply a user function ``lambd(x)`` as a transform."""

    uses_generator = False

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda: expected a callable, received {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, x):
        return self.lambd(x)

    def __repr__(self):
        return f"Lambda({self.lambd!r})"
