"""Vector p-norms, ``||x||_p = (sum |x_i|^p)^(1/p)``, over all elements or along ``dim``.

The 2-norm is one primitive so that its gradient at the zero vector is 0 (as torch), not NaN;
the other orders are composed of primitives.
"""
from __future__ import annotations

import math

from .._backend import array_module
from ..autograd import Function
from ..tensor import Tensor


class Norm2(Function):
    def forward(self, a, axes=(), keepdim=False):
        xp = array_module(a)
        self.a, self.axes, self.keepdim = a, axes, keepdim
        self.out = xp.sqrt((a * a).sum(axis=axes, keepdims=True))
        return self.out if keepdim else xp.squeeze(self.out, axis=axes)

    def backward(self, g):  # d||x|| = x / ||x|| dx, taken as 0 where ||x|| = 0
        xp = array_module(g)
        if not self.keepdim:
            g = xp.expand_dims(g, self.axes)
        safe = xp.where(self.out == 0, 1, self.out)
        return xp.where(self.out == 0, 0, g / safe) * self.a


def vector_norm(a, p=2, dim=None, keepdim=False):
    """``||a||_p`` over ``dim`` (all elements when None). ``p``: a number, ``inf``, ``-inf`` or
    ``'fro'`` (= 2). Float tensors only; differentiable."""
    if a._data.dtype.kind != "f":
        raise RuntimeError(f"norm: expected a floating point tensor as input, got {a.dtype}")
    if p == "fro":
        p = 2
    if isinstance(p, str):
        raise ValueError(f"norm: p must be a number, inf or 'fro', got {p!r}")
    axes = tuple(range(a.ndim)) if dim is None else tuple(
        d % max(a.ndim, 1) for d in ((dim,) if isinstance(dim, int) else dim))
    if p == 2:
        return Norm2.apply(a, axes=tuple(sorted(axes)), keepdim=keepdim)
    if p == math.inf:
        return _amax(a.abs(), axes, keepdim)
    if p == -math.inf:
        return _amin(a.abs(), axes, keepdim)
    if p == 0:
        return Tensor._wrap((a._data != 0).sum(axis=axes, keepdims=keepdim).astype(a._data.dtype), False)
    if p == 1:
        return a.abs().sum(axes, keepdim)
    return (a.abs() ** p).sum(axes, keepdim) ** (1.0 / p)


def _amax(a, axes, keepdim):
    from .reduce import amax

    return amax(a, axes, keepdim)


def _amin(a, axes, keepdim):
    from .reduce import amin

    return amin(a, axes, keepdim)
