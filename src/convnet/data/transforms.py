"""Image transforms and data augmentation (flips, crops, small rotations / translations).

Every transform takes a single image ``(C, H, W)`` or a batch ``(N, C, H, W)`` NumPy array and
returns the same layout; random ones draw from ``generator`` (the ``DataLoader`` passes its own,
so a seeded loader augments reproducibly) or else from the global generator. Batches are handled
in one vectorised step: per-sample random parameters are drawn as arrays and applied with fancy
indexing or a single ``scipy.ndimage.map_coordinates`` call, never a Python loop over samples.

Example:
    >>> aug = Compose([RandomCrop(32, padding=2), RandomAffine(degrees=10, translate=(0.1, 0.1))])
    >>> loader = DataLoader(train_set, batch_size=64, shuffle=True, seed=0, transform=aug)
"""
from __future__ import annotations

import numpy as np

from .._backend import default_generator
from ..tensor import Tensor

__all__ = ["Transform", "Compose", "Normalize", "ToTensor", "RandomCrop", "RandomHorizontalFlip",
           "RandomAffine", "RandomRotation", "Pad", "Resize", "to_chw_float", "resize", "pad"]


def _batched(x):
    """Return ``(batch (N, C, H, W), was_single)`` for a ``(C, H, W)`` or ``(N, C, H, W)`` input."""
    x = np.asarray(x._data if isinstance(x, Tensor) else x)
    if x.ndim == 3:
        return x[None], True
    if x.ndim == 4:
        return x, False
    raise ValueError(f"transform: expected an image (C, H, W) or a batch (N, C, H, W), received shape {x.shape}")


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
        batch, single = _batched(x)
        out = self.apply(batch, generator if generator is not None else default_generator())
        return out[0] if single else out

    def apply(self, batch, generator):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Compose(Transform):
    """Apply ``transforms`` in order, all drawing from the same generator."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x, generator=None):
        for t in self.transforms:
            x = t(x, generator=generator) if getattr(t, "uses_generator", False) else t(x)
        return x


class Normalize(Transform):
    """Per-channel ``(x - mean[c]) / std[c]``, as in torchvision."""

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, np.float32).ravel()
        self.std = np.asarray(std, np.float32).ravel()
        if np.any(self.std <= 0):
            raise ValueError(f"Normalize: std must be positive, received {self.std.tolist()}")

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


class Resize(Transform):
    def __init__(self, size):
        self.size = size

    def apply(self, batch, generator):
        return resize(batch, self.size)


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


class RandomAffine(Transform):
    """Small random rotation, translation and scaling about the image centre (bilinear).

    Args:
        degrees: rotation angle drawn uniformly from ``[-degrees, degrees]`` (or a (min, max) pair);
            positive is counter-clockwise, as in torchvision (90 degrees equals ``np.rot90``).
        translate: ``(fx, fy)``: shifts drawn from ``[-fx*W, fx*W]`` and ``[-fy*H, fy*H]`` pixels.
        scale: ``(lo, hi)`` zoom factor range, or None.
        fill: value for pixels that come from outside the image.

    All samples are warped by one ``scipy.ndimage.map_coordinates`` call over the whole batch:
    for output pixel ``p`` the source is ``A^{-1} (p - c - t) + c`` with ``A = s R(angle)``.
    """

    def __init__(self, degrees=0.0, translate=None, scale=None, fill=0.0):
        self.degrees = _pair(degrees, "RandomAffine") if not isinstance(degrees, (int, float)) \
            else (-float(degrees), float(degrees))
        self.translate, self.scale, self.fill = translate, scale, fill

    def apply(self, batch, generator):
        from scipy import ndimage

        n, c, h, w = batch.shape
        angle = np.deg2rad(generator.uniform(self.degrees[0], self.degrees[1], size=n))
        tx = ty = np.zeros(n)
        if self.translate is not None:
            fx, fy = _pair(self.translate, "RandomAffine translate")
            tx = generator.uniform(-fx * w, fx * w, size=n)
            ty = generator.uniform(-fy * h, fy * h, size=n)
        s = np.ones(n) if self.scale is None else generator.uniform(self.scale[0], self.scale[1], size=n)
        cy, cx = (h - 1) / 2, (w - 1) / 2
        yy, xx = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")  # (H, W) each
        # inverse map: rotate back by the angle and divide by s, per sample (N, 1, 1)
        cos, sin = (np.cos(angle) / s)[:, None, None], (np.sin(angle) / s)[:, None, None]
        dy, dx = yy[None] - ty[:, None, None], xx[None] - tx[:, None, None]  # (N, H, W)
        # rounding removes float noise such as cos(90 deg) = 6e-17 that would push edge pixels outside
        src_y = np.round(cos * dy + sin * dx + cy, 6)[:, None]  # (N, 1, H, W)
        src_x = np.round(-sin * dy + cos * dx + cx, 6)[:, None]
        # one call for the whole batch: sample k = n*C + c of the (N*C, H, W) stack uses its image's map
        coords = np.stack([np.broadcast_to(np.arange(n * c).reshape(n * c, 1, 1), (n * c, h, w)),
                           np.repeat(src_y[:, 0], c, axis=0), np.repeat(src_x[:, 0], c, axis=0)])  # (3, N*C, H, W)
        out = ndimage.map_coordinates(batch.astype(np.float32).reshape(n * c, h, w), coords, order=1,
                                      mode="constant", cval=self.fill).reshape(n, c, h, w)
        return out.astype(batch.dtype, copy=False)


class RandomRotation(RandomAffine):
    """Rotation by an angle drawn uniformly from ``[-degrees, degrees]``."""

    def __init__(self, degrees, fill=0.0):
        super().__init__(degrees=degrees, fill=fill)
