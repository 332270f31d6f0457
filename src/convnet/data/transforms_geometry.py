"""Geometric augmentation: affine warps (rotation, translation, scale, shear), resized crops, vertical flips.

Every transform takes an image ``(C, H, W)``, a batch ``(N, C, H, W)`` (NumPy array or ``cn.Tensor``)
or a PIL image, and draws its per-sample parameters as arrays from the generator it is given. The
resampling of a whole batch is one ``scipy.ndimage.map_coordinates`` call (:func:`warp`); PIL images
go through Pillow where torchvision does (``RandomResizedCrop``).
"""
from __future__ import annotations

import math

import numpy as np

from .transforms import Transform, _pair

__all__ = ["warp", "affine_matrix", "RandomAffine", "RandomRotation", "RandomResizedCrop", "RandomVerticalFlip"]


def warp(batch, src_y, src_x, fill=0.0, order=1):
    """Resample every image of ``batch`` at its own source coordinates, in one SciPy call.

    ``out[n, c, i, j] = batch[n, c, src_y[n, i, j], src_x[n, i, j]]`` with bilinear interpolation
    (``order=1``); coordinates outside the image read ``fill``.

    Args:
        batch: ``(N, C, H, W)``.
        src_y, src_x: ``(N, H_out, W_out)`` source rows / columns (floats, pixel centres at integers).

    Returns:
        ``(N, C, H_out, W_out)`` in ``batch``'s float dtype (float32 for integer inputs, rounded back
        to ``uint8`` when the input is ``uint8``).
    """
    from scipy import ndimage

    n, c, h, w = batch.shape
    h_out, w_out = src_y.shape[1:]
    src = batch if batch.dtype in (np.float32, np.float64) else batch.astype(np.float32)
    # The N*C planes stacked into one tall (N*C*H, W) image: plane k = n*C + c starts at row k*H. One 2-D
    # call is ~2x faster than a 3-D one. A source point inside [0, H-1] x [0, W-1] only reads its own
    # plane (at row H-1 the next plane's weight is 0); points outside read `fill`, as mode="constant".
    # (2, N*C*H_out, W_out) coordinates written in place (no np.stack copy); float64: rows reach N*C*H
    coords = np.empty((2, n * c * h_out, w_out))
    offset = (np.arange(n * c, dtype=np.float64) * h).reshape(n, c, 1, 1)
    np.add(src_y[:, None], offset, out=coords[0].reshape(n, c, h_out, w_out))  # row k*H + src_y in plane k
    coords[1].reshape(n, c, h_out, w_out)[...] = src_x[:, None]
    out = ndimage.map_coordinates(src.reshape(n * c * h, w), coords, order=order, mode="nearest")
    outside = (src_y < 0) | (src_y > h - 1) | (src_x < 0) | (src_x > w - 1)  # (N, H_out, W_out)
    out = out.reshape(n, c, h_out, w_out)
    if outside.any():
        out = np.where(outside[:, None], np.asarray(fill, out.dtype), out)
    if batch.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out


def affine_matrix(angle, scale, shear_x, shear_y):
    """The 2x2 linear part ``A = R(angle) S(scale) SHy(shear_y) SHx(shear_x)`` acting on ``(x, y)`` pixel offsets.

    torchvision's composition (``transforms.functional.affine``): ``SHx(s) = [[1, -tan s], [0, 1]]`` tilts
    vertical lines by ``s`` and keeps horizontal lines, ``SHy(s) = [[1, 0], [-tan s, 1]]`` the other way
    round. ``angle`` is counter-clockwise on screen (rows grow downwards), as ``transforms.functional.rotate``.
    All arguments are arrays of radians / factors of the same shape ``(N,)``; returns ``(N, 2, 2)``.
    """
    rot = -np.asarray(angle, np.float64)  # torchvision's matrix with y down turns clockwise for a positive angle
    a = np.cos(rot - shear_y) / np.cos(shear_y)
    b = -(a * np.tan(shear_x) + np.sin(rot))
    c = np.sin(rot - shear_y) / np.cos(shear_y)
    d = np.cos(rot) - c * np.tan(shear_x)
    return np.asarray(scale)[:, None, None] * np.stack([np.stack([a, b], -1), np.stack([c, d], -1)], -2)


def _range(v, name, symmetric_from_number=True):
    if isinstance(v, (int, float)):
        if v < 0:
            raise ValueError(f"{name}: a single number must be non-negative, received {v}")
        return (-float(v), float(v)) if symmetric_from_number else (float(v), float(v))
    v = tuple(float(t) for t in v)
    if len(v) != 2 or v[0] > v[1]:
        raise ValueError(f"{name}: expected a number or a (min, max) pair, received {v!r}")
    return v


def _shear_ranges(shear):
    """torchvision's rule: a number s -> x-shear in (-s, s); (a, b) -> x-shear in (a, b); 4 values -> x and y ranges."""
    if shear is None:
        return (0.0, 0.0), (0.0, 0.0)
    if isinstance(shear, (int, float)):
        return _range(shear, "RandomAffine shear"), (0.0, 0.0)
    shear = tuple(float(s) for s in shear)
    if len(shear) == 2:
        return _range(shear, "RandomAffine shear"), (0.0, 0.0)
    if len(shear) == 4:
        return _range(shear[:2], "RandomAffine shear"), _range(shear[2:], "RandomAffine shear")
    raise ValueError(f"RandomAffine: shear must be a number or a sequence of 2 or 4 numbers, received {shear!r}")


class RandomAffine(Transform):
    """Random rotation, translation, scaling and shear about the image centre (bilinear), as torchvision.

    Args:
        degrees: rotation angle drawn uniformly from ``[-degrees, degrees]`` (or a (min, max) pair);
            positive is counter-clockwise (90 degrees equals ``np.rot90``).
        translate: ``(fx, fy)``: shifts drawn from ``[-fx*W, fx*W]`` and ``[-fy*H, fy*H]`` pixels.
        scale: ``(lo, hi)`` zoom factor range, or None.
        shear: degrees; a number ``s`` shears parallel to the x axis by an angle in ``[-s, s]``, a pair
            gives that x range, four values ``(x_min, x_max, y_min, y_max)`` add a y shear. An x shear
            keeps horizontal lines and tilts vertical lines by the shear angle (see :func:`affine_matrix`).
        fill: value for pixels that come from outside the image.

    All samples are warped by one ``scipy.ndimage.map_coordinates`` call over the whole batch:
    for output pixel ``p`` the source is ``A^{-1} (p - c - t) + c``, ``c`` the centre ``((W-1)/2, (H-1)/2)``.
    """

    def __init__(self, degrees=0.0, translate=None, scale=None, shear=None, fill=0.0):
        self.degrees = _range(degrees, "RandomAffine degrees")
        self.translate, self.scale, self.fill = translate, scale, fill
        self.shear = shear
        self._shear_x, self._shear_y = _shear_ranges(shear)

    def get_params(self, n, h, w, generator):
        """Per-sample ``(angle deg, tx, ty, scale, shear_x deg, shear_y deg)``, each ``(N,)``."""
        angle = generator.uniform(self.degrees[0], self.degrees[1], size=n)
        tx = ty = np.zeros(n)
        if self.translate is not None:
            fx, fy = _pair(self.translate, "RandomAffine translate")
            tx = generator.uniform(-fx * w, fx * w, size=n)
            ty = generator.uniform(-fy * h, fy * h, size=n)
        s = np.ones(n) if self.scale is None else generator.uniform(self.scale[0], self.scale[1], size=n)
        sx = generator.uniform(*self._shear_x, size=n) if self._shear_x != (0.0, 0.0) else np.zeros(n)
        sy = generator.uniform(*self._shear_y, size=n) if self._shear_y != (0.0, 0.0) else np.zeros(n)
        return angle, tx, ty, s, sx, sy

    analytic = True  # its source map can be evaluated anywhere (Compose fuses it with the next warp)

    def source_map(self, n, h, w, generator):
        """Draw the parameters; return ``f(y, x) -> (src_y, src_x)`` for points of the output ``(N, ...)``."""
        angle, tx, ty, s, sx, sy = self.get_params(n, h, w, generator)
        return affine_source_map(n, h, w, angle, (tx, ty), s, (sx, sy))

    def apply(self, batch, generator):
        n, c, h, w = batch.shape
        angle, tx, ty, s, sx, sy = self.get_params(n, h, w, generator)
        return affine(batch, angle, (tx, ty), s, (sx, sy), self.fill)


def affine_source_map(n, h, w, angle, translate, scale, shear):
    """``f(y, x) -> (src_y, src_x)``: the inverse affine map ``A^{-1} (p - c - t) + c`` of each image."""
    tx, ty = (np.broadcast_to(np.asarray(t, np.float64), (n,)) for t in translate)
    A = affine_matrix(np.deg2rad(np.broadcast_to(angle, (n,))), np.broadcast_to(np.asarray(scale, np.float64), (n,)),
                      np.deg2rad(np.broadcast_to(shear[0], (n,))), np.deg2rad(np.broadcast_to(shear[1], (n,))))
    inv = np.linalg.inv(A)  # (N, 2, 2) acting on (x, y)
    m = [inv[:, i, j, None, None] for i in (0, 1) for j in (0, 1)]  # each (N, 1, 1)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    # src = inv (p - c - t) + c = inv p + k with k = c - inv (c + t): two products and two sums per axis
    ky = cy - m[2] * (cx + tx[:, None, None]) - m[3] * (cy + ty[:, None, None])  # (N, 1, 1)
    kx = cx - m[0] * (cx + tx[:, None, None]) - m[1] * (cy + ty[:, None, None])

    def f(y, x):
        sy, sx = m[2] * x + m[3] * y, m[0] * x + m[1] * y  # (N, H, W) for a grid or an (N, H, W) map
        sy += ky
        sx += kx
        # rounding removes float noise such as cos(90 deg) = 6e-17 that would push edge pixels outside
        return np.round(sy, 6, out=sy), np.round(sx, 6, out=sx)

    return f


def affine(batch, angle, translate, scale, shear, fill=0.0):
    """Warp each image of ``(N, C, H, W)`` by its own affine map (degrees, pixels; arrays of shape ``(N,)``)."""
    n, c, h, w = batch.shape
    f = affine_source_map(n, h, w, angle, translate, scale, shear)
    src_y, src_x = f(np.arange(h, dtype=np.float64)[None, :, None], np.arange(w, dtype=np.float64)[None, None, :])
    return warp(batch, src_y, src_x, fill)


class RandomRotation(RandomAffine):
    """Rotation by an angle drawn uniformly from ``[-degrees, degrees]``."""

    def __init__(self, degrees, fill=0.0):
        super().__init__(degrees=degrees, fill=fill)


class RandomVerticalFlip(Transform):
    """Mirror each sample top-bottom with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = p

    def apply(self, batch, generator):
        flip = generator.random(len(batch)) < self.p
        out = batch.copy()
        out[flip] = batch[flip][:, :, ::-1]
        return out


class RandomResizedCrop(Transform):
    """Crop a random area and aspect ratio, resize it to ``size`` (torchvision's Inception-style crop).

    Args:
        size: output ``(H, W)`` or an int for a square.
        scale: range of the crop's area as a fraction of the image's.
        ratio: range of the crop's aspect ratio ``w / h`` (drawn log-uniformly).

    The box is drawn as torchvision's ``get_params``: up to 10 tries of (area, ratio), the first whose
    box fits is placed uniformly; otherwise the whole image centre-cropped to the nearest allowed ratio.
    Arrays are resampled bilinearly (pixel-area aligned) by one ``map_coordinates`` call for the batch;
    PIL images by Pillow's ``resize(box=...)``.
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
        self.size = _pair(size, "RandomResizedCrop size")
        self.scale = _range(scale, "RandomResizedCrop scale")
        self.ratio = _range(ratio, "RandomResizedCrop ratio")
        if self.scale[0] <= 0 or self.ratio[0] <= 0:
            raise ValueError(f"RandomResizedCrop: scale and ratio must be positive, received {scale!r}, {ratio!r}")

    @staticmethod
    def get_params(n, h, w, scale, ratio, generator, tries=10):
        """``(top, left, height, width)`` integer arrays ``(N,)`` of boxes inside the ``h x w`` image."""
        area = h * w
        target = area * generator.uniform(scale[0], scale[1], size=(n, tries))
        aspect = np.exp(generator.uniform(math.log(ratio[0]), math.log(ratio[1]), size=(n, tries)))
        cw = np.rint(np.sqrt(target * aspect)).astype(np.int64)
        ch = np.rint(np.sqrt(target / aspect)).astype(np.int64)
        ok = (cw > 0) & (cw <= w) & (ch > 0) & (ch <= h)  # (N, tries)
        first = ok.argmax(axis=1)
        found = ok[np.arange(n), first]
        bw, bh = cw[np.arange(n), first], ch[np.arange(n), first]
        # fallback: central crop of the whole image at the nearest allowed ratio
        in_ratio = w / h
        if in_ratio < ratio[0]:
            fw, fh = w, int(round(w / ratio[0]))
        elif in_ratio > ratio[1]:
            fw, fh = int(round(h * ratio[1])), h
        else:
            fw, fh = w, h
        bw, bh = np.where(found, bw, fw), np.where(found, bh, fh)
        top = np.where(found, np.floor(generator.random(n) * (h - bh + 1)).astype(np.int64), (h - fh) // 2)
        left = np.where(found, np.floor(generator.random(n) * (w - bw + 1)).astype(np.int64), (w - fw) // 2)
        return top, left, bh, bw

    def apply(self, batch, generator):
        n, _, h, w = batch.shape
        top, left, bh, bw = self.get_params(n, h, w, self.scale, self.ratio, generator)
        h_out, w_out = self.size
        # output pixel i samples the box at top + (i + 0.5) * bh / h_out - 0.5 (pixel-area aligned)
        fy = top[:, None] + (np.arange(h_out)[None] + 0.5) * (bh[:, None] / h_out) - 0.5  # (N, H_out)
        fx = left[:, None] + (np.arange(w_out)[None] + 0.5) * (bw[:, None] / w_out) - 0.5  # (N, W_out)
        fy = np.clip(fy, top[:, None], (top + bh - 1)[:, None])  # edge pixels are replicated, never fill
        fx = np.clip(fx, left[:, None], (left + bw - 1)[:, None])
        src_y = np.broadcast_to(fy[:, :, None], (n, h_out, w_out))
        src_x = np.broadcast_to(fx[:, None, :], (n, h_out, w_out))
        return warp(batch, src_y, src_x)

    def apply_pil(self, img, generator):
        from PIL import Image

        top, left, bh, bw = (int(v[0]) for v in self.get_params(1, img.height, img.width, self.scale, self.ratio,
                                                                   generator))
        return img.resize((self.size[1], self.size[0]), Image.BILINEAR, box=(left, top, left + bw, top + bh))
