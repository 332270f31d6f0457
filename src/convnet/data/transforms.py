"""Image transforms and data augmentation, with torchvision's names and argument meanings.

The notes' augmentations: mirroring (``RandomHorizontalFlip``, ``RandomVerticalFlip``), random
cropping (``RandomCrop``, ``RandomResizedCrop``), rotation / shearing (``RandomAffine``,
``RandomRotation``; in ``transforms_geometry``), local warping (``ElasticTransform``;
``transforms_elastic``) and colour shifting (``ColorJitter``, ``PCALighting``, ``Grayscale``,
``RandomGrayscale``; ``transforms_color``). All are importable from here.

Every transform takes a single image ``(C, H, W)``, a batch ``(N, C, H, W)`` (NumPy array or
``cn.Tensor``) or a PIL image and returns the same kind; random ones draw from ``generator`` (the
``DataLoader`` passes its own, so a seeded loader augments reproducibly) or else from the global
generator. Batches are handled in one vectorised step: per-sample random parameters are drawn as
arrays and applied with fancy indexing or a single ``scipy.ndimage.map_coordinates`` call, never a
Python loop over samples.

Example:
    >>> aug = Compose([RandomCrop(32, padding=2), RandomAffine(degrees=10, translate=(0.1, 0.1), shear=10)])
    >>> loader = DataLoader(train_set, batch_size=64, shuffle=True, seed=0, transform=aug)
"""
from __future__ import annotations

import numpy as np

from .._backend import default_generator
from ..tensor import Tensor

__all__ = ["Transform", "Compose", "Normalize", "ToTensor", "RandomCrop", "RandomHorizontalFlip",
           "RandomAffine", "RandomRotation", "Pad", "Resize", "CenterCrop", "Lambda", "ToPILImage",
           "to_chw_float", "resize", "pad", "RandomVerticalFlip", "RandomResizedCrop", "Grayscale",
           "RandomGrayscale", "ColorJitter", "PCALighting", "ElasticTransform"]


def _batched(x):
    """Return ``(batch (N, C, H, W), was_single)`` for a ``(C, H, W)`` or ``(N, C, H, W)`` input."""
    x = np.asarray(x._data if isinstance(x, Tensor) else x)
    if x.ndim == 3:
        return x[None], True
    if x.ndim == 4:
        return x, False
    raise ValueError(f"transform: expected an image (C, H, W) or a batch (N, C, H, W), received shape {x.shape}")


def _is_pil(x):
    return type(x).__module__.startswith("PIL.")


def _pair(v, name):
    if isinstance(v, (int, float)):
        return (v, v)
    if len(v) != 2:
        raise ValueError(f"{name}: expected a number or a pair, received {v!r}")
    return tuple(v)


class Transform:
    """Base class: implement ``apply(batch (N, C, H, W), generator) -> batch``."""

    uses_generator = True

    def __call__(self, x, generator=None):
        gen = generator if generator is not None else default_generator()
        if _is_pil(x):  # torchvision: a PIL image in, a PIL image out
            return self.apply_pil(x, gen)
        batch, single = _batched(x)
        out = self.apply(batch, gen)
        out = out[0] if single else out
        return Tensor._wrap(np.ascontiguousarray(out), False) if isinstance(x, Tensor) else out

    def apply_pil(self, img, generator):
        """PIL image -> PIL image; by default through ``apply`` on its ``(1, C, H, W)`` uint8 array."""
        from .transforms_pil import from_pil, to_pil

        return to_pil(self.apply(from_pil(img)[None], generator)[0], img.mode)

    def apply(self, batch, generator):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class Compose(Transform):
    """Apply ``transforms`` in order, all drawing from the same generator.

    Consecutive warps of an array batch (``RandomAffine`` / ``RandomRotation``, optionally followed by
    one ``ElasticTransform``) are resampled once: their source maps are drawn in order (the same random
    numbers as one by one) and composed, ``out(p) = x(s_1(s_2(p)))``, then one bilinear
    ``map_coordinates`` call reads the result: half the work of two calls and one interpolation blur
    instead of two. Pixels whose composed source falls outside the image get the first warp's ``fill``.
    """

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x, generator=None):
        ts, i = self.transforms, 0
        while i < len(ts):
            j = i
            if not _is_pil(x):  # the longest run of warps starting at i; only the last may be grid-only
                while j < len(ts) and hasattr(ts[j], "source_map") and (j == i or getattr(ts[j - 1], "analytic",
                                                                                           False)):
                    j += 1
            if j - i >= 2:
                x = _fused_warp(ts[i:j], x, generator)
                i = j
                continue
            t = ts[i]
            x = t(x, generator=generator) if getattr(t, "uses_generator", False) else t(x)
            i += 1
        return x


def _fused_warp(warps, x, generator):
    """Apply a run of warps (``source_map`` protocol) with one resampling; see ``Compose``."""
    from .transforms_geometry import warp

    gen = generator if generator is not None else default_generator()
    batch, single = _batched(x)
    n, _, h, w = batch.shape
    maps = [t.source_map(n, h, w, gen) for t in warps]  # drawn in order, as one by one
    src_y, src_x = np.arange(h, dtype=np.float64)[None, :, None], np.arange(w, dtype=np.float64)[None, None, :]
    for m in reversed(maps):  # the last warp reads the grid; each earlier one reads where the next one points
        src_y, src_x = m(src_y, src_x)
    out = warp(batch, src_y, src_x, getattr(warps[0], "fill", 0.0))
    out = out[0] if single else out
    return Tensor._wrap(np.ascontiguousarray(out), False) if isinstance(x, Tensor) else out


class Normalize(Transform):
    """Per-channel ``(x - mean[c]) / std[c]``, as in torchvision."""

    def __init__(self, mean, std, inplace=False):
        self.mean = np.asarray(mean, np.float32).ravel()
        self.std = np.asarray(std, np.float32).ravel()
        if np.any(self.std <= 0):
            raise ValueError(f"Normalize: std must be positive, received {self.std.tolist()}")

    def apply_pil(self, img, generator):
        raise TypeError("Normalize: expected a tensor image (C, H, W), received a PIL image; put ToTensor() first")

    def apply(self, batch, generator):
        c = batch.shape[1]
        if self.mean.size not in (1, c):
            raise ValueError(f"Normalize: {self.mean.size} mean values for an input with {c} channels")
        return ((batch - self.mean.reshape(1, -1, 1, 1)) / self.std.reshape(1, -1, 1, 1)).astype(np.float32)


def to_chw_float(img):
    """A PIL image or ``(H, W)`` / ``(H, W, C)`` array -> ``(C, H, W)`` float32 in ``[0, 1]``.

    ``uint8`` values are divided by 255; float inputs are kept as they are.
    """
    a = np.asarray(img)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3:
        raise ValueError(f"to_chw_float: expected an (H, W) or (H, W, C) image, received shape {a.shape}")
    out = a.transpose(2, 0, 1).astype(np.float32)  # (H, W, C) -> (C, H, W)
    if a.dtype == np.uint8:
        out /= 255.0
    return out


class ToTensor:
    """Like torchvision's ``ToTensor``: PIL image / HWC ``uint8`` array -> ``cn.Tensor`` (C, H, W) in [0, 1]."""

    uses_generator = False

    def __call__(self, img):
        return Tensor._wrap(to_chw_float(img), False)


def pad(batch, padding, fill=0.0, mode="constant"):
    """Pad the two spatial dims of ``(N, C, H, W)`` by ``padding`` (int or (top/bottom, left/right))."""
    ph, pw = _pair(padding, "pad")
    width = ((0, 0), (0, 0), (ph, ph), (pw, pw))
    if mode == "constant":
        return np.pad(batch, width, constant_values=fill)
    return np.pad(batch, width, mode=mode)


class Pad(Transform):
    """Deterministic padding (e.g. MNIST 28x28 -> 32x32 for LeNet-5: ``Pad(2)``)."""

    def __init__(self, padding, fill=0.0, padding_mode="constant"):
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def apply(self, batch, generator):
        return pad(batch, self.padding, self.fill, self.padding_mode)


def resize(batch, size):
    """Bilinear resize of ``(N, C, H, W)`` (or ``(C, H, W)``) to ``size=(H_out, W_out)`` (pixel-area aligned)."""
    from scipy import ndimage

    b, single = _batched(batch)
    h_out, w_out = _pair(size, "resize")
    _, _, h, w = b.shape
    out = ndimage.zoom(b.astype(np.float32), (1, 1, h_out / h, w_out / w), order=1, grid_mode=True,
                       mode="nearest")
    return out[0] if single else out


class RandomCrop(Transform):
    """Pad by ``padding`` then cut a random ``size`` window per sample (the notes' "random crops").

    Args:
        size: output ``(H_out, W_out)`` or an int.
        padding: pixels added on each side first (int or pair).
        fill: the constant for ``padding_mode="constant"``; ``"edge"`` and ``"reflect"`` also work.
    """

    def __init__(self, size, padding=0, fill=0.0, padding_mode="constant"):
        self.size, self.padding, self.fill, self.padding_mode = size, padding, fill, padding_mode

    def apply(self, batch, generator):
        h_out, w_out = _pair(self.size, "RandomCrop")
        x = pad(batch, self.padding, self.fill, self.padding_mode) if self.padding else batch
        n, c, h, w = x.shape
        if h < h_out or w < w_out:
            raise ValueError(f"RandomCrop: crop {h_out}x{w_out} is larger than the padded input {h}x{w}")
        oy = generator.integers(0, h - h_out + 1, size=n)
        ox = generator.integers(0, w - w_out + 1, size=n)
        rows = oy[:, None] + np.arange(h_out)  # (N, H_out)
        cols = ox[:, None] + np.arange(w_out)  # (N, W_out)
        n_idx = np.arange(n)[:, None, None, None]
        c_idx = np.arange(c)[None, :, None, None]
        return x[n_idx, c_idx, rows[:, None, :, None], cols[:, None, None, :]]  # (N, C, H_out, W_out)


class RandomHorizontalFlip(Transform):
    """Mirror each sample left-right with probability ``p`` (not for digits: a flipped 3 is no 3)."""

    def __init__(self, p=0.5):
        self.p = p

    def apply(self, batch, generator):
        flip = generator.random(len(batch)) < self.p
        out = batch.copy()
        out[flip] = batch[flip][..., ::-1]
        return out


from .transforms_pil import CenterCrop, Lambda, Resize, ToPILImage  # noqa: E402,F401
from .transforms_geometry import RandomAffine, RandomResizedCrop, RandomRotation, RandomVerticalFlip  # noqa: E402,F401
from .transforms_color import ColorJitter, Grayscale, PCALighting, RandomGrayscale  # noqa: E402,F401
from .transforms_elastic import ElasticTransform  # noqa: E402,F401
