"""Direct 2-D convolution on channels-last float32 data, through the C kernels of ``_cconv.c``.

The NumPy kernels (:mod:`.conv_nhwc`) build a column matrix per batch chunk and call BLAS; on
the narrow products of small CNNs the two copies (ours into columns, BLAS's into its packed
panels) cost as much as the arithmetic. The C kernels read the zero-padded channels-last input
in place and keep a block of output pixels x output channels in AVX-512 registers::

    y[n, i, j, :]  = sum_{p, q, c} x_pad[n, i*s + p*d, j*s + q*d, c] * W[p, q, c, :]     forward
    gW[p, q, c, :] = sum_{n, i, j} x_pad[n, i*s + p*d, j*s + q*d, c] * gy[n, i, j, :]    weight gradient

The input gradient of a stride-1 conv is a forward conv of ``gy`` with the flipped kernel
(:func:`.conv._input_grad_by_flipped_conv`), so it runs on the forward kernel too. Measured on
this project's 2-core AVX-512 machine, 1 thread, batch 128, GFLOP/s direct vs column+GEMM:
16->16 on 32x32 117 vs 54, 32->32 on 16x16 165 vs 81, 64->64 on 8x8 136 vs 93, 16->32 stride 2
158 vs 58 (docs/performance.md). Outputs are channels-last, like :mod:`.conv_nhwc`'s.

Used when the C kernels are there (:mod:`._clib`: built by ``pip install`` where a C compiler
is, AVX-512 at run time, not switched off with ``CONVNET_C_KERNELS=0``), the arrays are float32
NumPy arrays and the conv is 2-D with one group; everything else keeps the NumPy kernels.
The slow loop reference is :mod:`.conv_ref`.
"""
from __future__ import annotations

import math

import numpy as np

from ._clib import available, lib
from ._scratch import aligned_empty, scratch
from .conv_nhwc import _channels_last_grad, _channels_last_padded

# Bytes of padded channels-last input per batch chunk (a chunk's input stays in L2 while the
# kernel sweeps it once per kernel tap and channel block).
CHUNK_BYTES = 1 << 20
# Fewest output positions per image: below, a row of pixels is too short to fill the
# register blocks (LeNet-5's C5, 1x1 outputs, is a plain matrix product).
MIN_POSITIONS = 16
# Fewest output positions in the batch: below, the channels-last copies cost more than they save.
MIN_ROWS = 512
# Fewest output channels: a vector holds 16, and with fewer most of its lanes idle (LeNet-5's
# C1, 1 -> 6 channels: forward 1.3 -> 2.2 ms, weight gradient 1.1 -> 2.3 ms, 2 threads).
MIN_OUT_CHANNELS = 16


def applies(xp, dtype, other_dtype, kernel, groups, out_size, batch, out_channels):
    """Whether the direct kernels serve this conv: float32 NumPy arrays (``dtype`` and ``other_dtype``:
    the input's and the weight's or gradient's), 2-D, one group, enough output positions and channels."""
    return (xp is np and dtype == np.float32 and other_dtype == np.float32 and len(kernel) == 2 and groups == 1
            and out_channels >= MIN_OUT_CHANNELS
            and out_size[0] * out_size[1] >= MIN_POSITIONS and batch * out_size[0] * out_size[1] >= MIN_ROWS
            and available())


def per_image_bytes(x_shape, padding):
    """Bytes of one image's zero-padded float32 input, any layout (the chunking unit of the C kernels)."""
    return 4 * x_shape[1] * math.prod(s + b + a for s, (b, a) in zip(x_shape[2:], padding))


def weight_tensor(weight):
    """(O, C, KH, KW) -> (KH, KW, C, O) contiguous float32 on a 64-byte boundary, the kernels' layout."""
    O, C, kh, kw = weight.shape
    wd = aligned_empty(np, weight.size, np.float32).reshape(kh, kw, C, O)
    wd[...] = weight.transpose(2, 3, 1, 0)                             # (O, C, kh, kw) -> (kh, kw, C, O)
    return wd


def _geometry(xpad, C, O, kernel, stride, dilation, out):
    g = scratch(np, "direct_geometry", (12,), np.int64)
    g[:] = (xpad.shape[1], xpad.shape[2], C, O, kernel[0], kernel[1], out[0], out[1],
            stride[0], stride[1], dilation[0], dilation[1])
    return g


def forward_chunk(xp, x, wd, bias, kernel, stride, padding, dilation, out, y_last, sl):
    """``y_last[sl]`` (b, OH, OW, O) = conv of ``x[sl]`` (b, C, H, W) with ``wd`` (KH, KW, C, O)."""
    xpad = _channels_last_padded(xp, x[sl], padding)                # (b, Hp, Wp, C) float32, contiguous
    y = y_last[sl]                                                  # (b, OH, OW, O), contiguous
    geo = _geometry(xpad, x.shape[1], wd.shape[3], kernel, stride, dilation, out)
    lib().cc_conv2d_forward(xpad.ctypes.data, wd.ctypes.data, y.ctypes.data, 0, xpad.shape[0], geo.ctypes.data)
    if bias is not None:
        y += bias


def weight_grad_chunk(xp, x, grad_out, kernel, stride, padding, dilation, sl, gy=None):
    """This chunk's weight gradient as (KH·KW·C, O) (the layout :mod:`.conv_nhwc` returns):
    ``gy``, when given, is the chunk's channels-last gradient rows (b·OH·OW, O)."""
    xpad = _channels_last_padded(xp, x[sl], padding)                # (b, Hp, Wp, C)
    out = grad_out.shape[2:]
    gy = _channels_last_grad(xp, grad_out, sl) if gy is None else gy  # (b·L, O), contiguous
    C, O = x.shape[1], gy.shape[1]
    if gy.dtype != np.float32 or not gy.flags.c_contiguous:
        gy = np.ascontiguousarray(gy, dtype=np.float32)
    gw = np.empty((kernel[0] * kernel[1] * C, O), np.float32)      # (KH·KW·C, O)
    geo = _geometry(xpad, C, O, kernel, stride, dilation, out)
    lib().cc_conv2d_weight_grad(xpad.ctypes.data, gy.ctypes.data, gw.ctypes.data, 0, xpad.shape[0],
                                  geo.ctypes.data)
    return gw


__all__ = ["available", "applies", "per_image_bytes", "weight_tensor", "forward_chunk", "weight_grad_chunk",
           "CHUNK_BYTES", "MIN_POSITIONS", "MIN_ROWS", "MIN_OUT_CHANNELS"]
