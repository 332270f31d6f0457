"""Convolution as a matrix: the doubly block Toeplitz (unrolled) matrix of a kernel.

Sliding a kernel over an ``H x W`` image is linear in the image, so it is one matrix ``C``
of shape ``(H_out*W_out, H*W)``: row ``r`` holds the kernel's weights at the columns of the
pixels under the ``r``-th window and zeros elsewhere. For a 3x3 input and the 2x2 kernel
``[[w1, w2], [w3, w4]]`` (stride 1, no padding)::

    [[w1 w2 0  w3 w4 0  0  0  0 ]
     [0  w1 w2 0  w3 w4 0  0  0 ]
     [0  0  0  w1 w2 0  w3 w4 0 ]
     [0  0  0  0  w1 w2 0  w3 w4]]

Each ``W``-column block of ``C`` is a Toeplitz matrix built from one kernel row, and the
blocks themselves repeat along diagonals: a *doubly block Toeplitz* matrix.
``C @ x.ravel()`` is the correlation; ``C.T @ y.ravel()`` spreads every output back over its
window, which is the *transposed convolution* (the input gradient of the conv layer).
"""
from __future__ import annotations

import numpy as np

from .conv import _as_float, geometry


def conv_matrix(input_shape, kernel, stride=1, padding=0, sparse=False):
    """The matrix ``C`` with ``C @ x.ravel() == correlate2d(x, kernel, padding, stride).ravel()``.

    Zero padding needs no columns of its own: a weight that falls on padding multiplies 0,
    so it is simply left out.

    Args:
        input_shape: (H, W) of the image.
        kernel: (kH, kW) weights (not flipped: correlation, as in a CNN layer).
        stride, padding: as in :func:`~convnet.filters.correlate2d`.
        sparse: return a ``scipy.sparse.csr_matrix`` instead of a dense array.

    Returns:
        (H_out*W_out, H*W) float64 matrix. Its transpose performs the transposed
        convolution: ``(C.T @ y.ravel()).reshape(H, W) == conv_transpose2d(y, kernel, stride,
        padding)`` for a (H_out, W_out) map ``y`` (with the ``output_padding`` that gives back
        H x W when the stride skips rows).

    Shape:
        ``H_out = floor((H + p_top + p_bottom - kH) / s) + 1`` (``shapes.conv_output_size``).

    Example:
        >>> conv_matrix((3, 3), [[1, 2], [3, 4]])[0]
        array([1., 2., 0., 3., 4., 0., 0., 0., 0.])
    """
    fn = "conv_matrix"
    kernel = _as_float(kernel, fn, "kernel", (2,)).astype(np.float64)
    try:
        h, w = (int(n) for n in input_shape)
    except (TypeError, ValueError):
        raise ValueError(f"{fn}: input_shape must be (H, W), got {input_shape!r}") from None
    (sh, sw), ((pt, _), (pl, _)), (h_out, w_out) = geometry(fn, (h, w), kernel.shape, stride, padding)
    oy, ox = np.meshgrid(np.arange(h_out), np.arange(w_out), indexing="ij")  # (H_out, W_out) each
    rows = (oy * w_out + ox).ravel()                                          # (H_out*W_out,)
    row_idx, col_idx, vals = [], [], []
    for i in range(kernel.shape[0]):          # loop over kernel offsets only, pixels are vectorised
        for j in range(kernel.shape[1]):
            y = (oy * sh - pt + i).ravel()    # input row under weight (i, j) for every window
            x = (ox * sw - pl + j).ravel()
            inside = (y >= 0) & (y < h) & (x >= 0) & (x < w)
            row_idx.append(rows[inside])
            col_idx.append((y * w + x)[inside])
            vals.append(np.full(int(inside.sum()), kernel[i, j]))
    row_idx, col_idx, vals = (np.concatenate(a) for a in (row_idx, col_idx, vals))
    if sparse:
        from scipy.sparse import csr_matrix

        return csr_matrix((vals, (row_idx, col_idx)), shape=(h_out * w_out, h * w))
    mat = np.zeros((h_out * w_out, h * w), dtype=np.float64)
    np.add.at(mat, (row_idx, col_idx), vals)  # each (row, col) pair occurs once; add.at for safety
    return mat
