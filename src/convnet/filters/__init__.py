"""Convolution explained: classic image filters on NumPy arrays.

A teaching API on top of the engine's ``im2col``:

* :data:`KERNELS`, :func:`get_kernel`, :func:`parse_kernel`, :func:`gaussian_kernel`: the
  classic kernels (edges, Sobel, Prewitt, Laplacian, Roberts, box, Gaussian, sharpen).
* :func:`correlate2d` (no flip, what a CNN layer computes) and :func:`convolve2d` (true
  convolution, kernel flipped) for (H, W) and (H, W, C) images; :func:`convolve1d`, the 1-D
  weighted moving average.
* :func:`conv_matrix`: the doubly block Toeplitz matrix; its transpose is the transposed
  convolution. :func:`im2col` / :func:`col2im`: the engine's patch unrolling, re-exported.
* :func:`load_image`, :func:`to_uint8`, :func:`save_image`, :func:`gallery` for the
  ``convnet filter`` command.

    >>> import numpy as np
    >>> from convnet.filters import correlate2d, get_kernel
    >>> img = np.zeros((4, 6)); img[:, 3:] = 1.0            # a vertical step edge
    >>> correlate2d(img, get_kernel("sobel_x"))
    array([[0., 4., 4., 0.],
           [0., 4., 4., 0.]])
"""
from ..ops.im2col import col2im, im2col  # noqa: F401  (the engine's unrolling, for the lecture)
from .conv import convolve1d, convolve2d, correlate2d  # noqa: F401
from .image import SCALINGS, gallery, load_image, save_image, to_uint8  # noqa: F401
from .kernels import KERNELS, gaussian_kernel, get_kernel, parse_kernel  # noqa: F401
from .toeplitz import conv_matrix  # noqa: F401

__all__ = ["KERNELS", "get_kernel", "parse_kernel", "gaussian_kernel", "correlate2d", "convolve2d",
           "convolve1d", "conv_matrix", "im2col", "col2im", "load_image", "to_uint8", "save_image",
           "gallery", "SCALINGS"]
