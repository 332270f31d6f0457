"""Output-size, padding and receptive-field arithmetic: the one home of each formula.

The engine, the summary table, the docstrings and the error messages all call these.

.. math::

    H_{out} = \\left\\lfloor \\frac{H + 2p - d(k-1) - 1}{s} \\right\\rfloor + 1
"""
from __future__ import annotations

import math

_INT = {int}


def ntuple(value, n, name="argument", fn="op"):
    """Expand an int to an ``n``-tuple; check a tuple has length ``n``."""
    if type(value) is int:  # the common cases first, cheaply
        return (value,) * n
    if type(value) is tuple and len(value) == n and set(map(type, value)) <= _INT:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * n
    try:
        t = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(f"{fn}: {name} must be an int or a tuple of {n} ints, got {value!r}") from None
    if len(t) == 1:
        return t * n
    if len(t) != n:
        raise ValueError(f"{fn}: {name} must have {n} values, got {value!r}")
    return t


def conv_output_size(n, kernel_size, stride=1, padding=0, dilation=1):
    """Output length of a convolution along one axis: ``floor((n + 2p - d(k-1) - 1)/s) + 1``.

    ``padding`` may be an int (both sides) or a ``(before, after)`` pair.
    """
    before, after = (padding, padding) if isinstance(padding, int) else padding
    return (n + before + after - dilation * (kernel_size - 1) - 1) // stride + 1


def conv_output_formula(n, kernel_size, stride=1, padding=0, dilation=1):
    """The output-size arithmetic written out, for error messages."""
    before, after = (padding, padding) if isinstance(padding, int) else padding
    pad = f"2·{before}" if before == after else f"{before}+{after}"
    num = n + before + after - dilation * (kernel_size - 1) - 1
    return (f"({n} + {pad} − {dilation}·({kernel_size}−1) − 1)/{stride} + 1 = "
            f"{num}/{stride} + 1 = {num // stride + 1 if num >= 0 else 'negative'}")


def pool_output_size(n, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Output length of pooling along one axis, PyTorch's rule including ``ceil_mode``.

    With ``ceil_mode`` the last window may hang over the edge, but it must start inside the
    input or the left padding: ``(out - 1) * s < n + p``.
    """
    stride = kernel_size if stride is None else stride
    num = n + 2 * padding - dilation * (kernel_size - 1) - 1
    out = (-(-num // stride) if ceil_mode else num // stride) + 1
    if ceil_mode and (out - 1) * stride >= n + padding:
        out -= 1
    return out


def pool_output_formula(n, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """The pooling output-size arithmetic written out (floor or, with ``ceil_mode``, ceil), for
    error messages."""
    stride = kernel_size if stride is None else stride
    num = n + 2 * padding - dilation * (kernel_size - 1) - 1
    lo, hi = ("⌈", "⌉") if ceil_mode else ("⌊", "⌋")
    out = pool_output_size(n, kernel_size, stride, padding, dilation, ceil_mode)
    return (f"{lo}({n} + 2·{padding} − {dilation}·({kernel_size}−1) − 1)/{stride}{hi} + 1 = "
            f"{lo}{num}/{stride}{hi} + 1 = {out}")


def pool_window_trim(n, kernel_size, stride, padding, dilation, out):
    """Window offsets that never reach the input, for pooling along one axis: ``(a, b)``.

    Window ``i`` reads padded positions ``i*s - p + t*d`` for ``t`` in ``[0, k)``. The first ``a``
    offsets stay left of the input for every one of the ``out`` windows
    (``(out-1)*s - p + (a-1)*d < 0``) and the last ``b`` stay right of it (``-p + (k-b)*d >= n``).
    Pooling with kernel ``k - a - b`` and padding ``p - a*d`` reads the same input elements for
    the first ``out`` windows; ``a <= b`` keeps at least ``out`` windows, ``a*d <= p`` keeps the
    padding non-negative. A kernel far larger than its input thus costs what the input does.
    """
    k, s, p, d = kernel_size, stride, padding, dilation
    b = max(0, k - -(-(n + p) // d))  # k - ceil((n + p) / d)
    a = max(0, min(-(-(p - (out - 1) * s) // d), p // d, b))  # ceil((p - (out-1)s) / d), bounded
    return (a, b) if a + b < k else (0, 0)


def conv_transpose_output_size(n, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    """``(n - 1)s - 2p + d(k - 1) + output_padding + 1`` (inverse of ``conv_output_size``)."""
    return (n - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1


def conv_transpose_output_formula(n, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    """The transposed-conv output-size arithmetic written out, for error messages."""
    out = conv_transpose_output_size(n, kernel_size, stride, padding, output_padding, dilation)
    return (f"({n} − 1)·{stride} − 2·{padding} + {dilation}·({kernel_size}−1) + {output_padding} + 1"
            f" = {out}")


def same_padding(kernel_size, dilation=1):
    """(before, after) padding that keeps the size at stride 1; odd totals put the extra
    unit after (right/bottom), as PyTorch does."""
    total = dilation * (kernel_size - 1)
    return total // 2, total - total // 2


def resolve_padding(padding, kernel_size, dilation, stride, n, fn="conv"):
    """Turn 'valid' / 'same' / int / tuple into a list of (before, after) pairs, one per axis."""
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{fn}: padding='same' is not supported for strided convolutions "
                                 f"(stride={tuple(stride)}); use an explicit padding")
            return [same_padding(k, d) for k, d in zip(kernel_size, dilation)]
        raise ValueError(f"{fn}: padding must be 'valid', 'same', an int or a tuple, got {padding!r}")
    p = ntuple(padding, n, "padding", fn)
    if min(p) < 0:
        from .errors import ShapeError

        raise ShapeError(f"{fn}: padding must be non-negative, got {padding!r}")
    return [(v, v) for v in p]


def receptive_field(layers):
    """Receptive field of a stack of (kernel, stride, dilation) layers along one axis.

    ``r_out = r_in + d(k-1) * j_in``, ``j_out = j_in * s`` where ``j`` is the jump
    (distance between adjacent outputs in input pixels). Returns ``(r, j)``.
    """
    r, j = 1, 1
    for k, s, d in layers:
        r += d * (k - 1) * j
        j *= s
    return r, j


def adaptive_bounds(n_in, n_out):
    """Start/end of each adaptive-pooling window: ``[floor(i n/o), ceil((i+1) n/o))``."""
    return [(math.floor(i * n_in / n_out), math.ceil((i + 1) * n_in / n_out)) for i in range(n_out)]
