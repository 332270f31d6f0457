"""Pooling with ``torch.nn.functional``'s names, signatures and argument meanings.

Max / min / average pooling, adaptive pooling and power-average (Lp) pooling over 1, 2 or 3
spatial axes of ``(N, C, *spatial)`` inputs, or unbatched ``(C, *spatial)`` ones. This layer
checks and normalises the arguments; the primitives with their backward are in
:mod:`convnet.ops.pool`.

Output size along each spatial axis (PyTorch's rule; avg pooling has ``dilation = 1``):

.. math::

    L_{out} = \\left\\lfloor \\frac{L + 2p - d(k-1) - 1}{s} \\right\\rfloor + 1

with ``ceil`` instead of ``floor`` when ``ceil_mode=True``, except that the last window must
start inside the input or the left padding (see :func:`convnet.shapes.pool_output_size`).

The arguments follow PyTorch's rules (padding at most half the kernel, every output size at
least 1; a :class:`~convnet.errors.ShapeError` with the arithmetic otherwise). A window far larger
than its input (``max_pool2d(x, 2000, padding=1000, stride=1)`` on a 4x4 ``x``, which PyTorch
accepts) is pooled with the equivalent smaller window of :func:`convnet.shapes.pool_window_trim`,
so it costs what the input does instead of a loop over millions of window offsets.
"""
from __future__ import annotations

import math
import numbers

from ..ops import pool as _pool
from ..ops._util import check_float
from ..ops.elementwise import where
from .._backend import array_module
from ..shapes import pool_output_formula, pool_output_size, pool_window_trim
from ..errors import ShapeError

_INT = {int}
_LAYOUT = {1: ("(C, L)", "(N, C, L)"), 2: ("(C, H, W)", "(N, C, H, W)"), 3: ("(C, D, H, W)", "(N, C, D, H, W)")}


def _ints(fn, name, value, nd):
    """An int or a sequence of ``nd`` ints (a 1-sequence repeats) -> ``nd``-tuple."""
    if type(value) is int:  # the common case first: no ABC isinstance machinery
        return (value,) * nd
    if type(value) is tuple and len(value) == nd and set(map(type, value)) <= _INT:
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),) * nd
    if isinstance(value, (tuple, list)) and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        if len(value) == nd or len(value) == 1:
            return tuple(int(v) for v in value) * (nd // len(value))
        raise ShapeError(f"{fn}: {name} must be a single int or a tuple of {nd} ints, got {name}={value!r}")
    raise TypeError(f"{fn}: {name} must be an int or a tuple of {nd} ints, got {value!r} "
                    f"({type(value).__name__})")


def _check_input(fn, x, nd):
    check_float(fn, "input", x)
    ndim = x._data.ndim
    if ndim != nd + 2 and ndim != nd + 1:
        unbatched, batched = _LAYOUT[nd]
        raise ShapeError(f"{fn}: expected a {nd + 1}D {unbatched} or {nd + 2}D {batched} input, "
                         f"got a {x.ndim}D input of shape {tuple(x.shape)}")
    if 0 in x._data.shape[-nd - 1:]:
        raise ShapeError(f"{fn}: expected non-zero sizes for every dimension except the batch, "
                         f"got input of shape {tuple(x.shape)}")


def _window_args(fn, x, nd, kernel_size, stride, padding, dilation=1, ceil_mode=False):
    """Check the input and the window arguments; return (kernel, stride, padding, dilation) tuples."""
    _check_input(fn, x, nd)
    k = _ints(fn, "kernel_size", kernel_size, nd)
    empty_stride = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    s = k if empty_stride else _ints(fn, "stride", stride, nd)
    p = _ints(fn, "padding", padding, nd)
    d = _ints(fn, "dilation", dilation, nd)
    if min(k) < 1 or min(s) < 1 or min(d) < 1 or min(p) < 0:
        for name, vals, least in (("kernel_size", k, 1), ("stride", s, 1), ("dilation", d, 1), ("padding", p, 0)):
            for v in vals:
                if v < least:
                    rule = "greater than zero" if least else "non-negative"
                    raise ShapeError(f"{fn}: {name} must be {rule}, got {name}={v}")
    if any(p) and any(pi > ki // 2 for pi, ki in zip(p, k)):
        for pi, ki, di in zip(p, k, d):
            if pi > ki // 2:
                extra = f" and dilation={di} (the limit is kernel_size // 2 = {ki // 2})" if di != 1 else ""
                raise ShapeError(f"{fn}: padding should be at most half of effective kernel size, "
                                 f"but got padding={pi} for kernel_size={ki}{extra}")
    spatial = x._data.shape[-nd:]
    if min(map(pool_output_size, spatial, k, s, p, d, (ceil_mode,) * nd)) >= 1:
        return k, s, p, d
    for a, args in enumerate(zip(spatial, k, s, p, d)):
        if pool_output_size(*args, ceil_mode) < 1:
            raise ShapeError(
                f"{fn}: kernel_size={args[1]} (dilation={args[4]}) is larger than the padded input along "
                f"spatial axis {a} (size {args[0]}, padding={args[3]}) of input shape {tuple(x.shape)}: "
                f"output size = {pool_output_formula(*args, ceil_mode)}")
    return k, s, p, d


def _trimmed(x, nd, k, s, p, d, ceil_mode):
    """An equivalent smaller window when the kernel is far larger than its input, else None.

    Returns ``(k', p', out, crop)``: pool with kernel ``k'``, padding ``p'``, ``ceil_mode=False``,
    then keep the first ``out`` windows along each axis (``crop`` says whether any are extra).
    See :func:`convnet.shapes.pool_window_trim`; without it a 2000-wide window over a 4x4 input
    loops over 4 million window offsets.
    """
    spatial = x.shape[-nd:]
    out = tuple(pool_output_size(n, ki, si, pi, di, ceil_mode) for n, ki, si, pi, di in zip(spatial, k, s, p, d))
    ab = [pool_window_trim(n, ki, si, pi, di, o) for n, ki, si, pi, di, o in zip(spatial, k, s, p, d, out)]
    if not any(a + b for a, b in ab):
        return None
    k2 = tuple(ki - a - b for ki, (a, b) in zip(k, ab))
    p2 = tuple(pi - a * di for pi, di, (a, _) in zip(p, d, ab))
    out2 = tuple(pool_output_size(*args) for args in zip(spatial, k2, s, p2, d))
    if any(o2 < o for o2, o in zip(out2, out)):
        return None
    return k2, p2, out, out2 != out


def _crop(t, nd, out):
    return t[(Ellipsis,) + tuple(slice(0, o) for o in out)] if t is not None else None


def _max(fn, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, largest=True):
    k, s, p, d = _window_args(fn, input, nd, kernel_size, stride, padding, dilation, ceil_mode)
    trim = _trimmed(input, nd, k, s, p, d, ceil_mode)
    if trim is None:
        return _pool.max_pool(input, k, s, p, d, ceil_mode, return_indices, largest)
    k2, p2, out, crop = trim
    res = _pool.max_pool(input, k2, s, p2, d, False, return_indices, largest)
    if not crop:
        return res
    return tuple(_crop(r, nd, out) for r in res) if return_indices else _crop(res, nd, out)


def _avg(fn, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    k, s, p, _ = _window_args(fn, input, nd, kernel_size, stride, padding, 1, ceil_mode)
    if nd == 3 and any(n < ki for n, ki in zip(input.shape[-3:], k)):  # torch checks this for 3-d only
        raise ShapeError(f"{fn}: input image (D, H, W) = {tuple(input.shape[-3:])} is smaller than "
                         f"kernel_size={k}")
    if divisor_override is not None:
        if not isinstance(divisor_override, numbers.Integral) or isinstance(divisor_override, bool):
            raise TypeError(f"{fn}: divisor_override must be an int or None, got {divisor_override!r}")
        if divisor_override == 0:
            raise ShapeError(f"{fn}: divisor_override must be non-zero, got divisor_override=0")
    trim = _trimmed(input, nd, k, s, p, (1,) * nd, ceil_mode)
    if trim is None:
        return _pool.avg_pool(input, k, s, p, ceil_mode, count_include_pad, divisor_override)
    k2, p2, out, _ = trim
    if divisor_override or not count_include_pad:  # the divisor does not depend on the padding
        return _crop(_pool.avg_pool(input, k2, s, p2, False, count_include_pad, divisor_override), nd, out)
    sums = _crop(_pool.avg_pool(input, k2, s, p2, False, True, 1), nd, out)  # window sums
    return sums / _include_pad_divisor(input, input.shape[-nd:], k, s, p, out)


def _include_pad_divisor(x, spatial, k, s, p, out):
    """PyTorch's ``count_include_pad`` divisor per window of the original geometry, ``(*out)``:
    the window ``[i*s - p, i*s - p + k)`` clipped to the padded border ``[-p, n + p)``."""
    xp = array_module(x._data)
    div = xp.ones(out, x._data.dtype)
    for axis, (n, ki, si, pi, o) in enumerate(zip(spatial, k, s, p, out)):
        start = xp.arange(o) * si - pi
        size = xp.minimum(start + ki, n + pi) - start  # (o,)
        div = div * size.reshape([o if a == axis else 1 for a in range(len(out))]).astype(div.dtype)
    return div


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-d max pooling: the largest element of each (dilated) window; padding is ``-inf``.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size, stride (default ``kernel_size``), padding (at most ``kernel_size // 2``),
            dilation: int or ``(h, w)`` pair.
        ceil_mode: round the output size up (a last, partial window).
        return_indices: also return the arg-max of each window as a flat index ``h * W + w``
            into its input plane (int64), as ``torch.max_pool2d`` does.

    Shape:
        ``(N, C, H, W) -> (N, C, H_out, W_out)``,
        ``H_out = floor((H + 2p - d(k - 1) - 1) / s) + 1`` (ceil with ``ceil_mode``).

    Backward:
        dL/dx = dL/dy routed to the arg-max of each window only (the first maximum in scan order on a tie, as
        PyTorch), zero elsewhere; an input that wins several overlapping windows receives the sum. Implemented
        by ``convnet.ops.pool.MaxPoolNd``.

    Example:
        >>> import convnet as cn
        >>> max_pool2d(cn.randn(1, 3, 8, 8), 2).shape
        (1, 3, 4, 4)
    """
    return _max("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-d max pooling, ``(N, C, L) -> (N, C, L_out)`` (see :func:`max_pool2d`).

    Backward:
        dL/dx = dL/dy routed to the arg-max of each window only (the first maximum in scan order on a tie, as
        PyTorch), zero elsewhere; an input that wins several overlapping windows receives the sum. Implemented
        by ``convnet.ops.pool.MaxPoolNd``.

    >>> import convnet as cn
    >>> max_pool1d(cn.randn(2, 3, 9), 3, stride=2).shape
    (2, 3, 4)
    """
    return _max("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """3-d max pooling, ``(N, C, D, H, W) -> (N, C, D_out, H_out, W_out)``; indices are
    ``d * H * W + h * W + w`` (see :func:`max_pool2d`).

    Backward:
        dL/dx = dL/dy routed to the arg-max of each window only (the first maximum in scan order on a tie, as
        PyTorch), zero elsewhere; an input that wins several overlapping windows receives the sum. Implemented
        by ``convnet.ops.pool.MaxPoolNd``.

    >>> import convnet as cn
    >>> max_pool3d(cn.randn(1, 2, 4, 4, 4), 2).shape
    (1, 2, 2, 2, 2)
    """
    return _max("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def min_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """2-d min pooling: the smallest element of each window, ``-max_pool2d(-input)``; padding
    counts as ``+inf`` so it never wins. Arguments and shapes as :func:`max_pool2d`.

    Backward:
        dL/dx = dL/dy routed to the arg-min of each window only (the first minimum on a tie), zero elsewhere,
        summed over overlapping windows. Implemented by ``convnet.ops.pool.MaxPoolNd`` with ``largest=False``.

    >>> import convnet as cn
    >>> min_pool2d(cn.tensor([[[[1., 2.], [3., 4.]]]]), 2).numpy().ravel().tolist()
    [1.0]
    """
    return _max("min_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, False, largest=False)


def min_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """1-d min pooling, ``-max_pool1d(-input)`` (see :func:`min_pool2d`).

    Backward:
        dL/dx = dL/dy routed to the arg-min of each window only (the first minimum on a tie), zero elsewhere,
        summed over overlapping windows. Implemented by ``convnet.ops.pool.MaxPoolNd`` with ``largest=False``.
    """
    return _max("min_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, False, largest=False)


def min_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """3-d min pooling, ``-max_pool3d(-input)`` (see :func:`min_pool2d`).

    Backward:
        dL/dx = dL/dy routed to the arg-min of each window only (the first minimum on a tie), zero elsewhere,
        summed over overlapping windows. Implemented by ``convnet.ops.pool.MaxPoolNd`` with ``largest=False``.
    """
    return _max("min_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, False, largest=False)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    """See :func:`max_pool1d`; returns ``(output, indices)``.

    Backward:
        dL/dx = dL/dy routed to the arg-max of each window only (the first maximum in scan order on a tie, as
        PyTorch), zero elsewhere; an input that wins several overlapping windows receives the sum. Implemented
        by ``convnet.ops.pool.MaxPoolNd``.
    """
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    """See :func:`max_pool2d`; returns ``(output, indices)``.

    Backward:
        dL/dx = dL/dy routed to the arg-max of each window only (the first maximum in scan order on a tie, as
        PyTorch), zero elsewhere; an input that wins several overlapping windows receives the sum. Implemented
        by ``convnet.ops.pool.MaxPoolNd``.
    """
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    """See :func:`max_pool3d`; returns ``(output, indices)``.

    Backward:
        dL/dx = dL/dy routed to the arg-max of each window only (the first maximum in scan order on a tie, as
        PyTorch), zero elsewhere; an input that wins several overlapping windows receives the sum. Implemented
        by ``convnet.ops.pool.MaxPoolNd``.
    """
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-d average pooling: the mean of each window, with zero padding.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size, stride (default ``kernel_size``), padding (at most ``kernel_size // 2``):
            int or ``(h, w)`` pair.
        ceil_mode: round the output size up (a last, partial window).
        count_include_pad: divide by the window clipped to the padded border (zero padding
            counts, the part of a ``ceil_mode`` window past the padding does not); if False,
            divide by the number of real input elements in the window.
        divisor_override: divide every window sum by this instead.

    Shape:
        ``(N, C, H, W) -> (N, C, H_out, W_out)``, ``H_out = floor((H + 2p - k) / s) + 1``
        (ceil with ``ceil_mode``).

    Backward:
        dL/dx_i = sum over the windows w containing i of dL/dy_w / divisor_w: each output's gradient is spread
        evenly over its window (the divisor of the forward: window size, clipped as ``count_include_pad``
        says, or ``divisor_override``), overlaps added. Implemented by ``convnet.ops.pool.AvgPoolNd``.

    Example:
        >>> import convnet as cn
        >>> avg_pool2d(cn.ones(1, 1, 4, 4), 2).numpy().ravel().tolist()
        [1.0, 1.0, 1.0, 1.0]
    """
    return _avg("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-d average pooling, ``(N, C, L) -> (N, C, L_out)`` (see :func:`avg_pool2d`).

    Backward:
        dL/dx_i = sum over the windows w containing i of dL/dy_w / divisor_w: each output's gradient is spread
        evenly over its window (the divisor of the forward: window size, clipped as ``count_include_pad``
        says, or ``divisor_override``), overlaps added. Implemented by ``convnet.ops.pool.AvgPoolNd``.

    >>> import convnet as cn
    >>> avg_pool1d(cn.ones(1, 1, 6), 3, stride=2, padding=1).shape
    (1, 1, 3)
    """
    return _avg("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """3-d average pooling, ``(N, C, D, H, W) -> (N, C, D_out, H_out, W_out)`` (see :func:`avg_pool2d`).

    Backward:
        dL/dx_i = sum over the windows w containing i of dL/dy_w / divisor_w: each output's gradient is spread
        evenly over its window (the divisor of the forward: window size, clipped as ``count_include_pad``
        says, or ``divisor_override``), overlaps added. Implemented by ``convnet.ops.pool.AvgPoolNd``.

    >>> import convnet as cn
    >>> avg_pool3d(cn.ones(1, 1, 4, 4, 4), 2).shape
    (1, 1, 2, 2, 2)
    """
    return _avg("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override)


def _lp(fn, nd, input, norm_type, kernel_size, stride, ceil_mode):
    _check_input(fn, input, nd)
    k = _ints(fn, "kernel_size", kernel_size, nd)
    out = _avg(fn, nd, input ** norm_type, kernel_size, stride, 0, ceil_mode, True, None)
    # (sum over the window of x^p)^(1/p); like PyTorch's sign(out) * relu(|out|), a window summing
    # to 0 gives 0 with a zero gradient (not the 0 * inf = NaN of the power's derivative at 0)
    nonzero = out._data != 0
    root = where(nonzero, out * math.prod(k), 1.0) ** (1.0 / norm_type)
    return where(nonzero, root, 0.0)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling ``(sum_window x^p)^(1/p)``, composed from :func:`avg_pool1d`.

    Backward:
        Composite (``x ** p``, average pooling and a power), so by the chain rule dL/dx_i = sum over the
        windows w containing i of dL/dy_w * x_i^(p-1) * y_w^(1-p); a window whose sum is 0 passes no gradient.
    """
    return _lp("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling ``(sum_window x^p)^(1/p)`` over 2-d windows (``p = 1``: sum pooling,
    ``p -> inf``: max pooling), composed from :func:`avg_pool2d` and powers.

    Backward:
        Composite (``x ** p``, average pooling and a power), so by the chain rule dL/dx_i = sum over the
        windows w containing i of dL/dy_w * x_i^(p-1) * y_w^(1-p); a window whose sum is 0 passes no gradient.

    >>> import convnet as cn
    >>> lp_pool2d(cn.ones(1, 1, 4, 4), 2, 2).numpy().ravel().tolist()
    [2.0, 2.0, 2.0, 2.0]
    """
    return _lp("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over 3-d windows (see :func:`lp_pool2d`).

    Backward:
        Composite (``x ** p``, average pooling and a power), so by the chain rule dL/dx_i = sum over the
        windows w containing i of dL/dy_w * x_i^(p-1) * y_w^(1-p); a window whose sum is 0 passes no gradient.
    """
    return _lp("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


def _adaptive_size(fn, x, nd, output_size):
    """``output_size`` (int, or tuple with ``None`` = keep the input size) -> ``nd``-tuple."""
    _check_input(fn, x, nd)
    if output_size is None:
        raise TypeError(f"{fn}: output_size must be an int or a tuple of {nd} ints/None, got None")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * nd
    if len(sizes) != nd:
        raise ShapeError(f"{fn}: output_size must have {nd} entries, got output_size={output_size!r}")
    out = []
    for o, n in zip(sizes, x.shape[-nd:]):
        if o is None:
            o = n
        if not isinstance(o, numbers.Integral) or isinstance(o, bool):
            raise TypeError(f"{fn}: output_size must be an int or a tuple of {nd} ints/None, "
                            f"got output_size={output_size!r}")
        if o < 0:
            raise ShapeError(f"{fn}: elements of output_size must be non-negative, got output_size={output_size!r}")
        out.append(int(o))
    return tuple(out)


def adaptive_avg_pool2d(input, output_size):
    """2-d adaptive average pooling to a fixed output size whatever the input size.

    Output cell ``i`` averages input rows ``[floor(i H / H_out), ceil((i + 1) H / H_out))``
    (likewise columns), so windows may differ in size and overlap when ``H_out`` does not
    divide ``H``. ``output_size=1`` is global average pooling.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``.
        output_size: int or ``(H_out, W_out)``; a ``None`` entry keeps that input size.

    Shape:
        ``(N, C, H, W) -> (N, C, H_out, W_out)``.

    Backward:
        dL/dx = A^T dL/dy along each spatial axis, A the (out, in) averaging matrix of the adaptive windows:
        each output's gradient spread evenly over its window, overlaps added. Implemented by
        ``convnet.ops.pool.AdaptiveAvgPoolNd``.

    Example:
        >>> import convnet as cn
        >>> adaptive_avg_pool2d(cn.randn(2, 8, 7, 5), (3, None)).shape
        (2, 8, 3, 5)
    """
    return _pool.adaptive_avg_pool(input, _adaptive_size("adaptive_avg_pool2d", input, 2, output_size))


def adaptive_avg_pool1d(input, output_size):
    """1-d adaptive average pooling, ``(N, C, L) -> (N, C, L_out)`` (see :func:`adaptive_avg_pool2d`).

    Backward:
        dL/dx = A^T dL/dy along each spatial axis, A the (out, in) averaging matrix of the adaptive windows:
        each output's gradient spread evenly over its window, overlaps added. Implemented by
        ``convnet.ops.pool.AdaptiveAvgPoolNd``.
    """
    return _pool.adaptive_avg_pool(input, _adaptive_size("adaptive_avg_pool1d", input, 1, output_size))


def adaptive_avg_pool3d(input, output_size):
    """3-d adaptive average pooling, ``(N, C, D, H, W) -> (N, C, D_out, H_out, W_out)``.

    Backward:
        dL/dx = A^T dL/dy along each spatial axis, A the (out, in) averaging matrix of the adaptive windows:
        each output's gradient spread evenly over its window, overlaps added. Implemented by
        ``convnet.ops.pool.AdaptiveAvgPoolNd``.
    """
    return _pool.adaptive_avg_pool(input, _adaptive_size("adaptive_avg_pool3d", input, 3, output_size))


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """2-d adaptive max pooling: the max over the same windows as :func:`adaptive_avg_pool2d`;
    ``return_indices`` also gives the flat per-plane arg-max ``h * W + w`` (int64).

    Backward:
        dL/dx = dL/dy scatter-added at each window's arg-max (the returned indices), zero elsewhere.
        Implemented by ``convnet.ops.pool.AdaptiveMaxPoolNd``.

    Example:
        >>> import convnet as cn
        >>> out, idx = adaptive_max_pool2d(cn.randn(1, 2, 5, 7), 3, return_indices=True)
        >>> out.shape, idx.shape
        ((1, 2, 3, 3), (1, 2, 3, 3))
    """
    size = _adaptive_size("adaptive_max_pool2d", input, 2, output_size)
    return _pool.adaptive_max_pool(input, size, return_indices)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """1-d adaptive max pooling (see :func:`adaptive_max_pool2d`).

    Backward:
        dL/dx = dL/dy scatter-added at each window's arg-max (the returned indices), zero elsewhere.
        Implemented by ``convnet.ops.pool.AdaptiveMaxPoolNd``.
    """
    size = _adaptive_size("adaptive_max_pool1d", input, 1, output_size)
    return _pool.adaptive_max_pool(input, size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """3-d adaptive max pooling (see :func:`adaptive_max_pool2d`).

    Backward:
        dL/dx = dL/dy scatter-added at each window's arg-max (the returned indices), zero elsewhere.
        Implemented by ``convnet.ops.pool.AdaptiveMaxPoolNd``.
    """
    size = _adaptive_size("adaptive_max_pool3d", input, 3, output_size)
    return _pool.adaptive_max_pool(input, size, return_indices)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    """See :func:`adaptive_max_pool1d`; returns ``(output, indices)``.

    Backward:
        dL/dx = dL/dy scatter-added at each window's arg-max (the returned indices), zero elsewhere.
        Implemented by ``convnet.ops.pool.AdaptiveMaxPoolNd``.
    """
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    """See :func:`adaptive_max_pool2d`; returns ``(output, indices)``.

    Backward:
        dL/dx = dL/dy scatter-added at each window's arg-max (the returned indices), zero elsewhere.
        Implemented by ``convnet.ops.pool.AdaptiveMaxPoolNd``.
    """
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    """See :func:`adaptive_max_pool3d`; returns ``(output, indices)``.

    Backward:
        dL/dx = dL/dy scatter-added at each window's arg-max (the returned indices), zero elsewhere.
        Implemented by ``convnet.ops.pool.AdaptiveMaxPoolNd``.
    """
    return adaptive_max_pool3d(input, output_size, True)


__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d", "min_pool1d", "min_pool2d", "min_pool3d",
    "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
    "avg_pool1d", "avg_pool2d", "avg_pool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices",
]
