"""Pooling primitives: one N-d implementation (1d/2d/3d) of max, min and average pooling and of
the adaptive pools, each a ``Function`` with its hand-written backward beside the forward.

Windows are strided views of the (padded) input, one per kernel offset: for offset ``o`` along
an axis, ``x_pad[o*d : o*d + (out-1)*s + 1 : s]`` holds that offset's element of every window.
A pool is then a running max / sum over the ``prod(kernel_size)`` offsets, vectorised over batch,
channels and every output pixel (the only Python loop is over kernel offsets).

Arrays reaching these primitives are ``(*lead, *spatial)``: the leading axes (batch, channels,
or just channels for an unbatched input) are flattened into one axis ``B`` internally. The
arguments are already normalised to tuples by :mod:`convnet.functional.pool`, which checks them.
"""
from __future__ import annotations

import functools
import itertools
import math

from .._backend import array_module
from ..autograd import Function
from ..shapes import adaptive_bounds, pool_output_size
from . import _clib, _pool
from ._parallel import map_chunks, num_threads
from ._util import is_channels_last
from ..tensor import Tensor


class _Window:
    """Per-axis geometry of an N-d pooling window: kernel ``k``, stride ``s``, padding ``p``,
    dilation ``d``, input size ``n``, output size ``out`` (PyTorch's rule, incl. ``ceil_mode``)."""

    def __init__(self, spatial, kernel_size, stride, padding, dilation, ceil_mode):
        self.n, self.k, self.s, self.p, self.d = (tuple(spatial), kernel_size, stride, padding, dilation)
        self.out = tuple(pool_output_size(*a, ceil_mode) for a in zip(self.n, self.k, self.s, self.p, self.d))
        # right padding so that every window, including a ceil_mode overhang, fits in the padded array
        self.pads = tuple((p, max(0, (o - 1) * s + d * (k - 1) + 1 - n - p))
                          for n, k, s, p, d, o in zip(self.n, self.k, self.s, self.p, self.d, self.out))
        self.padded = any(a or b for a, b in self.pads)
        # kernel offsets in scan order and, for each, the index of its strided view (built once)
        self._offsets = tuple(itertools.product(*(range(k) for k in self.k)))
        self.indices = tuple(self._index(off) for off in self._offsets)

    def offsets(self):
        """Kernel offsets in PyTorch's scan order (last axis fastest)."""
        return iter(self._offsets)

    def _index(self, offset):
        return (slice(None),) + tuple(slice(o * d, o * d + (m - 1) * s + 1, s)
                                      for o, d, m, s in zip(offset, self.d, self.out, self.s))

    def view(self, a, offset):
        """``a[:, o*d : o*d + (out-1)*s + 1 : s, ...]``: this offset's element of every window."""
        return a[self._index(offset)]

    def pad(self, x, value):
        """``x`` (B, *n) padded to (B, *(p + n + right)) with ``value`` (no copy when unpadded)."""
        if not self.padded:
            return x
        xp = array_module(x)
        out = xp.full(x.shape[:1] + tuple(n + a + b for n, (a, b) in zip(self.n, self.pads)), value, x.dtype)
        out[self.inner()] = x
        return out

    def inner(self):
        """Index of the unpadded input inside the padded array."""
        return (slice(None),) + tuple(slice(a, a + n) for n, (a, _) in zip(self.n, self.pads))

    def scatter(self, contrib, like, out=None):
        """Padded-input gradient from per-offset window gradients: ``gpad[o*d + i*s] += part_o[i]``.

        ``contrib(code, offset, out)`` gives offset ``o``'s (B, *out) part (written into ``out`` when
        given). Offsets with the same residue ``o*d mod s`` land on the same strided lattice
        ``gpad[r::s]`` (shifted by ``q = o*d // s``), so they are summed there with contiguous
        shifted adds and each lattice is written once; a lone unshifted offset writes directly.
        ``out``: an unpadded pool's (B, *n) gradient array to write into (no padded copy).
        """
        xp = array_module(like)
        B = like.shape[0]
        padded = tuple(n + a + b for n, (a, b) in zip(self.n, self.pads))
        groups = {}
        for c, off in enumerate(self.offsets()):
            r = tuple(o * d % s for o, d, s in zip(off, self.d, self.s))
            groups.setdefault(r, []).append((c, off))
        covered = len(groups) == math.prod(self.s)  # every lattice is written: no zero fill needed
        if out is not None and not self.padded:
            gpad = out
            if not covered:
                gpad.fill(0)
        else:
            gpad = (xp.empty if covered else xp.zeros)((B,) + padded, like.dtype)
        for r, members in groups.items():
            lattice = gpad[(slice(None),) + tuple(slice(ri, None, s) for ri, s in zip(r, self.s))]  # (B, *L)
            shifts = [tuple(o * d // s for o, d, s in zip(off, self.d, self.s)) for _, off in members]
            if len(members) == 1 and not any(shifts[0]) and lattice.shape[1:] == self.out:
                contrib(*members[0], lattice)
                continue
            acc = xp.zeros(lattice.shape, like.dtype)
            for (c, off), q in zip(members, shifts):
                acc[(slice(None),) + tuple(slice(qi, qi + m) for qi, m in zip(q, self.out))] += contrib(c, off, None)
            lattice[...] = acc
        return gpad

    def first_valid_code(self, xp):
        """Code (flat kernel offset) of each window's first in-bounds element, shape (1, *out):
        PyTorch's initial arg-max, which only survives when the whole window is -inf."""
        code = 0
        for a, (n, k, s, p, d, m) in enumerate(zip(self.n, self.k, self.s, self.p, self.d, self.out)):
            before = xp.maximum(p - xp.arange(m) * s, 0)  # padded elements before the input starts
            o = xp.minimum((before + d - 1) // d, k - 1)  # first offset o with o*d >= before
            shape = [1] * (len(self.n) + 1)
            shape[a + 1] = m
            code = code * k + o.reshape(shape)
        return code

    def flat_indices(self, code):
        """Kernel-offset codes (B, *out) -> PyTorch's flat per-plane input indices, e.g.
        ``h * W + w`` for 2d (int64)."""
        xp = array_module(code)
        flat, rest = 0, code
        for a in reversed(range(len(self.n))):
            k, s, p, d, m = self.k[a], self.s[a], self.p[a], self.d[a], self.out[a]
            shape = [1] * (len(self.n) + 1)
            shape[a + 1] = m
            pos = xp.arange(m).reshape(shape) * s - p + (rest % k) * d  # input coordinate on axis a
            flat = flat + pos * math.prod(self.n[a + 1:])
            rest = rest // k
        return flat.astype("int64")


@functools.lru_cache(maxsize=256)
def _window(spatial, kernel_size, stride, padding, dilation, ceil_mode):
    """The (read-only) :class:`_Window` of one geometry, built once: repeated calls of a layer
    (inference at batch 1 is mostly this Python bookkeeping) reuse it."""
    return _Window(spatial, kernel_size, stride, padding, dilation, ceil_mode)


# Below this many bytes of (padded) input, threads cost more than they save: run inline.
PARALLEL_MIN_BYTES = 1 << 20


def _batch_slices(b, nbytes=None):
    """One batch slice per worker thread (pooling is memory-bound: equal shares suffice);
    a single slice when ``nbytes`` of input are too few to be worth the threads."""
    if b == 0:
        return [slice(0, 0)]
    if nbytes is not None and nbytes < PARALLEL_MIN_BYTES:
        return [slice(0, b)]
    step = -(-b // min(num_threads(), b))
    return [slice(i, min(i + step, b)) for i in range(0, b, step)]


def _flatten_lead(x, nd):
    """(*lead, *spatial) -> (B, *spatial) with B = prod(lead)."""
    return x.reshape((math.prod(x.shape[:-nd]),) + x.shape[-nd:])


def _scan_argmax(w, xpad, largest):
    """PyTorch's scan over window elements: take ``v`` when ``v > best`` (``<`` for min) or ``v`` is
    NaN, so ties keep the first element and a NaN the last. Returns (best, code)."""
    xp = array_module(xpad)
    fill = -math.inf if largest else math.inf
    best = xp.full(xpad.shape[:1] + w.out, fill, xpad.dtype)
    code = xp.broadcast_to(w.first_valid_code(xp), best.shape).astype(xp.int32)
    for c, off in enumerate(w.offsets()):
        v = w.view(xpad, off)
        upd = (v > best) if largest else (v < best)
        upd |= xp.isnan(v)
        xp.copyto(best, v, where=upd)
        xp.copyto(code, c, where=upd)
    return best, code


class MaxPoolNd(Function):
    """Max (or min, ``largest=False``) pooling over N spatial axes; padding is -inf (+inf).

    Backward:
        dL/dx = dL/dy routed to each window's arg-max (arg-min for ``largest=False``; first winner in scan
        order on ties), zero elsewhere, summed where windows overlap.
    """

    def forward(self, x, kernel_size=(), stride=(), padding=(), dilation=(), ceil_mode=False,
                largest=True, indices_out=None):
        xp = array_module(x)
        nd = len(kernel_size)
        self.shape, self.largest = x.shape, largest
        w = self.w = _window(x.shape[-nd:], kernel_size, stride, padding, dilation, ceil_mode)
        self.c_pool = None
        if largest and indices_out is None:
            c_out = _c_maxpool2d_forward(x, w)
            if c_out is not None:
                out, self.c_pool = c_out
                return out
        xpad = w.pad(_flatten_lead(x, nd), -math.inf if largest else math.inf)  # (B, *padded)
        self.code = None
        if indices_out is not None:  # the exact scan gives the arg-max codes as well
            out, self.code = _scan_argmax(w, xpad, largest)
            indices_out.append(w.flat_indices(self.code).reshape(x.shape[:-nd] + w.out))
        else:
            better = xp.maximum if largest else xp.minimum  # both propagate NaN, like PyTorch
            out = xp.empty(xpad.shape[:1] + w.out, xpad.dtype)  # (B, *out)
            first, *rest = w.indices

            def work(sl):  # a batch chunk: running max over the kernel offsets
                acc, xs = out[sl], xpad[sl]
                if not rest:
                    acc[...] = xs[first]
                    return
                better(xs[first], xs[rest[0]], out=acc)
                for idx in rest[1:]:
                    better(acc, xs[idx], out=acc)
            map_chunks(xp, work, _batch_slices(xpad.shape[0], xpad.nbytes), xpad.nbytes, PARALLEL_MIN_BYTES)
        self.xpad, self.out = xpad, out
        return out.reshape(x.shape[:-nd] + w.out)

    def backward(self, grad_out):
        # dL/dx = dL/dy routed to the arg-max of each window only (zero elsewhere), summed over windows
        if self.c_pool is not None:
            return _c_maxpool2d_backward(grad_out, self.shape, self.w, *self.c_pool)
        xp = array_module(grad_out)
        w = self.w
        g = _flatten_lead(grad_out, len(w.k))  # (B, *out)
        fill = -math.inf if self.largest else math.inf
        if self.code is None and not xp.isnan(self.out).any() and not (self.out == fill).any():
            # winners by equality; a tie goes to the first winner in scan order (as PyTorch's
            # scan does), tracked with a "claimed" mask over the offsets in scan order
            gx = _pool.empty(xp, (g.shape[0],) + w.n, g.dtype)  # (B, *n)

            def work(sl):  # a batch chunk of the routing and scatter
                won, claimed, gs = [], None, g[sl]
                for off in w.offsets():
                    m = w.view(self.xpad[sl], off) == self.out[sl]  # (b, *out)
                    if claimed is None:
                        claimed = m.copy()
                    else:
                        xp.greater(m, claimed, out=m)  # m and not claimed
                        claimed |= m
                    won.append(m)
                gpad = w.scatter(lambda c, off, out: xp.multiply(won[c], gs, out=out), gs, out=gx[sl])
                if w.padded:
                    gx[sl] = gpad[w.inner()]
            map_chunks(xp, work, _batch_slices(g.shape[0], self.xpad.nbytes), self.xpad.nbytes,
                       PARALLEL_MIN_BYTES)
            return gx.reshape(self.shape)
        if self.code is None:  # NaN or an all-padding-valued window: the exact scan
            _, self.code = _scan_argmax(w, self.xpad, self.largest)
        gpad = w.scatter(lambda c, off, out: xp.multiply(self.code == c, g, out=out), g)
        return gpad[w.inner()].reshape(self.shape)


# Fewest input bytes for the C max-pool kernels: below, their fixed cost (~5 us a call) loses to
# NumPy's few calls (LeNet-5 inference at batch 1: 18 KB, 42 vs 37 us; 150 KB: 75 vs 82 us).
C_POOL_MIN_BYTES = 1 << 16


def _c_pool_layout(x, w):
    """'planes' (C-contiguous, any leading axes) or 'last' (channels-last (N, C, H, W)) when the C
    max-pool kernels (``_cpool.c``) serve ``x``: float32 NumPy, >= ``C_POOL_MIN_BYTES``, 2-D
    unpadded windows (no ceil-mode overhang), dilation 1; else None."""
    if (len(w.k) != 2 or w.padded or any(d != 1 for d in w.d) or x.nbytes < C_POOL_MIN_BYTES
            or not _clib.takes(x)):
        return None
    if x.flags.c_contiguous:
        return "planes"
    if x.ndim == 4 and is_channels_last(x):
        return "last"
    return None


def _c_pool_geometry(xp, w):
    return xp.array(w.n + w.out + tuple(w.k) + tuple(w.s), dtype=xp.int64)  # H, W, OH, OW, kh, kw, sh, sw


def _c_maxpool2d_forward(x, w):
    """Max pooling by the C kernels: (output in x's layout, (layout, winners' window offsets,
    geometry)), or None where they do not apply. Batch slices run on the worker pool."""
    layout = _c_pool_layout(x, w)
    if layout is None:
        return None
    xp = array_module(x)
    geo = _c_pool_geometry(xp, w)
    if layout == "planes":
        src = _flatten_lead(x, 2)                                            # (*lead, H, W) -> (B, H, W)
        out = _pool.empty(xp, src.shape[:1] + w.out, x.dtype)
        code = _pool.empty(xp, out.shape, xp.int32)

        def call(sl):
            return ("cc_maxpool2d_planes_forward", src[sl].ctypes.data, out[sl].ctypes.data, code[sl].ctypes.data,
                    out[sl].shape[0], geo.ctypes.data)
        result = out.reshape(x.shape[:-2] + w.out)                           # (B, OH, OW) -> (*lead, OH, OW)
    else:
        src = xp.moveaxis(x, 1, -1)                                          # (N, C, H, W) -> (N, H, W, C) view
        C = src.shape[-1]
        out = _pool.empty(xp, src.shape[:1] + w.out + (C,), x.dtype)
        code = _pool.empty(xp, out.shape, xp.int32)

        def call(sl):
            return ("cc_maxpool2d_last_forward", src[sl].ctypes.data, out[sl].ctypes.data, code[sl].ctypes.data,
                    out[sl].shape[0], C, geo.ctypes.data)
        result = xp.moveaxis(out, -1, 1)                                     # (N, OH, OW, C) viewed as (N, C, OH, OW)
    _clib.run([[call(sl)] for sl in _batch_slices(src.shape[0], src.nbytes)], src.nbytes >= PARALLEL_MIN_BYTES)
    return result, (layout, code, geo)


def _c_maxpool2d_backward(grad_out, shape, w, layout, code, geo):
    """Each output's gradient added onto its window's winner (the forward's ``code``), by the C
    kernels; the input gradient has the input's layout."""
    xp = array_module(grad_out)
    g = grad_out.astype(xp.float32, copy=False)
    if layout == "planes":
        gs = xp.ascontiguousarray(g.reshape(code.shape))                    # (*lead, OH, OW) -> (B, OH, OW)
        gx = _pool.empty(xp, code.shape[:1] + w.n, xp.float32)

        def call(sl):
            return ("cc_maxpool2d_planes_backward", gs[sl].ctypes.data, code[sl].ctypes.data, gx[sl].ctypes.data,
                    gs[sl].shape[0], geo.ctypes.data)
        result = gx.reshape(shape)                                           # (B, H, W) -> (*lead, H, W)
    else:
        gs = xp.ascontiguousarray(xp.moveaxis(g, 1, -1))                     # (N, C, OH, OW) -> (N, OH, OW, C)
        C = gs.shape[-1]
        gx = _pool.empty(xp, code.shape[:1] + w.n + (C,), xp.float32)

        def call(sl):
            return ("cc_maxpool2d_last_backward", gs[sl].ctypes.data, code[sl].ctypes.data, gx[sl].ctypes.data,
                    gs[sl].shape[0], C, geo.ctypes.data)
        result = xp.moveaxis(gx, -1, 1)                                      # (N, H, W, C) viewed as (N, C, H, W)
    _clib.run([[call(sl)] for sl in _batch_slices(gx.shape[0], gx.nbytes)], gx.nbytes >= PARALLEL_MIN_BYTES)
    return result


def _avg_divisor(w, count_include_pad, divisor_override, xp, dtype):
    """PyTorch's divisor per window, shape (1, *out) or a scalar: with ``count_include_pad`` the
    window clipped to the padded border ``[-p, n + p)``, else clipped to the input ``[0, n)``."""
    if divisor_override:
        return divisor_override
    div = 1
    for a, (n, k, s, p, m) in enumerate(zip(w.n, w.k, w.s, w.p, w.out)):
        start = xp.arange(m) * s - p
        end = xp.minimum(start + k, n + p)
        size = end - start if count_include_pad else xp.minimum(end, n) - xp.maximum(start, 0)
        shape = [1] * (len(w.n) + 1)
        shape[a + 1] = m
        div = div * size.reshape(shape)
    if int(div.min()) == int(div.max()):
        return int(div.max())
    return div.astype(dtype)


class AvgPoolNd(Function):
    """Average pooling over N spatial axes; zero padding, PyTorch's divisor rule.

    Backward:
        dL/dx_i = sum over the windows w containing i of dL/dy_w / divisor_w (spread evenly).
    """

    def forward(self, x, kernel_size=(), stride=(), padding=(), ceil_mode=False, count_include_pad=True,
                divisor_override=None):
        xp = array_module(x)
        nd = len(kernel_size)
        self.shape = x.shape
        w = self.w = _window(x.shape[-nd:], kernel_size, stride, padding, (1,) * nd, ceil_mode)
        xpad = w.pad(_flatten_lead(x, nd), 0)  # (B, *padded)
        acc = None
        for off in w.offsets():
            v = w.view(xpad, off)
            acc = v.copy() if acc is None else xp.add(acc, v, out=acc)
        self.div = _avg_divisor(w, count_include_pad, divisor_override, xp, x.dtype)
        xp.divide(acc, self.div, out=acc, casting="unsafe")
        return acc.reshape(x.shape[:-nd] + w.out)

    def backward(self, grad_out):
        # dL/dx = sum over the windows containing x of dL/dy / divisor (spread evenly)
        xp = array_module(grad_out)
        w = self.w
        g = (_flatten_lead(grad_out, len(w.k)) / self.div).astype(grad_out.dtype, copy=False)  # (B, *out)
        gpad = w.scatter(lambda c, off, out: g if out is None else xp.copyto(out, g), g)
        return gpad[w.inner()].reshape(self.shape)


def _along(y, axis, fn):
    """Apply ``fn`` to ``y`` with ``axis`` moved last, then move it back."""
    xp = array_module(y)
    return xp.moveaxis(fn(xp.moveaxis(y, axis, -1)), -1, axis)


def _adaptive_matrix(n, o, xp, dtype):
    """(o, n) averaging matrix: row i is 1/len on window i = [floor(i n/o), ceil((i+1) n/o))."""
    bounds = xp.asarray(adaptive_bounds(n, o), dtype="int64").reshape(o, 2)
    start, end = bounds[:, :1], bounds[:, 1:]  # (o, 1) each
    cols = xp.arange(n)
    return (((cols >= start) & (cols < end)) / (end - start)).astype(dtype)


class AdaptiveAvgPoolNd(Function):
    """Adaptive average pooling: separable, one linear map per spatial axis (a reshape-mean when
    the size divides, else an (out, in) averaging matrix).

    Backward:
        dL/dx = A^T dL/dy along each axis, A the (out, in) averaging matrix.
    """

    def forward(self, x, output_size=()):
        nd = len(output_size)
        self.shape, self.sizes = x.shape, tuple(zip(x.shape[-nd:], output_size))
        if all(o == 1 for o in output_size):  # global average pooling: one reduction, in x's layout
            lead, ones = x.shape[:-nd], (1,) * nd
            if is_channels_last(x) and x.ndim == nd + 2:
                rows = array_module(x).moveaxis(x, 1, -1).reshape(x.shape[0], -1, x.shape[1])  # (N, *S, C) -> (N, L, C)
                return rows.mean(axis=1).reshape(lead + ones)                # (N, C) -> (N, C, *1)
            if x.flags.c_contiguous:
                return x.reshape(lead + (-1,)).mean(axis=-1).reshape(lead + ones)  # (*lead, *S) -> (*lead, L)
        y = _flatten_lead(x, nd)  # (B, *n)
        for a, (n, o) in enumerate(self.sizes):
            y = _adaptive_avg_axis(y, a + 1, n, o, forward=True)
        return y.reshape(x.shape[:-nd] + tuple(output_size))

    def backward(self, grad_out):
        # dL/dx = A^T dL/dy along each axis (the transpose of each axis' averaging map)
        g = _flatten_lead(grad_out, len(self.sizes))  # (B, *out)
        for a, (n, o) in enumerate(self.sizes):
            g = _adaptive_avg_axis(g, a + 1, n, o, forward=False)
        return array_module(g).ascontiguousarray(g.reshape(self.shape))  # no broadcast views leak out


def _adaptive_avg_axis(y, axis, n, o, forward):
    """Average ``y`` along ``axis`` from n to o (``forward``) or apply the transpose (backward)."""
    xp = array_module(y)
    if o and n % o == 0:  # equal windows of r = n/o
        r = n // o
        if forward:  # (..., n, ...) -> (..., o, r, ...) -> mean over r
            return y.reshape(y.shape[:axis] + (o, r) + y.shape[axis + 1:]).mean(axis=axis + 1)
        g = xp.broadcast_to(xp.expand_dims(y / r, axis + 1), y.shape[:axis] + (o, r) + y.shape[axis + 1:])
        return g.reshape(y.shape[:axis] + (n,) + y.shape[axis + 1:])  # (..., o, r, ...) -> (..., n, ...)
    A = _adaptive_matrix(n, o, xp, y.dtype)  # (o, n)
    return _along(y, axis, (lambda t: t @ A.T) if forward else (lambda t: t @ A))


class AdaptiveMaxPoolNd(Function):
    """Adaptive max pooling, separable: reduce the last axis first, then the previous ones,
    carrying the arg-max positions, which reproduces PyTorch's row-major scan (first max wins,
    a NaN wins over everything and the last NaN is kept).

    Backward:
        dL/dx = dL/dy scatter-added at each window's arg-max.
    """

    def forward(self, x, output_size=(), indices_out=None):
        xp = array_module(x)
        nd = len(output_size)
        spatial = x.shape[-nd:]
        self.shape = x.shape
        y = _flatten_lead(x, nd)  # (B, *n), becomes (B, *n[:a], *out[a:]) as axes are reduced
        pos = []  # pos[j]: input coordinate along axis j of each current element
        for a in reversed(range(nd)):
            y, idx = _adaptive_max_axis(y, a + 1, spatial[a], output_size[a])
            pos = [xp.take_along_axis(q, idx, axis=a + 1) for q in pos]
            pos.insert(0, idx)
        flat = 0
        for j in range(nd):  # PyTorch's flat per-plane index, e.g. h * W + w
            flat = flat * spatial[j] + pos[j]
        self.flat = xp.asarray(flat, dtype="int64")
        if indices_out is not None:
            indices_out.append(self.flat.reshape(x.shape[:-nd] + tuple(output_size)))
        return y.reshape(x.shape[:-nd] + tuple(output_size))

    def backward(self, grad_out):
        # dL/dx = dL/dy added at each window's arg-max (windows may overlap: scatter-add)
        xp = array_module(grad_out)
        B = self.flat.shape[0]
        plane = math.prod(self.shape[len(self.shape) - self.flat.ndim + 1:])
        idx = self.flat + xp.arange(B).reshape((B,) + (1,) * (self.flat.ndim - 1)) * plane
        g = xp.bincount(idx.ravel(), weights=grad_out.ravel(), minlength=B * plane)
        return g.astype(grad_out.dtype, copy=False).reshape(self.shape)


def _adaptive_max_axis(y, axis, n, o):
    """Max of ``y`` over the adaptive windows of ``axis``: returns (values, arg-max positions)."""
    xp = array_module(y)
    bounds = adaptive_bounds(n, o)
    start = xp.asarray([a for a, _ in bounds], dtype="int64")
    last = xp.asarray([b - 1 for _, b in bounds], dtype="int64")
    span = max((b - a for a, b in bounds), default=0)
    shape = [1] * y.ndim
    shape[axis] = o
    best = pos = None
    for j in range(span):  # offsets inside the window; short windows repeat their last element
        idx = xp.minimum(start + j, last)
        v = xp.take(y, idx, axis=axis)
        if best is None:
            best, pos = v, xp.broadcast_to(idx.reshape(shape), v.shape).copy()
            continue
        upd = (v > best) | xp.isnan(v)
        xp.copyto(best, v, where=upd)
        xp.copyto(pos, xp.broadcast_to(idx.reshape(shape), v.shape), where=upd)
    if best is None:  # o == 0: empty output
        out_shape = y.shape[:axis] + (0,) + y.shape[axis + 1:]
        return xp.empty(out_shape, y.dtype), xp.empty(out_shape, "int64")
    return best, pos


# ---------------------------------------------------------------------------------------------
# Entry points on Tensors (arguments already normalised to tuples by convnet.functional.pool)

def max_pool(x, kernel_size, stride, padding, dilation, ceil_mode=False, return_indices=False,
             largest=True):
    """Max (``largest``) or min pooling over the last ``len(kernel_size)`` axes of ``x``."""
    sink = [] if return_indices else None
    out = MaxPoolNd.apply(x, kernel_size=tuple(kernel_size), stride=tuple(stride), padding=tuple(padding),
                          dilation=tuple(dilation), ceil_mode=bool(ceil_mode), largest=largest,
                          indices_out=sink)
    return (out, Tensor._wrap(sink[0], False)) if return_indices else out


def avg_pool(x, kernel_size, stride, padding, ceil_mode=False, count_include_pad=True, divisor_override=None):
    """Average pooling over the last ``len(kernel_size)`` axes of ``x``."""
    return AvgPoolNd.apply(x, kernel_size=tuple(kernel_size), stride=tuple(stride), padding=tuple(padding),
                           ceil_mode=bool(ceil_mode), count_include_pad=bool(count_include_pad),
                           divisor_override=divisor_override)


def adaptive_avg_pool(x, output_size):
    return AdaptiveAvgPoolNd.apply(x, output_size=tuple(output_size))


def adaptive_max_pool(x, output_size, return_indices=False):
    sink = []
    out = AdaptiveMaxPoolNd.apply(x, output_size=tuple(output_size), indices_out=sink)
    return (out, Tensor._wrap(sink[0], False)) if return_indices else out


__all__ = ["MaxPoolNd", "AvgPoolNd", "AdaptiveAvgPoolNd", "AdaptiveMaxPoolNd", "max_pool", "avg_pool",
           "adaptive_avg_pool", "adaptive_max_pool"]
