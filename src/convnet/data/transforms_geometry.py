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

__all__ = ["warp", "warp_reference", "affine_matrix", "RandomAffine", "RandomRotation", "RandomResizedCrop",
           "RandomVerticalFlip"]


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

    Bilinear reads of a flat 2x2 block (all four pixels equal, e.g. a digit's background) are that
    pixel's value, so only the other points go to ``map_coordinates`` (:func:`_warp_flat_aware`; the same
    values as :func:`warp_reference`, which sends every point).
    """
    return _warp(batch, src_y, src_x, fill, order, skip_flat=True)


def warp_reference(batch, src_y, src_x, fill=0.0, order=1):
    """:func:`warp` sending every point to ``map_coordinates`` (the slow reference of the flat-block shortcut)."""
    return _warp(batch, src_y, src_x, fill, order, skip_flat=False)


def _warp(batch, src_y, src_x, fill, order, skip_flat):
    n, c, h, w = batch.shape
    src_y, src_x = _points(src_y, src_x, n)
    src = batch if batch.dtype in (np.float32, np.float64) else batch.astype(np.float32)
    outside = (src_y < 0) | (src_y > h - 1) | (src_x < 0) | (src_x > w - 1)  # (N, H_out, W_out)
    shortcut = skip_flat and order == 1 and src.dtype == np.float32
    out = _warp_flat_aware(src, src_y, src_x, outside, fill) if shortcut else None
    if out is None:
        out = _map_planes(src, src_y, src_x, order)
        if outside.any():
            out = np.where(outside[:, None], np.asarray(fill, out.dtype), out)
    if batch.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out


def _points(src_y, src_x, n):
    """Both coordinate arrays broadcast to one ``(N, H_out, W_out)`` shape (read-only views)."""
    src_y, src_x = np.broadcast_arrays(np.asarray(src_y, np.float64), np.asarray(src_x, np.float64))
    shape = (n,) + src_y.shape[1:]
    return np.broadcast_to(src_y, shape), np.broadcast_to(src_x, shape)


def _map_planes(src, src_y, src_x, order):
    """``map_coordinates`` of the ``(N, C, H, W)`` float batch at ``(N, H_out, W_out)`` source points.

    The N*C planes are stacked into one tall ``(N*C*H, W)`` image: plane ``k = n*C + c`` starts at row
    ``k*H``. One 2-D call is ~2x faster than a 3-D one. A source point inside ``[0, H-1] x [0, W-1]`` only
    reads its own plane (at row H-1 the next plane's weight is 0); the caller replaces points outside.
    """
    from scipy import ndimage

    n, c, h, w = src.shape
    # float64 coordinates written in place (no np.stack copy): rows reach N*C*H
    coords = np.empty((2, n, c) + src_y.shape[1:])
    row0 = (np.arange(n * c, dtype=np.float64) * h).reshape(n, c, 1, 1)  # first row of plane n*C + c
    np.add(src_y[:, None], row0, out=coords[0])
    coords[1] = src_x[:, None]
    out = ndimage.map_coordinates(src.reshape(n * c * h, w), coords.reshape(2, n * c * src_y.shape[1], -1),
                                  order=order, mode="nearest")
    return out.reshape((n, c) + src_y.shape[1:])


# Above this share of points that need interpolation, the shortcut costs more than it saves.
_FLAT_MAX_SHARE = 0.6


def _warp_flat_aware(src, src_y, src_x, outside, fill):
    """Bilinear warp that interpolates only points whose 2x2 source block is not flat; None if most are.

    A point ``(y, x)`` inside the image reads the block with top-left pixel ``(floor y, floor x)``; when
    that block is constant in every channel the interpolation returns the constant, read here by one
    gather (float32 only: SciPy's float64 weighted sum can be 1 ulp off the constant, which the rounding
    to float32 removes, so the values equal ``map_coordinates``'s bit for bit). Points ``outside`` read
    ``fill``. Returns ``(N, C, H_out, W_out)``, or None when the shortcut would not pay.
    """
    from scipy import ndimage

    n, c, h, w = src.shape
    h_out, w_out = src_y.shape[1:]
    if n * c * h * w >= 1 << 31:
        return None
    src = np.ascontiguousarray(src)

    def differ(a, b):  # (N, C, ...) -> (N, ...): the pixels differ in some channel
        return np.not_equal(a[:, 0], b[:, 0]) if c == 1 else (a != b).any(axis=1)

    # varied[n, i, j]: the block {i, i+1} x {j, j+1} (clipped to the image) is not constant in some channel
    varied = np.zeros((n, h, w), bool)
    varied[:, :, :-1] = differ(src[..., :, :-1], src[..., :, 1:])  # pixel vs its right neighbour
    varied[:, :-1, :-1] |= varied[:, 1:, :-1]  # the block's lower pair (row i + 1)
    varied[:, :-1] |= differ(src[..., :-1, :], src[..., 1:, :])  # pixel vs the one below
    if np.count_nonzero(varied) > _FLAT_MAX_SHARE * varied.size:  # a natural photo: few flat blocks
        return None
    # flat index of each point's top-left pixel in the (N, C=0, H, W) batch (floor: points inside are >= 0)
    pixel = np.clip(src_y, 0, h - 1).astype(np.int32)
    pixel *= w
    pixel += np.clip(src_x, 0, w - 1).astype(np.int32)  # index within the image
    pixel += (np.arange(n, dtype=np.int32) * (h * w))[:, None, None]  # ... within varied (N, H, W)
    need = np.take(varied, pixel, mode="clip")  # (clip: NaN coordinates must not index out of range)
    np.greater(need, outside, out=need)  # and not outside
    if c > 1:  # ... within the batch's channel 0
        pixel += (np.arange(n, dtype=np.int32) * ((c - 1) * h * w))[:, None, None]
    k = np.flatnonzero(need)  # the points to interpolate, as flat (n, i, j) indices
    if k.size > _FLAT_MAX_SHARE * need.size:
        return None
    rows = np.take(src_y, k)
    rows += (k // (h_out * w_out)) * float(c * h)  # row of the point in the tall (N*C*H, W) image, channel 0
    cols = np.take(src_x, k)
    flat = src.reshape(-1)
    tall = src.reshape(n * c * h, w)
    out = np.empty((n, c, h_out * w_out), src.dtype)
    for ch in range(c):
        plane = np.take(flat, pixel.reshape(n, -1) + ch * h * w, mode="clip")  # flat blocks' values
        vals = ndimage.map_coordinates(tall, np.stack([rows + ch * h, cols]), order=1, mode="nearest")
        np.put(plane, k, vals)
        np.copyto(plane, np.asarray(fill, src.dtype), where=outside.reshape(n, -1))
        out[:, ch] = plane
    return out.reshape(n, c, h_out, w_out)


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
        # sy = m2 x + m3 y + ky, sx = m0 x + m1 y + kx on the (N, H, W) points of a grid or a map, written
        # into two outputs and one temporary (the plain expressions' float64 operations, in the same order)
        shape = np.broadcast_shapes(ky.shape, y.shape, x.shape)
        sy, sx, tmp = np.empty(shape), np.empty(shape), np.empty(shape)
        np.multiply(m[2], x, out=sy)
        sy += np.multiply(m[3], y, out=tmp)
        np.multiply(m[0], x, out=sx)
        sx += np.multiply(m[1], y, out=tmp)
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
