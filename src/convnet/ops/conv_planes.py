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

from ._clib import available, lib
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


def _padded(x, padding):
    """(b, C, H, W) -> zero-padded float32 copy (b, C, Hp, Wp) in per-thread scratch, followed by
    ``SLACK`` zeroed floats."""
    (pt, pb), (pl, pr) = padding
    b, C, H, W = x.shape
    shape = (b, C, H + pt + pb, W + pl + pr)
    n = math.prod(shape)
    flat = scratch(np, "planes_pad", (n + SLACK,), np.float32)
    flat[n:] = 0
    out = flat[:n].reshape(shape)                                     # (n,) -> (b, C, Hp, Wp)
    if pt or pb or pl or pr:
        out[:, :, :pt] = 0
        out[:, :, pt + H:] = 0
        out[:, :, pt:pt + H, :pl] = 0
        out[:, :, pt:pt + H, pl + W:] = 0
    out[:, :, pt:pt + H, pl:pl + W] = x
    return out


def _geometry(xpad, O, kernel, stride, dilation, out):
    g = scratch(np, "planes_geometry", (11,), np.int64)
    g[:] = (xpad.shape[2], xpad.shape[3], xpad.shape[1], O, kernel[0], kernel[1], out[0], out[1],
            stride[0], dilation[0], dilation[1])
    return g


def forward_chunk(x, w, bias, kernel, stride, padding, dilation, out, y, sl):
    """``y[sl]`` (b, O, OH, OW) = conv of ``x[sl]`` (b, C, H, W) with ``w`` (O, C, KH, KW) contiguous float32."""
    xpad = _padded(x[sl], padding)
    ys = y[sl]
    geo = _geometry(xpad, w.shape[0], kernel, stride, dilation, out)
    lib().cc_conv2d_planes_forward(xpad.ctypes.data, w.ctypes.data, ys.ctypes.data, 0, xpad.shape[0], geo.ctypes.data)
    if bias is not None:
        ys += bias.reshape(-1, 1, 1)


def weight_grad_chunk(x, grad_out, kernel, stride, padding, dilation, sl):
    """This chunk's weight gradient (O, C, KH, KW) float32."""
    xpad = _padded(x[sl], padding)
    gy = grad_out[sl]
    if gy.dtype != np.float32 or not gy.flags.c_contiguous:
        gy = np.ascontiguousarray(gy, dtype=np.float32)
    O = gy.shape[1]
    gw = np.empty((O, x.shape[1]) + tuple(kernel), np.float32)
    geo = _geometry(xpad, O, kernel, stride, dilation, grad_out.shape[2:])
    lib().cc_conv2d_planes_weight_grad(xpad.ctypes.data, gy.ctypes.data, gw.ctypes.data, 0, xpad.shape[0],
                                       geo.ctypes.data)
    return gw


__all__ = ["applies", "forward_chunk", "weight_grad_chunk", "MIN_ROWS", "MAX_OUT_CHANNELS",
           "CHUNK_BYTES"]
