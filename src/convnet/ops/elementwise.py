"""Elementwise arithmetic primitives: forward and backward side by side.

Binary ops broadcast like NumPy/PyTorch; ``unbroadcast`` sums each gradient back to its
input's shape.
"""
from __future__ import annotations

import numpy as np

from .._backend import array_module, is_floating
from ..autograd import Function, set_gradient_accumulator, set_gradient_keeper
from ..tensor import Tensor
from . import _pool
from ._parallel import even_slices, map_chunks_light as map_chunks
from ._util import as_tensor_pair, raw, unbroadcast


# Below this many bytes, threads cost more than they save: run inline.
PARALLEL_MIN_BYTES = 1 << 20


def add_arrays(a, b):
    """``a + b``. Large arrays of one shape and dtype (residual connections, gradients summed by
    the autograd engine) are added over the batch on the worker pool into recycled memory,
    in ``a``'s layout (channels-last stays channels-last)."""
    if a.nbytes < PARALLEL_MIN_BYTES or a.shape != b.shape or a.dtype != b.dtype or a.ndim == 0:
        return a + b
    xp = array_module(a)
    out = _pool.empty_like(a)
    map_chunks(xp, lambda sl: xp.add(a[sl], b[sl], out=out[sl]), even_slices(a.shape[0]), out.nbytes,
               PARALLEL_MIN_BYTES)
    return out


set_gradient_accumulator(add_arrays)
set_gradient_keeper(_pool.keep_gradient)


class Add(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return add_arrays(a, b)

    def backward(self, g):  # d(a+b) = da + db
        sa, sb = self.shapes
        return unbroadcast(g, sa), unbroadcast(g, sb)


class Sub(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, g):
        sa, sb = self.shapes
        return unbroadcast(g, sa), unbroadcast(-g, sb) if self.needs_input_grad[1] else None


class Mul(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, g):  # product rule
        a, b = self.saved_tensors
        ga = unbroadcast(g * b, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(g * a, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        if not is_floating(a.dtype) and not is_floating(b.dtype):
            a, b = a.astype(np.float32), b.astype(np.float32)  # true division of integers gives float32, like torch
        self.save_for_backward(a, b)
        return a / b

    def backward(self, g):  # d(a/b) = da/b - a db/b^2
        a, b = self.saved_tensors
        ga = unbroadcast(g / b, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(-g * a / (b * b), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    def forward(self, a, b):
        out = a ** b
        self.save_for_backward(a, b, out)
        return out

    def backward(self, g):  # d(a^b) = b a^(b-1) da + a^b ln(a) db
        a, b, out = self.saved_tensors
        xp = array_module(a)
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = unbroadcast(g * b * a ** (b - 1), a.shape)
        if self.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                ln = xp.where(a > 0, xp.log(xp.where(a > 0, a, 1)), 0)
            gb = unbroadcast(g * out * ln, b.shape)
        return ga, gb


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class Exp(Function):
    def forward(self, a):
        self.out = array_module(a).exp(a)
        return self.out

    def backward(self, g):  # d e^a = e^a da
        return g * self.out


class Log(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return array_module(a).log(a)

    def backward(self, g):
        (a,) = self.saved_tensors
        return g / a


class Sqrt(Function):
    def forward(self, a):
        self.out = array_module(a).sqrt(a)
        return self.out

    def backward(self, g):  # d sqrt(a) = da / (2 sqrt(a))
        return g / (2 * self.out)


class Abs(Function):
    """|x|: the notes' absolute-value rectification. Gradient sign(x) (0 at 0, as torch).

    Backward:
        dL/dx = dL/dy * sign(x), 0 at x = 0.
    """

    def forward(self, a):
        self.save_for_backward(a)
        return array_module(a).abs(a)

    def backward(self, g):
        (a,) = self.saved_tensors
        return g * array_module(a).sign(a)


class Clip(Function):
    """Clip.

    Backward:
        dL/dx = dL/dy where lo <= x <= hi, else 0.
    """
    def forward(self, a, lo=None, hi=None):
        xp = array_module(a)
        self.mask = xp.ones(a.shape, dtype=bool)
        if lo is not None:
            self.mask &= a >= lo
        if hi is not None:
            self.mask &= a <= hi
        return xp.clip(a, lo, hi).astype(a.dtype, copy=False)

    def backward(self, g):  # gradient passes only where the input was inside [lo, hi]
        return g * self.mask


class Where(Function):
    """Where.

    Backward:
        dL/da = dL/dy where cond, dL/db = dL/dy where not cond (each summed back to its input's shape over
        broadcast axes).
    """
    def forward(self, a, b, cond=None):
        self.cond = cond
        self.shapes = a.shape, b.shape
        return array_module(a).where(cond, a, b)

    def backward(self, g):
        sa, sb = self.shapes
        zero = g.dtype.type(0)
        ga = unbroadcast(array_module(g).where(self.cond, g, zero), sa) if self.needs_input_grad[0] else None
        gb = unbroadcast(array_module(g).where(self.cond, zero, g), sb) if self.needs_input_grad[1] else None
        return ga, gb


class Cast(Function):
    def forward(self, a, dtype=None, copy=False):
        self.src = a.dtype
        return a.astype(dtype, copy=copy)

    def backward(self, g):
        return g.astype(self.src)


# ---------------------------------------------------------------------- functional API
def add(a, b): return Add.apply(*as_tensor_pair(a, b))
def sub(a, b): return Sub.apply(*as_tensor_pair(a, b))
def mul(a, b): return Mul.apply(*as_tensor_pair(a, b))
def div(a, b):
    """True division; integer operands divide in the default float dtype (as torch)."""
    for x, other in ((a, b), (b, a)):
        if isinstance(x, Tensor) and not isinstance(other, Tensor) and x._data.dtype.kind in "biu":
            from .._dtypes import get_default_dtype

            x2 = Tensor._wrap(x._data.astype(get_default_dtype().dtype), False)
            a, b = (x2, b) if x is a else (a, x2)
    return Div.apply(*as_tensor_pair(a, b))
def pow(a, b): return Pow.apply(*as_tensor_pair(a, b))
def neg(a): return Neg.apply(a)
def exp(a): return Exp.apply(a)
def log(a): return Log.apply(a)
def sqrt(a): return Sqrt.apply(a)


def abs(a):
    """Absolute value, ``|x|`` (the notes' rectification layer).

    Backward:
        dL/dx = dL/dy * sign(x) (0 at x = 0, as PyTorch) (``Abs``).
    """
    return Abs.apply(a)


def clip(a, min=None, max=None):
    """Limit ``a`` to ``[min, max]``; bounds may be numbers or tensors (which broadcast; the
    gradient then goes to the bound where it was taken, to ``a`` where ``a`` was kept)."""
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = a if min is None else maximum(a, min)
        return out if max is None else minimum(out, max)
    return Clip.apply(a, lo=min, hi=max)


clamp = clip


def where(cond, a=None, b=None):
    """Pick ``a`` where ``cond`` is true and ``b`` elsewhere; broadcasts all three (the dtype
    follows torch's promotion). ``where(cond)`` alone is ``nonzero(cond, as_tuple=True)``."""
    if a is None and b is None:
        from .indexing import nonzero

        return nonzero(cond, as_tuple=True)
    a, b = as_tensor_pair(a, b)
    return Where.apply(a, b, cond=raw(cond).astype(bool))


def cast(a, dtype, copy=False):
    dtype = np.dtype(dtype)
    if dtype == a.dtype and not copy:
        return a
    if a.requires_grad and is_floating(dtype):
        return Cast.apply(a, dtype=dtype, copy=copy)
    return Tensor._wrap(a._data.astype(dtype, copy=True), False)


def compare(a, b, op):
    """Elementwise comparison; returns a bool tensor with no gradient."""
    xp = array_module(raw(a))
    return Tensor._wrap(getattr(xp, op)(raw(a), raw(b)), False)


def maximum(a, b):
    a, b = as_tensor_pair(a, b)
    return where(a._data >= b._data, a, b)


def minimum(a, b):
    a, b = as_tensor_pair(a, b)
    return where(a._data <= b._data, a, b)
