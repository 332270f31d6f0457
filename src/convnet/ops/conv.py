"""Convolution and transposed convolution, any number of spatial dims, as im2col + GEMM.

One N-d implementation serves conv1d/2d/3d and conv_transpose1d/2d/3d. Three kernels do
all the work, each one vectorised im2col/col2im and one (grouped) matrix product per
*batch chunk*:

* :func:`conv_forward`       ``y  = W · im2col(x)``                       (+ bias, fused)
* :func:`conv_input_grad`    ``gx = col2im(Wᵀ · gy)``  a transposed convolution
* :func:`conv_weight_grad`   ``gW = Σ_n gy · im2col(x)ᵀ``

A transposed convolution's forward *is* :func:`conv_input_grad` and its input gradient *is*
:func:`conv_forward`, so :class:`ConvTransposeNd` reuses the same kernels with the roles
swapped. Weight layouts are PyTorch's: conv ``(C_out, C_in/groups, *k)``, transposed conv
``(C_in, C_out/groups, *k)``; both are ``(C_big, C_small/groups, *k)`` where the conv maps
``C_small -> C_big`` channels, which is why the same kernels fit both.

Kernel choice (all give the same result to float rounding; each has a forced-on test grid):

* float32, 2-D, one group, >= 16 output channels, >= 512 output positions in the batch, and the
  optional C kernels present (built at install, AVX-512 at run time): direct convolution in C
  on channels-last data (:mod:`.conv_direct`), forward and weight gradient, no columns at all;
  ~2x the column kernels' speed on ResNet-20's layers. Without them, the NumPy kernels below;
* one group, >= 16 input and output channels, >= 512 GEMM rows: channels-last columns, one GEMM per batch
  chunk (:mod:`.conv_nhwc`), which beats per-image GEMMs on small images 1.3-2x; its output is
  channels-last (PyTorch's ``channels_last``), which the next layers keep;
* stride 1, >= 64 channels per group (grouped convs), >= 512 positions per image: the forward
  (and the input gradient, a flipped-kernel forward) runs as shifted GEMMs without im2col
  (:mod:`.conv_shift`). It ties with the channels-last kernel on one thread and scales worse on
  two (64->64 on 64x32x32: 36 vs 31 ms), so that one goes first;
* otherwise (groups, RGB stems, few channels): the per-image im2col + GEMM kernels below.

Speed: chunks are sized so a chunk's columns stay in cache between the im2col copy and the
GEMM that reads them, and columns are recomputed in backward rather than stored (9x the
activation memory for a 3x3 kernel). On NumPy, chunks are spread over one worker thread per
core with BLAS pinned to one thread: NumPy releases the GIL in copies and GEMMs, so
im2col/col2im run in parallel too, and independent workers degrade gracefully on a busy
machine where BLAS's own fork-join threading stalls.

Arguments are already validated by ``convnet.functional.conv``: ``stride``/``dilation`` are
tuples, ``padding`` a list of ``(before, after)`` pairs, one per spatial dim.
"""
from __future__ import annotations

import math

from .._backend import array_module
from ..autograd import Function
from ..shapes import conv_output_size, conv_transpose_output_size
from . import conv_direct, conv_nhwc, conv_planes, conv_shift
from ._parallel import map_chunks, num_threads
from . import _pool
from .im2col import col2im_nd, im2col_nd
from .linear import _mm

# Bytes of im2col columns per chunk: small enough to stay in L2/L3 between the im2col copy
# and the GEMM that reads them (measured ~20% faster than one huge buffer).
CHUNK_BYTES = 4 << 20
# Below this many bytes of columns in total, threads cost more than they save: run inline.
PARALLEL_MIN_BYTES = 2 << 20


def _chunks(n, per_item_bytes, chunk_bytes=None):
    """Slices of the batch axis holding at most about ``chunk_bytes`` (default ``CHUNK_BYTES``)
    of columns each (>= 1 item), as equal as possible and a multiple of the worker count of them
    (5 chunks of 27 images on 2 workers would leave one idle for a fifth of the time); a batch
    that fits one chunk is still split over the workers (LeNet-5, 128 images: 0.3-0.5 ms less a step)."""
    chunk_bytes = CHUNK_BYTES if chunk_bytes is None else chunk_bytes
    count = -(-n // max(1, chunk_bytes // max(1, per_item_bytes)))  # chunks needed for the cache bound
    workers = num_threads()
    if workers > 1:
        count = -(-count // workers) * workers                    # round up to a multiple of the workers
    count = min(count, n)
    bounds = [i * n // count for i in range(count + 1)] if count else [0]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:])]     # sizes differ by at most one


def _image_chunks(n):
    """Slices of the batch for the shifted-GEMM kernels, which work image by image with small
    per-chunk buffers: a few chunks per worker (load balance) rather than one per image."""
    step = max(1, -(-n // (4 * num_threads())))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def _grouped_cols(x, kernel, stride, padding, dilation, groups, out):
    """im2col of a chunk, split by group: (b, C, *S) -> (b, G, C/G*prod(k), L)."""
    cols = im2col_nd(x, kernel, stride, padding, dilation, out)  # (b, C*prod(k), L)
    b, K, L = cols.shape
    return cols.reshape(b, groups, K // groups, L)                # (b, G, C/G*prod(k), L)


def _matmul_into(xp, a, b, out):
    """``out[...] = a @ b`` over a group axis; skips it when there is one group (one GEMM per image)."""
    if a.shape[-3] == 1:
        xp.matmul(a[..., 0, :, :], b[..., 0, :, :], out=out[..., 0, :, :])
    else:
        xp.matmul(a, b, out=out)


def _weight_grad_chunk(xp, gy, cols):
    """Σ over the chunk's images of ``cols · gyᵀ`` = (gy · colsᵀ)ᵀ, the weight gradient transposed
    (this operand order runs ~20% faster in BLAS): (b, G, O/G, L), (b, G, K/G, L) -> (G, K/G, O/G).
    With few positions per image (<= 64, e.g. LeNet's C5) b tiny GEMMs are slow: one GEMM
    contracting images x positions together instead (16.4 -> 0.2 ms on LeNet's C5)."""
    if gy.shape[1] == 1 and gy.shape[-1] <= 64:                   # (b, K, L) . (b, O, L) over b, L
        return xp.tensordot(cols[:, 0], gy[:, 0], axes=([0, 2], [0, 2]))[None]  # (1, K, O)
    if gy.shape[1] == 1:                                          # one group: plain batched GEMM
        return xp.matmul(cols[:, 0], gy[:, 0].transpose(0, 2, 1)).sum(0)[None]  # (b, K, L) @ (b, L, O)
    return xp.matmul(cols, gy.transpose(0, 1, 3, 2)).sum(0)      # (b, G, K/G, L) @ (b, G, L, O/G)


def _sum_in_order(parts):
    """Per-chunk partial weight gradients summed in chunk order (deterministic for any thread count)."""
    total = parts[0].copy()
    for p in parts[1:]:
        total += p
    return total


def _weight_grad_total(xp, parts, weight_shape, dtype):
    """Sum the per-chunk transposed partials in chunk order (deterministic) and lay the result
    out as the weight: (G, K/G, O/G) -> (G, O/G, K/G) -> ``weight_shape``."""
    if not parts:                                                 # empty batch
        return xp.zeros(weight_shape, dtype=dtype)
    return _sum_in_order(parts).transpose(0, 2, 1).reshape(weight_shape)        # (G, O/G, K/G) -> (C_big, C_small/G, *k)


def conv_forward(x, weight, bias, stride, padding, dilation, groups):
    """Cross-correlation ``y[n, o] = Σ_c Σ_k W[o, c, k] · x_pad[n, c, s·i + d·k] + b[o]``.

    Args:
        x: (N, C_in, *S); weight: (C_out, C_in/G, *k); bias: (C_out,) or None.
    Returns:
        (N, C_out, *S_out), ``S_out`` by ``shapes.conv_output_size``; contiguous, or channels-last
        when the channels-last kernel ran (:mod:`.conv_nhwc`).
    """
    xp = array_module(x)
    N, C = x.shape[:2]
    O, k, G = weight.shape[0], weight.shape[2:], groups
    out = tuple(conv_output_size(n, kk, s, p, d)
                for n, kk, s, p, d in zip(x.shape[2:], k, stride, padding, dilation))
    L = math.prod(out)
    per_item = C * math.prod(k) * L * x.itemsize
    if N > 0 and _is_matmul(x.shape[2:], k, padding, dilation, G, out):  # the kernel covers the input: linear
        y = _mm(x.reshape(N, -1), weight.reshape(O, -1).T)        # (N, C·prod(k)) @ (C·prod(k), O)
        if bias is not None:
            y += bias
        return y.reshape((N, O) + out)                            # (N, O) -> (N, O, 1, ..., 1)
    if conv_direct.applies(xp, x.dtype, weight.dtype, k, G, out, N, O):
        y_last = _pool.empty(xp, (N,) + out + (O,), x.dtype)
        wd = conv_direct.weight_tensor(weight)                    # (kh, kw, C, O)
        conv_direct.forward(x, wd, bias, k, stride, padding, dilation, out, y_last,
                            _chunks(N, conv_direct.per_image_bytes(x.shape, padding), conv_direct.CHUNK_BYTES),
                            N * per_item >= PARALLEL_MIN_BYTES)
        return xp.moveaxis(y_last, -1, 1)                         # (N, *out, O) viewed as (N, O, *out), channels-last
    if conv_planes.applies(xp, x.dtype, weight.dtype, k, G, stride, O, N * L):
        y = _pool.empty(xp, (N, O) + out, x.dtype)
        wc = xp.ascontiguousarray(weight)                         # (O, C, kh, kw)
        conv_planes.forward(x, wc, bias, k, stride, padding, dilation, out, y,
                            _chunks(N, conv_direct.per_image_bytes(x.shape, padding), conv_planes.CHUNK_BYTES),
                            N * per_item >= PARALLEL_MIN_BYTES)
        return y
    if conv_nhwc.applies(xp, C, O, G, N * L):
        y_last = _pool.empty(xp, (N,) + out + (O,), x.dtype)
        wm = conv_nhwc.weight_matrix(weight)                      # (T·C, O)
        map_chunks(xp, lambda sl: conv_nhwc.forward_chunk(xp, x, wm, bias, k, stride, padding, dilation, out,
                                                          y_last, sl),
                   _chunks(N, per_item, conv_nhwc.CHUNK_BYTES), N * per_item, PARALLEL_MIN_BYTES)
        return xp.moveaxis(y_last, -1, 1)                         # (N, *out, O) viewed as (N, O, *out), channels-last
    if conv_shift.applies(xp, x.dtype, x.shape[2:], k, stride, padding, dilation, C, O, G):
        y = _pool.empty(xp, (N, O) + out, x.dtype)
        geo, taps = conv_shift.Geometry(x.shape[2:], k, padding, dilation), conv_shift.tap_weights(weight, G)
        map_chunks(xp, lambda sl: conv_shift.forward_chunk(xp, x, taps, bias, geo, y, sl),
                   _image_chunks(N), N * per_item, PARALLEL_MIN_BYTES)
        return y
    wg = weight.reshape(G, O // G, -1)                            # (G, C_out/G, C_in/G*prod(k))
    y = _pool.empty(xp, (N, O, L), x.dtype)

    def work(sl):
        cols = _grouped_cols(x[sl], k, stride, padding, dilation, G, out)  # (b, G, C_in/G*prod(k), L)
        _matmul_into(xp, wg, cols, y[sl].reshape(-1, G, O // G, L))   # (G, O/G, K/G) @ (b, G, K/G, L)
        if bias is not None:
            y[sl] += bias.reshape(O, 1)                           # fused while the chunk is in cache

    map_chunks(xp, work, _chunks(N, per_item), N * per_item, PARALLEL_MIN_BYTES)
    return y.reshape((N, O) + out)                                # (N, C_out, L) -> (N, C_out, *S_out)


def conv_input_grad(grad_out, weight, input_shape, stride, padding, dilation, groups, bias=None):
    """Adjoint of :func:`conv_forward` in ``x``: a transposed convolution.

    input gradient = full convolution of the upstream gradient with the flipped kernel,
    computed as ``col2im(Wᵀ · grad_out)`` (each output's gradient is sent back, through the
    weight it used, to every input pixel of its window; overlapping windows sum).

    Args:
        grad_out: (N, C_out, *S_out); weight: (C_out, C_in/G, *k); input_shape: (N, C_in, *S).
        bias: optional (C_in,) added to the result (the transposed conv's bias).
    Returns:
        (N, C_in, *S) contiguous.
    """
    gx, _ = _conv_backward(None, weight, grad_out, weight.shape, stride, padding, dilation, groups,
                           need_input=True, need_weight=False, input_shape=input_shape, bias=bias)
    return gx


def conv_weight_grad(x, grad_out, weight_shape, stride, padding, dilation, groups):
    """weight gradient = sum, over every position where the shared weight was used, of
    upstream gradient × the input it multiplied: ``gW = Σ_n grad_out[n] · im2col(x)[n]ᵀ``.

    Args:
        x: (N, C_in, *S); grad_out: (N, C_out, *S_out); weight_shape: (C_out, C_in/G, *k).
    Returns:
        (C_out, C_in/G, *k)
    """
    _, gw = _conv_backward(x, None, grad_out, weight_shape, stride, padding, dilation, groups,
                           need_input=False, need_weight=True)
    return gw


def _conv_backward(x, weight, grad_out, weight_shape, stride, padding, dilation, groups,
                   need_input, need_weight, input_shape=None, bias=None):
    """Both conv gradients in one pass over batch chunks (columns recomputed, not stored).

    Returns ``(gx, gW)`` with ``None`` for the one not asked for. ``bias`` (C_in,) is added
    to ``gx`` (used by the transposed conv's forward).
    """
    xp = array_module(grad_out)
    input_shape = tuple(x.shape if input_shape is None else input_shape)
    N, C, spatial = input_shape[0], input_shape[1], input_shape[2:]
    O, k, G = weight_shape[0], tuple(weight_shape[2:]), groups
    size_out = grad_out.shape[2:]
    if N > 0 and _is_matmul(spatial, k, padding, dilation, groups, size_out):  # a linear layer
        gy = grad_out.reshape(N, O)                               # (N, O, 1, ..., 1) -> (N, O)
        w2 = weight.reshape(O, -1) if need_input else None        # (O, C·prod(k))
        gx = _mm(gy, w2).reshape(input_shape) if need_input else None
        if gx is not None and bias is not None:
            gx += bias.reshape((C,) + (1,) * len(spatial))
        gw = _mm(gy.T, x.reshape(N, -1)).reshape(weight_shape) if need_weight else None
        return gx, gw
    gx_direct = None
    if need_input and (_input_grad_as_conv(k, stride, padding, dilation, groups)
                       or _input_grad_on_planes(xp, grad_out, weight, stride, padding, dilation, groups, N, spatial)):
        gx_direct = _input_grad_by_flipped_conv(xp, grad_out, weight, padding, bias)
        need_input = False
        if not need_weight:
            return gx_direct, None
    L = math.prod(size_out)
    per_item = C * math.prod(k) * L * grad_out.itemsize
    if need_input and N > 0 and all(s == 1 for s in stride):
        geo = conv_shift.Geometry(spatial, k, padding, dilation)
        if geo.out == tuple(size_out) and conv_shift.input_grad_applies(xp, stride, k, geo):
            gx_direct = _pool.empty(xp, input_shape, grad_out.dtype)
            map_chunks(xp, lambda sl: conv_shift.input_grad_chunk(xp, grad_out, weight, G, geo, gx_direct, sl),
                       _chunks(N, per_item), N * per_item, PARALLEL_MIN_BYTES)
            if bias is not None:
                gx_direct += bias.reshape((C,) + (1,) * len(spatial))
            need_input = False
            if not need_weight:
                return gx_direct, None
    if need_weight and N > 0 and conv_planes.applies(xp, x.dtype, grad_out.dtype, k, G, stride, O, N * L):
        gx = gx_direct                                            # few output channels: the planes kernel
        if need_input:
            gx, _ = _conv_backward(x, weight, grad_out, weight_shape, stride, padding, dilation, groups,
                                   need_input=True, need_weight=False, input_shape=input_shape, bias=bias)
        return gx, conv_planes.weight_grad(x, grad_out, k, stride, padding, dilation,
                                           _chunks(N, conv_direct.per_image_bytes(input_shape, padding),
                                                   conv_planes.CHUNK_BYTES),
                                           N * per_item >= PARALLEL_MIN_BYTES)
    direct = (need_weight and N > 0 and x.dtype == grad_out.dtype
              and conv_direct.applies(xp, x.dtype, grad_out.dtype, k, G, size_out, N, O))
    nhwc = N > 0 and conv_nhwc.applies(xp, C, O, G, N * L)
    if direct and need_input and not nhwc:  # few input channels (an RGB stem): columns per image for dx
        gx, _ = _conv_backward(x, weight, grad_out, weight_shape, stride, padding, dilation, groups,
                               need_input=True, need_weight=False, input_shape=input_shape, bias=bias)
        _, gw = _conv_backward_nhwc(xp, x, weight, grad_out, weight_shape, input_shape, stride, padding,
                                    dilation, False, True, None, per_item, None, direct)
        return gx, gw
    if direct or nhwc:
        return _conv_backward_nhwc(xp, x, weight, grad_out, weight_shape, input_shape, stride, padding,
                                   dilation, need_input, need_weight, bias, per_item, gx_direct, direct)
    gy = grad_out.reshape(N, G, O // G, L)                        # (N, C_out, *S_out) -> (N, G, O/G, L)
    gx = _pool.empty(xp, input_shape, grad_out.dtype) if need_input else None
    if need_input:
        wgT = weight.reshape(G, O // G, -1).transpose(0, 2, 1)    # (G, O/G, K/G) -> (G, K/G, O/G)

    def work(sl):
        gw_part = None
        if need_weight:
            cols = _grouped_cols(x[sl], k, stride, padding, dilation, G, size_out)   # (b, G, K/G, L)
            gw_part = _weight_grad_chunk(xp, gy[sl], cols)
        if need_input:
            b = gy[sl].shape[0]
            gcols = xp.empty((b, G, wgT.shape[1], L), dtype=grad_out.dtype)
            _matmul_into(xp, wgT, gy[sl], gcols)                  # (G, K/G, O/G) @ (b, G, O/G, L)
            col2im_nd(gcols.reshape(b, -1, L), (b, C) + spatial,  # (b, G, K/G, L) -> (b, K, L)
                      k, stride, padding, dilation, size_out, out=gx[sl])
            if bias is not None:
                gx[sl] += bias.reshape((C,) + (1,) * len(spatial))
        return gw_part

    parts = map_chunks(xp, work, _chunks(N, per_item), N * per_item, PARALLEL_MIN_BYTES)
    gw = _weight_grad_total(xp, parts, weight_shape, grad_out.dtype) if need_weight else None
    return (gx_direct if gx is None else gx), gw


def _conv_backward_nhwc(xp, x, weight, grad_out, weight_shape, input_shape, stride, padding, dilation,
                        need_input, need_weight, bias, per_item, gx_direct, direct=False):
    """:func:`_conv_backward` with channels-last columns (:mod:`.conv_nhwc`), one group; ``direct``:
    the weight gradient from the C kernel (:mod:`.conv_direct`) instead of columns."""
    N, k = input_shape[0], tuple(weight_shape[2:])
    if direct and not need_input:                                 # the C kernels alone, on their own threads
        gw = conv_direct.weight_grad(x, grad_out, k, stride, padding, dilation,
                                     _chunks(N, conv_direct.per_image_bytes(input_shape, padding),
                                             conv_direct.CHUNK_BYTES),
                                     N * per_item >= PARALLEL_MIN_BYTES)
        return gx_direct, conv_nhwc.weight_from_matrix(gw, weight_shape)
    gx = None
    if need_input:                                                # the layout of x (channels-last or not)
        gx = (_pool.empty_like(x) if x is not None and x.dtype == grad_out.dtype
              else _pool.empty(xp, input_shape, grad_out.dtype))
    wm = conv_nhwc.weight_matrix(weight) if need_input else None  # (T·C, O)

    def work(sl):
        gy = None
        if need_input:
            gy = conv_nhwc.input_grad_chunk(xp, grad_out, wm, input_shape, k, stride, padding, dilation, gx, sl)
            if bias is not None:
                gx[sl] += bias.reshape((-1,) + (1,) * len(k))
        if not need_weight:
            return None
        if direct:
            return conv_direct.weight_grad_chunk(xp, x, grad_out, k, stride, padding, dilation, sl, gy)
        return conv_nhwc.weight_grad_chunk(xp, x, grad_out, k, stride, padding, dilation, sl, gy)

    parts = map_chunks(xp, work, _chunks(N, per_item, conv_nhwc.CHUNK_BYTES), N * per_item, PARALLEL_MIN_BYTES)
    gw = conv_nhwc.weight_from_matrix(_sum_in_order(parts), weight_shape) if need_weight else None
    return (gx_direct if gx is None else gx), gw


def _input_grad_as_conv(k, stride, padding, dilation, groups):
    """Whether the input gradient is cheaper as a forward conv with the flipped kernel: stride 1,
    dilation 1, one group, and padding ``p`` with ``k-1 <= pb + pa`` (little wasted zero padding)
    and ``pb, pa <= k-1`` (the new padding ``k-1-p`` is non-negative). 1.3-1.6x on ResNet layers."""
    return (groups == 1 and all(s == 1 for s in stride) and all(d == 1 for d in dilation)
            and all(kk - 1 <= pb + pa and max(pb, pa) <= kk - 1 for kk, (pb, pa) in zip(k, padding)))


def _is_matmul(spatial, k, padding, dilation, groups, out):
    """Whether the conv is a matrix product: one group, one output position, the (undilated,
    unpadded) kernel as large as the input -- LeNet-5's C5, 16x5x5 -> 120 (1.1 -> 0.4 ms a step)."""
    return (groups == 1 and all(o == 1 for o in out) and tuple(spatial) == tuple(k)
            and all(p == (0, 0) for p in padding) and all(d == 1 for d in dilation))


def _input_grad_on_planes(xp, grad_out, weight, stride, padding, dilation, groups, N, spatial):
    """Whether a stride-1 input gradient should run as the flipped-kernel forward on the planes
    kernels (:mod:`.conv_planes`: fewer than 16 input channels, e.g. LeNet-5's C3, 2.1 -> 0.8 ms)
    even with little padding: the zero rows it multiplies cost less than the columns' scatter."""
    return (groups == 1 and all(s == 1 for s in stride) and all(d == 1 for d in dilation)
            and all(max(pb, pa) <= kk - 1 for kk, (pb, pa) in zip(weight.shape[2:], padding))
            and conv_planes.applies(xp, grad_out.dtype, weight.dtype, weight.shape[2:], 1, stride, weight.shape[1],
                                    N * math.prod(spatial)))


def _input_grad_by_flipped_conv(xp, grad_out, weight, padding, bias):
    """input gradient = full convolution of the upstream gradient with the flipped kernel: a forward
    conv of grad_out with ``W`` flipped in space and C_in/C_out swapped, padding ``k-1-p``.

    grad_out (N, C_out, *S_out), weight (C_out, C_in, *k) -> (N, C_in, *S)."""
    nd = weight.ndim - 2
    flip = (slice(None), slice(None)) + (slice(None, None, -1),) * nd
    wflip = xp.ascontiguousarray(weight.swapaxes(0, 1)[flip])    # (C_out, C_in, *k) -> (C_in, C_out, *k) flipped
    pads = [(kk - 1 - pb, kk - 1 - pa) for kk, (pb, pa) in zip(weight.shape[2:], padding)]
    return conv_forward(grad_out, wflip, bias, (1,) * nd, pads, (1,) * nd, 1)


def _bias_grad(grad_out):
    """bias gradient = upstream gradient summed over the batch and every spatial position."""
    return grad_out.sum(axis=(0,) + tuple(range(2, grad_out.ndim)))


class ConvNd(Function):
    """``y = conv(x, W) + b`` for any number of spatial dims (see :func:`conv_forward`).

    Backward:
        dL/dx = full convolution of dL/dy with the flipped kernel (W^T @ gradient columns, then col2im: a
        transposed convolution); dL/dW = correlation of x with dL/dy (dL/dy @ im2col(x)^T, summed over the
        batch); dL/db = sum of dL/dy over N and the spatial axes.
    """

    def forward(self, x, weight, bias=None, stride=(1,), padding=((0, 0),), dilation=(1,), groups=1):
        self.args = (tuple(stride), list(padding), tuple(dilation), groups)
        self.has_bias = bias is not None
        self.save_for_backward(x, weight)
        return conv_forward(x, weight, bias, *self.args)

    def backward(self, grad_out):
        # input: transposed conv of grad_out; weight: Σ grad_out ⊗ input patches; bias: Σ grad_out
        x, weight = self.saved_tensors
        gx, gw = _conv_backward(x, weight, grad_out, weight.shape, *self.args,
                                need_input=self.needs_input_grad[0], need_weight=self.needs_input_grad[1])
        if not self.has_bias:
            return gx, gw
        return gx, gw, _bias_grad(grad_out) if self.needs_input_grad[2] else None


class ConvTransposeNd(Function):
    """Transposed convolution: the adjoint of :class:`ConvNd` in its input, plus a bias.

    Forward = conv's input gradient; backward w.r.t. the input = conv's forward; w.r.t. the
    weight = conv's weight gradient with the roles of input and upstream gradient swapped.

    Backward:
        dL/dx = conv(dL/dy, W) (an ordinary correlation); dL/dW = x @ im2col(dL/dy)^T; dL/db = sum of dL/dy
        over N and the spatial axes.
    """

    def forward(self, x, weight, bias=None, stride=(1,), padding=((0, 0),), output_padding=(0,),
                dilation=(1,), groups=1):
        self.args = (tuple(stride), list(padding), tuple(dilation), groups)
        self.has_bias = bias is not None
        self.save_for_backward(x, weight)
        out = tuple(conv_transpose_output_size(n, kk, s, p[0], op, d) for n, kk, s, p, op, d
                    in zip(x.shape[2:], weight.shape[2:], stride, padding, output_padding, dilation))
        out_shape = (x.shape[0], weight.shape[1] * groups) + out
        return conv_input_grad(x, weight, out_shape, *self.args, bias=bias)

    def backward(self, grad_out):
        # input gradient = ordinary conv of grad_out with the same weight (transpose of transpose);
        # weight gradient = Σ over positions of (upstream gradient patches) ⊗ input
        x, weight = self.saved_tensors
        need_x, need_w = self.needs_input_grad[0], self.needs_input_grad[1]
        stride, padding, dilation, G = self.args
        xp = array_module(grad_out)
        N, C_out = grad_out.shape[:2]
        C_in, k = weight.shape[0], weight.shape[2:]
        L = math.prod(x.shape[2:])
        xg = x.reshape(N, G, C_in // G, L)                        # (N, C_in, *S) -> (N, G, C_in/G, L)
        wg = weight.reshape(G, C_in // G, -1)                     # (C_in, C_out/G, *k) -> (G, C_in/G, K/G)
        gx = xp.empty((N, C_in, L), dtype=grad_out.dtype) if need_x else None
        per_item = C_out * math.prod(k) * L * grad_out.itemsize

        def work(sl):
            cols = _grouped_cols(grad_out[sl], k, stride, padding, dilation, G, x.shape[2:])  # (b, G, K/G, L)
            if need_x:
                _matmul_into(xp, wg, cols, gx[sl].reshape(-1, G, C_in // G, L))  # (G, C_in/G, K/G) @ cols
            return _weight_grad_chunk(xp, xg[sl], cols) if need_w else None

        parts = map_chunks(xp, work, _chunks(N, per_item), N * per_item, PARALLEL_MIN_BYTES)
        gw = _weight_grad_total(xp, parts, weight.shape, grad_out.dtype) if need_w else None
        gx = gx.reshape(x.shape) if need_x else None              # (N, C_in, L) -> (N, C_in, *S)
        if not self.has_bias:
            return gx, gw
        return gx, gw, _bias_grad(grad_out) if self.needs_input_grad[2] else None


__all__ = ["ConvNd", "ConvTransposeNd", "conv_forward", "conv_input_grad", "conv_weight_grad", "num_threads"]
