"""Sorting and selection: ``sort``, ``topk`` (values differentiable, indices int64), ``unique``.

The values are gathered from the input along ``dim`` by one primitive whose backward puts the
upstream gradient back at the gathered positions (each position is picked at most once).
"""
from __future__ import annotations

from collections import namedtuple

from .._backend import array_module
from ..autograd import Function
from ..errors import ShapeError
from ..tensor import Tensor
from ._util import normalize_dim

return_types_sort = namedtuple("sort", ["values", "indices"])
return_types_topk = namedtuple("topk", ["values", "indices"])


class TakeAlongDim(Function):
    """``out = take_along_axis(a, idx, dim)`` for indices that never repeat along ``dim``."""

    def forward(self, a, idx=None, dim=0):
        self.shape, self.idx, self.dim = a.shape, idx, dim
        return array_module(a).take_along_axis(a, idx, axis=dim)

    def backward(self, g):  # scatter: every picked input position gets its output's gradient
        xp = array_module(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        xp.put_along_axis(out, self.idx, g, axis=self.dim)
        return out


def _argsort(a, dim, descending, xp):
    """Stable argsort along ``dim``; descending keeps equal elements in their original order."""
    if not descending:
        return xp.argsort(a, axis=dim, kind="stable")
    n = a.shape[dim]
    idx = xp.flip(xp.argsort(xp.flip(a, axis=dim), axis=dim, kind="stable"), axis=dim)  # (..., n, ...)
    return (n - 1) - idx


def sort(a, dim=-1, descending=False, stable=False):
    """``(values, indices)`` of ``a`` sorted along ``dim`` (always stable here), as ``torch.sort``."""
    xp = a._xp
    if a.ndim == 0:
        return return_types_sort(a.clone(), Tensor._wrap(xp.zeros((), dtype="int64"), False))
    d = normalize_dim(dim, a.ndim)
    idx = _argsort(a._data, d, descending, xp).astype("int64")
    return return_types_sort(TakeAlongDim.apply(a, idx=idx, dim=d), Tensor._wrap(idx, False))


def topk(a, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) values along ``dim`` and their indices, as ``torch.topk``."""
    xp = a._xp
    d = normalize_dim(dim, max(a.ndim, 1))
    n = a.shape[d] if a.ndim else 1
    if not 0 <= k <= n:
        raise ShapeError(f"topk: k ({k}) is out of range for dimension {dim} of size {n}")
    if a.ndim == 0:
        return return_types_topk(a.clone(), Tensor._wrap(xp.zeros((), dtype="int64"), False))
    idx = _argsort(a._data, d, largest, xp).astype("int64")
    idx = xp.take(idx, xp.arange(k), axis=d)                        # first k along dim
    return return_types_topk(TakeAlongDim.apply(a, idx=idx, dim=d), Tensor._wrap(idx, False))


def unique(a, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """Sorted unique elements of the flattened tensor (no gradient), as ``torch.unique``."""
    if dim is not None:
        raise NotImplementedError("unique: dim is not supported; call it without dim (flattened)")
    xp = a._xp
    vals, inv, counts = xp.unique(a._data, return_inverse=True, return_counts=True)
    out = [Tensor._wrap(vals, False)]
    if return_inverse:
        out.append(Tensor._wrap(inv.reshape(a.shape).astype("int64"), False))
    if return_counts:
        out.append(Tensor._wrap(counts.astype("int64"), False))
    return out[0] if len(out) == 1 else tuple(out)
