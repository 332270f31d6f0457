"""Index-driven ops: gather, index_select, scatter, scatter_add, masked_select, nonzero.

``gather``, ``index_select`` and ``masked_select`` are advanced indexing, so ``GetItem``'s backward
(scatter-add of the upstream gradient) serves them. ``scatter``/``scatter_add`` have their own
primitive: forward writes ``src`` into a copy of the input, backward gathers the gradient back.
"""
from __future__ import annotations

import numbers

from .._backend import array_module
from ..autograd import Function
from ..errors import ShapeError
from ..tensor import Tensor
from ._util import as_tensor, normalize_dim, raw
from .movement import expand, getitem


def _index_array(name, index):
    idx = raw(index)
    if not hasattr(idx, "dtype") or idx.dtype.kind not in "iu":
        raise TypeError(f"{name}: argument 'index' must be an int64 tensor, got "
                        f"{getattr(idx, 'dtype', type(index).__name__)}")
    return idx


def _scatter_index(name, a_shape, dim, idx):
    """The advanced-index tuple that addresses ``out[i][j][idx[i][j][k]]...``: ``idx`` along
    ``dim``, an ``arange`` grid along every other dimension (each ``(1, .., n_d, .., 1)``)."""
    if idx.ndim != len(a_shape):
        raise ShapeError(f"{name}: index tensor must have the same number of dimensions as the input "
                         f"({len(a_shape)}), got index of shape {tuple(idx.shape)}")
    for d, (n, m) in enumerate(zip(idx.shape, a_shape)):
        if d != dim and n > m:
            raise ShapeError(f"{name}: size of index {tuple(idx.shape)} must not exceed the input's "
                             f"{tuple(a_shape)} in dimension {d} (other than dim {dim})")
    n = a_shape[dim] if a_shape else 1
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"{name}: index {int(idx.max() if idx.max() >= n else idx.min())} is out of bounds "
                         f"for dimension {dim} with size {n}")
    xp = array_module(idx)
    grid = []
    for d, m in enumerate(idx.shape):
        if d == dim:
            grid.append(idx)
        else:
            shape = [1] * idx.ndim
            shape[d] = m
            grid.append(xp.arange(m).reshape(shape))          # (1, .., m, .., 1)
    return tuple(grid)


def gather(input, dim, index):
    """``out[i][j][k] = input[i][index[i][j][k]][k]`` for ``dim=1`` (``torch.gather``).

    Args:
        input: ``(*, n_dim, *)``.
        index: int64 of the same number of dimensions, no larger than ``input`` except along ``dim``.
    Shape: the output has ``index``'s shape. The gradient scatters back, adding at repeated indices.
    """
    d = normalize_dim(dim, input.ndim)
    idx = _index_array("gather", index)
    if input.ndim == 0:
        return getitem(input, ())
    return getitem(input, _scatter_index("gather", input.shape, d, idx))


def index_select(input, dim, index):
    """The entries of ``input`` at ``index`` (1-d int64) along ``dim`` (``torch.index_select``)."""
    d = normalize_dim(dim, input.ndim)
    idx = _index_array("index_select", index)
    if idx.ndim > 1:
        raise ShapeError(f"index_select: argument 'index' must be 0-d or 1-d, got shape {tuple(idx.shape)}")
    n = input.shape[d] if input.ndim else 1
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"index_select: index out of range for dimension {d} with size {n}")
    return getitem(input, (slice(None),) * d + (idx.reshape(-1),))


def masked_select(input, mask):
    """The 1-d tensor of ``input``'s entries where the bool ``mask`` is true; both broadcast."""
    m = raw(mask)
    if not hasattr(m, "dtype") or m.dtype.kind != "b":
        raise TypeError(f"masked_select: argument 'mask' must be a bool tensor, got "
                        f"{getattr(m, 'dtype', type(mask).__name__)}")
    xp = array_module(m)
    try:
        shape = xp.broadcast_shapes(tuple(input.shape), m.shape)
    except ValueError:
        raise ShapeError(f"masked_select: the shapes of input {tuple(input.shape)} and mask {m.shape} "
                         "cannot be broadcast together") from None
    x = input if tuple(input.shape) == shape else expand(input, shape)
    return getitem(x, xp.broadcast_to(m, shape))


def nonzero(input, as_tuple=False):
    """Indices of the non-zero entries: ``(n, ndim)`` int64, or a tuple of ``ndim`` 1-d tensors
    with ``as_tuple=True`` (``torch.nonzero``). No gradient."""
    a = raw(input)
    xp = array_module(a)
    if as_tuple:
        if a.ndim == 0:
            return (Tensor._wrap(xp.nonzero(a.reshape(1))[0].astype("int64"), False),)
        return tuple(Tensor._wrap(i.astype("int64"), False) for i in xp.nonzero(a))
    return Tensor._wrap(xp.argwhere(a).astype("int64"), False)            # (n, ndim)


def count_nonzero(input, dim=None):
    """The number of non-zero entries, over ``dim`` (int or tuple) or all of them; int64."""
    a = raw(input)
    xp = array_module(a)
    axis = dim if dim is None or isinstance(dim, numbers.Integral) else tuple(dim)
    return Tensor._wrap(xp.asarray(xp.count_nonzero(a, axis=axis)).astype("int64"), False)


class Scatter(Function):
    """``out = input`` with ``src`` written (``reduce=None``) or added (``'add'``) at ``index``.

    Backward: the input's gradient is the upstream one (zeroed where ``scatter`` overwrote);
    ``src``'s gradient gathers the upstream gradient at ``index``.
    """

    def forward(self, a, src, grid=(), add=False, src_part=()):
        xp = array_module(a)
        self.grid, self.add, self.src_shape, self.src_part = grid, add, src.shape, src_part
        out = a.copy()
        vals = src[src_part].astype(a.dtype, copy=False)
        if add:
            xp.add.at(out, grid, vals)
        else:
            out[grid] = vals
        return out

    def backward(self, g):
        xp = array_module(g)
        ga = gs = None
        if self.needs_input_grad[0]:
            ga = g
            if not self.add:
                ga = g.copy()
                ga[self.grid] = 0
        if self.needs_input_grad[1]:
            gs = xp.zeros(self.src_shape, dtype=g.dtype)
            gs[self.src_part] = g[self.grid]
        return ga, gs


def _scatter(name, input, dim, index, src, add):
    d = normalize_dim(dim, input.ndim)
    idx = _index_array(name, index)
    grid = _scatter_index(name, input.shape, d, idx)
    if isinstance(src, numbers.Number):
        src = Tensor._wrap(array_module(idx).full(idx.shape, src, dtype=input._data.dtype), False)
    src = as_tensor(src)
    if src.ndim != idx.ndim or any(n > m for n, m in zip(idx.shape, src.shape)):
        raise ShapeError(f"{name}: index {tuple(idx.shape)} must be no larger than src {tuple(src.shape)} "
                         "in every dimension")
    part = tuple(slice(0, n) for n in idx.shape)           # the leading block of src that is used
    return Scatter.apply(input, src, grid=grid, add=add, src_part=part)


def scatter(input, dim, index, src=None, value=None):
    """Out-of-place ``torch.scatter``: a copy of ``input`` with ``out[i][index[i][j]] = src[i][j]``
    (``dim=1``); ``src`` may be a tensor or a number (or pass ``value=``)."""
    return _scatter("scatter", input, dim, index, value if src is None else src, add=False)


def scatter_add(input, dim, index, src):
    """Out-of-place ``torch.scatter_add``: ``out[i][index[i][j]] += src[i][j]`` (``dim=1``)."""
    return _scatter("scatter_add", input, dim, index, src, add=True)
