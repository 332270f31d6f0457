"""Normalization primitives: forward and backward side by side.

* :class:`Normalize` -- ``(x - mean) / sqrt(var + eps) * weight + bias`` over a set of axes.
  Batch norm (axes N and spatial), layer norm (trailing axes) and instance norm (spatial axes)
  are all this one primitive with different axes; group norm reshapes and reuses it.
* :class:`WindowSum1d` -- a zero-padded weighted window sum (1-D correlation) along one axis.
  Local response normalization sums squares over neighbouring channels with it, and local
  contrast normalization runs a separable Gaussian through it twice.

Batch norm (the statistics axes include the batch axis 0) runs batch-parallel: the input is cut
into batch blocks of about ``BLOCK_BYTES`` (so a block's temporaries stay in cache between
passes) and the blocks are split over the worker pool of :mod:`._parallel`. Per-channel sums are
taken per block and added in block order, so results do not depend on the thread count.
"""
from __future__ import annotations

from .._backend import array_module
from ..autograd import Function
from . import _clib, _pool
from ._parallel import even_slices, map_chunks_light as map_chunks
from ._util import is_channels_last

# Below this many bytes of input, threads cost more than they save: run inline.
PARALLEL_MIN_BYTES = 1 << 20
# Batch blocks of about this many bytes: small enough that the passes over a block hit the cache.
BLOCK_BYTES = 1 << 20


# Width of the rows a per-channel sum over a contiguous (..., C) array is folded into (floats).
WIDE_ROW = 1024


def _wide_rows(a, axes, b):
    """Whether ``a`` (and ``b``) are contiguous (..., C) arrays summed over every axis but the last:
    the case :func:`_sum_rows` serves (batch norm on channels-last activations)."""
    return (a.ndim > 1 and tuple(axes) == tuple(range(a.ndim - 1)) and a.flags.c_contiguous
            and (b is None or (b.shape == a.shape and b.flags.c_contiguous)))


def _sum_rows(xp, a, b):
    """Per-channel ``Σ a`` or ``Σ a·b`` of contiguous (..., C) arrays, shape (C,). Summing (M, C)
    down its rows runs C floats at a time; folded to (M/r, r·C) rows of ~``WIDE_ROW`` floats the
    vector loops run long, then the r partial sums per channel are added: ~1.6x faster than
    the einsum 'nhwc->c' (channels-last batch norm on 16 channels)."""
    C = a.shape[-1]
    M = a.size // max(1, C)
    r = 1
    while 2 * r * C <= WIDE_ROW and M % (2 * r) == 0:
        r *= 2
    a2 = a.reshape(M // r, r * C)                                 # (..., C) -> (M/r, r·C)
    if b is None:
        s = xp.add.reduce(a2, axis=0)
    else:
        s = xp.einsum("ij,ij->j", a2, b.reshape(a2.shape))        # (..., C) -> (M/r, r·C)
    return s.reshape(r, C).sum(axis=0)                            # (r·C,) -> (r, C) -> (C,)


def sum_over(a, axes, b=None):
    """``(a * b).sum(axis=axes, keepdims=True)`` (``b`` optional) as one einsum, e.g. 'nchw,nchw->c':
    ~2x faster than ``.sum(axis=(0, 2, 3))`` and no ``a * b`` temporary."""
    xp = array_module(a)
    if _wide_rows(a, axes, b):
        return _sum_rows(xp, a, b).reshape((1,) * (a.ndim - 1) + a.shape[-1:])  # (C,) -> keepdims
    letters = "abcdefghijklmnopqrstuvwxyz"[:a.ndim]
    kept = "".join(c for i, c in enumerate(letters) if i not in axes)
    spec = f"{letters}->{kept}" if b is None else f"{letters},{letters}->{kept}"
    r = xp.einsum(spec, a) if b is None else xp.einsum(spec, a, b)
    return r.reshape(tuple(1 if i in axes else n for i, n in enumerate(a.shape)))  # keepdims shape


def _sum_to(a, shape, b=None):
    """``unbroadcast(a * b, shape)`` via :func:`sum_over`: sum the axes ``shape`` broadcast over."""
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and a.shape[i + lead] != 1)
    return sum_over(a, axes, b).reshape(shape)


def _batch_blocks(x):
    """Consecutive batch slices of ``x`` of about ``BLOCK_BYTES`` each, in batch order. They depend
    on ``x.shape`` only, so per-block results combine deterministically."""
    if x.nbytes <= BLOCK_BYTES:  # one block
        return [slice(None)]
    N = x.shape[0]
    rows = max(1, BLOCK_BYTES // max(1, x.nbytes // max(1, N)))
    return [slice(i, min(i + rows, N)) for i in range(0, N, rows)] or [slice(0, 0)]


def map_batch_blocks(work, x):
    """``[work(sl) for sl in blocks]`` over :func:`_batch_blocks` of ``x``; the blocks go to the
    worker pool in contiguous runs."""
    blocks = _batch_blocks(x)
    if len(blocks) == 1:
        return [work(blocks[0])]
    runs = [blocks[r] for r in even_slices(len(blocks))]
    parts = map_chunks(array_module(x), lambda run: [work(sl) for sl in run], runs, x.nbytes,
                       PARALLEL_MIN_BYTES)
    return [r for part in parts for r in part]


def _c_batch_blocks(call, x, blocks=None):
    """The C kernel calls ``call(i, sl)`` for the :func:`_batch_blocks` ``sl`` of ``x`` (block ``i``;
    ``blocks`` when the caller has them already), on the C kernels' worker threads."""
    blocks = _batch_blocks(x) if blocks is None else blocks
    _clib.run([[call(i, sl)] for i, sl in enumerate(blocks)], len(blocks) > 1 and x.nbytes >= PARALLEL_MIN_BYTES)


def _total(parts):
    """The sum of per-block partial results, added in block order."""
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total


def _last_layout(x, axes):
    """Whether batch norm should run on the channels-last view of ``x``: ``x`` is channels-last
    and the statistics are per channel (``axes`` = all but axis 1)."""
    return is_channels_last(x) and tuple(axes) == (0,) + tuple(range(2, x.ndim))


def _to_last(a, ndim):
    """A per-channel array broadcasting against (N, C, *S) -> the same against (N, *S, C)."""
    a = a.reshape((1,) * (ndim - a.ndim) + a.shape)               # (C, 1, ...) -> (1, C, 1, ...)
    return array_module(a).moveaxis(a, 1, -1)                     # (1, C, *1) -> (1, *1, C)


def _c_rows(*arrays):
    """Whether the C batch-norm kernels (``_cnorm.c``) serve these (N, *S, C) arrays: C kernels
    built and usable, float32 NumPy arrays, C-contiguous (rows of C channels)."""
    return _clib.takes(*arrays) and all(a.flags.c_contiguous for a in arrays)


def _channel_vector(a, C):
    """A per-channel array broadcasting against (..., C) -> its (C,) float32 values, contiguous."""
    xp = array_module(a)
    return xp.ascontiguousarray(xp.broadcast_to(a, a.shape[:-1] + (C,)).reshape(-1, C)[0], dtype=xp.float32)


def _c_moments(xl):
    """Per-channel mean and biased variance of a contiguous float32 (N, *S, C) array with the C
    kernels: a pass for the mean, a second for the squared deviations from it (float64 sums of
    float32 runs), each over batch blocks on the worker pool. Returns (C,) float32 arrays."""
    xp = array_module(xl)
    C = xl.shape[-1]
    M = xl.size // max(1, C)

    blocks = _batch_blocks(xl)

    def block_sums(shift, want_sq):
        out = xp.zeros((len(blocks), 2, C), xp.float64)           # per block: sum of d, sum of d^2; d = x - shift
        _c_batch_blocks(lambda i, sl: ("cc_bn_moments", xl[sl].ctypes.data, xl[sl].size // C, C, shift.ctypes.data,
                                       out[i, 0].ctypes.data, out[i, 1].ctypes.data, want_sq), xl, blocks)
        return _total(list(out))
    mean = (block_sums(xp.zeros(C, xp.float32), 0)[0] / M).astype(xp.float32)
    s = block_sums(mean, 1) / M                                    # E[x - mean], E[(x - mean)^2]
    var = s[1] - s[0] * s[0]                                       # exact up to the rounding of mean
    return (mean + s[0]).astype(xp.float32), xp.maximum(var, 0).astype(xp.float32)


def batch_moments(x, axes):
    """Mean and biased variance of ``x`` over ``axes`` (which include the batch axis 0), keepdims
    shape: one pass for the mean, a second for the mean squared deviation from it. A
    channels-last ``x`` is summed in its own layout (runs of C floats, no transposing copy), by
    the C kernels when they apply (:func:`_c_moments`)."""
    if _last_layout(x, axes):
        xp = array_module(x)
        xl = xp.moveaxis(x, 1, -1)                                # (N, C, *S) -> (N, *S, C) view
        if _c_rows(xl) and xl.size:
            mean, var = _c_moments(xl)
            keep = (1, x.shape[1]) + (1,) * (x.ndim - 2)
            return mean.reshape(keep), var.reshape(keep)          # (C,) -> keepdims (1, C, *1)
        mean, var = batch_moments(xl, tuple(range(x.ndim - 1)))
        return xp.moveaxis(mean, -1, 1), xp.moveaxis(var, -1, 1)  # keepdims (1, *1, C) -> (1, C, *1)
    M = 1
    for a in axes:
        M *= x.shape[a]
    mean = _total(map_batch_blocks(lambda sl: sum_over(x[sl], axes), x)) / M
    (mean_row,) = _sample_rows(x, mean)

    def squares(sl):  # sum over the block of (x - mean)^2
        d = x[sl] - mean_row
        return sum_over(d, axes, d)
    return mean, _total(map_batch_blocks(squares, x)) / M


def _per_channel(w, axes, ndim):
    """True when ``w`` (broadcasting against an ``ndim``-d input) is constant over ``axes``."""
    return all(i < ndim - w.ndim or w.shape[i - ndim + w.ndim] == 1 for i in axes)


def _sample_rows(x, *params):
    """Per-channel ``params`` expanded to one sample's full shape ``(1, *x.shape[1:])``, contiguous,
    for batches of 8 or more: a ufunc over ``x`` and such a row runs over whole samples, ~1.5x
    faster than broadcasting a ``(C, 1, 1)`` operand along short rows of H*W elements."""
    if x.shape[0] < 8:
        return params
    xp = array_module(x)
    return [xp.ascontiguousarray(xp.broadcast_to(p, (1,) + x.shape[1:])) for p in params]


class Normalize(Function):
    """``y = (x - mean) * inv_std * weight + bias`` with statistics over ``axes``.

    Args (forward):
        x: the input array.
        *affine: nothing, or ``(weight, bias)`` arrays that broadcast against ``x``.
        axes: tuple of the axes the statistics run over.
        mean, var: statistics with keepdims shape (broadcasting against ``x``), biased variance.
        batch_stats: True when ``mean``/``var`` were computed from ``x`` itself (training batch
            norm, layer/group/instance norm) so the gradient flows through them too; False
            when they are constants (batch norm in eval mode).
        eps: added to the variance.

    Backward:
        With x_hat = (x - mean) inv_std and g = dL/dy * weight: dL/dx = inv_std * (g - mean(g) - x_hat mean(g
        x_hat)) over ``axes`` when ``batch_stats`` (the gradient flows through mean and variance), else dL/dx
        = g inv_std; dL/dweight = sum of dL/dy x_hat, dL/dbias = sum of dL/dy over the axes they broadcast
        along.
    """

    def forward(self, x, *affine, axes=(), mean=None, var=None, batch_stats=True, eps=1e-5):
        xp = array_module(x)
        inv_std = (1.0 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
        self.inv_std, self.axes, self.batch_stats, self.last = inv_std, axes, batch_stats, None
        if 0 in axes and (not affine or _per_channel(affine[0], axes, x.ndim)):  # batch norm
            mean = mean.astype(x.dtype, copy=False)
            if _last_layout(x, axes):  # run on the (N, *S, C) view, per-channel arrays moved to match
                nd = x.ndim
                self.last = [a.shape for a in affine]             # to restore the gradients' shapes
                self.inv_std, self.axes = _to_last(inv_std, nd), tuple(range(nd - 1))
                y = self._forward_batch(xp, xp.moveaxis(x, 1, -1), [_to_last(a, nd) for a in affine],
                                        _to_last(mean, nd))
                return xp.moveaxis(y, -1, 1)                      # (N, *S, C) -> (N, C, *S), channels-last
            return self._forward_batch(xp, x, affine, mean)
        xhat = x - mean.astype(x.dtype, copy=False)  # fresh temporary: scaled in place
        xhat *= inv_std
        self.xhat = xhat
        if not affine:
            self.weight = None
            return xhat
        weight, bias = affine
        self.weight, self.wshape, self.bshape = weight, weight.shape, bias.shape
        y = xhat * weight
        y += bias
        return y

    def backward(self, g):
        xp = array_module(g)
        xhat, inv_std, axes = self.xhat, self.inv_std, self.axes
        w = self.weight
        if xhat is None and self.last is not None:  # channels-last batch norm
            grads = self._backward_batch(xp, xp.moveaxis(g, 1, -1))
            if w is None:
                return None if grads is None else xp.moveaxis(grads, -1, 1)
            gx, gw, gb = grads
            return (None if gx is None else xp.moveaxis(gx, -1, 1),  # (N, *S, C) -> (N, C, *S)
                    None if gw is None else gw.reshape(self.last[0]),  # (1, *1, C) -> the weight's shape
                    None if gb is None else gb.reshape(self.last[1]))
        if xhat is None:  # batch norm: xhat is recomputed from the saved x
            return self._backward_batch(xp, g)
        if w is not None and _per_channel(w, axes, g.ndim):
            return self._backward_per_channel(xp, g)  # batch / instance norm: weight constant over axes
        gw = gb = None
        if w is not None:
            if self.needs_input_grad[1]:  # d weight = sum over the broadcast axes of g * xhat
                gw = _sum_to(g, self.wshape, xhat)
            if self.needs_input_grad[2]:  # d bias = sum of g
                gb = _sum_to(g, self.bshape)
            g = g * w  # gradient w.r.t. xhat
        gx = None
        if self.needs_input_grad[0]:
            if self.batch_stats:
                # fused batch-norm backward: dx = inv_std/M * (M g - sum g - xhat sum(g xhat))
                M = 1
                for a in axes:
                    M *= g.shape[a]
                mean_g = sum_over(g, axes) / M
                mean_gx = sum_over(g, axes, xhat) / M
                gx = xhat * mean_gx.astype(g.dtype, copy=False)  # fresh temporary, updated in place
                xp.subtract(g, gx, out=gx)
                gx -= mean_g.astype(g.dtype, copy=False)
                gx *= inv_std
            else:  # constant statistics: an affine map, dx = g * inv_std
                gx = g * inv_std
        if w is None:
            return gx
        return gx, gw, gb

    def _forward_batch(self, xp, x, affine, mean):
        """Batch norm as PyTorch's CPU kernel computes it, ``y = x * scale + shift`` with per-channel
        ``scale = weight * inv_std`` and ``shift = bias - mean * scale``, over batch blocks in
        parallel. Saves ``x`` rather than ``xhat``: the backward recomputes ``x - mean`` per block."""
        scale, shift = self.inv_std, -mean * self.inv_std
        self.weight = None
        if affine:
            weight, bias = affine
            self.weight, self.wshape, self.bshape = weight, weight.shape, bias.shape
            scale = self.inv_std * weight
            shift = bias - mean * scale
        y = _pool.empty(xp, x.shape, xp.result_type(x, scale, shift))
        self.x, self.mean, self.xhat = x, mean, None
        if self.last is not None and _c_rows(x, y):                # channels-last rows: one C pass per block
            C = x.shape[-1]
            sv, hv = _channel_vector(scale, C), _channel_vector(shift, C)
            _c_batch_blocks(lambda i, sl: ("cc_bn_affine", x[sl].ctypes.data, y[sl].ctypes.data, x[sl].size // C, C,
                                           sv.ctypes.data, hv.ctypes.data), x)
            return y
        scale, shift = _sample_rows(x, scale, shift)

        def work(sl):
            ys = xp.multiply(x[sl], scale, out=y[sl])
            ys += shift
        map_batch_blocks(work, x)
        return y

    def _backward_batch(self, xp, g):
        """Batch-norm backward over batch blocks in parallel, with ``xhat = (x - mean) inv_std``:
        d weight = sum g xhat, d bias = sum g, and (training) dx = c (g - mean g - xhat mean(g xhat))
        with c = weight * inv_std, i.e. ``c g - (x - mean) k - c mean g``, k = c inv_std^2 mean(g (x - mean))."""
        x, inv_std, axes, w = self.x, self.inv_std, self.axes, self.weight
        need_x = self.needs_input_grad[0]
        need_w, need_b = self.needs_input_grad[1:3] if w is not None else (False, False)
        c = inv_std if w is None else (w * inv_std).astype(g.dtype, copy=False)
        use_c = self.last is not None and _c_rows(x, g)             # channels-last rows: the C kernels
        (mean,) = (self.mean,) if use_c else _sample_rows(x, self.mean)
        s_g = s_gd = None
        if need_w or need_b or (need_x and self.batch_stats):
            if use_c:
                s_g, s_gd = self._c_grad_sums(xp, x, g, mean)
            else:
                def sums(sl):  # the block's sums of g and g (x - mean)
                    return sum_over(g[sl], axes), sum_over(g[sl], axes, x[sl] - mean)
                parts = map_batch_blocks(sums, g)
                s_g, s_gd = _total([p[0] for p in parts]), _total([p[1] for p in parts])  # keepdims shape
        gw = _sum_to(s_gd * inv_std, self.wshape) if need_w else None
        gb = _sum_to(s_g, self.bshape) if need_b else None
        gx = None
        if need_x:
            gx = _pool.empty(xp, g.shape, g.dtype)
            if use_c:
                C = g.shape[-1]
                M = g.size // max(1, C)
                k = (c * inv_std * inv_std * s_gd / M) if self.batch_stats else xp.zeros(C, g.dtype)
                cg = (c * s_g / M) if self.batch_stats else xp.zeros(C, g.dtype)
                self._c_grad_input(x, g, gx, *(_channel_vector(a, C) for a in (mean, c, k, cg)))
                return gx if w is None else (gx, gw, gb)
            if self.batch_stats:
                M = g.size // max(1, s_g.size)
                k = (c * inv_std * inv_std * s_gd / M).astype(g.dtype, copy=False)
                cg = (c * s_g / M).astype(g.dtype, copy=False)
                c, k, cg = _sample_rows(x, c, k, cg)

                def work(sl):
                    t = xp.subtract(x[sl], mean)
                    t *= k
                    t += cg
                    gs = xp.multiply(g[sl], c, out=gx[sl])
                    gs -= t
            else:  # constant statistics: an affine map, dx = g c
                (c,) = _sample_rows(x, c)

                def work(sl):
                    xp.multiply(g[sl], c, out=gx[sl])
            map_batch_blocks(work, g)
        if w is None:
            return gx
        return gx, gw, gb

    @staticmethod
    def _c_grad_sums(xp, x, g, mean):
        """Per-channel sums of g and of g (x - mean) over contiguous (N, *S, C) float32 rows, by
        the C kernel over batch blocks; returned in keepdims shape (1, *1, C), g's dtype."""
        C = g.shape[-1]
        mv = _channel_vector(mean, C)
        blocks = _batch_blocks(g)
        out = xp.zeros((len(blocks), 2, C), xp.float64)            # per block: sum of g, sum of g (x - mean)
        _c_batch_blocks(lambda i, sl: ("cc_bn_grad_sums", g[sl].ctypes.data, x[sl].ctypes.data, g[sl].size // C, C,
                                       mv.ctypes.data, out[i, 0].ctypes.data, out[i, 1].ctypes.data), g, blocks)
        tot = _total(list(out)).astype(g.dtype)
        keep = (1,) * (g.ndim - 1) + (C,)
        return tot[0].reshape(keep), tot[1].reshape(keep)

    @staticmethod
    def _c_grad_input(x, g, gx, mean, c, k, cg):
        """gx = c g - (k (x - mean) + cg) over contiguous (N, *S, C) float32 rows, by the C kernel."""
        C = g.shape[-1]
        _c_batch_blocks(lambda i, sl: ("cc_bn_grad_input", g[sl].ctypes.data, x[sl].ctypes.data, gx[sl].ctypes.data,
                                       g[sl].size // C, C, mean.ctypes.data, c.ctypes.data, k.ctypes.data,
                                       cg.ctypes.data), g)

    def _backward_per_channel(self, xp, g):
        """The affine backward when ``weight`` is constant over ``axes``: the sums of g and g*xhat
        over ``axes`` serve both d weight / d bias and dx, and ``weight`` folds into per-channel
        coefficients, dx = c (g - mean g - xhat mean(g xhat)) with c = weight * inv_std."""
        xhat, inv_std, axes, w = self.xhat, self.inv_std, self.axes, self.weight
        s_g, s_gx = sum_over(g, axes), sum_over(g, axes, xhat)  # keepdims shape
        gw = _sum_to(s_gx, self.wshape) if self.needs_input_grad[1] else None
        gb = _sum_to(s_g, self.bshape) if self.needs_input_grad[2] else None
        gx = None
        if self.needs_input_grad[0]:
            c = (w * inv_std).astype(g.dtype, copy=False)
            gx = g * c
            if self.batch_stats:
                M = g.size // max(1, s_g.size)
                t = xhat * (c * s_gx / M).astype(g.dtype, copy=False)  # fresh temporary
                t += (c * s_g / M).astype(g.dtype, copy=False)
                gx -= t
        return gx, gw, gb


def _window(a, axis, weights, before, after):
    """sum_t weights[t] * a_padded[i + t] along ``axis`` (zero padding ``before``/``after``)."""
    xp = array_module(a)
    pads = [(0, 0)] * a.ndim
    pads[axis] = (before, after)
    ap = xp.pad(a, pads) if before or after else a
    n_out = ap.shape[axis] - len(weights) + 1
    out = None
    for t, w in enumerate(weights):  # a loop over the window offsets only
        sl = [slice(None)] * a.ndim
        sl[axis] = slice(t, t + n_out)
        term = ap[tuple(sl)] if w == 1 else ap[tuple(sl)] * a.dtype.type(w)
        out = term.copy() if out is None else out + term
    return out


class WindowSum1d(Function):
    """Weighted window sum along one axis with zero padding (a 1-D cross-correlation).

    ``out[i] = sum_t weights[t] * x[i + t - before]`` (outside ``x`` reads as 0), so with
    ``before + after = len(weights) - 1`` the length along ``axis`` is preserved. Needs
    ``before, after < len(weights)``.

    Backward:
        dL/dx = the correlation of dL/dy with the flipped window, zero padded by ``len(weights) - 1 - before``
        and ``len(weights) - 1 - after`` (the adjoint of a correlation).
    """

    def forward(self, x, axis=1, weights=(1.0,), before=0, after=0):
        self.axis, self.weights, self.before, self.after = axis, tuple(weights), before, after
        return _window(x, axis, self.weights, before, after)

    def backward(self, g):
        # the adjoint of a correlation is the correlation with the flipped window ("full" padding)
        k = len(self.weights)
        return _window(g, self.axis, self.weights[::-1], k - 1 - self.before, k - 1 - self.after)
