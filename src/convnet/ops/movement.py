"""Shape and data-movement primitives: reshape, permute, expand, indexing, cat, pad."""
from __future__ import annotations

import numbers

from .._backend import array_module
from ..autograd import Function
from ..tensor import Tensor
from ._util import as_tensor, channels_minor, normalize_dim, raw, raw_index
from ..errors import ShapeError


class Reshape(Function):
    def forward(self, a, shape=()):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, g):
        return g.reshape(self.shape)


class Permute(Function):
    def forward(self, a, dims=()):
        self.dims = dims
        return a.transpose(dims)

    def backward(self, g):  # apply the inverse permutation
        inv = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inv[d] = i
        return g.transpose(inv)


class Expand(Function):
    def forward(self, a, shape=()):
        self.shape = a.shape
        return array_module(a).broadcast_to(a, shape)

    def backward(self, g):
        from ._util import unbroadcast

        return unbroadcast(g, self.shape)


def _full(xp, shape, value, dtype, channels_last):
    """``xp.full(shape, value)``, laid out channels-last when asked (``shape`` is (N, C, *S))."""
    if not channels_last:
        return xp.full(shape, value, dtype=dtype)
    last = xp.full((shape[0],) + tuple(shape[2:]) + (shape[1],), value, dtype=dtype)
    return xp.moveaxis(last, -1, 1)                               # (N, *S, C) viewed as (N, C, *S)


class GetItem(Function):
    """Basic and advanced indexing; the gradient scatters back (adding at repeated indices)."""

    def forward(self, a, idx=None):
        self.shape, self.dtype, self.idx, self.last = a.shape, a.dtype, idx, channels_minor(a)
        return a[idx]

    def backward(self, g):
        xp = array_module(g)
        out = _full(xp, self.shape, 0, g.dtype, self.last)        # in the input's layout
        if _is_basic(self.idx):  # slices never repeat an element: plain assignment
            out[self.idx] = g
        else:
            xp.add.at(out, self.idx, g)
        return out


def _is_basic(idx):
    parts = idx if isinstance(idx, tuple) else (idx,)
    return all(isinstance(p, (numbers.Integral, slice)) or p is None or p is Ellipsis for p in parts)


class Cat(Function):
    def forward(self, *arrays, dim=0):
        self.dim = dim
        self.sizes = [a.shape[dim] for a in arrays]
        return array_module(*arrays).concatenate(arrays, axis=dim)

    def backward(self, g):  # split the gradient back along dim
        xp = array_module(g)
        bounds, acc = [], 0
        for s in self.sizes[:-1]:
            acc += s
            bounds.append(acc)
        return tuple(xp.split(g, bounds, axis=self.dim))


class Pad(Function):
    """Constant padding; ``pads`` is ((before, after), ...) per dim (negative crops)."""

    def forward(self, a, pads=(), value=0.0):
        xp = array_module(a)
        self.shape = a.shape
        grow = tuple((max(b, 0), max(e, 0)) for b, e in pads)
        out = a
        if any(map(any, grow)):  # the input's layout (channels-last stays so)
            out = _full(xp, tuple(n + b + e for n, (b, e) in zip(a.shape, grow)), value, a.dtype,
                        channels_minor(a))
            out[tuple(slice(b, b + n) for n, (b, _) in zip(a.shape, grow))] = a
        crop = tuple(slice(-min(b, 0), out.shape[i] + min(e, 0)) for i, (b, e) in enumerate(pads))
        self.grow, self.crop = grow, crop
        return out[crop]

    def backward(self, g):  # slice the padded border away (zeros where it was cropped)
        xp = array_module(g)
        full = _full(xp, tuple(s + b + e for s, (b, e) in zip(self.shape, self.grow)), 0, g.dtype,
                     channels_minor(g))
        full[self.crop] = g
        sl = tuple(slice(b, b + s) for s, (b, _) in zip(self.shape, self.grow))
        return full[sl]


# ---------------------------------------------------------------------- functional API
def reshape(a, shape):
    shape = tuple(shape)
    if shape.count(-1) > 1:
        raise ShapeError(f"reshape: only one dimension can be -1, got {shape}")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if (-1 in shape and (known == 0 or a.numel() % known)) or (-1 not in shape and known != a.numel()):
        raise ShapeError(f"reshape: shape {shape} is invalid for input of size {a.numel()} (shape {a.shape})")
    return Reshape.apply(a, shape=shape)


view = reshape


def flatten(a, start_dim=0, end_dim=-1):
    shape = a._data.shape
    if not shape:
        return reshape(a, (1,))
    s, e = normalize_dim(start_dim, len(shape)), normalize_dim(end_dim, len(shape))
    if s > e:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    n = 1
    for d in shape[s:e + 1]:
        n *= d
    return Reshape.apply(a, shape=shape[:s] + (n,) + shape[e + 1:])  # same size by construction


def permute(a, dims):
    dims = tuple(normalize_dim(d, a.ndim) for d in dims)
    if sorted(dims) != list(range(a.ndim)):
        raise ShapeError(f"permute: dims {dims} are not a permutation of {a.ndim} dimensions")
    return Permute.apply(a, dims=dims)


def transpose(a, dim0, dim1):
    dims = list(range(a.ndim))
    d0, d1 = normalize_dim(dim0, a.ndim), normalize_dim(dim1, a.ndim)
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply(a, dims=tuple(dims))


def unsqueeze(a, dim):
    d = normalize_dim(dim, a.ndim + 1)
    return reshape(a, a.shape[:d] + (1,) + a.shape[d:])


def squeeze(a, dim=None):
    if dim is None:
        return reshape(a, tuple(s for s in a.shape if s != 1))
    dims = (dim,) if isinstance(dim, int) else dim
    dims = {normalize_dim(d, a.ndim) for d in dims}
    return reshape(a, tuple(s for i, s in enumerate(a.shape) if not (i in dims and s == 1)))


def expand(a, shape):
    shape = tuple(a.shape[i - (len(shape) - a.ndim)] if s == -1 else s for i, s in enumerate(shape))
    return Expand.apply(a, shape=shape)


def getitem(a, idx):
    idx = raw_index(idx)
    return GetItem.apply(a, idx=idx)


def cat(tensors, dim=0):
    """Concatenate along an existing dim (``torch.cat``)."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ShapeError("cat: expected a non-empty list of tensors")
    d = normalize_dim(dim, tensors[0].ndim)
    for i, t in enumerate(tensors[1:], 1):
        if t.ndim != tensors[0].ndim or any(
                s != s0 for j, (s, s0) in enumerate(zip(t.shape, tensors[0].shape)) if j != d):
            raise ShapeError(f"cat: sizes of tensors must match except in dimension {d}: "
                             f"tensor 0 has shape {tensors[0].shape}, tensor {i} has shape {t.shape}")
    return Cat.apply(*tensors, dim=d)


concatenate = cat


def stack(tensors, dim=0):
    """Join along a new dim (``torch.stack``)."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ShapeError("stack: expected a non-empty list of tensors")
    for i, t in enumerate(tensors[1:], 1):
        if t.shape != tensors[0].shape:
            raise ShapeError(f"stack: expects each tensor to be equal size, but got {tensors[0].shape} "
                             f"at entry 0 and {t.shape} at entry {i}")
    return cat([unsqueeze(t, dim) for t in tensors], dim)


def pad(a, pad, mode="constant", value=0.0):
    """``torch.nn.functional.pad``: ``pad`` lists (left, right) pairs starting from the LAST dim.

    Modes: 'constant' (differentiable, negative values crop), 'reflect', 'replicate', 'circular'.

    Backward:
        'constant': dL/dx = dL/dy with the padded border sliced away (zeros where negative padding cropped);
        'reflect', 'replicate', 'circular' are an index gather, so each output's gradient is added onto the
        input element it copied.
    """
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > a.ndim:
        raise ShapeError(f"pad: padding length must be even and at most 2*ndim={2 * a.ndim}, got {len(pad)}")
    pairs = [(0, 0)] * a.ndim
    for i in range(len(pad) // 2):
        pairs[a.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode == "constant":
        return Pad.apply(a, pads=tuple(pairs), value=value)
    np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}.get(mode)
    if np_mode is None:
        raise ShapeError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    # Non-constant modes are an index gather, so indexing's backward serves them.
    xp = array_module(a._data)
    idx = []
    for ax, (b, e) in enumerate(pairs):
        n = a.shape[ax]
        if mode == "reflect" and (b >= n or e >= n):
            raise ShapeError(f"pad: reflect padding ({b}, {e}) must be smaller than the dimension size {n}")
        ar = xp.arange(n)
        idx.append(xp.pad(ar, (b, e), mode=np_mode))
    return getitem(a, xp.ix_(*idx))



def repeat(a, sizes):
    """``torch.Tensor.repeat``: tile the tensor ``sizes[i]`` times along each dim (composite)."""
    sizes = tuple(sizes)
    if len(sizes) < a.ndim:
        raise ShapeError(f"repeat: number of repeat dims {len(sizes)} can not be smaller than the tensor's {a.ndim}")
    a = reshape(a, (1,) * (len(sizes) - a.ndim) + a.shape)
    for d, r in enumerate(sizes):
        if r != 1:
            a = cat([a] * r, d) if r > 0 else getitem(a, (slice(None),) * d + (slice(0, 0),))
    return a


def split(a, split_size, dim=0):
    """``torch.split``: chunks of ``split_size`` (int) or of the listed sizes along ``dim``."""
    d = normalize_dim(dim, a.ndim)
    n = a.shape[d]
    if isinstance(split_size, numbers.Integral):
        sizes = [min(split_size, n - s) for s in range(0, n, split_size)]
    else:
        sizes = list(split_size)
        if sum(sizes) != n:
            raise ShapeError(f"split: split sizes {sizes} must sum to the dimension size {n}")
    out, start = [], 0
    for s in sizes:
        out.append(getitem(a, (slice(None),) * d + (slice(start, start + s),)))
        start += s
    return tuple(out)


def chunk(a, chunks, dim=0):
    n = a.shape[normalize_dim(dim, a.ndim)]
    return split(a, max(-(-n // chunks), 1), dim)
