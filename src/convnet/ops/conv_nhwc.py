"""Convolution kernels with channels-last columns, for many channels on small images.

The default kernels in :mod:`.conv` unroll ``(N, C, *S)`` into per-image columns
``(C·T, L)`` (``T = prod(k)`` taps, ``L`` output positions) and run one GEMM per image with
``L`` columns. On ResNet's 8x8 and 16x16 stages ``L`` is 64-256: the GEMMs are too small
for BLAS to run well, and the im2col copy moves runs of only 8-16 floats. Here a batch chunk
is first laid out channels-last, ``(b, *S_pad, C)``; a receptive field is then ``T`` runs of
``C`` contiguous floats, and the whole chunk is one GEMM over ``b·L`` rows::

    cols (b·L, T·C) = window view of x_pad, copied once      (runs of C, or k_w·C, floats)
    y    (b·L, O)   = cols · W_m,          W_m = W as (T·C, O)       forward
    gW_m (T·C, O)   = Σ_chunks colsᵀ · gy  (gy channels-last, (b·L, O))   weight gradient
    gx              = col2im(gy · W_mᵀ)    (scatter-add, one strided add per tap)   input gradient

With stride 1 along the first spatial axis (every stride-1 conv, and the input gradients that run as
flipped-kernel forwards) the columns fold only the taps of the *other* axes, for every padded row:
kernel row ``i`` then reads a contiguous block of rows shifted by ``i``, and the conv is ``k[0]``
GEMMs on shifted blocks, summed (:func:`_row_columns`). That copies 1/k[0] of the columns (ResNet-20
step, 2 threads, median of 10: 482-493 -> 438-450 ms; per 1-thread chunk, 16->16 on 32x32 forward
1.23 -> 0.97 ms, weight gradient 1.45 -> 1.22 ms; 64->64 on 8x8 forward unchanged).

The forward's output is returned channels-last (PyTorch's ``channels_last`` memory format: shape
``(N, O, *out)``, strides of ``(N, *out, O)``), so it needs no copy, and the next layer's
channels-last copy of it, its batch norm, ReLU and the gradients coming back are all runs
of contiguous memory; gradients follow the layout of what they are the gradient of. Measured
(1 thread, batch 128, ms per-image im2col -> channels-last): forward 64->64 on 8x8 10.1 -> 6.7,
32->32 on 16x16 11.1 -> 8.3, 16->16 on 32x32 19.3 -> 16.7, 16->32 stride 2 15.8 -> 6.7; the
input gradient of a stride-2 64->64 46 -> 25. With < 16 input channels it loses (see :func:`applies`); stride-1 convs with >= 64 channels
on large images take the shifted-GEMM forward (:mod:`.conv_shift`) first. One group only.
The slow reference is :mod:`.conv_ref`.
"""
from __future__ import annotations

import itertools
import math

from ._scratch import scratch

# Bytes of channels-last columns per chunk. Larger than L2 on purpose: every chunk costs Python
# work that needs the GIL, and two workers each waking for it per NumPy call serialise. With
# reused scratch buffers (no page faults), ResNet-20 train step, 2 threads, median ms:
# 4 MB 534, 8 MB 499, 16 MB 628 (16 MB wins on a layer alone, loses in the whole step).
CHUNK_BYTES = 8 << 20
# Fewest input channels (a run of C floats per tap; with 1-3 channels, e.g. an RGB stem, the
# runs are too short and per-image im2col wins 2x; LeNet-5's 6->16 C3 lost 1.7x in its input
# gradient's scatter) and output channels (GEMM width) for which the channels-last kernels win.
MIN_CHANNELS = 16
MIN_OUT_CHANNELS = 16
# Fewest GEMM rows (batch x output positions): below, the layout shuffles cost more than they
# save (batch-1 inference of LeNet-5's C5: 49 vs 20 us per call; its C3, 100 rows: 37 vs 31).
MIN_ROWS = 512


def applies(xp, channels, out_channels, groups, rows):
    """Whether the channels-last kernels serve this conv better than per-image im2col."""
    return (xp.__name__ == "numpy" and groups == 1 and channels >= MIN_CHANNELS
            and out_channels >= MIN_OUT_CHANNELS and rows >= MIN_ROWS)


def _zero_borders(xp, buf, padding):
    """Zero the padding rims of a (b, *S_pad, C) buffer (its interior is overwritten anyway)."""
    for axis, (before, after) in enumerate(padding, start=1):
        n = buf.shape[axis]
        for lo, hi in ((0, before), (n - after, n)):
            if hi > lo:
                buf[(slice(None),) * axis + (slice(lo, hi),)] = 0


def _channels_last_padded(xp, x, padding):
    """(b, C, *S) -> zero-padded channels-last copy (b, *S_pad, C), in per-thread scratch."""
    shape = (x.shape[0],) + tuple(n + b + a for n, (b, a) in zip(x.shape[2:], padding)) + (x.shape[1],)
    out = scratch(xp, "xpad", shape, x.dtype)
    _zero_borders(xp, out, padding)
    inner = (slice(None),) + tuple(slice(b, b + n) for n, (b, _) in zip(x.shape[2:], padding))
    out[inner] = xp.moveaxis(x, 1, -1)                             # (b, C, *S) -> (b, *S, C)
    return out


def _columns(xp, xpad, kernel, stride, dilation, out):
    """Channels-last im2col: (b, *S_pad, C) -> (b·L, T·C), row = output position, column = (tap, c),
    in per-thread scratch."""
    b, C = xpad.shape[0], xpad.shape[-1]
    sb, *sp, sc = xpad.strides
    shape = (b,) + tuple(out) + tuple(kernel) + (C,)
    strides = ((sb,) + tuple(s * st for s, st in zip(sp, stride))
               + tuple(s * d for s, d in zip(sp, dilation)) + (sc,))
    view = xp.lib.stride_tricks.as_strided(xpad, shape=shape, strides=strides, writeable=False)
    cols = scratch(xp, "cols", shape, xpad.dtype)
    cols[...] = view
    return cols.reshape(b * math.prod(out), -1)                     # (b, *out, *k, C) -> (b·L, T·C)


def _folds_rows(kernel, stride):
    """Whether a conv takes the row-shifted GEMMs (:func:`_row_columns`): stride 1 along the first
    spatial axis, a kernel taller than 1 there, and at least one more spatial axis to fold."""
    return len(kernel) >= 2 and kernel[0] > 1 and stride[0] == 1


def _row_columns(xp, xpad, kernel, stride, dilation, out):
    """Columns over every spatial axis but the first, for every padded row along it:
    (b, *S_pad, C) -> (b, R·P, T'·C) with R = padded rows, P = positions per output row (prod of
    ``out[1:]``) and T' = taps per row (prod of ``kernel[1:]``), in per-thread scratch. The columns
    kernel row ``i`` needs are then the contiguous row block ``[i·d·P, i·d·P + out[0]·P)`` of each
    image: 1/k[0] of the copying of :func:`_columns`."""
    b, R, C = xpad.shape[0], xpad.shape[1], xpad.shape[-1]
    sb, sr, *sp, sc = xpad.strides
    shape = (b, R) + tuple(out[1:]) + tuple(kernel[1:]) + (C,)
    strides = ((sb, sr) + tuple(s * st for s, st in zip(sp, stride[1:]))
               + tuple(s * d for s, d in zip(sp, dilation[1:])) + (sc,))
    view = xp.lib.stride_tricks.as_strided(xpad, shape=shape, strides=strides, writeable=False)
    cols = scratch(xp, "cols", shape, xpad.dtype)
    cols[...] = view
    return cols.reshape(b, R * math.prod(out[1:]), -1)             # (b, R, *out', *k', C) -> (b, R·P, T'·C)


def _row_block(cols, i, dilation, out):
    """Kernel row ``i``'s columns, (b, L, T'·C): a view of rows ``i·d .. i·d + out[0]-1``."""
    P = math.prod(out[1:])
    start = i * dilation[0] * P
    return cols[:, start:start + out[0] * P]


def _channels_last_grad(xp, grad_out, sl):
    """grad_out[sl] (b, O, *out) -> channels-last rows (b·L, O), in per-thread scratch."""
    g = grad_out[sl]
    rows = xp.moveaxis(g, 1, -1)                                    # (b, O, *out) -> (b, *out, O)
    if rows.flags.c_contiguous:                                     # channels-last already: no copy
        return rows.reshape(-1, g.shape[1])                         # (b, *out, O) -> (b·L, O)
    buf = scratch(xp, "gy", rows.shape, g.dtype)
    buf[...] = rows
    return buf.reshape(-1, g.shape[1])                              # (b, *out, O) -> (b·L, O)


def weight_matrix(weight):
    """(O, C, *k) -> (T·C, O): rows ordered (tap, channel) like :func:`_columns`' columns."""
    nd = weight.ndim - 2
    w = weight.transpose(tuple(range(2, 2 + nd)) + (1, 0))          # (O, C, *k) -> (*k, C, O)
    return w.reshape(-1, weight.shape[0])                           # (*k, C, O) -> (T·C, O)


def forward_chunk(xp, x, wm, bias, kernel, stride, padding, dilation, out, y_last, sl):
    """``y[sl] = conv(x[sl])`` written channels-last: x (N, C, *S), wm (T·C, O), y_last (N, *out, O).

    Stride 1 along the first axis: one GEMM per kernel row on row-shifted columns, summed
    (:func:`_row_columns`); otherwise one GEMM on the full columns."""
    xpad = _channels_last_padded(xp, x[sl], padding)
    b, O = xpad.shape[0], wm.shape[1]
    if _folds_rows(kernel, stride):
        cols = _row_columns(xp, xpad, kernel, stride, dilation, out)  # (b, R·P, T'·C)
        res = y_last[sl].reshape(b, -1, O)                          # (b, *out, O) -> (b, L, O)
        wk = wm.reshape(kernel[0], -1, O)                           # (T·C, O) -> (k0, T'·C, O)
        xp.matmul(_row_block(cols, 0, dilation, out), wk[0], out=res)
        if kernel[0] > 1:
            tmp = scratch(xp, "rowprod", res.shape, res.dtype)
            for i in range(1, kernel[0]):
                xp.matmul(_row_block(cols, i, dilation, out), wk[i], out=tmp)
                res += tmp
    else:
        cols = _columns(xp, xpad, kernel, stride, dilation, out)
        res = xp.matmul(cols, wm, out=y_last[sl].reshape(cols.shape[0], -1))  # (b, *out, O) -> (b·L, O)
    if bias is not None:
        res += bias


def weight_grad_chunk(xp, x, grad_out, kernel, stride, padding, dilation, sl, gy=None):
    """This chunk's share of the weight gradient as (T·C, O): colsᵀ · gy (``gy``: the chunk's
    channels-last gradient rows, when the caller already has them)."""
    xpad = _channels_last_padded(xp, x[sl], padding)
    out = grad_out.shape[2:]
    gy = _channels_last_grad(xp, grad_out, sl) if gy is None else gy  # (b·L, O)
    if _folds_rows(kernel, stride):                                  # per kernel row, as in the forward
        b, O = xpad.shape[0], gy.shape[1]
        cols = _row_columns(xp, xpad, kernel, stride, dilation, out)  # (b, R·P, T'·C)
        gy3 = gy.reshape(b, -1, O)                                   # (b·L, O) -> (b, L, O)
        return xp.concatenate([xp.matmul(_row_block(cols, i, dilation, out).transpose(0, 2, 1), gy3).sum(axis=0)
                               for i in range(kernel[0])])           # k0 x (T'·C, O) -> (T·C, O)
    cols = _columns(xp, xpad, kernel, stride, dilation, out)        # (b·L, T·C)
    return cols.T @ gy                                              # (T·C, b·L) @ (b·L, O)


def weight_from_matrix(gwm, weight_shape):
    """(T·C, O) -> (O, C, *k), the inverse of :func:`weight_matrix`."""
    O, C, k = weight_shape[0], weight_shape[1], tuple(weight_shape[2:])
    g = gwm.reshape(k + (C, O))                                     # (T·C, O) -> (*k, C, O)
    nd = len(k)
    return g.transpose((nd + 1, nd) + tuple(range(nd)))             # (*k, C, O) -> (O, C, *k)


def input_grad_chunk(xp, grad_out, wm, input_shape, kernel, stride, padding, dilation, gx, sl):
    """``gx[sl]`` = col2im(gy · W_mᵀ): every column entry added back onto the pixel it came from.
    Returns the chunk's channels-last gradient rows (b·L, O) for :func:`weight_grad_chunk`."""
    b, C, spatial = sl.stop - sl.start, input_shape[1], tuple(input_shape[2:])
    out = grad_out.shape[2:]
    gy = _channels_last_grad(xp, grad_out, sl)                      # (b·L, O)
    gcols = xp.matmul(gy, wm.T, out=scratch(xp, "gcols", (gy.shape[0], wm.shape[0]), gy.dtype))
    gcols = gcols.reshape((b,) + tuple(out) + tuple(kernel) + (C,))  # (b·L, T·C) -> (b, *out, *k, C)
    padded = tuple(n + p + q for n, (p, q) in zip(spatial, padding))
    gpad = scratch(xp, "gpad", (b,) + padded + (C,), grad_out.dtype)
    gpad.fill(0)
    for tap in itertools.product(*(range(kk) for kk in kernel)):   # one strided add per tap
        dst = tuple(slice(t * d, t * d + (o - 1) * s + 1, s) for t, d, o, s in zip(tap, dilation, out, stride))
        gpad[(slice(None),) + dst] += gcols[(slice(None),) + (slice(None),) * len(out) + tap]
    inner = (slice(None),) + tuple(slice(p, p + n) for n, (p, _) in zip(spatial, padding))
    gx[sl] = xp.moveaxis(gpad[inner], -1, 1)                        # (b, *S, C) -> (b, C, *S)
    return gy


__all__ = ["applies", "weight_matrix", "weight_from_matrix", "forward_chunk",
           "weight_grad_chunk", "input_grad_chunk", "CHUNK_BYTES"]
