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

from ._clib import available, lib, run
from ._scratch import aligned_empty, scratch
from .conv_nhwc import _channels_last_padded

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


def _geometry(Hp, Wp, C, O, kernel, stride, dilation, out):
    return np.array([Hp, Wp, C, O, kernel[0], kernel[1], out[0], out[1], stride[0], stride[1], dilation[0],
                     dilation[1]], np.int64)


def _pad_last_geometry(a, padding):
    """Geometry of the pool task ``cc_pad_last`` for ``a`` (N, C, H, W) float32, any strides."""
    (pt, pb), (pl, pr) = padding
    sn, sc, sh, sw = (s // 4 for s in a.strides)
    return np.array([a.shape[1], a.shape[2], a.shape[3], sn, sc, sh, sw, pt, pb, pl, pr], np.int64)


def _padded_last_buffer(x, padding):
    """Per-thread scratch (N, Hp, Wp, C) for ``x``'s zero-padded channels-last copy."""
    N, C, H, W = x.shape
    (pt, pb), (pl, pr) = padding
    return scratch(np, "direct_pad", (N, H + pt + pb, W + pl + pr, C), np.float32)


def forward(x, wd, bias, kernel, stride, padding, dilation, out, y_last, slices, parallel):
    """``y_last`` (N, OH, OW, O) = conv of ``x`` (N, C, H, W) float32, any layout, with ``wd``
    (KH, KW, C, O), plus ``bias``; each batch slice of ``slices`` is padded into channels-last
    and convolved on one thread."""
    xpad = _padded_last_buffer(x, padding)
    O = wd.shape[3]
    bias = None if bias is None else np.ascontiguousarray(bias, dtype=np.float32)
    pad_geo = _pad_last_geometry(x, padding)
    geo = _geometry(xpad.shape[1], xpad.shape[2], x.shape[1], O, kernel, stride, dilation, out)
    chunks = []
    for sl in slices:
        b = xpad[sl].shape[0]
        chunk = [("cc_pad_last", x[sl].ctypes.data, xpad[sl].ctypes.data, b, pad_geo.ctypes.data),
                 ("cc_conv2d_forward", xpad[sl].ctypes.data, wd.ctypes.data, y_last[sl].ctypes.data, 0, b,
                  geo.ctypes.data)]
        if bias is not None:
            chunk.append(("cc_bias_last", y_last[sl].ctypes.data, bias.ctypes.data, b * out[0] * out[1], O))
        chunks.append(chunk)
    run(chunks, parallel)


def weight_grad(x, grad_out, kernel, stride, padding, dilation, slices, parallel):
    """The weight gradient as (KH·KW·C, O) (the layout :mod:`.conv_nhwc` returns) of ``x`` (N, C, H, W)
    and ``grad_out`` (N, O, OH, OW), float32, any layouts: per batch slice a partial sum (one thread
    each, after its channels-last copies), added in slice order."""
    xpad = _padded_last_buffer(x, padding)
    N, O, OH, OW = grad_out.shape
    rows = np.moveaxis(grad_out, 1, -1)                             # (N, O, OH, OW) -> (N, OH, OW, O) view
    gy = rows if rows.flags.c_contiguous else scratch(np, "direct_gy", rows.shape, np.float32)
    C = x.shape[1]
    parts = np.empty((len(slices), kernel[0] * kernel[1] * C, O), np.float32)  # (chunks, KH·KW·C, O)
    pad_geo = _pad_last_geometry(x, padding)
    gy_geo = _pad_last_geometry(grad_out, ((0, 0), (0, 0)))
    geo = _geometry(xpad.shape[1], xpad.shape[2], C, O, kernel, stride, dilation, (OH, OW))
    chunks = []
    for i, sl in enumerate(slices):
        b = xpad[sl].shape[0]
        chunk = [("cc_pad_last", x[sl].ctypes.data, xpad[sl].ctypes.data, b, pad_geo.ctypes.data)]
        if gy is not rows:
            chunk.append(("cc_pad_last", grad_out[sl].ctypes.data, gy[sl].ctypes.data, b, gy_geo.ctypes.data))
        chunk.append(("cc_conv2d_weight_grad", xpad[sl].ctypes.data, gy[sl].ctypes.data, parts[i].ctypes.data,
                      0, b, geo.ctypes.data))
        chunks.append(chunk)
    run(chunks, parallel)
    return parts.sum(axis=0) if len(slices) > 1 else parts[0]


def weight_grad_chunk(xp, x, grad_out, kernel, stride, padding, dilation, sl, gy):
    """One batch slice's weight gradient (KH·KW·C, O) on the calling thread, for a chunk that has
    its channels-last gradient rows ``gy`` (b·OH·OW, O) already (the column kernels' input gradient
    made them)."""
    xpad = _channels_last_padded(xp, x[sl], padding)                # (b, Hp, Wp, C)
    C, O = x.shape[1], gy.shape[1]
    if gy.dtype != np.float32 or not gy.flags.c_contiguous:
        gy = np.ascontiguousarray(gy, dtype=np.float32)
    gw = np.empty((kernel[0] * kernel[1] * C, O), np.float32)      # (KH·KW·C, O)
    geo = _geometry(xpad.shape[1], xpad.shape[2], C, O, kernel, stride, dilation, grad_out.shape[2:])
    lib().cc_conv2d_weight_grad(xpad.ctypes.data, gy.ctypes.data, gw.ctypes.data, 0, xpad.shape[0],
                                geo.ctypes.data)
    return gw


__all__ = ["available", "applies", "per_image_bytes", "weight_tensor", "forward", "weight_grad", "weight_grad_chunk",
           "CHUNK_BYTES", "MIN_POSITIONS", "MIN_ROWS", "MIN_OUT_CHANNELS"]
