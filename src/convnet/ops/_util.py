"""Helpers shared by every op family: argument coercion, broadcasting, dtype checks."""
from __future__ import annotations

import numbers

import numpy as np

from .._backend import array_module, is_floating
from ..tensor import Tensor


def is_channels_last(a):
    """Whether ``a`` (N, C, *S) is laid out channels-last: ``moveaxis(a, 1, -1)`` is C-contiguous
    and ``a`` itself is not (PyTorch's ``channels_last`` memory format, which the channels-last
    conv kernels produce). Values and shapes are unaffected; only which kernels run fast."""
    if getattr(a, "ndim", 0) < 3 or a.flags.c_contiguous or a.shape[1] == 1:
        return False
    st, item = a.strides, a.itemsize
    if st[1] != item:
        return False
    expect = a.shape[1] * item                                     # stride of the last spatial axis
    for n, s in zip(reversed(a.shape[2:]), reversed(st[2:])):
        if n != 1 and s != expect:
            return False
        expect *= n
    return a.shape[0] == 1 or st[0] == expect


def channels_minor(a):
    """Whether ``a`` (N, C, *S) has the channel axis as its fastest-varying one (channels-last,
    possibly strided, e.g. a ``[..., ::2, ::2]`` view of a channels-last array): ops that build
    a new array from it should lay that out channels-last too."""
    if getattr(a, "ndim", 0) < 3 or a.shape[1] == 1 or a.strides[1] != a.itemsize:
        return False
    return all(n == 1 or s > a.itemsize for i, (n, s) in enumerate(zip(a.shape, a.strides)) if i != 1)


def raw(x):
    """The array behind a Tensor (or the value itself)."""
    return x._data if isinstance(x, Tensor) else x


def raw_index(idx):
    """Convert Tensors inside an index expression to arrays."""
    if isinstance(idx, tuple):
        return tuple(raw(i) for i in idx)
    return raw(idx)


def as_tensor_pair(a, b):
    """Coerce a binary op's operands to Tensors, with PyTorch's scalar promotion.

    A Python scalar takes the other operand's dtype (a float scalar with an integer tensor
    gives float32), so ``x_float32 * 2.0`` stays float32.
    """
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if a._data.dtype == b._data.dtype:
            return a, b
        dtype = result_type(a, b)
        return _cast_to(a, dtype), _cast_to(b, dtype)
    if isinstance(a, Tensor):
        b = _scalar_like(b, a)
        return _promote_int(a, b), b
    if isinstance(b, Tensor):
        a = _scalar_like(a, b)
        return a, _promote_int(b, a)
    raise TypeError("expected at least one Tensor operand")


def _category(dtype):
    """torch's type categories: bool < integer < floating."""
    return {"b": 0, "i": 1, "u": 1}.get(dtype.kind, 2)


def promote_types(d1, d2):
    """``torch.promote_types``: within a category NumPy's rule; across categories the dtype of
    the higher category (int64 with float32 gives float32, not NumPy's float64)."""
    d1, d2 = np.dtype(d1), np.dtype(d2)
    c1, c2 = _category(d1), _category(d2)
    if c1 != c2:
        return d1 if c1 > c2 else d2
    return np.result_type(d1, d2)


def result_type(a, b):
    """The dtype of a binary op on tensors ``a`` and ``b`` under torch's promotion rules: a
    0-d tensor only decides the dtype when its category is higher than the other operand's."""
    da, db = a._data.dtype, b._data.dtype
    za, zb = a._data.ndim == 0, b._data.ndim == 0
    if za == zb:
        return promote_types(da, db)
    dim_dtype, zero_dtype = (db, da) if za else (da, db)
    return zero_dtype if _category(zero_dtype) > _category(dim_dtype) else dim_dtype


def _cast_to(t, dtype):
    if t._data.dtype == dtype:
        return t
    from .elementwise import cast

    return cast(t, dtype)


def _promote_int(t, scalar):
    """An integer tensor meeting a float scalar computes in the default float dtype, a bool
    tensor meeting an int scalar in int64 (torch's rule: a scalar can only raise the category)."""
    if _category(t._data.dtype) < _category(scalar._data.dtype):
        return Tensor._wrap(t._data.astype(scalar.dtype), False)
    return t


def _scalar_like(s, like):
    xp = like._xp
    if isinstance(s, numbers.Number) or (hasattr(s, "ndim") and s.ndim == 0):
        s = s.item() if hasattr(s, "item") else s
        if isinstance(s, bool) or not isinstance(s, numbers.Number):
            dtype = like.dtype
        elif isinstance(s, numbers.Integral):
            dtype = np.int64 if like.dtype == np.bool_ else like.dtype  # bool + 1 -> int64, as torch
        elif is_floating(like.dtype):
            dtype = like.dtype
        elif like.dtype == np.bool_ or like.dtype.kind in "iu":
            from .._dtypes import get_default_dtype

            dtype = get_default_dtype().dtype
        else:
            dtype = like.dtype
        try:
            return Tensor._wrap(xp.asarray(s, dtype=dtype), False)
        except OverflowError:  # uint8 + 1000 wraps around, as torch
            return Tensor._wrap(xp.asarray(s).astype(dtype), False)
    return Tensor(s)


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes that broadcasting expanded, back down to ``shape``."""
    if grad.shape == tuple(shape):
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1)
    out = grad.sum(axis=axes, keepdims=True) if axes else grad
    return out.reshape(shape)


def check_float(name, arg, t):
    """Differentiable ops take floating tensors only: raise TypeError naming the argument."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: argument '{arg}' must be a Tensor, got {type(t).__name__}")
    if not is_floating(t.dtype):
        raise TypeError(
            f"{name}: argument '{arg}' must be a floating-point tensor (float32/float64), got dtype {t.dtype}; "
            f"convert with .float()")


def normalize_dim(dim, ndim, name="dim"):
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"{name} {dim} is out of range for a tensor with {ndim} dimensions")
    return dim % max(ndim, 1)


def as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


__all__ = ["raw", "raw_index", "as_tensor_pair", "unbroadcast", "check_float", "normalize_dim",
           "as_tensor", "array_module"]
