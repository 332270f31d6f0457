"""Reordering ops: flip, roll (each a copy, as torch), and unbind (views along a dim)."""
from __future__ import annotations

import numbers

from .._backend import array_module
from ..autograd import Function
from ..errors import ShapeError
from ._util import normalize_dim
from .movement import getitem


class Flip(Function):
    def forward(self, a, axes=()):
        self.axes = axes
        return array_module(a).flip(a, axes).copy()

    def backward(self, g):  # flipping is its own inverse
        return array_module(g).flip(g, self.axes)


class Roll(Function):
    def forward(self, a, shifts=0, axes=None):
        self.shifts, self.axes = shifts, axes
        return array_module(a).roll(a, shifts, axes)

    def backward(self, g):  # roll back by the same amount
        neg = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return array_module(g).roll(g, neg, self.axes)


def _dims(dims):
    return (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)


def flip(a, dims):
    """Reverse the order of the entries along each of ``dims`` (``torch.flip``; a copy)."""
    axes = tuple(normalize_dim(d, a.ndim) for d in _dims(dims))
    if len(set(axes)) != len(axes):
        raise ShapeError(f"flip: dims {tuple(_dims(dims))} has a repeated dimension")
    if a.ndim == 0:
        return a.clone()
    return Flip.apply(a, axes=axes)


def roll(a, shifts, dims=None):
    """Shift entries cyclically by ``shifts`` along ``dims`` (the flattened tensor when ``dims``
    is None, then restored to its shape), as ``torch.roll``."""
    if dims is None:
        if not isinstance(shifts, numbers.Integral):
            if len(shifts) != 1:
                raise ShapeError(f"roll: with dims=None, shifts must be a single int, got {shifts}")
            shifts = shifts[0]
        return Roll.apply(a, shifts=int(shifts), axes=None)
    shifts, dims = _dims(shifts), _dims(dims)
    if len(shifts) != len(dims):
        raise ShapeError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    return Roll.apply(a, shifts=tuple(int(s) for s in shifts), axes=tuple(normalize_dim(d, a.ndim) for d in dims))


def unbind(a, dim=0):
    """The slices along ``dim`` as a tuple of tensors with that dimension removed."""
    if a.ndim == 0:
        raise ShapeError("unbind: dimension specified as 0 but tensor has no dimensions")
    d = normalize_dim(dim, a.ndim)
    return tuple(getitem(a, (slice(None),) * d + (i,)) for i in range(a.shape[d]))
