r"""Resizing: ``interpolate`` (``torch.nn.functional.interpolate``) and its ``upsample`` aliases.

A composite of differentiable primitives, so the gradient is correct by construction:

* nearest modes are a gather along each spatial axis (``x[..., idx]``; the backward scatter-adds),
* linear modes are separable: one matrix product per spatial axis with an ``(in, out)``
  interpolation matrix ``A`` whose column ``o`` holds the two weights of output ``o``
  (``y = x @ A`` along that axis; the backward is ``g @ A^T``),
* ``'area'`` is adaptive average pooling.

Source coordinate of output index ``o`` along an axis of input size ``n_in`` and output size
``n_out`` (torch's definitions; ``s = n_in / n_out``, or ``1 / scale_factor`` when a scale factor is
given and ``recompute_scale_factor`` is not True):

.. math::
    \text{nearest: } \lfloor o\,s \rfloor \qquad \text{nearest-exact: } \lfloor (o + 0.5)\,s \rfloor

    \text{linear, align\_corners=True: } o \frac{n_{in}-1}{n_{out}-1} \qquad
    \text{align\_corners=False: } \max\big((o + 0.5)\,s - 0.5,\ 0\big)

Output size: ``size``, or ``floor(n_in * scale_factor)``.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import ops
from .._backend import array_module
from ..ops._util import check_float
from ..tensor import Tensor
from .pool import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

_LINEAR = {3: "linear", 4: "bilinear", 5: "trilinear"}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "area")


def _per_axis(fn, name, value, k):
    """``value`` as a k-tuple (an int/float is repeated); a sequence must have k entries."""
    if isinstance(value, numbers.Number):
        return (value,) * k
    value = tuple(value)
    if len(value) != k:
        raise ValueError(f"{fn}: {name} must have {k} entries for a {k + 2}-D input (one per spatial dim), "
                         f"got {value}")
    return value


def _sizes_and_scales(input, size, scale_factor, recompute_scale_factor):
    """Output spatial sizes and the scale (``1/scale_factor``, or ``None`` for ``n_in/n_out``) per axis."""
    k = input.ndim - 2
    spatial = input.shape[2:]
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: exactly one of size or scale_factor must be given, got "
                         + ("both" if size is not None else "neither"))
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is only meaningful with scale_factor, "
                             "not with size")
        out = _per_axis("interpolate", "size", size, k)
        if not all(isinstance(s, numbers.Integral) and s > 0 for s in out):
            raise ValueError(f"interpolate: size must be positive ints, got {size}")
        return tuple(int(s) for s in out), (None,) * k
    factors = _per_axis("interpolate", "scale_factor", scale_factor, k)
    if not all(isinstance(f, numbers.Real) and f > 0 and math.isfinite(f) for f in factors):
        raise ValueError(f"interpolate: scale_factor must be positive finite numbers, got {scale_factor}")
    out = tuple(int(math.floor(float(n) * float(f))) for n, f in zip(spatial, factors))
    if any(s <= 0 for s in out):
        raise ValueError(f"interpolate: scale_factor {scale_factor} gives an empty output {out} for input "
                         f"spatial size {tuple(spatial)}")
    scales = (None,) * k if recompute_scale_factor else tuple(1.0 / float(f) for f in factors)
    return out, scales


def _nearest_index(n_in, n_out, scale, exact):
    """Source index per output index, in float32 arithmetic as torch's CPU kernel."""
    if not exact and n_out in (n_in, 2 * n_in):                 # torch's shortcuts, whatever the scale
        return np.arange(n_out) // (n_out // n_in)
    s = np.float32(n_in / n_out if scale is None else scale)  # torch: compute_scales_value<float>
    o = np.arange(n_out, dtype=np.float32)
    src = np.floor((o + np.float32(0.5)) * s if exact else o * s).astype(np.int64)
    return np.minimum(src, n_in - 1)


def _linear_matrix(n_in, n_out, scale, align_corners, dtype):
    """``(n_in, n_out)`` matrix ``A``: output ``o`` = sum_i x[i] A[i, o] (two nonzeros per column)."""
    if align_corners:
        s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        s = n_in / n_out if scale is None else scale
    o = np.arange(n_out, dtype=np.float64)
    src = o * s if align_corners else np.maximum((o + 0.5) * s - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam1 = src - i0
    a = np.zeros((n_in, n_out), dtype=np.float64)
    np.add.at(a, (i0, np.arange(n_out)), 1.0 - lam1)
    np.add.at(a, (i1, np.arange(n_out)), lam1)
    return a.astype(dtype)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize ``input`` ``(N, C, *spatial)`` (3-D, 4-D or 5-D) to ``size`` or by ``scale_factor``.

    Args:
        input: ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        size: output spatial size (int or one per spatial dim).
        scale_factor: multiplier for the spatial size (float or one per spatial dim).
        mode: ``'nearest'`` (torch's legacy index ``floor(o * in / out)``), ``'nearest-exact'``,
            ``'linear'`` (3-D), ``'bilinear'`` (4-D), ``'trilinear'`` (5-D) or ``'area'``.
        align_corners: linear modes only; ``True`` maps corner pixel centres onto each other,
            ``False``/``None`` (default) uses half-pixel centres.
        recompute_scale_factor: with ``scale_factor``, ``True`` computes the coordinates from the
            output size (``in / out``) rather than from ``1 / scale_factor``.
        antialias: only ``False`` is supported.

    Shape:
        ``(N, C, *S_in) -> (N, C, *S_out)``, ``S_out = size`` or ``floor(S_in * scale_factor)``.

    Backward:
        Composite, separable per spatial axis: linear, bilinear, trilinear and area modes multiply by an (in,
        out) interpolation matrix A along each axis, so dL/dx = dL/dy times A^T per axis (each output's
        gradient split between its source pixels with the interpolation weights); nearest modes gather, so
        each output's gradient is added back onto the pixel it copied.

    Example:
        >>> import convnet as cn
        >>> x = cn.tensor([[[1.0, 2.0]]])
        >>> interpolate(x, scale_factor=2, mode="linear").tolist()
        [[[1.0, 1.25, 1.75, 2.0]]]
    """
    check_float("interpolate", "input", input)
    if input.ndim not in (3, 4, 5):
        raise ValueError(f"interpolate: input must be 3-D, 4-D or 5-D (N, C, *spatial), got shape {input.shape}")
    if mode not in _MODES:
        raise ValueError(f"interpolate: mode must be one of {list(_MODES)}, got {mode!r}")
    linear = mode in ("linear", "bilinear", "trilinear")
    if linear and mode != _LINEAR[input.ndim]:
        raise ValueError(f"interpolate: mode {mode!r} needs a {({v: k for k, v in _LINEAR.items()})[mode]}-D "
                         f"input, got {input.ndim}-D (shape {input.shape}); use {_LINEAR[input.ndim]!r}")
    if align_corners is not None and not linear:
        raise ValueError(f"interpolate: align_corners can only be set with the linear modes "
                         f"(linear | bilinear | trilinear), got mode {mode!r}")
    if antialias:
        raise ValueError("interpolate: antialias=True is not supported")
    if 0 in input.shape[:2]:
        raise ValueError(f"interpolate: input must have non-empty batch and channel dims, got {input.shape}")
    out_size, scales = _sizes_and_scales(input, size, scale_factor, recompute_scale_factor)
    if mode == "area":
        pool = {3: adaptive_avg_pool1d, 4: adaptive_avg_pool2d, 5: adaptive_avg_pool3d}[input.ndim]
        return pool(input, out_size)
    xp = array_module(input._data)
    out = input
    for axis, (n_out, scale) in enumerate(zip(out_size, scales), start=2):
        n_in = input.shape[axis]
        if linear:
            a = _linear_matrix(n_in, n_out, scale, bool(align_corners), input.dtype)
            a = Tensor._wrap(xp.asarray(a), False)
            moved = ops.transpose(out, axis, -1)                # (..., n_in) with this axis last
            out = ops.transpose(ops.matmul(moved, a), axis, -1)  # (..., n_in) @ (n_in, n_out)
        else:
            idx = xp.asarray(_nearest_index(n_in, n_out, scale, mode == "nearest-exact"))
            out = ops.getitem(out, (slice(None),) * axis + (idx,))
    return out


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """``torch.nn.functional.upsample`` (deprecated alias of :func:`interpolate`).

    Backward:
        Composite, separable per spatial axis: linear, bilinear, trilinear and area modes multiply by an (in,
        out) interpolation matrix A along each axis, so dL/dx = dL/dy times A^T per axis (each output's
        gradient split between its source pixels with the interpolation weights); nearest modes gather, so
        each output's gradient is added back onto the pixel it copied.
    """
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """upsample_nearest.

    Backward:
        Composite, separable per spatial axis: linear, bilinear, trilinear and area modes multiply by an (in,
        out) interpolation matrix A along each axis, so dL/dx = dL/dy times A^T per axis (each output's
        gradient split between its source pixels with the interpolation weights); nearest modes gather, so
        each output's gradient is added back onto the pixel it copied.
    """
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Bilinear with ``align_corners=True`` (torch's ``upsample_bilinear``).

    Backward:
        Composite, separable per spatial axis: linear, bilinear, trilinear and area modes multiply by an (in,
        out) interpolation matrix A along each axis, so dL/dx = dL/dy times A^T per axis (each output's
        gradient split between its source pixels with the interpolation weights); nearest modes gather, so
        each output's gradient is added back onto the pixel it copied.
    """
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]
