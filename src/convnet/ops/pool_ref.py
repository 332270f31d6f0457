"""Slow, readable loop references of 2-d max and average pooling (forward and input gradient).

Plain Python loops over batch, channel and output pixel, one window at a time, written
straight from the definitions. Tests compare the vectorised primitives in
:mod:`convnet.ops.pool` against these; nothing else should call them.
"""
from __future__ import annotations

import math

from .._backend import array_module
from ..shapes import pool_output_size


def _geometry(x, kernel_size, stride, padding, dilation, ceil_mode):
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    H, W = x.shape[-2:]
    return (H, W, pool_output_size(H, kh, sh, ph, dh, ceil_mode), pool_output_size(W, kw, sw, pw, dw, ceil_mode))


def max_pool2d_ref(x, kernel_size, stride, padding=(0, 0), dilation=(1, 1), ceil_mode=False):
    """Max of each window over the in-bounds elements (padding never wins).

    Args:
        x: array (N, C, H, W); kernel_size, stride, padding, dilation: (h, w) pairs.

    Returns:
        ``(out, indices)``, both (N, C, H_out, W_out); ``indices`` are PyTorch's flat per-plane
        arg-max ``h * W + w`` (the first maximum in row-major scan order).
    """
    xp = array_module(x)
    N, C = x.shape[:2]
    H, W, Ho, Wo = _geometry(x, kernel_size, stride, padding, dilation, ceil_mode)
    out = xp.zeros((N, C, Ho, Wo), x.dtype)
    idx = xp.zeros((N, C, Ho, Wo), "int64")
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    best, arg = -math.inf, None
                    for a in range(kernel_size[0]):
                        for b in range(kernel_size[1]):
                            h = i * stride[0] - padding[0] + a * dilation[0]
                            w = j * stride[1] - padding[1] + b * dilation[1]
                            if 0 <= h < H and 0 <= w < W:
                                if arg is None or x[n, c, h, w] > best:
                                    best, arg = x[n, c, h, w], h * W + w
                    out[n, c, i, j], idx[n, c, i, j] = best, arg
    return out, idx


def max_pool2d_ref_grad(x, grad_out, kernel_size, stride, padding=(0, 0), dilation=(1, 1), ceil_mode=False):
    """Input gradient of :func:`max_pool2d_ref`: each output's gradient goes to its arg-max."""
    xp = array_module(x)
    _, idx = max_pool2d_ref(x, kernel_size, stride, padding, dilation, ceil_mode)
    N, C, H, W = x.shape
    grad = xp.zeros((N, C, H * W), grad_out.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(idx.shape[2]):
                for j in range(idx.shape[3]):
                    grad[n, c, idx[n, c, i, j]] += grad_out[n, c, i, j]
    return grad.reshape(x.shape)


def _avg_window(i, k, s, p, n, count_include_pad):
    """Input range [start, end) of window ``i`` and the number of elements it is divided by."""
    start = i * s - p
    end = min(start + k, n + p)  # the padded border; a ceil_mode overhang past it is not counted
    size = end - start
    start, end = max(start, 0), min(end, n)
    return start, end, (size if count_include_pad else end - start)


def avg_pool2d_ref(x, kernel_size, stride, padding=(0, 0), ceil_mode=False, count_include_pad=True,
                   divisor_override=None):
    """Mean of each window with PyTorch's divisor rule.

    Args:
        x: array (N, C, H, W); kernel_size, stride, padding: (h, w) pairs.

    Returns:
        out: (N, C, H_out, W_out).
    """
    xp = array_module(x)
    N, C = x.shape[:2]
    H, W, Ho, Wo = _geometry(x, kernel_size, stride, padding, (1, 1), ceil_mode)
    out = xp.zeros((N, C, Ho, Wo), x.dtype)
    for i in range(Ho):
        h0, h1, dh = _avg_window(i, kernel_size[0], stride[0], padding[0], H, count_include_pad)
        for j in range(Wo):
            w0, w1, dw = _avg_window(j, kernel_size[1], stride[1], padding[1], W, count_include_pad)
            div = divisor_override or dh * dw
            for n in range(N):
                for c in range(C):
                    total = 0.0
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            total += float(x[n, c, h, w])
                    out[n, c, i, j] = total / div
    return out


def avg_pool2d_ref_grad(x, grad_out, kernel_size, stride, padding=(0, 0), ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """Input gradient of :func:`avg_pool2d_ref`: each output's gradient / divisor to every
    in-bounds element of its window."""
    xp = array_module(x)
    N, C, H, W = x.shape
    grad = xp.zeros(x.shape, grad_out.dtype)
    for i in range(grad_out.shape[2]):
        h0, h1, dh = _avg_window(i, kernel_size[0], stride[0], padding[0], H, count_include_pad)
        for j in range(grad_out.shape[3]):
            w0, w1, dw = _avg_window(j, kernel_size[1], stride[1], padding[1], W, count_include_pad)
            div = divisor_override or dh * dw
            for n in range(N):
                for c in range(C):
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            grad[n, c, h, w] += grad_out[n, c, i, j] / div
    return grad
