"""``Tensor``: an n-d array plus the bookkeeping reverse-mode autodiff needs.

The arithmetic itself lives in ``convnet.ops``; the methods here only dispatch to it, so a
reader finds each primitive's forward and backward together in one file.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import _backend
from ._backend import array_module, is_floating
from .autograd import backward as _backward
from .autograd import is_grad_enabled
from .errors import ShapeError


def _as_array(data, dtype=None):
    """Convert ``data`` to an ndarray with PyTorch's default dtypes (python floats -> float32)."""
    if isinstance(data, Tensor):
        data = data._data
    xp = array_module(data)
    if dtype is not None:
        return xp.asarray(data, dtype=np.dtype(dtype) if xp is np else dtype)
    if hasattr(data, "dtype") and hasattr(data, "shape"):
        arr = xp.asarray(data)
        if arr.dtype.kind == "f" and arr.dtype.itemsize >= 4:
            return arr
        if arr.dtype.kind == "f":  # float16 stays float16, like torch
            return arr
        if arr.dtype.kind == "u" and arr.dtype != np.uint8:
            return arr.astype(np.int64)
        return arr
    arr = np.asarray(data)
    if arr.dtype.kind == "f":
        return arr.astype(np.float32)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "b":
        return arr
    raise TypeError(f"tensor: cannot build a tensor from data of type {type(data).__name__} "
                    f"(numpy dtype {arr.dtype})")


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Args:
        data: array-like. Python floats become float32, ints int64; NumPy arrays keep
            their dtype (float64 stays float64).
        requires_grad: record operations so that ``backward()`` fills ``.grad``.
        dtype: optional dtype to convert to.

    Example:
        >>> x = Tensor([[1.0, 2.0]], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad.numpy().tolist()
        [[2.0, 4.0]]
    """

    __array_priority__ = 1000  # so ndarray <op> Tensor defers to Tensor's reflected op

    def __init__(self, data, requires_grad=False, dtype=None):
        self._data = _as_array(data, dtype)
        self.grad = None
        self._ctx = None
        self.is_leaf = True
        self._hooks = []
        self._retain_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, data, requires_grad):
        """Wrap an array produced by an op without copying or dtype conversion."""
        t = cls.__new__(cls)
        t._data = data
        t.grad = None
        t._ctx = None
        t.is_leaf = True
        t._hooks = []
        t._retain_grad = False
        t.requires_grad = bool(requires_grad)
        return t

    # ------------------------------------------------------------------ autograd
    def requires_grad_(self, requires_grad=True):
        if requires_grad and not is_floating(self._data.dtype):
            raise TypeError(
                f"requires_grad: only floating-point tensors can require gradients, got dtype {self.dtype}")
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("requires_grad_: cannot turn off gradients of a non-leaf tensor; use detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
        _backward(self, grad, retain_graph)

    def detach(self):
        return Tensor._wrap(self._data, False)

    def retain_grad(self):
        self._retain_grad = True
        self._pin()

    def register_hook(self, hook):
        """``hook(grad) -> Tensor | None`` runs when this tensor's gradient is computed."""
        self._hooks.append(hook)
        self._pin()

    def _pin(self):
        # the graph holds its tensors weakly; one with a hook or retain_grad must outlive the
        # user's reference to it, so its Function holds it until backward releases the graph
        if self._ctx is not None:
            self._ctx._pinned = self

    @property
    def grad_fn(self):
        return self._ctx

    def zero_(self):
        self._data[...] = 0
        return self

    # ------------------------------------------------------------------ array protocol
    @property
    def data(self):
        """A tensor sharing this tensor's memory, outside the graph (``torch.Tensor.data``).

        Writing into it (``p.data.mul_(0.5)``, ``p.data[0] = 1``) changes this tensor without being
        recorded; assigning ``t.data = other`` replaces the stored array.
        """
        return Tensor._wrap(self._data, False)

    @data.setter
    def data(self, value):
        self._data = value._data if isinstance(value, Tensor) else _as_array(value)

    @property
    def _xp(self):
        return array_module(self._data)

    @property
    def shape(self):
        return tuple(self._data.shape)

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self):
        return int(self._data.size)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def numpy(self):
        if self.requires_grad:
            raise RuntimeError("numpy: call .detach().numpy() on a tensor that requires grad")
        return self._data

    def tolist(self):
        return self._data.tolist()

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self._data, dtype=dtype)

    def item(self):
        if self._data.size != 1:
            raise ShapeError(f"item: only one-element tensors can be converted, got shape {self.shape}")
        return self._data.reshape(()).item()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        return bool(self.item())

    def __repr__(self):
        body = np.array2string(np.asarray(self._data), separator=", ", precision=4, prefix="tensor(")
        extra = ""
        if self.dtype != np.float32 and self.dtype != np.int64 and self.dtype != np.bool_:
            extra += f", dtype={self.dtype}"
        if self._ctx is not None:
            extra += f", grad_fn=<{type(self._ctx).__name__}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    __hash__ = object.__hash__

    # ------------------------------------------------------------------ dtype
    def to(self, dtype):
        return _ops.cast(self, dtype)

    def type(self, dtype):
        return self.to(dtype)

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def long(self):
        return self.to(np.int64)

    def int(self):
        return self.to(np.int32)

    def bool(self):
        return self.to(np.bool_)

    def clone(self):
        return _ops.cast(self, self.dtype, copy=True)

    def is_floating_point(self):
        return is_floating(self.dtype)

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, o): return _ops.add(self, o)
    def __radd__(self, o): return _ops.add(o, self)
    def __sub__(self, o): return _ops.sub(self, o)
    def __rsub__(self, o): return _ops.sub(o, self)
    def __mul__(self, o): return _ops.mul(self, o)
    def __rmul__(self, o): return _ops.mul(o, self)
    def __truediv__(self, o): return _ops.div(self, o)
    def __rtruediv__(self, o): return _ops.div(o, self)
    def __pow__(self, o): return _ops.pow(self, o)
    def __rpow__(self, o): return _ops.pow(o, self)
    def __neg__(self): return _ops.neg(self)
    def __pos__(self): return self
    def __abs__(self): return _ops.abs(self)
    def __matmul__(self, o): return _ops.matmul(self, o)
    def __rmatmul__(self, o): return _ops.matmul(o, self)

    def __iadd__(self, o):
        self._check_inplace()
        self._data = self._data + _ops.raw(o)
        return self

    def __isub__(self, o):
        self._check_inplace()
        self._data = self._data - _ops.raw(o)
        return self

    def __imul__(self, o):
        self._check_inplace()
        self._data = self._data * _ops.raw(o)
        return self

    def _check_inplace(self):
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError("a leaf tensor that requires grad cannot be modified in place; "
                               "use `with cn.no_grad():`")

    # comparisons: no gradient
    def __eq__(self, o): return _ops.compare(self, o, "equal")
    def __ne__(self, o): return _ops.compare(self, o, "not_equal")
    def __lt__(self, o): return _ops.compare(self, o, "less")
    def __le__(self, o): return _ops.compare(self, o, "less_equal")
    def __gt__(self, o): return _ops.compare(self, o, "greater")
    def __ge__(self, o): return _ops.compare(self, o, "greater_equal")

    # method aliases PyTorch users reach for
    def add(self, o): return _ops.add(self, o)
    def sub(self, o): return _ops.sub(self, o)
    def mul(self, o): return _ops.mul(self, o)
    def div(self, o): return _ops.div(self, o)
    def matmul(self, o): return _ops.matmul(self, o)
    def mm(self, o): return _ops.matmul(self, o)
    def neg(self): return _ops.neg(self)
    def square(self): return _ops.mul(self, self)
    def eq(self, o): return self.__eq__(o)
    def ne(self, o): return self.__ne__(o)
    def lt(self, o): return self.__lt__(o)
    def le(self, o): return self.__le__(o)
    def gt(self, o): return self.__gt__(o)
    def ge(self, o): return self.__ge__(o)

    def masked_fill(self, mask, value):
        return _ops.where(_ops.raw(mask), _ops.full_like(self, value), self)

    # ------------------------------------------------------------------ elementwise
    def exp(self): return _ops.exp(self)
    def log(self): return _ops.log(self)
    def sqrt(self): return _ops.sqrt(self)
    def abs(self): return _ops.abs(self)
    def clip(self, min=None, max=None): return _ops.clip(self, min, max)
    clamp = clip
    def relu(self): return _ops.relu(self)
    def sigmoid(self): return _ops.sigmoid(self)
    def tanh(self): return _ops.tanh(self)

    # ------------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False): return _ops.sum(self, dim, keepdim)
    def mean(self, dim=None, keepdim=False): return _ops.mean(self, dim, keepdim)
    def var(self, dim=None, keepdim=False, unbiased=True): return _ops.var(self, dim, keepdim, unbiased)
    def std(self, dim=None, keepdim=False, unbiased=True): return _ops.var(self, dim, keepdim, unbiased).sqrt()
    def max(self, dim=None, keepdim=False): return _ops.max(self, dim, keepdim)
    def min(self, dim=None, keepdim=False): return _ops.min(self, dim, keepdim)
    def argmax(self, dim=None, keepdim=False): return _ops.argmax(self, dim, keepdim)
    def argmin(self, dim=None, keepdim=False): return _ops.argmin(self, dim, keepdim)
    def softmax(self, dim): return _ops.softmax(self, dim)
    def log_softmax(self, dim): return _ops.log_softmax(self, dim)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape): return _ops.reshape(self, _shape_args(shape))
    def view(self, *shape): return _ops.reshape(self, _shape_args(shape))
    def flatten(self, start_dim=0, end_dim=-1): return _ops.flatten(self, start_dim, end_dim)
    def transpose(self, dim0, dim1): return _ops.transpose(self, dim0, dim1)
    def permute(self, *dims): return _ops.permute(self, _shape_args(dims))
    def unsqueeze(self, dim): return _ops.unsqueeze(self, dim)
    def squeeze(self, dim=None): return _ops.squeeze(self, dim)
    def expand(self, *shape): return _ops.expand(self, _shape_args(shape))
    def contiguous(self): return self
    def repeat(self, *sizes): return _ops.repeat(self, _shape_args(sizes))
    def split(self, split_size, dim=0): return _ops.split(self, split_size, dim)
    def chunk(self, chunks, dim=0): return _ops.chunk(self, chunks, dim)

    @property
    def T(self):
        return _ops.permute(self, tuple(reversed(range(self.ndim))))

    def __getitem__(self, idx): return _ops.getitem(self, idx)

    def __setitem__(self, idx, value):
        self._check_inplace()
        self._data[_ops.raw_index(idx)] = _ops.raw(value)


def _shape_args(args):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


# ---------------------------------------------------------------------- creation
def tensor(data, requires_grad=False, dtype=None):
    """Build a tensor from array-like ``data`` (copied). Floats default to float32."""
    arr = _as_array(data, dtype)
    if arr is data or (isinstance(data, Tensor) and arr is data._data):
        arr = arr.copy()
    return Tensor._wrap(arr, False).requires_grad_(requires_grad) if requires_grad else Tensor._wrap(arr, False)


def from_numpy(arr):
    """Share memory with a NumPy array (no copy), like ``torch.from_numpy``."""
    return Tensor._wrap(arr, False)


def as_tensor(data, dtype=None):
    """Convert without copying when possible."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    return Tensor._wrap(_as_array(data, dtype), False)


def empty(*shape, dtype=np.float32, requires_grad=False):
    return zeros(*shape, dtype=dtype, requires_grad=requires_grad)


def eye(n, m=None, dtype=np.float32, requires_grad=False):
    return Tensor(np.eye(n, m, dtype=dtype), requires_grad=requires_grad)


def linspace(start, end, steps, dtype=np.float32, requires_grad=False):
    return Tensor(np.linspace(start, end, steps, dtype=dtype), requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    d = t._data if isinstance(t, Tensor) else np.asarray(t)
    return Tensor(array_module(d).full_like(d, fill_value, dtype=dtype), requires_grad=requires_grad)


def _size(shape):
    return _shape_args(shape)


def zeros(*shape, dtype=np.float32, requires_grad=False):
    return Tensor(np.zeros(_size(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape, dtype=np.float32, requires_grad=False):
    return Tensor(np.ones(_size(shape), dtype=dtype), requires_grad=requires_grad)


def full(shape, fill_value, dtype=np.float32, requires_grad=False):
    return Tensor(np.full(_size((shape,)), fill_value, dtype=dtype), requires_grad=requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    d = t._data if isinstance(t, Tensor) else np.asarray(t)
    return Tensor(array_module(d).zeros_like(d, dtype=dtype), requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    d = t._data if isinstance(t, Tensor) else np.asarray(t)
    return Tensor(array_module(d).ones_like(d, dtype=dtype), requires_grad=requires_grad)


def randn(*shape, dtype=np.float32, requires_grad=False):
    """Standard normal samples from the generator seeded by ``manual_seed``."""
    arr = _backend.default_generator().standard_normal(_size(shape)).astype(dtype)
    return Tensor(arr, requires_grad=requires_grad)


def rand(*shape, dtype=np.float32, requires_grad=False):
    """Uniform [0, 1) samples from the generator seeded by ``manual_seed``."""
    arr = _backend.default_generator().random(_size(shape)).astype(dtype)
    return Tensor(arr, requires_grad=requires_grad)


def randint(low, high, size, dtype=np.int64):
    return Tensor(_backend.default_generator().integers(low, high, size=_size((size,))).astype(dtype))


def arange(start, end=None, step=1, dtype=None):
    if end is None:
        start, end = 0, start
    arr = np.arange(start, end, step)
    if dtype is None:
        dtype = np.float32 if arr.dtype.kind == "f" else np.int64
    return Tensor(arr.astype(dtype))


from . import ops as _ops  # noqa: E402  (ops import Tensor from this module)
