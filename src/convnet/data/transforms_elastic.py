"""Elastic distortion (Simard, Steinkraus & Platt 2003): the notes' "local warping".

A random displacement field, uniform in ``[-1, 1]`` per pixel and per axis, is smoothed by a
Gaussian of standard deviation ``sigma`` pixels (``scipy.ndimage.gaussian_filter``) and scaled by
``alpha``; each output pixel ``p`` then reads the input at ``p + d(p)`` (bilinear,
``scipy.ndimage.map_coordinates``). Small ``sigma`` gives noise, large ``sigma`` almost a translation;
in between the strokes bend like handwriting. Simard et al. used ``sigma = 4``, ``alpha = 34`` on MNIST.

``alpha`` here is in pixels, as in the paper. torchvision's ``ElasticTransform(alpha=50.0, sigma=5.0)``
scales the same smoothed field by ``alpha / size`` in its ``[-1, 1]`` grid coordinates, i.e. by about
``alpha / 2`` pixels: its ``alpha=50`` is our ``alpha=25``.
"""
from __future__ import annotations

import functools

import numpy as np

from .transforms import Transform
from .transforms_geometry import warp

__all__ = ["elastic_displacement", "elastic_transform", "ElasticTransform"]


@functools.lru_cache(maxsize=16)
def _gaussian_matrix(n, sigma):
    """``(n, n)`` matrix ``G`` with ``G @ f == scipy.ndimage.gaussian_filter1d(f, sigma, mode="reflect")``.

    Built by SciPy itself (the filter applied to the identity, column ``j`` = response to ``e_j``), so
    smoothing a batch of fields is two BLAS products instead of two passes of SciPy's line filter.
    """
    from scipy import ndimage

    return ndimage.gaussian_filter1d(np.eye(n), sigma, axis=0, mode="reflect").astype(np.float32)


def elastic_displacement(n, h, w, alpha, sigma, generator):
    """``(N, 2, H, W)`` float32 fields ``(dy, dx)`` in pixels: ``alpha * gaussian_filter(U(-1, 1), sigma)``.

    The smoothing is SciPy's ``gaussian_filter`` (``mode="reflect"``, truncated at 4 sigma) along the two
    spatial axes, applied as ``G_h @ field @ G_w^T`` (see :func:`_gaussian_matrix`).
    """
    field = generator.uniform(-1.0, 1.0, size=(n, 2, h, w)).astype(np.float32)
    # field @ G_w^T as one (N*2*H, W) @ (W, W) product (a 4-D `@` loops over planes: 2x slower in all)
    field = (field.reshape(-1, w) @ _gaussian_matrix(w, float(sigma)).T).reshape(n, 2, h, w)
    field = np.matmul(_gaussian_matrix(h, float(sigma)), field)  # G_h @ each (H, W) plane
    field *= np.float32(alpha)
    return field


def elastic_transform(batch, displacement, fill=0.0):
    """Resample ``(N, C, H, W)`` so that output pixel ``p`` reads the input at ``p + displacement[:, :, p]``.

    Args:
        batch: ``(N, C, H, W)`` or ``(C, H, W)``.
        displacement: ``(N, 2, H, W)`` or ``(2, H, W)`` (shared by the batch): ``(dy, dx)`` in pixels.
        fill: value read outside the image.

    A constant field ``(dy, dx)`` moves the picture by ``(-dy, -dx)``: a bright pixel at ``(y, x)``
    appears at ``(y - dy, x - dx)``.
    """
    from .transforms import _batched

    b, single = _batched(batch)
    n, _, h, w = b.shape
    d = np.broadcast_to(np.asarray(displacement, np.float32), (n, 2, h, w))
    yy, xx = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij")
    out = warp(b, yy[None] + d[:, 0], xx[None] + d[:, 1], fill)
    return out[0] if single else out


class ElasticTransform(Transform):
    """Random elastic distortion of each image (Simard et al. 2003; see the module docstring).

    Args:
        alpha: scale of the displacement field in pixels (Simard's MNIST setting: 34).
        sigma: standard deviation of the Gaussian smoothing, in pixels (Simard: 4).
        fill: value for pixels read from outside the image.

    Example:
        >>> aug = ElasticTransform(alpha=34.0, sigma=4.0)
        >>> aug(np.zeros((8, 1, 28, 28), np.float32)).shape
        (8, 1, 28, 28)
    """

    def __init__(self, alpha=34.0, sigma=4.0, fill=0.0):
        if alpha < 0 or sigma <= 0:
            raise ValueError(f"ElasticTransform: alpha must be >= 0 and sigma > 0, received alpha={alpha}, "
                             f"sigma={sigma}")
        self.alpha, self.sigma, self.fill = float(alpha), float(sigma), fill

    analytic = False  # its source map is known on the pixel grid only: last in a fused Compose run

    def source_map(self, n, h, w, generator):
        """Draw the field; return ``f(y, x) -> (y + dy, x + dx)`` for the ``(N, H, W)`` output grid."""
        d = elastic_displacement(n, h, w, self.alpha, self.sigma, generator)
        return lambda y, x: (y + d[:, 0], x + d[:, 1])

    def apply(self, batch, generator):
        n, _, h, w = batch.shape
        return elastic_transform(batch, elastic_displacement(n, h, w, self.alpha, self.sigma, generator), self.fill)
