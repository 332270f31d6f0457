"""Patch unrolling for N-d convolution: ``im2col`` (gather) and its adjoint ``col2im`` (scatter-add).

A convolution is one matrix product once every receptive field is laid out as a column::

    x (N, C, H, W) --im2col--> cols (N, C*kH*kW, H_out*W_out)
    out = W.reshape(C_out, C*kH*kW) @ cols            # (N, C_out, H_out*W_out)

``im2col`` builds the columns from a zero-copy strided *view* of the padded input (one
``as_strided`` call, no Python loop over pixels) and copies it once into a contiguous,
GEMM-friendly array. ``col2im`` is its adjoint: it adds every column entry back onto the
pixel it came from, so overlapping windows sum. It loops over the ``kH*kW`` kernel offsets
only, each iteration one vectorised strided add (no ``np.add.at``).

Both work for any number of spatial dims (1-D, 2-D, 3-D, ...); the layouts match
``torch.nn.functional.unfold`` / ``fold``.
"""
from __future__ import annotations

import itertools
import math

from .._backend import array_module
from ..autograd import Function
from ..shapes import conv_output_formula, conv_output_size, ntuple
from ..errors import ShapeError


def _geometry(spatial, kernel_size, stride, padding, dilation):
    """Normalise the arguments to per-axis tuples and compute the output size per axis."""
    n = len(spatial)
    k = ntuple(kernel_size, n, "kernel_size", "im2col")
    s = ntuple(stride, n, "stride", "im2col")
    d = ntuple(dilation, n, "dilation", "im2col")
    if isinstance(padding, (list, tuple)) and padding and isinstance(padding[0], (list, tuple)):
        pads = [tuple(int(v) for v in p) for p in padding]          # already (before, after) pairs
    else:
        pads = [(p, p) for p in ntuple(padding, n, "padding", "im2col")]
    out = tuple(conv_output_size(size, kk, ss, pp, dd)
                for size, kk, ss, pp, dd in zip(spatial, k, s, pads, d))
    return k, s, pads, d, out


def pad_zeros(x, pads):
    """Zero-pad the trailing ``len(pads)`` axes of ``x`` by ``(before, after)`` pairs.

    Allocates the padded array once, zeroes only the border slabs and writes the interior
    (one pass over the data, faster than ``np.pad``). Returns ``x`` itself when every pad is 0.
    """
    if all(b == 0 and a == 0 for b, a in pads):
        return x
    xp = array_module(x)
    lead = x.ndim - len(pads)
    shape = x.shape[:lead] + tuple(n + b + a for n, (b, a) in zip(x.shape[lead:], pads))
    out = xp.empty(shape, dtype=x.dtype)
    for axis, (n, (b, a)) in enumerate(zip(x.shape[lead:], pads)):
        before = (slice(None),) * (lead + axis)
        out[before + (slice(0, b),)] = 0
        out[before + (slice(b + n, None),)] = 0
    out[(Ellipsis,) + tuple(slice(b, b + n) for n, (b, _) in zip(x.shape[lead:], pads))] = x
    return out


def windows(x_padded, kernel_size, stride, dilation, out_size):
    """Zero-copy view of every receptive field of an already padded input.

    Args:
        x_padded: (N, C, *S_padded) array.
    Returns:
        view of shape (N, C, *kernel_size, *out_size): ``view[n, c, *k, *o]`` is
        ``x_padded[n, c, *(o*stride + k*dilation)]``. Read-only; never write to it.
    """
    xp = array_module(x_padded)
    sn, sc, *sp = x_padded.strides
    shape = x_padded.shape[:2] + tuple(kernel_size) + tuple(out_size)
    strides = (sn, sc) + tuple(st * d for st, d in zip(sp, dilation)) \
        + tuple(st * s for st, s in zip(sp, stride))
    return xp.lib.stride_tricks.as_strided(x_padded, shape=shape, strides=strides, writeable=False)


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    """Unroll every receptive field of ``x`` into a column (like ``torch.nn.functional.unfold``).

    Args:
        x: ``(N, C, *S)`` array, e.g. (N, C, H, W); any number of spatial dims.
        kernel_size, stride, dilation: int or one value per spatial dim.
        padding: int, one int per spatial dim (symmetric), or one ``(before, after)`` pair
            per spatial dim (asymmetric, as ``padding='same'`` needs for even kernels).

    Returns:
        Contiguous array (N, C*prod(kernel_size), L) with ``L = prod(out_size)``; row
        ``c*kH*kW + i*kW + j`` holds input channel ``c`` at kernel offset ``(i, j)``.

    Shape:
        ``out_d = floor((S_d + p_before + p_after - dilation_d*(k_d - 1) - 1) / stride_d) + 1``
        (``shapes.conv_output_size``).

    Example:
        >>> import numpy as np
        >>> im2col(np.arange(16.).reshape(1, 1, 4, 4), 3).shape
        (1, 9, 4)
    """
    k, s, pads, d, out = _geometry(x.shape[2:], kernel_size, stride, padding, dilation)
    if any(o <= 0 for o in out):
        axis = next(i for i, o in enumerate(out) if o <= 0)
        formula = conv_output_formula(x.shape[2 + axis], k[axis], s[axis], pads[axis], d[axis])
        raise ShapeError(f"im2col: kernel {k} with dilation {d} does not fit in the padded input "
                         f"{tuple(n + b + a for n, (b, a) in zip(x.shape[2:], pads))}: output size "
                         f"along spatial dim {axis} = {formula}")
    return im2col_nd(x, k, s, pads, d, out)


def im2col_nd(x, kernel_size, stride, padding, dilation, out_size):
    """:func:`im2col` with normalised arguments (tuples, ``(before, after)`` pairs) and an
    explicit window count per axis (a transposed conv may ask for fewer windows than fit)."""
    N, C = x.shape[:2]
    k, L = tuple(kernel_size), math.prod(out_size)
    if all(v == 1 for v in k + tuple(stride)) and all(p == (0, 0) for p in padding) \
            and tuple(out_size) == x.shape[2:]:                       # 1x1, stride 1: a view
        return x.reshape(N, C, L)                                     # (N, C, *S) -> (N, C*1, L)
    x_pad = pad_zeros(x, padding)
    if any((o - 1) * st + dd * (kk - 1) >= n for o, st, dd, kk, n
           in zip(out_size, stride, dilation, k, x_pad.shape[2:]) if o > 0):
        raise ShapeError(f"im2col: {tuple(out_size)} windows of kernel {k} do not fit in the "
                         f"padded input {x_pad.shape[2:]}")       # never read past the buffer
    view = windows(x_pad, k, stride, dilation, out_size)          # (N, C, *k, *out), no copy
    cols = array_module(x).ascontiguousarray(view)                    # the one copy: (N, C, *k, *out)
    return cols.reshape(N, C * math.prod(k), L)                      # (N, C*prod(k), L)


def col2im(cols, input_shape, kernel_size, stride=1, padding=0, dilation=1):
    """Adjoint of :func:`im2col` (like ``torch.nn.functional.fold``): scatter-add columns back.

    Every entry of ``cols`` is added onto the input pixel it was gathered from; pixels
    covered by several windows receive the sum, pixels in the padding are dropped.
    ``<im2col(x), cols> == <x, col2im(cols)>`` for any ``x`` and ``cols``.

    Args:
        cols: (N, C*prod(kernel_size), L) array (or anything reshapeable to that).
        input_shape: ``(N, C, *S)`` of the image to rebuild (the unpadded size).
        kernel_size, stride, padding, dilation: as for :func:`im2col`.

    Returns:
        Contiguous array of shape ``input_shape`` and ``cols.dtype``.

    Example:
        >>> import numpy as np
        >>> col2im(np.ones((1, 9, 4)), (1, 1, 4, 4), 3)[0, 0, 1]   # row 1 sits in 2x(1,2,2,1) windows
        array([2., 4., 4., 2.])
    """
    N, C, *spatial = input_shape
    k, s, pads, d, out = _geometry(spatial, kernel_size, stride, padding, dilation)
    return col2im_nd(cols, input_shape, k, s, pads, d, out)


def _clip(offset, dilation, n_windows, stride, before, size):
    """Where kernel tap ``offset`` of windows ``0..n_windows-1`` lands inside the unpadded axis.

    Tap positions are ``offset*dilation + j*stride - before``; keep those in ``[0, size)``.
    Returns (destination slice, source slice over j) or None when none lands inside.
    """
    p0 = offset * dilation - before
    j_lo = max(0, -(p0 // stride))                    # first j with p0 + j*stride >= 0
    j_hi = min(n_windows, (size - 1 - p0) // stride + 1) if size - 1 - p0 >= 0 else 0
    if j_hi <= j_lo:
        return None
    return slice(p0 + j_lo * stride, p0 + (j_hi - 1) * stride + 1, stride), slice(j_lo, j_hi)


def col2im_nd(cols, input_shape, kernel_size, stride, padding, dilation, out_size, out=None):
    """:func:`col2im` with normalised arguments and an explicit window count per axis.

    ``out``: optional preallocated (N, C, *S) array to write into (its contents are replaced).
    Each kernel tap adds its columns straight onto the pixels of the unpadded image it hit
    (taps that fell into the padding are dropped), so no padded canvas or crop is needed.
    """
    xp = array_module(cols)
    N, C, *spatial = input_shape
    k, size_out = tuple(kernel_size), tuple(out_size)
    if out is None:
        out = xp.zeros(tuple(input_shape), dtype=cols.dtype)
    else:
        out[...] = 0
    if all(v == 1 for v in k + tuple(stride)) and all(p == (0, 0) for p in padding) \
            and size_out == tuple(spatial):                            # 1x1, stride 1: a reshape
        out[...] = cols.reshape(input_shape)                           # (N, C, L) -> (N, C, *S)
        return out
    cols = cols.reshape((N, C) + k + size_out)                         # (N, C*prod(k), L) -> (N, C, *k, *out)
    for offset in itertools.product(*(range(kk) for kk in k)):         # loop over kernel offsets only
        clips = [_clip(o, d, n, st, b, size) for o, d, n, st, (b, _), size
                 in zip(offset, dilation, size_out, stride, padding, spatial)]
        if any(c is None for c in clips):
            continue
        dst = tuple(c[0] for c in clips)
        src = offset + tuple(c[1] for c in clips)
        out[(slice(None), slice(None)) + dst] += cols[(slice(None), slice(None)) + src]
    return out


def _fresh(out, src):
    """A copy when the 1x1 fast path returned a view of the op's own input."""
    return out.copy() if out is src or out.base is src or out.base is src.base is not None else out


class Unfold(Function):
    """Sliding-window patches as columns (``F.unfold``); backward = :func:`col2im` (fold).

    Backward:
        dL/dx = col2im(dL/dy): each column entry's gradient added back at its pixel.
    """

    def forward(self, x, kernel_size=(1, 1), stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1),
                out_size=(1, 1)):
        self.args = (x.shape, kernel_size, stride, padding, dilation, out_size)
        return _fresh(im2col_nd(x, kernel_size, stride, padding, dilation, out_size), x)

    def backward(self, grad_out):  # adjoint of a gather = scatter-add (overlapping windows sum)
        shape, *geometry = self.args
        return col2im_nd(grad_out, shape, *geometry)


class Fold(Function):
    """Columns summed back into an image (``F.fold``); backward = :func:`im2col` (unfold).

    Backward:
        dL/dx = im2col(dL/dy): each column entry gathers its pixel's gradient.
    """

    def forward(self, cols, output_shape=(1, 1, 1, 1), kernel_size=(1, 1), stride=(1, 1),
                padding=((0, 0), (0, 0)), dilation=(1, 1), out_size=(1, 1)):
        self.args = (kernel_size, stride, padding, dilation, out_size)
        return col2im_nd(cols, output_shape, *self.args)                # always a new array

    def backward(self, grad_out):  # adjoint of a scatter-add = gather
        return im2col_nd(grad_out, *self.args)


__all__ = ["im2col", "col2im", "Unfold", "Fold", "im2col_nd", "col2im_nd", "windows", "pad_zeros"]
