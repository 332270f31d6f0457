"""The slow, readable loop reference of 2-D convolution: the definition, written out.

Tests compare the fast im2col + GEMM implementation (``ops/conv.py``) against these
loops; the library never calls them. Nothing here is clever on purpose: one output value
at a time, straight from the formula

.. math::

    y[n, o, i, j] = b[o] + \\sum_{c} \\sum_{p, q} W[o, c, p, q]\\;
                    x_{pad}[n,\\; g(o) \\cdot C_g + c,\\; i s_h + p d_h,\\; j s_w + q d_w]

where ``g(o)`` is the group of output channel ``o`` and ``C_g = C_in / groups``.
"""
from __future__ import annotations

import numpy as np

from ..shapes import conv_output_size, ntuple


def _setup(x, weight, stride, padding, dilation):
    sh, sw = ntuple(stride, 2, "stride", "conv2d_ref")
    ph, pw = ntuple(padding, 2, "padding", "conv2d_ref")
    dh, dw = ntuple(dilation, 2, "dilation", "conv2d_ref")
    kh, kw = weight.shape[2:]
    h_out = conv_output_size(x.shape[2], kh, sh, ph, dh)
    w_out = conv_output_size(x.shape[3], kw, sw, pw, dw)
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    return (sh, sw), (ph, pw), (dh, dw), (h_out, w_out), x_pad


def _window(x_pad, n, channels, i, j, kernel, stride, dilation):
    """The (C_g, kH, kW) patch of ``x_pad`` that output position (i, j) sees."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    rows = i * sh + dh * np.arange(kh)
    cols = j * sw + dw * np.arange(kw)
    return x_pad[n, channels][:, rows][:, :, cols]


def conv2d_ref(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Loop reference of ``F.conv2d`` (symmetric int/pair padding only).

    Args:
        x: (N, C_in, H, W) ndarray; weight: (C_out, C_in/groups, kH, kW); bias: (C_out,) or None.
    Returns:
        (N, C_out, H_out, W_out) ndarray.
    """
    stride, _, dilation, (h_out, w_out), x_pad = _setup(x, weight, stride, padding, dilation)
    n_batch, c_out = x.shape[0], weight.shape[0]
    c_g, o_g = weight.shape[1], c_out // groups
    out = np.zeros((n_batch, c_out, h_out, w_out), dtype=np.result_type(x, weight))
    for n in range(n_batch):
        for o in range(c_out):
            channels = slice((o // o_g) * c_g, (o // o_g + 1) * c_g)   # this output's group
            for i in range(h_out):
                for j in range(w_out):
                    patch = _window(x_pad, n, channels, i, j, weight.shape[2:], stride, dilation)
                    out[n, o, i, j] = (patch * weight[o]).sum() + (0 if bias is None else bias[o])
    return out


def conv2d_ref_grads(x, weight, grad_out, stride=1, padding=0, dilation=1, groups=1):
    """Loop reference of the three conv2d gradients for upstream gradient ``grad_out``.

    Every output value ``y[n, o, i, j]`` used one patch and the filter ``W[o]``, so its
    gradient flows back to exactly those: the patch pixels get ``grad · W[o]``, the filter
    gets ``grad · patch``, the bias gets ``grad``.

    Returns:
        (grad_x (N, C_in, H, W), grad_weight like weight, grad_bias (C_out,)).
    """
    stride, (ph, pw), dilation, (h_out, w_out), x_pad = _setup(x, weight, stride, padding, dilation)
    (kh, kw), (sh, sw), (dh, dw) = weight.shape[2:], stride, dilation
    c_g, o_g = weight.shape[1], weight.shape[0] // groups
    grad_x_pad = np.zeros_like(x_pad)
    grad_w = np.zeros_like(weight)
    grad_b = np.zeros(weight.shape[0], dtype=grad_out.dtype)
    for n in range(x.shape[0]):
        for o in range(weight.shape[0]):
            g0 = (o // o_g) * c_g
            for i in range(h_out):
                for j in range(w_out):
                    g = grad_out[n, o, i, j]
                    grad_b[o] += g
                    for c in range(c_g):
                        for p in range(kh):
                            for q in range(kw):
                                r, s = i * sh + p * dh, j * sw + q * dw
                                grad_x_pad[n, g0 + c, r, s] += g * weight[o, c, p, q]
                                grad_w[o, c, p, q] += g * x_pad[n, g0 + c, r, s]
    grad_x = grad_x_pad[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    return grad_x, grad_w, grad_b


__all__ = ["conv2d_ref", "conv2d_ref_grads"]
