"""Colour augmentation: greyscale, ColorJitter (torchvision's definitions) and AlexNet's PCA lighting.

The notes' "colour shifting" two ways. ``ColorJitter`` follows ``torchvision.transforms.functional``:

- brightness ``b``: ``x * b`` (a blend with black);
- contrast ``c``: ``c * x + (1 - c) * mean(grey(x))``, the mean grey level of the whole image;
- saturation ``s``: ``s * x + (1 - s) * grey(x)``, per pixel;
- hue ``h``: RGB -> HSV, ``H = (H + h) mod 1``, HSV -> RGB;

each clipped to ``[0, 1]``, applied in a random order per image, with ``grey = 0.299 R + 0.587 G +
0.114 B`` (ITU-R 601, Pillow's ``convert("L")``). ``PCALighting`` is AlexNet's (Krizhevsky et al.
2012, section 4.1): add ``[p1 p2 p3] [a1 l1, a2 l2, a3 l3]^T`` to every pixel of an image, ``p_i`` and
``l_i`` the eigenvectors and eigenvalues of the 3x3 covariance of the training set's RGB pixel values,
``a_i ~ N(0, alphastd)`` drawn once per image.

Images are float in ``[0, 1]`` (``uint8`` arrays and PIL images are scaled by 1/255 and rounded back).
Batches ``(N, C, H, W)`` are processed at once, with per-image random factors.
"""
from __future__ import annotations

import numpy as np

from .transforms import Transform, _is_pil

__all__ = ["GREY_WEIGHTS", "rgb_to_grayscale", "adjust_brightness", "adjust_contrast", "adjust_saturation",
           "adjust_hue", "rgb_to_hsv", "hsv_to_rgb", "Grayscale", "RandomGrayscale", "ColorJitter", "PCALighting"]

GREY_WEIGHTS = (0.299, 0.587, 0.114)


def _unit(batch):
    """``(float32 batch in [0, 1], was_uint8)``."""
    if batch.dtype == np.uint8:
        return batch.astype(np.float32) / np.float32(255), True
    return batch.astype(np.float32, copy=False), False


def _back(x, was_uint8):
    return np.clip(np.rint(x * 255), 0, 255).astype(np.uint8) if was_uint8 else x.astype(np.float32, copy=False)


def _per_image(f, n):
    return np.broadcast_to(np.asarray(f, np.float32), (n,)).reshape(n, 1, 1, 1)


def rgb_to_grayscale(batch, num_output_channels=1):
    """``(N, 3, H, W)`` -> ``(N, num_output_channels, H, W)``: ``0.299 R + 0.587 G + 0.114 B``."""
    if batch.shape[1] == 1:
        return np.repeat(batch, num_output_channels, axis=1)
    if batch.shape[1] != 3:
        raise ValueError(f"rgb_to_grayscale: expected 1 or 3 channels, received {batch.shape[1]}")
    w = np.asarray(GREY_WEIGHTS, np.float32).reshape(1, 3, 1, 1)
    grey = (batch * w).sum(axis=1, keepdims=True, dtype=np.float32)  # (N, 1, H, W)
    return np.repeat(grey, num_output_channels, axis=1)


def adjust_brightness(batch, factor):
    """``clip(x * factor, 0, 1)``; ``factor`` a number or one per image ``(N,)``."""
    return np.clip(batch * _per_image(factor, len(batch)), 0, 1)


def adjust_contrast(batch, factor):
    """``clip(factor * x + (1 - factor) * m, 0, 1)``, ``m`` the mean grey level of each image."""
    m = rgb_to_grayscale(batch).mean(axis=(1, 2, 3), keepdims=True)  # (N, 1, 1, 1)
    f = _per_image(factor, len(batch))
    return np.clip(f * batch + (1 - f) * m, 0, 1)


def adjust_saturation(batch, factor):
    """``clip(factor * x + (1 - factor) * grey(x), 0, 1)``; greyscale images are returned unchanged."""
    if batch.shape[1] == 1:
        return batch
    f = _per_image(factor, len(batch))
    return np.clip(f * batch + (1 - f) * rgb_to_grayscale(batch), 0, 1)


def rgb_to_hsv(batch):
    """``(N, 3, H, W)`` RGB in [0, 1] -> HSV, every component in [0, 1] (``colorsys``' definition)."""
    r, g, b = batch[:, 0], batch[:, 1], batch[:, 2]
    maxc, minc = batch.max(axis=1), batch.min(axis=1)
    span = maxc - minc
    grey = span == 0
    s = span / np.where(grey, 1, maxc)
    d = np.where(grey, 1, span)
    rc, gc, bc = (maxc - r) / d, (maxc - g) / d, (maxc - b) / d
    h = np.where(maxc == r, bc - gc, np.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = np.where(grey, 0.0, (h / 6.0) % 1.0)
    return np.stack([h, s, maxc], axis=1).astype(np.float32)


def hsv_to_rgb(batch):
    """Inverse of :func:`rgb_to_hsv`."""
    h, s, v = batch[:, 0], batch[:, 1], batch[:, 2]
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int64) % 6
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    sector = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]  # (R, G, B) for i = 0..5
    out = np.zeros(batch.shape, np.float32)
    for k, rgb in enumerate(sector):
        m = (i == k)[:, None]  # (N, 1, H, W)
        out = np.where(m, np.stack(rgb, axis=1), out)
    return out


def adjust_hue(batch, hue_factor):
    """Rotate the hue by ``hue_factor`` (in turns, ``[-0.5, 0.5]``): ``H = (H + hue_factor) mod 1``."""
    if batch.shape[1] == 1:
        return batch
    hsv = rgb_to_hsv(batch)
    hsv[:, 0] = (hsv[:, 0] + _per_image(hue_factor, len(batch))[:, 0]) % 1.0
    return hsv_to_rgb(hsv)


def _check_channels(batch, name):
    if batch.shape[1] not in (1, 3):
        raise ValueError(f"{name}: expected images with 1 or 3 channels, received {batch.shape[1]}")


class Grayscale(Transform):
    """Convert to greyscale with ``num_output_channels`` (1 or 3) channels: ``0.299 R + 0.587 G + 0.114 B``."""

    uses_generator = False

    def __init__(self, num_output_channels=1):
        if num_output_channels not in (1, 3):
            raise ValueError(f"Grayscale: num_output_channels must be 1 or 3, received {num_output_channels!r}")
        self.num_output_channels = num_output_channels

    def apply(self, batch, generator):
        _check_channels(batch, "Grayscale")
        x, was_uint8 = _unit(batch)
        return _back(rgb_to_grayscale(x, self.num_output_channels), was_uint8)

    def apply_pil(self, img, generator):
        grey = img.convert("L")  # Pillow's ITU-R 601 luma, as torchvision
        return grey if self.num_output_channels == 1 else grey.convert("RGB")


class RandomGrayscale(Transform):
    """Greyscale each image with probability ``p`` (keeping its number of channels), as torchvision."""

    def __init__(self, p=0.1):
        self.p = p

    def apply(self, batch, generator):
        _check_channels(batch, "RandomGrayscale")
        hit = generator.random(len(batch)) < self.p
        x, was_uint8 = _unit(batch)
        out = x.copy()
        out[hit] = rgb_to_grayscale(x[hit], x.shape[1])
        return _back(out, was_uint8)


def _factor_range(v, name, centre=1.0, bound=None):
    if v is None:
        return None
    if isinstance(v, (int, float)):
        if v < 0:
            raise ValueError(f"ColorJitter: {name} must be non-negative, received {v}")
        lo, hi = (centre - v, centre + v)
        lo = max(lo, 0.0) if centre == 1.0 else lo
    else:
        lo, hi = (float(t) for t in v)
    if bound is not None and not bound[0] <= lo <= hi <= bound[1]:
        raise ValueError(f"ColorJitter: {name} must lie in [{bound[0]}, {bound[1]}], received {v!r}")
    if lo > hi or (centre == 1.0 and lo < 0):
        raise ValueError(f"ColorJitter: {name} must be a non-negative number or an increasing pair, received {v!r}")
    return None if lo == hi == centre else (lo, hi)


class ColorJitter(Transform):
    """Randomly change brightness, contrast, saturation and hue (torchvision's ``ColorJitter``).

    Args:
        brightness, contrast, saturation: ``v`` draws the factor from ``[max(0, 1 - v), 1 + v]``;
            a pair ``(lo, hi)`` gives the range. 0 leaves the property alone.
        hue: ``v`` draws the hue shift from ``[-v, v]`` turns, ``0 <= v <= 0.5``; or a pair.

    The four adjustments (module docstring) are applied in a random order drawn per image.
    Greyscale images get brightness and contrast only. Inputs are images in ``[0, 1]``.
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = _factor_range(brightness, "brightness")
        self.contrast = _factor_range(contrast, "contrast")
        self.saturation = _factor_range(saturation, "saturation")
        self.hue = _factor_range(hue, "hue", centre=0.0, bound=(-0.5, 0.5))

    def apply(self, batch, generator):
        _check_channels(batch, "ColorJitter")
        n = len(batch)
        order = np.argsort(generator.random((n, 4)), axis=1)  # (N, 4): a random permutation per image
        ops = [(adjust_brightness, self.brightness), (adjust_contrast, self.contrast),
               (adjust_saturation, self.saturation), (adjust_hue, self.hue)]
        factors = [None if r is None else generator.uniform(r[0], r[1], size=n) for _, r in ops]
        x, was_uint8 = _unit(batch)
        x = x.copy()
        for step in range(4):
            for k, (fn, _) in enumerate(ops):
                rows = np.flatnonzero(order[:, step] == k)
                if factors[k] is not None and len(rows):
                    x[rows] = fn(x[rows], factors[k][rows])
        return _back(x, was_uint8)


def _dataset_images(dataset, max_images):
    """Up to ``max_images`` images of a dataset as ``(N, C, H, W)`` float32 in [0, 1] (before normalisation)."""
    from .dataset import Subset

    base, idx = dataset, np.arange(len(dataset))
    while isinstance(base, Subset):
        base, idx = base.dataset, np.asarray(base.indices)[idx]
    idx = idx[:max_images] if max_images is not None else idx
    if hasattr(base, "_raw"):  # ImageDataset: the stored pixels, not the normalised batch
        return _unit(np.asarray(base._raw[idx]))[0]
    from .transforms_pil import from_pil

    out = []
    for i in idx:
        img = base[int(i)][0]
        a = from_pil(img) if _is_pil(img) else np.asarray(getattr(img, "_data", img))
        out.append(_unit(a[None])[0][0])
    return np.stack(out)


class PCALighting(Transform):
    """AlexNet's colour shifting along the principal components of the RGB pixel values.

    Each image gets ``eigvec @ (alpha * eigval)`` added to every pixel, ``alpha ~ N(0, alphastd)``
    (3 values per image); no clipping, as in the paper.

    Args:
        alphastd: standard deviation of ``alpha`` (AlexNet: 0.1).
        eigval: ``(3,)`` eigenvalues of the pixel covariance, largest first.
        eigvec: ``(3, 3)``, column ``i`` the eigenvector of ``eigval[i]``.

    Use :meth:`fit` (a dataset) or :meth:`from_images` (an array) to compute them from training images.
    """

    def __init__(self, alphastd=0.1, eigval=None, eigvec=None):
        self.alphastd = float(alphastd)
        if (eigval is None) != (eigvec is None):
            raise ValueError("PCALighting: pass both eigval and eigvec, or neither (then call fit)")
        self.eigval = None if eigval is None else np.asarray(eigval, np.float32).reshape(3)
        self.eigvec = None if eigvec is None else np.asarray(eigvec, np.float32).reshape(3, 3)

    @classmethod
    def from_images(cls, images, alphastd=0.1):
        """Eigen-decompose the covariance of the RGB values of ``images`` ``(N, 3, H, W)`` in [0, 1]."""
        x, _ = _unit(np.asarray(getattr(images, "_data", images)))
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"PCALighting: expected RGB images (N, 3, H, W), received shape {x.shape}")
        pixels = x.transpose(0, 2, 3, 1).reshape(-1, 3).astype(np.float64)  # (N*H*W, 3)
        val, vec = np.linalg.eigh(np.cov(pixels, rowvar=False))
        order = np.argsort(val)[::-1]
        return cls(alphastd, val[order], vec[:, order])

    @classmethod
    def fit(cls, dataset, alphastd=0.1, max_images=10000):
        """:meth:`from_images` on (the first ``max_images`` of) a dataset's images, before normalisation."""
        return cls.from_images(_dataset_images(dataset, max_images), alphastd)

    def apply(self, batch, generator):
        if self.eigval is None:
            raise ValueError("PCALighting: no eigenvalues; pass eigval/eigvec or use PCALighting.fit(train_set)")
        if batch.shape[1] != 3:
            raise ValueError(f"PCALighting: expected RGB images with 3 channels, received {batch.shape[1]}")
        x, was_uint8 = _unit(batch)
        alpha = generator.normal(0.0, self.alphastd, size=(len(batch), 3)).astype(np.float32)
        shift = (alpha * self.eigval) @ self.eigvec.T  # (N, 3): rgb_n = eigvec @ (alpha_n * eigval)
        out = x + shift[:, :, None, None]
        return _back(np.clip(out, 0, 1) if was_uint8 else out, was_uint8)

    def __repr__(self):
        val = None if self.eigval is None else np.round(self.eigval, 5).tolist()
        return f"PCALighting(alphastd={self.alphastd}, eigval={val})"
