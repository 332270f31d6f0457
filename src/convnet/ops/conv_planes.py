"""Direct 2-D convolution on NCHW float32 planes for few output channels, through the C kernels
of ``_cplanes.c``.

The channels-last kernels (:mod:`.conv_direct`) put 16 output channels in a vector; a conv with
fewer outputs (LeNet-5's C1, 1 -> 6, and C3's input gradient, 16 -> 6) would leave most lanes
idle, so it ran on per-image columns + GEMM. Here a vector holds 16 neighbouring output pixels
of a row, and up to 8 output channels are accumulated per loaded input row segment::

    y[n, o, i, j]  = sum_{c, p, q} x_pad[n, c, i*sh + p*dh, j + q*dw] * W[o, c, p, q]     forward
    gW[o, c, p, q] = sum_{n, i, j} x_pad[n, c, i*sh + p*dh, j + q*dw] * gy[n, o, i, j]    weight gradient

Stride 1 along the width; the input gradient of a stride-1 conv is the forward kernel on the
flipped weights (:func:`.conv._input_grad_by_flipped_conv`). Outputs are ordinary contiguous
NCHW arrays. Used when the C kernels are there (:mod:`._clib`), for float32 2-D one-group convs
with fewer than 16 output channels and enough output positions; else per-image columns. The slow
loop reference is :mod:`.conv_ref`.
"""
from __future__ import annotations

import math

import numpy as np

from ._clib import available, run
from ._scratch import scratch

# Fewest output positions in the batch: below, the per-call cost beats the columns' (batch-1
# inference of LeNet-5 keeps them).
MIN_ROWS = 512
# Most output channels: from 16 on, the channels-last kernels fill their vectors.
MAX_OUT_CHANNELS = 15
# Bytes of padded input per batch chunk.
CHUNK_BYTES = 1 << 20


def applies(xp, dtype, other_dtype, kernel, groups, stride, out_channels, rows):
    """Whether the planes kernels serve this conv: float32 NumPy, 2-D, one group, stride 1 along
    the width, 1-15 output channels, >= ``MIN_ROWS`` output positions in the batch."""
    return (xp is np and dtype == np.float32 and other_dtype == np.float32 and len(kernel) == 2
            and groups == 1 and stride[1] == 1 and 0 < out_channels <= MAX_OUT_CHANNELS and rows >= MIN_ROWS
            and available())


# Readable floats after the padded input: the forward kernel loads whole 16-float row segments.
SLACK = 16


def _pad_geometry(x, padding):
    """Geometry of the pool task ``cc_pad_planes`` for ``x`` (N, C, H, W) contiguous."""
    (pt, pb), (pl, pr) = padding
    return np.array([x.shape[2], x.shape[3], pt, pb, pl, pr], np.int64)


def _pad_call(x, xpad, sl, pad_geo):
    """The pool task copying ``x[sl]`` (b, C, H, W) contiguous into its zero-padded planes of ``xpad``."""
    return ("cc_pad_planes", x[sl].ctypes.data, xpad[sl].ctypes.data, x[sl].shape[0] * x.shape[1], pad_geo.ctypes.data)


def _padded_buffer(x, padding):
    """Per-thread scratch for ``x``'s zero-padded copy (N, C, Hp, Wp), followed by ``SLACK`` zeros."""
    (pt, pb), (pl, pr) = padding
    N, C, H, W = x.shape
    shape = (N, C, H + pt + pb, W + pl + pr)
    n = math.prod(shape)
    flat = scratch(np, "planes_pad", (n + SLACK,), np.float32)
    flat[n:] = 0
    return flat[:n].reshape(shape)                                    # (n,) -> (N, C, Hp, Wp)


def _geometry(xpad, O, kernel, stride, dilation, out):
    return np.array([xpad.shape[2], xpad.shape[3], xpad.shape[1], O, kernel[0], kernel[1], out[0], out[1],
                     stride[0], dilation[0], dilation[1]], np.int64)


def forward(x, w, bias, kernel, stride, padding, dilation, out, y, slices, parallel):
    """``y`` (N, O, OH, OW) = conv of ``x`` (N, C, H, W) with ``w`` (O, C, KH, KW) contiguous float32,
    plus ``bias``; each batch slice of ``slices`` pads its images and convolves them on one thread."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    bias = None if bias is None else np.ascontiguousarray(bias, dtype=np.float32)
    xpad = _padded_buffer(x, padding)
    geo, pad_geo = _geometry(xpad, w.shape[0], kernel, stride, dilation, out), _pad_geometry(x, padding)
    chunks = []
    for sl in slices:
        b = xpad[sl].shape[0]
        chunk = [_pad_call(x, xpad, sl, pad_geo),
                 ("cc_conv2d_planes_forward", xpad[sl].ctypes.data, w.ctypes.data, y[sl].ctypes.data, 0, b,
                  geo.ctypes.data)]
        if bias is not None:
            chunk.append(("cc_bias_planes", y[sl].ctypes.data, bias.ctypes.data, b, w.shape[0], out[0] * out[1]))
        chunks.append(chunk)
    run(chunks, parallel)


def weight_grad(x, grad_out, kernel, stride, padding, dilation, slices, parallel):
    """The weight gradient (O, C, KH, KW) float32: per batch slice a partial sum (one thread each),
    added in slice order."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    gy = np.ascontiguousarray(grad_out, dtype=np.float32)
    xpad = _padded_buffer(x, padding)
    O = gy.shape[1]
    parts = np.empty((len(slices), O, x.shape[1]) + tuple(kernel), np.float32)   # (chunks, O, C, KH, KW)
    geo, pad_geo = _geometry(xpad, O, kernel, stride, dilation, gy.shape[2:]), _pad_geometry(x, padding)
    run([[_pad_call(x, xpad, sl, pad_geo),
          ("cc_conv2d_planes_weight_grad", xpad[sl].ctypes.data, gy[sl].ctypes.data, parts[i].ctypes.data, 0,
           xpad[sl].shape[0], geo.ctypes.data)] for i, sl in enumerate(slices)], parallel)
    return parts.sum(axis=0) if len(slices) > 1 else parts[0]


__all__ = ["applies", "forward", "weight_grad", "MIN_ROWS", "MAX_OUT_CHANNELS", "CHUNK_BYTES"]
