"""Products and running reductions: prod, cumsum, cumprod, logsumexp.

Forward and backward side by side; ``logsumexp`` is composed of primitives.
"""
from __future__ import annotations

import numpy as np

from .._backend import array_module
from ..autograd import Function
from ..tensor import Tensor
from . import elementwise as ew
from ._util import normalize_dim
from .reduce import _axes, _keep, amax, sum as rsum


def _exclusive_products(x, axis):
    """``prod_{i != k} x_i`` along ``axis`` for every ``k``, without dividing (exact at zeros):
    the product of everything before ``k`` times the product of everything after it."""
    xp = array_module(x)
    ones = xp.ones_like(xp.take(x, [0], axis=axis))
    before = xp.cumprod(xp.concatenate([ones, xp.take(x, range(x.shape[axis] - 1), axis=axis)], axis), axis)
    rev = xp.flip(x, axis)
    after = xp.cumprod(xp.concatenate([ones, xp.take(rev, range(x.shape[axis] - 1), axis=axis)], axis), axis)
    return before * xp.flip(after, axis)


class Prod(Function):
    def forward(self, a, axis=None, keepdim=False):
        self.save_for_backward(a)
        self.axis, self.keepdim = axis, keepdim
        return a.prod(axis=axis, keepdims=keepdim)

    def backward(self, g):  # d(prod x)/dx_k = prod_{i != k} x_i
        (a,) = self.saved_tensors
        if self.axis is None:
            flat = a.reshape(-1)
            others = _exclusive_products(flat, 0).reshape(a.shape) if flat.size else a
            return g * others
        g = _keep(g, (self.axis,), self.keepdim)
        return g * _exclusive_products(a, self.axis)


class CumSum(Function):
    def forward(self, a, axis=0):
        self.axis = axis
        return array_module(a).cumsum(a, axis=axis)

    def backward(self, g):  # out_j = sum_{i<=j} x_i, so dx_i = sum_{j>=i} g_j: a reversed cumsum
        xp = array_module(g)
        return xp.flip(xp.cumsum(xp.flip(g, self.axis), axis=self.axis), self.axis)


class CumProd(Function):
    def forward(self, a, axis=0):
        self.axis = axis
        out = array_module(a).cumprod(a, axis=axis)
        self.save_for_backward(a, out)
        return out

    def backward(self, g):  # dx_k = sum_{j>=k} g_j prod_{i<=j, i != k} x_i
        a, out = self.saved_tensors
        xp = array_module(g)
        ax = self.axis

        def rev_cumsum(v):
            return xp.flip(xp.cumsum(xp.flip(v, ax), axis=ax), ax)

        if not (a == 0).any():
            return rev_cumsum(g * out) / a
        grad = xp.empty_like(a)  # exact where x has zeros: one pass per position k (O(n^2))
        n = a.shape[ax]
        for k in range(n):
            sel = (slice(None),) * ax + (slice(k, k + 1),)
            x1 = a.copy()
            x1[sel] = 1
            partial = xp.cumprod(x1, axis=ax)                  # prod_{i<=j, i != k} x_i
            tail = (slice(None),) * ax + (slice(k, n),)
            grad[sel] = (g[tail] * partial[tail]).sum(axis=ax, keepdims=True)
        return grad


def prod(a, dim=None, keepdim=False, dtype=None):
    """Product of all entries (``dim=None``) or along ``dim``; integer/bool input gives int64."""
    if dtype is not None:
        a = a.to(dtype)
    elif a._data.dtype.kind in "biu":
        a = a.to(np.int64)
    if dim is None:
        return Prod.apply(a, axis=None, keepdim=False)
    return Prod.apply(a, axis=normalize_dim(dim, a.ndim), keepdim=keepdim)


def _scan(fn, a, dim, dtype):
    if dtype is not None:
        a = a.to(dtype)
    elif a._data.dtype.kind in "biu":
        a = a.to(np.int64)
    if a.ndim == 0:
        return fn.apply(a.reshape(1), axis=0).reshape(())
    return fn.apply(a, axis=normalize_dim(dim, a.ndim))


def cumsum(a, dim, dtype=None):
    """Running sum along ``dim``: ``out_j = x_0 + ... + x_j`` (``torch.cumsum``)."""
    return _scan(CumSum, a, dim, dtype)


def cumprod(a, dim, dtype=None):
    """Running product along ``dim``: ``out_j = x_0 * ... * x_j`` (``torch.cumprod``)."""
    return _scan(CumProd, a, dim, dtype)


def logsumexp(a, dim, keepdim=False):
    """``log(sum(exp(x), dim))`` computed stably as ``m + log(sum(exp(x - m)))`` with ``m`` the
    (detached) maximum; its gradient is ``softmax(x)`` along ``dim``."""
    if a._data.dtype.kind != "f":
        a = a.float()
    axes = _axes(dim, a.ndim)
    xp = array_module(a._data)
    m = amax(a.detach(), axes, keepdim=True)._data
    m = xp.where(xp.isfinite(m), m, 0).astype(a._data.dtype)  # all -inf (or an inf) along dim: no shift
    shift = Tensor._wrap(m, False)
    with np.errstate(divide="ignore"):
        out = ew.log(rsum(ew.exp(a - shift), axes, keepdim=True)) + shift
    return out if keepdim else out.squeeze(axes) if axes else out

