"""Reductions: sum, mean, max, min (with ``dim``/``keepdim`` as in PyTorch)."""
from __future__ import annotations

import builtins
from collections import namedtuple

from .._backend import array_module
from ..autograd import Function
from ..tensor import Tensor
from ._util import normalize_dim

return_types_max = namedtuple("max", ["values", "indices"])
return_types_min = namedtuple("min", ["values", "indices"])


def _axes(dim, ndim):
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return tuple(sorted(normalize_dim(d, ndim) for d in dims))


def _keep(g, axes, keepdim):
    """Re-insert reduced axes of size 1 so ``g`` broadcasts against the input."""
    if keepdim or not axes:
        return g
    xp = array_module(g)
    return xp.expand_dims(g, axes)


class Sum(Function):
    def forward(self, a, axes=(), keepdim=False):
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        return a.sum(axis=axes, keepdims=keepdim)

    def backward(self, g):  # every summed element receives the upstream gradient
        xp = array_module(g)
        return xp.broadcast_to(_keep(g, self.axes, self.keepdim), self.shape)


class Mean(Function):
    def forward(self, a, axes=(), keepdim=False):
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        self.count = 1
        for ax in axes:
            self.count *= a.shape[ax]
        return a.mean(axis=axes, keepdims=keepdim)

    def backward(self, g):  # spread evenly: 1/count each
        xp = array_module(g)
        return xp.broadcast_to(_keep(g, self.axes, self.keepdim) / self.count, self.shape)


class Amax(Function):
    """Max over ``axes``; the gradient is shared evenly among tied maxima (as torch.amax)."""

    def forward(self, a, axes=(), keepdim=False, largest=True):
        xp = array_module(a)
        out = a.max(axis=axes, keepdims=True) if largest else a.min(axis=axes, keepdims=True)
        self.mask = a == out
        self.axes, self.keepdim = axes, keepdim
        return out if keepdim else xp.squeeze(out, axis=axes)

    def backward(self, g):
        g = _keep(g, self.axes, self.keepdim)
        count = self.mask.sum(axis=self.axes, keepdims=True)
        return self.mask * (g / count)


class MaxDim(Function):
    """Max along one dim returning values; the gradient goes to the arg-max index only."""

    def forward(self, a, dim=0, keepdim=False, largest=True):
        xp = array_module(a)
        idx = a.argmax(axis=dim) if largest else a.argmin(axis=dim)
        self.idx = xp.expand_dims(idx, dim)
        self.shape, self.dim, self.keepdim = a.shape, dim, keepdim
        vals = xp.take_along_axis(a, self.idx, axis=dim)
        return vals if keepdim else xp.squeeze(vals, axis=dim)

    def backward(self, g):
        xp = array_module(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        if not self.keepdim:
            g = xp.expand_dims(g, self.dim)
        xp.put_along_axis(out, self.idx, g, axis=self.dim)
        return out


def sum(a, dim=None, keepdim=False):
    return Sum.apply(a, axes=_axes(dim, a.ndim), keepdim=keepdim)


def mean(a, dim=None, keepdim=False):
    if a.dtype.kind != "f":
        raise TypeError(f"mean: input dtype should be floating point, got {a.dtype}")
    return Mean.apply(a, axes=_axes(dim, a.ndim), keepdim=keepdim)


def var(a, dim=None, keepdim=False, unbiased=True):
    """Variance composed of primitives (so it needs no backward of its own)."""
    axes = _axes(dim, a.ndim)
    n = 1
    for ax in axes:
        n *= a.shape[ax]
    d = a - mean(a, axes, keepdim=True)
    return sum(d * d, axes, keepdim) / builtins.max(n - (1 if unbiased else 0), 0)


def _extreme(a, dim, keepdim, largest):
    if dim is None:
        return Amax.apply(a, axes=_axes(None, a.ndim), keepdim=False, largest=largest)
    d = normalize_dim(dim, a.ndim)
    values = MaxDim.apply(a, dim=d, keepdim=keepdim, largest=largest)
    idx = a._data.argmax(axis=d) if largest else a._data.argmin(axis=d)
    if keepdim:
        idx = array_module(idx).expand_dims(idx, d)
    kind = return_types_max if largest else return_types_min
    return kind(values, Tensor._wrap(idx.astype("int64"), False))


def max(a, dim=None, keepdim=False):
    """``max(a)`` -> scalar; ``max(a, dim)`` -> ``(values, indices)`` like torch.max."""
    return _extreme(a, dim, keepdim, True)


def min(a, dim=None, keepdim=False):
    return _extreme(a, dim, keepdim, False)


def amax(a, dim=None, keepdim=False):
    return Amax.apply(a, axes=_axes(dim, a.ndim), keepdim=keepdim, largest=True)


def amin(a, dim=None, keepdim=False):
    return Amax.apply(a, axes=_axes(dim, a.ndim), keepdim=keepdim, largest=False)


def _arg_extreme(a, dim, keepdim, name):
    if dim is None:
        return Tensor._wrap(array_module(a._data).asarray(getattr(a._data, name)()).astype("int64"), False)
    d = normalize_dim(dim, a.ndim)
    idx = getattr(a._data, name)(axis=d)
    if keepdim:
        idx = array_module(idx).expand_dims(idx, d)
    return Tensor._wrap(idx.astype("int64"), False)


def argmax(a, dim=None, keepdim=False):
    """Index of the largest value (flattened when ``dim`` is None); no gradient."""
    return _arg_extreme(a, dim, keepdim, "argmax")


def argmin(a, dim=None, keepdim=False):
    return _arg_extreme(a, dim, keepdim, "argmin")
