"""Sliding a kernel over an image: correlation (what CNN layers compute) and true convolution.

Both are computed the way the engine computes a conv layer: ``im2col`` gathers every
``kH x kW`` patch into a column, and one matrix product with the flattened kernel gives
every output pixel at once.

.. math::

    \\text{correlate: } S(i, j) = \\sum_{m, n} I(i s + m,\\, j s + n)\\, K(m, n) \\qquad
    \\text{convolve: } S(i, j) = \\sum_{m, n} I(i s + m,\\, j s + n)\\, K(k_H-1-m,\\, k_W-1-n)

    H_{out} = \\left\\lfloor \\frac{H + p_{top} + p_{bottom} - k_H}{s} \\right\\rfloor + 1
"""
from __future__ import annotations

import numpy as np

from .. import shapes
from ..ops.im2col import im2col


def _as_float(arr, fn, argname, dims):
    a = np.asarray(arr)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: {argname} must hold real numbers, got dtype {a.dtype}")
    if a.ndim not in dims:
        want = {2: "2-D (H, W)", 3: "(H, W, C)"}
        expected = " or ".join(want.get(d, f"{d}-D") for d in dims)
        raise ValueError(f"{fn}: {argname} must be {expected}, got shape {a.shape}")
    return a


def geometry(fn, image_hw, kernel_hw, stride=1, padding=0):
    """Resolve stride/padding and the output size of sliding a (kH, kW) kernel over (H, W).

    Returns ``(stride, pads, out_hw)`` with ``pads = [(top, bottom), (left, right)]``; all the
    arithmetic comes from :mod:`convnet.shapes`. Raises ``ValueError`` with the output-size
    formula written out when the kernel does not fit in the padded image.
    """
    stride = shapes.ntuple(stride, 2, "stride", fn)
    if any(s < 1 for s in stride):
        raise ValueError(f"{fn}: stride must be >= 1, got {stride}")
    pads = shapes.resolve_padding(padding, kernel_hw, (1, 1), stride, 2, fn)
    out_hw = tuple(shapes.conv_output_size(n, k, s, p)
                   for n, k, s, p in zip(image_hw, kernel_hw, stride, pads))
    if min(out_hw) < 1:
        axis = 0 if out_hw[0] < 1 else 1
        name = ("height", "width")[axis]
        formula = shapes.conv_output_formula(image_hw[axis], kernel_hw[axis], stride[axis], pads[axis])
        raise ValueError(f"{fn}: kernel {kernel_hw[0]}x{kernel_hw[1]} does not fit in the image "
                         f"{image_hw[0]}x{image_hw[1]} padded by {pads[0]} (rows) and {pads[1]} (cols): "
                         f"output {name} = {formula}")
    return stride, pads, out_hw


def _correlate(fn, image, kernel, padding, stride):
    image = _as_float(image, fn, "image", (2, 3))
    kernel = _as_float(kernel, fn, "kernel", (2,))
    if kernel.size == 0:
        raise ValueError(f"{fn}: kernel must not be empty, got shape {kernel.shape}")
    dtype = np.result_type(image.dtype, kernel.dtype, np.float32)
    stride, pads, (h_out, w_out) = geometry(fn, image.shape[:2], kernel.shape, stride, padding)
    kh, kw = kernel.shape
    x = image.astype(dtype, copy=False)
    x = x[:, :, None] if x.ndim == 2 else x                     # (H, W, C)
    x = np.ascontiguousarray(x.transpose(2, 0, 1)[:, None])     # (C, 1, H, W): each channel alone
    cols = im2col(x, (kh, kw), stride, pads, 1)                 # (C, kH*kW, H_out*W_out), zero-padded
    out = kernel.astype(dtype, copy=False).reshape(-1) @ cols   # (kH*kW,) @ (C, kH*kW, L) -> (C, L)
    out = out.reshape(-1, h_out, w_out).transpose(1, 2, 0)      # (H_out, W_out, C)
    return out[:, :, 0] if image.ndim == 2 else out


def correlate2d(image, kernel, padding=0, stride=1):
    """Cross-correlate an image with a kernel (no flip): what a CNN conv layer computes.

    Args:
        image: (H, W) grayscale or (H, W, C) image; each channel is filtered on its own.
        kernel: (kH, kW) weights.
        padding: zeros added around the image: an int, a (pad_h, pad_w) pair, ``'valid'``
            (= 0) or ``'same'`` (output as large as the input; an odd total puts the extra
            row/column at the bottom/right, as PyTorch does). Stride must be 1 for ``'same'``.
        stride: int or (s_h, s_w) step between windows.

    Returns:
        NumPy float array (H_out, W_out) or (H_out, W_out, C) (float64 unless both inputs
        are float32/lower).

    Shape:
        ``H_out = floor((H + p_top + p_bottom - kH) / s_h) + 1`` (``shapes.conv_output_size``),
        likewise ``W_out``.

    Example:
        >>> correlate2d(np.arange(9.).reshape(3, 3), [[1, 0], [0, -1]])
        array([[-4., -4.],
               [-4., -4.]])
    """
    return _correlate("correlate2d", image, kernel, padding, stride)


def convolve2d(image, kernel, padding=0, stride=1):
    """True 2-D convolution: the kernel is flipped in both directions, then slid (correlated).

    ``convolve2d(I, K) == correlate2d(I, K[::-1, ::-1])``; with ``padding=0`` this is
    ``scipy.signal.convolve2d(I, K, mode='valid')``. Arguments, shapes and padding rules are
    those of :func:`correlate2d` (``'same'`` pads the image exactly as there).

    Example:
        >>> convolve2d([[0, 80, 40], [20, 40, 0], [0, 0, 40]], [[0, 0.25], [0.5, 1]])
        array([[ 45., 110.],
               [ 40.,  40.]])
    """
    kernel = _as_float(kernel, "convolve2d", "kernel", (2,))
    return _correlate("convolve2d", image, kernel[::-1, ::-1], padding, stride)


def convolve1d(signal, weights, mode="valid"):
    """1-D discrete convolution, the notes' weighted moving average ``s_t = Σ_a x_{t−a} w_{−a}``.

    Index convention: the notes index the weights by the offset ``−a`` of the sample
    ``x_{t−a}`` they multiply (``a >= 0`` is how many steps in the past it lies). Here
    ``weights[a]`` holds ``w_{−a}``: ``weights[0]`` weighs the newest sample ``x_t``,
    ``weights[1]`` the one before it, and so on. Hence
    ``s_t = Σ_{a=0}^{k-1} x_{t−a} · weights[a]``, which is ``numpy.convolve(signal, weights, mode)``.

    Args:
        signal: (n,) samples ``x_0 .. x_{n-1}``.
        weights: (k,) weights, ``weights[a] = w_{−a}``.
        mode: ``'valid'`` (default): only ``t = k-1 .. n-1`` where the window is complete,
            ``n - k + 1`` values; ``'full'``: every ``t = 0 .. n+k-2`` with missing samples taken
            as 0; ``'same'``: the centre ``max(n, k)`` values of ``'full'`` (as NumPy).

    Example:
        >>> convolve1d([1, 2, 3, 4], [0.5, 0.5])      # moving average of pairs
        array([1.5, 2.5, 3.5])
    """
    fn = "convolve1d"
    x = _as_float(signal, fn, "signal", (1,))
    w = _as_float(weights, fn, "weights", (1,))
    if w.size == 0 or x.size == 0:
        raise ValueError(f"{fn}: signal and weights must not be empty, got shapes {x.shape}, {w.shape}")
    if mode not in ("valid", "full", "same"):
        raise ValueError(f"{fn}: mode must be 'valid', 'full' or 'same', got {mode!r}")
    n, k = x.size, w.size
    pad = 0 if mode == "valid" else k - 1
    # A (1, n) image, a (1, k) kernel: 1-D convolution is the 2-D one along the width.
    out = _correlate(fn, x[None, :], w[None, ::-1], (0, pad), 1)[0]
    if mode == "same":
        start = (min(n, k) - 1) // 2
        out = out[start:start + max(n, k)]
    return out
