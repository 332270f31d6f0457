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
from .errors import ShapeError
from . import _dtypes
from ._dtypes import as_dtype
from .device import CPU, check_device
from ._tensor_inplace import InplaceMethods
from ._tensor_methods import ExtraMethods
from ._tensor_ops_more import MoreOpsMethods


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
        return arr.astype(_dtypes.get_default_dtype().dtype)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "b":
        return arr
    raise TypeError(f"tensor: cannot build a tensor from data of type {type(data).__name__} "
                    f"(numpy dtype {arr.dtype})")


class Tensor(InplaceMethods, ExtraMethods, MoreOpsMethods):
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
    # Logical (torch) strides of a view that torch would call non-contiguous (transpose, permute,
    # expand), in elements; None: contiguous in torch's sense. The NumPy array's own layout is
    # separate (conv/BN outputs are channels-last in memory yet logically contiguous NCHW).
    _lstrides = None

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

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
        if create_graph:
            raise NotImplementedError("backward: create_graph=True (higher-order gradients) is not supported")
        if inputs is not None:
            raise NotImplementedError("backward: inputs= is not supported; use convnet.autograd.grad")
        _backward(self, gradient, bool(retain_graph))

    def detach(self):
        t = Tensor._wrap(self._data, False)
        t._lstrides = self._lstrides
        return t

    def detach_(self):
        if not self.is_leaf and self._ctx is not None:
            self._ctx = None
        self.is_leaf, self.requires_grad = True, False
        return self

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

    # ------------------------------------------------------------------ array protocol
    @property
    def data(self):
        """A tensor sharing this tensor's memory, outside the graph (``torch.Tensor.data``).

        Writing into it (``p.data.mul_(0.5)``, ``p.data[0] = 1``) changes this tensor without being
        recorded; assigning ``t.data = other`` replaces the stored array.
        """
        t = Tensor._wrap(self._data, False)
        t._lstrides = self._lstrides
        return t

    @data.setter
    def data(self, value):
        self._data = value._data if isinstance(value, Tensor) else _as_array(value)

    @property
    def _xp(self):
        return array_module(self._data)

    @property
    def shape(self):
        return Size(self._data.shape)

    @property
    def dtype(self):
        """The element type as a :class:`convnet.dtype` (equal to the NumPy dtype; prints
        ``convnet.float32``). Library code uses ``t._data.dtype``."""
        return as_dtype(self._data.dtype)

    @property
    def device(self):
        return CPU

    @property
    def is_cuda(self):
        return False

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def is_contiguous(self, memory_format=None):
        """Contiguous in torch's logical sense: False only for transpose/permute/expand views."""
        return self._lstrides is None

    def stride(self, dim=None):
        """Strides in elements of the logical (torch) layout."""
        st = self._lstrides if self._lstrides is not None else _contiguous_strides(self.shape)
        return st if dim is None else st[dim]

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
        if self._data.dtype not in (np.float32, np.int64, np.bool_):
            extra += f", dtype={self.dtype}"
        if self._ctx is not None:
            extra += f", grad_fn=<{type(self._ctx).__name__}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    __hash__ = object.__hash__

    # ------------------------------------------------------------------ device and dtype
    def to(self, *args, **kwargs):
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``, keywords
        ``device=, dtype=, non_blocking=, copy=``, as ``torch.Tensor.to``: returns ``self`` when
        nothing changes (unless ``copy=True``); a dtype change is differentiable. Only the CPU
        exists; any other device raises RuntimeError."""
        device, dtype, copy = parse_to_args(args, kwargs)
        if device is not None:
            check_device(device, "to")
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            return _ops.cast(self, np.dtype(dtype))
        return self.clone() if copy else self

    def cpu(self):
        return self

    def cuda(self, device=None, non_blocking=False):
        check_device("cuda" if device is None else device, "cuda")

    def type(self, dtype=None, non_blocking=False):
        """With no argument, the type name (``'convnet.FloatTensor'``); else ``to(dtype)``."""
        if dtype is None:
            names = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                     "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}
            return f"convnet.{names.get(self._data.dtype.name, self._data.dtype.name)}Tensor"
        return self.to(dtype)

    def type_as(self, other):
        return self.to(other._data.dtype)

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def long(self):
        return self.to(np.int64)

    def int(self):
        return self.to(np.int32)

    def short(self):
        return self.to(np.int16)

    def byte(self):
        return self.to(np.uint8)

    def char(self):
        return self.to(np.int8)

    def bool(self):
        return self.to(np.bool_)

    def clone(self):
        return _ops.cast(self, self._data.dtype, copy=True)

    def contiguous(self, memory_format=None):
        """``self`` when contiguous, else a contiguous copy (differentiable)."""
        return self if self._lstrides is None else self.clone()

    def is_floating_point(self):
        return is_floating(self._data.dtype)

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
    def amax(self, dim=None, keepdim=False): return _ops.amax(self, dim, keepdim)
    def amin(self, dim=None, keepdim=False): return _ops.amin(self, dim, keepdim)
    def argmax(self, dim=None, keepdim=False): return _ops.argmax(self, dim, keepdim)
    def argmin(self, dim=None, keepdim=False): return _ops.argmin(self, dim, keepdim)
    def softmax(self, dim): return _ops.softmax(self, dim)
    def log_softmax(self, dim): return _ops.log_softmax(self, dim)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape): return _ops.reshape(self, _shape_args(shape))

    def view(self, *shape):
        """Same data, new shape; like torch it refuses a non-contiguous view (a transposed,
        permuted or expanded tensor): use ``reshape`` or ``contiguous().view``."""
        shape = _shape_args(shape)
        if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):  # view(dtype)
            raise TypeError("view: reinterpreting the dtype is not supported; use .to(dtype)")
        if self._lstrides is not None and _resolve_shape(shape, self.numel()) != self.shape:
            raise ShapeError(f"view size is not compatible with input tensor's size and stride (at least "
                             f"one dimension spans across two contiguous subspaces). Use .reshape(...) "
                             f"instead. (tensor of shape {self.shape} from a transpose/permute/expand)")
        return _ops.reshape(self, shape)

    def view_as(self, other): return self.view(other.shape)
    def reshape_as(self, other): return self.reshape(other.shape)
    def expand_as(self, other): return self.expand(other.shape)
    def flatten(self, start_dim=0, end_dim=-1): return _ops.flatten(self, start_dim, end_dim)
    def transpose(self, dim0, dim1):
        dims = list(range(self.ndim))
        d0, d1 = dim0 % max(self.ndim, 1), dim1 % max(self.ndim, 1)
        dims[d0], dims[d1] = dims[d1], dims[d0]
        return _permuted(self, _ops.transpose(self, dim0, dim1), dims)

    def permute(self, *dims):
        dims = _shape_args(dims)
        out = _ops.permute(self, dims)
        return _permuted(self, out, [d % max(self.ndim, 1) for d in dims])

    swapaxes = transpose

    def t(self):
        """Transpose of a tensor with at most 2 dimensions (itself when 0-d or 1-d)."""
        if self.ndim > 2:
            raise ShapeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self if self.ndim < 2 else self.transpose(0, 1)
    def unsqueeze(self, dim): return _ops.unsqueeze(self, dim)
    def squeeze(self, dim=None): return _ops.squeeze(self, dim)
    def expand(self, *shape):
        shape = _shape_args(shape)
        if len(shape) < self.ndim:
            raise ShapeError(f"expand: the number of sizes provided ({len(shape)}) must be greater or equal "
                             f"to the number of dimensions in the tensor ({self.ndim})")
        lead = len(shape) - self.ndim
        for i, n in enumerate(self.shape):
            if shape[lead + i] not in (-1, n) and n != 1:
                raise ShapeError(f"expand: the expanded size of the tensor ({shape[lead + i]}) must match the "
                                 f"existing size ({n}) at non-singleton dimension {lead + i}; "
                                 f"target sizes {list(shape)}, tensor sizes {list(self.shape)}")
        out = _ops.expand(self, shape)
        src = self.stride()
        st = tuple(0 for _ in range(lead)) + tuple(
            0 if (n == 1 and m != 1) else s for n, m, s in zip(self.shape, out.shape[lead:], src))
        out._lstrides = None if _is_contiguous(out.shape, st) else st
        return out
    def repeat(self, *sizes): return _ops.repeat(self, _shape_args(sizes))
    def split(self, split_size, dim=0): return _ops.split(self, split_size, dim)
    def chunk(self, chunks, dim=0): return _ops.chunk(self, chunks, dim)

    @property
    def T(self):
        return self.permute(tuple(reversed(range(self.ndim))))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def __getitem__(self, idx): return _ops.getitem(self, idx)


class Size(tuple):
    """A tensor's shape: a tuple (``torch.Size``) with ``numel()``."""

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"convnet.Size({list(self)})"


def _contiguous_strides(shape):
    st, acc = [], 1
    for n in reversed(shape):
        st.append(acc)
        acc *= n
    return tuple(reversed(st))


def _is_contiguous(shape, strides):
    """torch's rule: strides match the row-major ones, ignoring dimensions of size 1."""
    if 0 in shape:
        return True
    expect = 1
    for n, s in zip(reversed(shape), reversed(strides)):
        if n != 1:
            if s != expect:
                return False
            expect *= n
    return True


def _resolve_shape(shape, numel):
    """``shape`` with a ``-1`` filled in (as far as it can be; reshape reports bad shapes)."""
    known = 1
    for n in shape:
        known *= n if n != -1 else 1
    return tuple(numel // known if n == -1 and known else n for n in shape)


def _permuted(src, out, dims):
    """Give ``out`` (``src`` with its dimensions reordered by ``dims``) its logical strides."""
    st = src.stride()
    st = tuple(st[d] for d in dims)
    out._lstrides = None if _is_contiguous(out.shape, st) else st
    return out


def parse_to_args(args, kwargs):
    """``(device, dtype, copy)`` from ``Tensor.to``/``Module.to`` arguments (torch's overloads)."""
    kwargs = dict(kwargs)
    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword argument(s) {sorted(kwargs)}")
    args = list(args)
    flags = []
    while args and isinstance(args[-1], bool):
        flags.insert(0, args.pop())  # trailing non_blocking, copy
    if len(flags) >= 2:
        copy = flags[1]
    for a in args:
        if a is None:
            continue
        if isinstance(a, Tensor):
            device, dtype = CPU, a._data.dtype
        elif isinstance(a, (_dtypes.dtype, np.dtype)) or (isinstance(a, type) and issubclass(a, np.generic)):
            dtype = a
        elif isinstance(a, (str, numbers.Integral)) or type(a).__name__ == "device":
            device = a
        else:
            raise TypeError(f"to() received an invalid combination of arguments: {type(a).__name__} "
                            f"(expected a device, a dtype or a Tensor)")
    return device, dtype, bool(copy)


def _shape_args(args):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


# ---------------------------------------------------------------------- creation
# Every factory takes torch's ``dtype=``, ``device=`` (the CPU only) and ``requires_grad=``;
# floating factories without a dtype use ``get_default_dtype()`` (float32 unless changed).
def _float_dtype(dtype):
    return (_dtypes.get_default_dtype() if dtype is None else as_dtype(dtype)).dtype


def _made(arr, requires_grad, device):
    if device is not None:
        check_device(device)
    t = Tensor._wrap(arr, False)
    return t.requires_grad_(True) if requires_grad else t


def tensor(data, requires_grad=False, dtype=None, device=None):
    """Build a tensor from array-like ``data`` (copied). Floats default to float32."""
    arr = _as_array(data, dtype)
    if arr is data or (isinstance(data, Tensor) and arr is data._data):
        arr = arr.copy()
    return _made(arr, requires_grad, device)


def from_numpy(arr):
    """Share memory with a NumPy array (no copy), like ``torch.from_numpy``."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(arr).__name__})")
    return Tensor._wrap(arr, False)


def as_tensor(data, dtype=None, device=None):
    """Convert without copying when possible."""
    if device is not None:
        check_device(device)
    if isinstance(data, Tensor) and (dtype is None or data._data.dtype == np.dtype(dtype)):
        return data
    return Tensor._wrap(_as_array(data, dtype), False)


def _size(shape):
    return _shape_args(shape)


def zeros(*shape, dtype=None, requires_grad=False, device=None):
    return _made(np.zeros(_size(shape), dtype=_float_dtype(dtype)), requires_grad, device)


def ones(*shape, dtype=None, requires_grad=False, device=None):
    return _made(np.ones(_size(shape), dtype=_float_dtype(dtype)), requires_grad, device)


def empty(*shape, dtype=None, requires_grad=False, device=None):
    return zeros(*shape, dtype=dtype, requires_grad=requires_grad, device=device)


def full(shape, fill_value, dtype=None, requires_grad=False, device=None):
    if dtype is None and not isinstance(fill_value, float):  # torch infers int/bool fills
        dtype = np.bool_ if isinstance(fill_value, (bool, np.bool_)) else np.int64
    return _made(np.full(_size((shape,)), fill_value, dtype=_float_dtype(dtype)), requires_grad, device)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    return _made(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad, device)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    return _made(np.linspace(start, end, steps, dtype=_float_dtype(dtype)), requires_grad, device)


def _like(t, make, dtype, requires_grad, device):
    d = t._data if isinstance(t, Tensor) else np.asarray(t)
    return _made(make(array_module(d), d, None if dtype is None else np.dtype(dtype)), requires_grad, device)


def full_like(t, fill_value, dtype=None, requires_grad=False, device=None):
    return _like(t, lambda xp, d, dt: xp.full(d.shape, fill_value, dtype=dt or d.dtype), dtype, requires_grad,
                 device)


def zeros_like(t, dtype=None, requires_grad=False, device=None):
    return _like(t, lambda xp, d, dt: xp.zeros(d.shape, dtype=dt or d.dtype), dtype, requires_grad, device)


def ones_like(t, dtype=None, requires_grad=False, device=None):
    return _like(t, lambda xp, d, dt: xp.ones(d.shape, dtype=dt or d.dtype), dtype, requires_grad, device)


empty_like = zeros_like


def randn(*shape, dtype=None, requires_grad=False, device=None, generator=None):
    """Standard normal samples from the generator seeded by ``manual_seed``."""
    gen = _backend.generator_of(generator, "randn")
    arr = gen.standard_normal(_size(shape)).astype(_float_dtype(dtype))
    return _made(arr, requires_grad, device)


def rand(*shape, dtype=None, requires_grad=False, device=None, generator=None):
    """Uniform [0, 1) samples from the generator seeded by ``manual_seed``."""
    arr = _backend.generator_of(generator, "rand").random(_size(shape)).astype(_float_dtype(dtype))
    return _made(arr, requires_grad, device)


def randint(low, high=None, size=None, dtype=None, device=None, generator=None, requires_grad=False):
    """Integers in ``[low, high)`` (``randint(high, size)`` starts at 0), int64 by default."""
    if size is None:
        low, high, size = 0, low, high
    arr = _backend.generator_of(generator, "randint").integers(low, high, size=_size((size,)))
    return _made(arr.astype(np.int64 if dtype is None else np.dtype(dtype)), requires_grad, device)


def randperm(n, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of ``0 .. n-1`` (int64 by default), as ``torch.randperm``."""
    if int(n) != n or n < 0:
        raise ValueError(f"randperm: argument 'n' must be a non-negative integer, got {n!r}")
    arr = _backend.generator_of(generator, "randperm").permutation(int(n))
    return _made(arr.astype(np.int64 if dtype is None else np.dtype(dtype)), requires_grad, device)


def randn_like(t, dtype=None, requires_grad=False, device=None):
    return randn(*t.shape, dtype=t._data.dtype if dtype is None else dtype, requires_grad=requires_grad,
                 device=device)


def rand_like(t, dtype=None, requires_grad=False, device=None):
    return rand(*t.shape, dtype=t._data.dtype if dtype is None else dtype, requires_grad=requires_grad,
                device=device)


def randint_like(t, low=0, high=None, dtype=None, requires_grad=False, device=None):
    if high is None:
        low, high = 0, low
    return randint(low, high, t.shape, dtype=t._data.dtype if dtype is None else dtype, device=device)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    arr = np.arange(start, end, step)
    if dtype is None:
        dtype = _float_dtype(None) if arr.dtype.kind == "f" else np.int64
    return _made(arr.astype(np.dtype(dtype)), requires_grad, device)


from . import ops as _ops  # noqa: E402  (ops import Tensor from this module)
