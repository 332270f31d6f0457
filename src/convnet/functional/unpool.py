"""Max unpooling with ``torch.nn.functional``'s names, signatures and argument meanings.

The partial inverse of max pooling: each value returns to the position its window's maximum
came from (the ``indices`` of ``max_pool2d(..., return_indices=True)``, ZFNet's "switches"),
and every other position is zero. The primitive with its backward is :mod:`convnet.ops.unpool`.

Default output size along each spatial axis (PyTorch's rule):

.. math::

    L_{out} = (L_{in} - 1) s - 2p + k

``output_size`` may pick another size within ``stride`` of it (to undo a pooling that dropped
a last partial window).
"""
from __future__ import annotations

import numbers

from ..errors import ShapeError
from ..ops import unpool as _unpool
from ..ops._util import check_float
from .pool import _ints

_LAYOUT = {1: ("(C, L)", "(N, C, L)"), 2: ("(C, H, W)", "(N, C, H, W)"), 3: ("(C, D, H, W)", "(N, C, D, H, W)")}


def unpool_output_size(size, kernel_size, stride, padding):
    """PyTorch's default max-unpool output size along one axis: ``(size - 1) * stride - 2 * padding + kernel_size``."""
    return (size - 1) * stride - 2 * padding + kernel_size


def _max_unpool(fn, nd, input, indices, kernel_size, stride, padding, output_size):
    check_float(fn, "input", input)
    if input._data.ndim not in (nd + 1, nd + 2):
        unbatched, batched = _LAYOUT[nd]
        raise ShapeError(f"{fn}: expected a {nd + 1}D {unbatched} or {nd + 2}D {batched} input, "
                         f"got a {input.ndim}D input of shape {tuple(input.shape)}")
    idx = getattr(indices, "_data", None)
    if idx is None or idx.dtype.kind not in "iu":
        raise TypeError(f"{fn}: indices must be an integer Tensor (the indices of max_pool{nd}d with "
                        f"return_indices=True), got {type(indices).__name__}"
                        f"{'' if idx is None else ' of dtype ' + str(idx.dtype)}")
    if tuple(idx.shape) != tuple(input.shape):
        raise ShapeError(f"{fn}: expected indices of the input's shape {tuple(input.shape)}, "
                         f"got {tuple(idx.shape)}")
    k = _ints(fn, "kernel_size", kernel_size, nd)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else _ints(fn, "stride", stride, nd)
    p = _ints(fn, "padding", padding, nd)
    default = tuple(unpool_output_size(n, *a) for n, *a in zip(input.shape[-nd:], k, s, p))
    if output_size is None:
        size = default
    else:
        if not isinstance(output_size, (tuple, list)) or not all(
                isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in output_size):
            raise TypeError(f"{fn}: output_size must be a tuple of ints, got {output_size!r}")
        size = tuple(int(v) for v in output_size)
        if len(size) == input.ndim:  # (N, C, H, W) allowed, as in torch
            size = size[-nd:]
        if len(size) != nd:
            raise ShapeError(f"{fn}: output_size must have {nd} or {input.ndim} elements, got {output_size!r}")
        for a, (o, d, st) in enumerate(zip(size, default, s)):
            if not d - st < o < d + st:
                raise ShapeError(f"{fn}: invalid output_size {output_size!r}: along spatial axis {a} it must be "
                                 f"between {d - st} and {d + st} exclusive (the default is {d})")
    if min(size) < 1:
        raise ShapeError(f"{fn}: the output size {size} is not positive (input {tuple(input.shape)}, "
                         f"kernel_size={k}, stride={s}, padding={p})")
    return _unpool.max_unpool(input, indices, size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """2-d max unpooling: put each value back where ``max_pool2d`` found it, zeros elsewhere.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``, the pooled values.
        indices: int64, the same shape: flat per-plane positions ``h * W_out + w`` (what
            ``max_pool2d(..., return_indices=True)`` returns).
        kernel_size, stride (default ``kernel_size``), padding: the pooling's, int or ``(h, w)``.
        output_size: ``(H_out, W_out)`` (or the full shape) to undo an uneven pooling.

    Shape:
        ``(N, C, H, W) -> (N, C, H_out, W_out)``, ``H_out = (H - 1) * s - 2p + k``.

    Backward:
        dL/dx = dL/dy read back at each value's switch position (a gather, the transpose of the scatter);
        ``indices`` has no gradient. Implemented by ``convnet.ops.unpool.MaxUnpoolNd``.

    Example:
        >>> import convnet as cn
        >>> import convnet.functional as F
        >>> y, i = F.max_pool2d(cn.tensor([[[[1., 2.], [4., 3.]]]]), 2, return_indices=True)
        >>> max_unpool2d(y, i, 2).numpy().ravel().tolist()
        [0.0, 0.0, 4.0, 0.0]
    """
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """1-d max unpooling, ``(N, C, L) -> (N, C, L_out)`` (see :func:`max_unpool2d`).

    Backward:
        dL/dx = dL/dy read back at each value's switch position (a gather, the transpose of the scatter);
        ``indices`` has no gradient. Implemented by ``convnet.ops.unpool.MaxUnpoolNd``.
    """
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """3-d max unpooling, ``(N, C, D, H, W) -> (N, C, D_out, H_out, W_out)`` (see :func:`max_unpool2d`).

    Backward:
        dL/dx = dL/dy read back at each value's switch position (a gather, the transpose of the scatter);
        ``indices`` has no gradient. Implemented by ``convnet.ops.unpool.MaxUnpoolNd``.
    """
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d"]
