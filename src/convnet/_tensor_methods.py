"""Tensor methods PyTorch scripts reach for beyond the arithmetic core: Python protocols
(``__index__``, ``__format__``), bitwise and floor/modulo operators, ``new_*`` factories,
``norm``, ``any``/``all``, ``sort``/``topk``/``unique``, ``var``/``std`` with ``correction``,
``max``/``min`` that also take a second tensor.
"""
from __future__ import annotations

import numpy as np


def _raw(x):
    return x._data if hasattr(x, "_data") else x


def _no_grad_result(arr):
    from .tensor import Tensor

    return Tensor._wrap(arr, False)


class IntegerDivisionByZero(ZeroDivisionError, RuntimeError):
    """Integer ``//`` or ``%`` by zero (torch raises RuntimeError("ZeroDivisionError"))."""


def _bitwise(a, b, name, fn):
    for v in (a, b):
        arr = _raw(v)
        kind = arr.dtype.kind if hasattr(arr, "dtype") else ("f" if isinstance(v, float) else "i")
        if kind not in "iub":
            raise RuntimeError(f"{name}: only integer and bool tensors are supported, got "
                               f"{getattr(arr, 'dtype', type(v).__name__)}")
    return _no_grad_result(np.asarray(fn(_raw(a), _raw(b))))


class ExtraMethods:
    """Mixin of :class:`~convnet.tensor.Tensor`'s compatibility methods."""

    # ------------------------------------------------------------------ Python protocols
    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.reshape(()).item())

    def __format__(self, spec):
        """``f"{loss:.4f}"`` formats a 0-d tensor's value, as torch."""
        if self.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    # ------------------------------------------------------------------ bitwise, floor, modulo
    def __invert__(self):
        if self._data.dtype.kind not in "iub":
            raise TypeError(f"~ (bitwise_not) is only implemented on integer and bool tensors, got {self.dtype}")
        return _no_grad_result(~self._data)

    def __and__(self, o): return _bitwise(self, o, "bitwise_and", np.bitwise_and)
    def __rand__(self, o): return _bitwise(o, self, "bitwise_and", np.bitwise_and)
    def __or__(self, o): return _bitwise(self, o, "bitwise_or", np.bitwise_or)
    def __ror__(self, o): return _bitwise(o, self, "bitwise_or", np.bitwise_or)
    def __xor__(self, o): return _bitwise(self, o, "bitwise_xor", np.bitwise_xor)
    def __rxor__(self, o): return _bitwise(o, self, "bitwise_xor", np.bitwise_xor)
    logical_not = lambda self: _no_grad_result(np.logical_not(self._data))  # noqa: E731

    def _floor_div(self, a, b):
        from .ops import _util

        a, b = _util.as_tensor_pair(a, b)
        if a._data.dtype.kind in "iu" and b._data.dtype.kind in "iu" and (b._data == 0).any():
            raise IntegerDivisionByZero("floor_divide: integer division by zero")
        return _no_grad_result(np.floor_divide(a._data, b._data))

    def __floordiv__(self, o):
        """Floor division (rounds toward -inf, as torch and Python); carries no gradient."""
        return self._floor_div(self, o)

    def __rfloordiv__(self, o):
        return self._floor_div(o, self)

    def floor_divide(self, o):
        return self._floor_div(self, o)

    def remainder(self, o):
        """Python-style modulo (the sign of the divisor): ``a - floor(a / b) * b``; differentiable."""
        from .ops import _util

        a, b = _util.as_tensor_pair(self, o)
        if a._data.dtype.kind in "iu" and b._data.dtype.kind in "iu":
            if (b._data == 0).any():
                raise IntegerDivisionByZero("remainder: integer division by zero")
            return _no_grad_result(np.remainder(a._data, b._data))
        q = np.floor(np.true_divide(a._data, b._data)).astype(np.result_type(a._data, b._data))
        out = a - _no_grad_result(q) * b  # the graph: d/da = 1, d/db = -floor(a / b), as torch
        out._data = np.remainder(a._data, b._data)  # the value from fmod, rounded as torch's
        return out

    __mod__ = remainder

    def __rmod__(self, o):
        from .ops import _util

        a, _ = _util.as_tensor_pair(o, self)
        return a.remainder(self)

    def round(self, decimals=0):
        """Round half to even (no gradient: it is 0 almost everywhere)."""
        return _no_grad_result(np.round(self._data, decimals))

    def floor(self):
        return _no_grad_result(np.floor(self._data))

    def ceil(self):
        return _no_grad_result(np.ceil(self._data))

    def sign(self):
        return _no_grad_result(np.sign(self._data))

    def pow(self, exponent):
        return self ** exponent

    # ------------------------------------------------------------------ new_* factories
    def _new(self, make, size, dtype):
        from .tensor import Tensor, _shape_args

        shape = _shape_args(size if isinstance(size, tuple) else (size,))
        return Tensor._wrap(make(shape, np.dtype(self._data.dtype if dtype is None else dtype)), False)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new(np.zeros, size, dtype).requires_grad_(requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new(np.ones, size, dtype).requires_grad_(requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new(np.zeros, size, dtype).requires_grad_(requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return self._new(lambda s, d: np.full(s, fill_value, dtype=d), tuple(size), dtype) \
            .requires_grad_(requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        from .tensor import tensor

        return tensor(data, dtype=self._data.dtype if dtype is None else dtype, requires_grad=requires_grad)

    # ------------------------------------------------------------------ reductions
    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """The vector ``p``-norm over ``dim`` (all elements by default); differentiable."""
        from .ops.vector_norm import vector_norm

        x = self if dtype is None else self.to(dtype)
        return vector_norm(x, 2 if p in ("fro", None) else p, dim, keepdim)

    def any(self, dim=None, keepdim=False):
        return _no_grad_result(np.asarray(self._data.any(axis=dim, keepdims=keepdim)))

    def all(self, dim=None, keepdim=False):
        return _no_grad_result(np.asarray(self._data.all(axis=dim, keepdims=keepdim)))

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """Variance over ``dim`` with ``correction`` (1: unbiased, the default; 0: population).
        ``unbiased=True/False`` is the older spelling of ``correction=1/0``."""
        from .ops import mean, sum
        from .ops.reduce import _axes

        if correction is None:
            correction = 1 if unbiased is None else int(bool(unbiased))
        elif unbiased is not None:
            raise TypeError("var: pass either unbiased or correction, not both")
        if self._data.dtype.kind != "f":
            raise RuntimeError(f"var: input dtype should be floating point, got {self.dtype}")
        axes = _axes(dim, self.ndim)
        n = 1
        for ax in axes:
            n *= self.shape[ax]
        d = self - mean(self, axes, keepdim=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return sum(d * d, axes, keepdim) / max(n - correction, 0)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def max(self, dim=None, keepdim=False):
        """``max()`` -> the largest value; ``max(dim)`` -> ``(values, indices)``; ``max(other)``
        -> the elementwise maximum."""
        from . import ops

        if hasattr(dim, "_data"):
            return ops.maximum(self, dim)
        return ops.max(self, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        from . import ops

        if hasattr(dim, "_data"):
            return ops.minimum(self, dim)
        return ops.min(self, dim, keepdim)

    def sort(self, dim=-1, descending=False, stable=False):
        from .ops.sorting import sort

        return sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return self.sort(dim, descending, stable).indices

    def topk(self, k, dim=-1, largest=True, sorted=True):
        from .ops.sorting import topk

        return topk(self, k, dim, largest, sorted)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        from .ops.sorting import unique

        return unique(self, sorted, return_inverse, return_counts, dim)
