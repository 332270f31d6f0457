"""Convolutions with ``torch.nn.functional``'s signatures: conv1d/2d/3d, conv_transpose1d/2d/3d,
unfold and fold.

The work is done by the primitives in :mod:`convnet.ops.conv` (one N-d implementation);
this module checks the arguments (cheaply, with messages that name the function, the
argument and, for sizes, the output-size arithmetic) and handles unbatched inputs.

.. math::

    \\text{out}(n, o) = b(o) + \\sum_{c} W(o, c) \\star x(n, c)
    \\qquad H_{out} = \\left\\lfloor \\frac{H + 2p - d(k-1) - 1}{s} \\right\\rfloor + 1
"""
from __future__ import annotations

import math
import numbers

from .. import shapes
from ..ops._util import check_float
from ..ops.conv import ConvNd, ConvTransposeNd
from ..ops.im2col import Fold, Unfold
from ..errors import ShapeError

_AXES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
_KERNEL = {1: "kL", 2: "kH, kW", 3: "kD, kH, kW"}
_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}
_INT = {int}
_CONV_LAYOUT = {n: f"(C_out, C_in/groups, {k})" for n, k in _KERNEL.items()}


def _ints(value):
    """NumPy integer scalars (and 0-d arrays) behave like Python ints, as torch accepts them."""
    if type(value) is int:  # the common cases first: no ABC isinstance machinery
        return value
    if type(value) is tuple and set(map(type, value)) <= _INT:
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (tuple, list)):
        return tuple(int(v) if isinstance(v, numbers.Integral) else v for v in value)
    return value


def _positive(fn, name, value, n):
    t = shapes.ntuple(_ints(value), n, name, fn)
    if min(t) <= 0:
        raise ShapeError(f"{fn}: {name} must be positive, got {value!r}")
    return t


def _check_tensors(fn, n, input, weight, bias, weight_layout):
    check_float(fn, "input", input)
    check_float(fn, "weight", weight)
    if input._data.dtype != weight._data.dtype:
        raise TypeError(f"{fn}: argument 'input' has dtype {input.dtype} but 'weight' has dtype "
                        f"{weight.dtype}; they must match (convert one with .to())")
    if bias is not None:
        check_float(fn, "bias", bias)
        if bias._data.dtype != weight._data.dtype:
            raise TypeError(f"{fn}: argument 'bias' has dtype {bias.dtype} but 'weight' has dtype "
                            f"{weight.dtype}; they must match")
    if weight._data.ndim != n + 2:
        raise ShapeError(f"{fn}: argument 'weight' must be {n + 2}-D {weight_layout}, "
                         f"got shape {tuple(weight.shape)}")
    ndim = input._data.ndim
    if ndim != n + 2 and ndim != n + 1:
        raise ShapeError(f"{fn}: argument 'input' must be {n + 1}-D (C, {_SPATIAL[n]}) unbatched or "
                         f"{n + 2}-D (N, C, {_SPATIAL[n]}) batched, got shape {tuple(input.shape)}")


def _check_groups(fn, groups):
    if type(groups) is int and groups > 0:
        return
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups <= 0:
        raise ShapeError(f"{fn}: groups must be a positive int, got {groups!r}")


def _check_kernel(fn, kernel, wshape):
    """torch: "kernel size should be greater than zero" (a 0-size kernel would give a larger output)."""
    if min(kernel) < 1:
        raise ShapeError(f"{fn}: kernel size should be greater than zero, but got a weight of shape "
                         f"{tuple(wshape)} (kernel {tuple(kernel)})")


def _check_bias(fn, bias, channels):
    if bias is not None and bias._data.shape != (channels,):
        raise ShapeError(f"{fn}: argument 'bias' must have shape (C_out,) = ({channels},), "
                         f"got {tuple(bias.shape)}")


def _batched(fn_apply, input, n):
    """Run on a batch; an unbatched (C, *S) input gets a batch axis of 1 and loses it after."""
    if input.ndim == n + 2:
        return fn_apply(input)
    out = fn_apply(input.reshape((1,) + tuple(input.shape)))       # (C, *S) -> (1, C, *S)
    return out.reshape(tuple(out.shape[1:]))                       # (1, C_out, *S_out) -> (C_out, *S_out)


def _conv(fn, n, input, weight, bias, stride, padding, dilation, groups):
    _check_tensors(fn, n, input, weight, bias, _CONV_LAYOUT[n])
    _check_groups(fn, groups)
    stride = _positive(fn, "stride", stride, n)
    dilation = _positive(fn, "dilation", dilation, n)
    shape, wshape = input._data.shape, weight._data.shape
    kernel = wshape[2:]
    _check_kernel(fn, kernel, wshape)
    pads = shapes.resolve_padding(_ints(padding), kernel, dilation, stride, n, fn)
    c_out, c_in = wshape[0], shape[-n - 1]
    if c_out % groups:
        raise ShapeError(f"{fn}: weight has C_out={c_out} output channels, which is not divisible "
                         f"by groups={groups}")
    if c_in % groups:
        raise ShapeError(f"{fn}: input has {c_in} channels, which is not divisible by groups={groups}")
    if c_in != wshape[1] * groups:
        raise ShapeError(f"{fn}: input has {c_in} channels but weight expects {wshape[1]} × "
                         f"groups={groups} = {wshape[1] * groups} (weight shape "
                         f"{tuple(wshape)})")
    _check_bias(fn, bias, c_out)
    spatial = shape[-n:]
    if 0 in spatial:
        raise ShapeError(f"{fn}: argument 'input' has an empty spatial dimension (shape "
                         f"{tuple(shape)}); only an empty batch or channel axis is supported")
    for axis in range(n):
        if shapes.conv_output_size(spatial[axis], kernel[axis], stride[axis], pads[axis], dilation[axis]) <= 0:
            size, k, s, p, d = spatial[axis], kernel[axis], stride[axis], pads[axis], dilation[axis]
            padded = tuple(m + b + a for m, (b, a) in zip(spatial, pads))
            raise ShapeError(f"{fn}: kernel {kernel} with dilation {dilation} is larger than the padded "
                             f"input {padded}: output {_AXES[n][axis]} "
                             f"{shapes.conv_output_formula(size, k, s, p, d)}")
    groups = int(groups)
    if len(shape) == n + 2:  # batched: straight to the primitive
        if bias is None:
            return ConvNd.apply(input, weight, stride=stride, padding=pads, dilation=dilation, groups=groups)
        return ConvNd.apply(input, weight, bias, stride=stride, padding=pads, dilation=dilation, groups=groups)
    tensors = (weight,) if bias is None else (weight, bias)
    return _batched(lambda x: ConvNd.apply(x, *tensors, stride=stride, padding=pads,
                                           dilation=dilation, groups=groups), input, n)


def _conv_transpose(fn, n, input, weight, bias, stride, padding, output_padding, groups, dilation):
    _check_tensors(fn, n, input, weight, bias, f"(C_in, C_out/groups, {_KERNEL[n]})")
    _check_groups(fn, groups)
    stride = _positive(fn, "stride", stride, n)
    dilation = _positive(fn, "dilation", dilation, n)
    if isinstance(padding, str):
        raise TypeError(f"{fn}: argument 'padding' must be an int or a tuple of {n} ints, got "
                        f"{padding!r} (string padding exists only for conv{n}d)")
    pad = shapes.ntuple(_ints(padding), n, "padding", fn)
    out_pad = shapes.ntuple(_ints(output_padding), n, "output_padding", fn)
    if any(v < 0 for v in pad):
        raise ShapeError(f"{fn}: padding must be non-negative, got {padding!r}")
    if any(v < 0 for v in out_pad):
        raise ShapeError(f"{fn}: output_padding must be non-negative, got {output_padding!r}")
    if any(op >= s and op >= d for op, s, d in zip(out_pad, stride, dilation)):
        raise ShapeError(f"{fn}: output_padding {out_pad} must be smaller than either stride {stride} "
                         f"or dilation {dilation} in every dimension")
    c_in = input.shape[-n - 1]
    if weight.shape[0] % groups:
        raise ShapeError(f"{fn}: weight has C_in={weight.shape[0]} input channels, which is not "
                         f"divisible by groups={groups}")
    if c_in != weight.shape[0]:
        raise ShapeError(f"{fn}: input has {c_in} channels but weight expects {weight.shape[0]} "
                         f"(weight shape {tuple(weight.shape)} is (C_in, C_out/groups, {_KERNEL[n]}))")
    c_out = weight.shape[1] * groups
    _check_bias(fn, bias, c_out)
    kernel = tuple(weight.shape[2:])
    _check_kernel(fn, kernel, weight.shape)
    if 0 in input.shape[-n:]:
        raise ShapeError(f"{fn}: argument 'input' has an empty spatial dimension (shape "
                         f"{tuple(input.shape)}); only an empty batch or channel axis is supported")
    for axis, (size, k, s, p, op, d) in enumerate(zip(input.shape[-n:], kernel, stride, pad, out_pad,
                                                      dilation)):
        if shapes.conv_transpose_output_size(size, k, s, p, op, d) < 0:  # 0 gives an empty output
            raise ShapeError(f"{fn}: output size is negative: output {_AXES[n][axis]} "
                             f"{shapes.conv_transpose_output_formula(size, k, s, p, op, d)} "
                             f"(padding {pad} too large for input {tuple(input.shape[-n:])})")
    tensors = (weight,) if bias is None else (weight, bias)
    return _batched(lambda x: ConvTransposeNd.apply(
        x, *tensors, stride=stride, padding=[(p, p) for p in pad], output_padding=out_pad,
        dilation=dilation, groups=int(groups)), input, n)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation over (N, C_in, L) signals; see :func:`conv2d` for the arguments.

    Shape:
        input (N, C_in, L) or (C_in, L); weight (C_out, C_in/groups, kL); bias (C_out,);
        output (N, C_out, L_out), ``L_out = floor((L + 2p - d(kL-1) - 1)/s) + 1``.

    Backward:
        dL/dx = conv_transpose(dL/dy, W) with the same stride, padding, dilation and groups (the full
        convolution of the upstream gradient with the flipped kernel, computed as W^T times the gradient
        columns, then col2im); dL/dW = correlation of x with dL/dy (the sum over positions of dL/dy times the
        input patch under the kernel, i.e. dL/dy @ im2col(x)^T); dL/db = sum of dL/dy over N and the spatial
        axes. Implemented by ``convnet.ops.conv.ConvNd``.

    Example:
        >>> import convnet as cn
        >>> conv1d(cn.ones(1, 2, 5), cn.ones(3, 2, 3)).shape
        (1, 3, 3)
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation (what a CNN conv layer computes), as ``torch.nn.functional.conv2d``.

    Args:
        input: (N, C_in, H, W), or (C_in, H, W) unbatched.
        weight: (C_out, C_in/groups, kH, kW).
        bias: optional (C_out,).
        stride: int or (s_h, s_w).
        padding: int, (p_h, p_w), ``'valid'`` (no padding) or ``'same'`` (output as large as
            the input; stride must be 1; an odd total pads one more at the bottom/right).
        dilation: int or (d_h, d_w): spacing between kernel taps.
        groups: split the channels into ``groups`` independent convolutions
            (``groups == C_in`` is a depthwise convolution).

    Shape:
        output (N, C_out, H_out, W_out) with
        ``H_out = floor((H + 2p_h - d_h(kH - 1) - 1) / s_h) + 1`` (``shapes.conv_output_size``),
        likewise ``W_out``.

    Backward:
        dL/dx = conv_transpose(dL/dy, W) with the same stride, padding, dilation and groups (the full
        convolution of the upstream gradient with the flipped kernel, computed as W^T times the gradient
        columns, then col2im); dL/dW = correlation of x with dL/dy (the sum over positions of dL/dy times the
        input patch under the kernel, i.e. dL/dy @ im2col(x)^T); dL/db = sum of dL/dy over N and the spatial
        axes. Implemented by ``convnet.ops.conv.ConvNd``.

    Example:
        >>> import convnet as cn
        >>> conv2d(cn.ones(1, 3, 8, 8), cn.ones(4, 3, 3, 3), stride=2, padding=1).shape
        (1, 4, 4, 4)
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D cross-correlation over (N, C_in, D, H, W) volumes; see :func:`conv2d` for the arguments.

    Shape:
        input (N, C_in, D, H, W) or unbatched; weight (C_out, C_in/groups, kD, kH, kW);
        output (N, C_out, D_out, H_out, W_out), each by ``shapes.conv_output_size``.

    Backward:
        dL/dx = conv_transpose(dL/dy, W) with the same stride, padding, dilation and groups (the full
        convolution of the upstream gradient with the flipped kernel, computed as W^T times the gradient
        columns, then col2im); dL/dW = correlation of x with dL/dy (the sum over positions of dL/dy times the
        input patch under the kernel, i.e. dL/dy @ im2col(x)^T); dL/db = sum of dL/dy over N and the spatial
        axes. Implemented by ``convnet.ops.conv.ConvNd``.

    Example:
        >>> import convnet as cn
        >>> conv3d(cn.ones(1, 1, 4, 4, 4), cn.ones(2, 1, 3, 3, 3), padding='same').shape
        (1, 2, 4, 4, 4)
    """
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution (the adjoint of :func:`conv1d`); see :func:`conv_transpose2d`.

    Shape:
        input (N, C_in, L); weight (C_in, C_out/groups, kL); output (N, C_out, L_out) with
        ``L_out = (L - 1)s - 2p + d(kL - 1) + output_padding + 1``.

    Backward:
        dL/dx = conv(dL/dy, W), the ordinary cross-correlation of the upstream gradient with the same weight,
        stride, padding, dilation and groups (the transpose of a transpose); dL/dW = correlation of dL/dy with
        x (conv's weight gradient with the roles of input and upstream gradient swapped: x @ im2col(dL/dy)^T);
        dL/db = sum of dL/dy over N and the spatial axes. Implemented by ``convnet.ops.conv.ConvTransposeNd``.

    Example:
        >>> import convnet as cn
        >>> conv_transpose1d(cn.ones(1, 2, 4), cn.ones(2, 3, 3), stride=2).shape
        (1, 3, 9)
    """
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution ("deconvolution"), as ``torch.nn.functional.conv_transpose2d``.

    Computes the gradient of :func:`conv2d` with respect to its input: every input pixel
    spreads ``weight``-scaled copies onto a ``stride``-spaced output grid, overlaps summed.
    Note torch's argument order: ``groups`` comes before ``dilation``.

    Args:
        input: (N, C_in, H, W) or (C_in, H, W).
        weight: (C_in, C_out/groups, kH, kW) (C_in first, unlike conv2d).
        bias: optional (C_out,).
        stride, dilation: those of the conv2d this is the adjoint of.
        padding: int or pair; ``padding`` rows/cols are cropped from each side of the full
            output (torch: ``dilation·(k−1) − padding`` implicit zeros around the input).
        output_padding: extra rows/cols added at the bottom/right to pick among the input sizes
            a strided conv2d maps to the same output size; must be smaller than stride or
            dilation.
        groups: as for conv2d.

    Shape:
        output (N, C_out, H_out, W_out) with
        ``H_out = (H - 1)s_h - 2p_h + d_h(kH - 1) + output_padding_h + 1``
        (``shapes.conv_transpose_output_size``), likewise ``W_out``.

    Backward:
        dL/dx = conv(dL/dy, W), the ordinary cross-correlation of the upstream gradient with the same weight,
        stride, padding, dilation and groups (the transpose of a transpose); dL/dW = correlation of dL/dy with
        x (conv's weight gradient with the roles of input and upstream gradient swapped: x @ im2col(dL/dy)^T);
        dL/db = sum of dL/dy over N and the spatial axes. Implemented by ``convnet.ops.conv.ConvTransposeNd``.

    Example:
        >>> import convnet as cn
        >>> conv_transpose2d(cn.ones(1, 4, 4, 4), cn.ones(4, 2, 3, 3), stride=2, padding=1,
        ...                  output_padding=1).shape
        (1, 2, 8, 8)
    """
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """3-D transposed convolution; see :func:`conv_transpose2d` for the arguments.

    Shape:
        input (N, C_in, D, H, W); weight (C_in, C_out/groups, kD, kH, kW); each output size by
        ``shapes.conv_transpose_output_size``.

    Backward:
        dL/dx = conv(dL/dy, W), the ordinary cross-correlation of the upstream gradient with the same weight,
        stride, padding, dilation and groups (the transpose of a transpose); dL/dW = correlation of dL/dy with
        x (conv's weight gradient with the roles of input and upstream gradient swapped: x @ im2col(dL/dy)^T);
        dL/db = sum of dL/dy over N and the spatial axes. Implemented by ``convnet.ops.conv.ConvTransposeNd``.

    Example:
        >>> import convnet as cn
        >>> conv_transpose3d(cn.ones(1, 2, 2, 2, 2), cn.ones(2, 1, 2, 2, 2), stride=2).shape
        (1, 1, 4, 4, 4)
    """
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)


def _fold_geometry(fn, kernel_size, dilation, padding, stride):
    k = _positive(fn, "kernel_size", kernel_size, 2)
    d = _positive(fn, "dilation", dilation, 2)
    s = _positive(fn, "stride", stride, 2)
    p = shapes.ntuple(_ints(padding), 2, "padding", fn)
    if any(v < 0 for v in p):
        raise ShapeError(f"{fn}: padding must be non-negative, got {padding!r}")
    return k, d, [(v, v) for v in p], s


def _blocks(fn, spatial, k, d, pads, s):
    """Number of sliding blocks per axis; ValueError with the arithmetic when one is empty."""
    blocks = tuple(shapes.conv_output_size(n, kk, ss, pp, dd)
                   for n, kk, ss, pp, dd in zip(spatial, k, s, pads, d))
    for axis, b in enumerate(blocks):
        if b <= 0:
            formula = shapes.conv_output_formula(spatial[axis], k[axis], s[axis], pads[axis], d[axis])
            raise ShapeError(f"{fn}: kernel_size {k} with dilation {d} does not fit in the padded input "
                             f"{tuple(n + 2 * p for n, (p, _) in zip(spatial, pads))}: blocks along "
                             f"{_AXES[2][axis]} {formula}")
    return blocks


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding local blocks as columns (im2col), as ``torch.nn.functional.unfold``.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size, dilation, padding, stride: int or pair.

    Shape:
        output (N, C·kH·kW, L), ``L = H_blocks·W_blocks`` with
        ``H_blocks = floor((H + 2p - d(kH-1) - 1)/s) + 1``; row ``c·kH·kW + i·kW + j``.

    Backward:
        dL/dx = fold(dL/dy): the adjoint of a gather is a scatter-add, so every column entry's gradient is
        added back at the pixel it was copied from (overlapping windows sum). Implemented by
        ``convnet.ops.im2col.Unfold``.

    Example:
        >>> import convnet as cn
        >>> unfold(cn.ones(2, 3, 4, 4), 2).shape
        (2, 12, 9)
    """
    check_float("unfold", "input", input)
    if input.ndim not in (3, 4):
        raise ShapeError(f"unfold: argument 'input' must be 3-D (C, H, W) or 4-D (N, C, H, W), "
                         f"got shape {tuple(input.shape)}")
    k, d, pads, s = _fold_geometry("unfold", kernel_size, dilation, padding, stride)
    blocks = _blocks("unfold", tuple(input.shape[-2:]), k, d, pads, s)
    return _batched(lambda x: Unfold.apply(x, kernel_size=k, stride=s, padding=pads, dilation=d,
                                           out_size=blocks), input, 2)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum columns back into an image (col2im; overlaps add), as ``torch.nn.functional.fold``.

    The adjoint of :func:`unfold`; ``fold(unfold(x))`` multiplies each pixel by the number of
    blocks covering it.

    Args:
        input: (N, C·kH·kW, L) or (C·kH·kW, L).
        output_size: (H, W) of the image (int or pair).
        kernel_size, dilation, padding, stride: int or pair, as for :func:`unfold`.

    Shape:
        output (N, C, H, W); ``L`` must equal the number of blocks :func:`unfold` would give.

    Backward:
        dL/dx = unfold(dL/dy): the adjoint of a scatter-add is a gather, so every column entry receives the
        gradient of the pixel it was added to. Implemented by ``convnet.ops.im2col.Fold``.

    Example:
        >>> import convnet as cn
        >>> fold(cn.ones(1, 12, 9), (4, 4), 2).shape
        (1, 3, 4, 4)
    """
    check_float("fold", "input", input)
    if input.ndim not in (2, 3):
        raise ShapeError(f"fold: argument 'input' must be 2-D (C·kH·kW, L) or 3-D (N, C·kH·kW, L), "
                         f"got shape {tuple(input.shape)}")
    size = _positive("fold", "output_size", output_size, 2)
    k, d, pads, s = _fold_geometry("fold", kernel_size, dilation, padding, stride)
    rows, length = input.shape[-2:]
    kk = math.prod(k)
    if rows % kk:
        raise ShapeError(f"fold: input has {rows} rows, which is not divisible by "
                         f"prod(kernel_size) = {k[0]}·{k[1]} = {kk}")
    blocks = _blocks("fold", size, k, d, pads, s)
    if length != math.prod(blocks):
        raise ShapeError(f"fold: input has L={length} columns but output_size={size}, kernel_size={k}, "
                         f"dilation={d}, padding={tuple(p for p, _ in pads)}, stride={s} give "
                         f"{blocks[0]}·{blocks[1]} = {math.prod(blocks)} sliding blocks")

    def run(cols):
        shape = (cols.shape[0], rows // kk) + size
        return Fold.apply(cols, output_shape=shape, kernel_size=k, stride=s, padding=pads, dilation=d,
                          out_size=blocks)
    if input.ndim == 3:
        return run(input)
    out = run(input.reshape((1,) + tuple(input.shape)))            # (C·k, L) -> (1, C·k, L)
    return out.reshape(tuple(out.shape[1:]))                       # (1, C, H, W) -> (C, H, W)


__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "unfold", "fold"]
