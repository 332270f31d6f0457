"""The fully connected layer and dropout, with PyTorch's functional signatures.

The two small primitives they need (fused ``Linear`` and the ``Dropout`` mask multiply) sit
here beside their only wrappers; everything else comes from :mod:`convnet.ops`.
"""
from __future__ import annotations

import numpy as np

from .._backend import array_module, default_generator
from ..ops.linear import Dropout, Linear
from ..ops.matmul import matmul
from ..ops._util import check_float
from ..errors import ShapeError

__all__ = ["linear", "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout"]


def linear(input, weight, bias=None):
    """Fully connected layer ``y = x W^T + b``.

    Args:
        input: ``(*, in_features)`` (any number of leading dims, including none).
        weight: ``(out_features, in_features)``.
        bias: optional ``(out_features,)``.

    Shape:
        output ``(*, out_features)``.

    Backward:
        With the leading dims flattened to B rows and G = dL/dy of shape (B, out): dL/dx = G W ((B, out) @
        (out, in)); dL/dW = G^T x ((out, B) @ (B, in)); dL/db = sum of G over the rows. Implemented by
        ``convnet.ops.linear.Linear``.

    Example:
        >>> import convnet as cn
        >>> linear(cn.randn(8, 3, 5), cn.randn(4, 5), cn.zeros(4)).shape
        (8, 3, 4)
    """
    fn = "linear"
    check_float(fn, "input", input)
    check_float(fn, "weight", weight)
    shape, wshape, dtype = input._data.shape, weight._data.shape, input._data.dtype
    if not shape:
        raise ShapeError(f"{fn}: input must have at least 1 dimension (*, in_features), got a scalar")
    if len(wshape) not in (1, 2):
        raise ShapeError(f"{fn}: weight must be (out_features, in_features), got shape {weight.shape}")
    if wshape[-1] != shape[-1]:
        raise ShapeError(f"{fn}: input has {input.shape[-1]} features in its last dimension (shape "
                         f"{input.shape}) but weight of shape {weight.shape} expects {weight.shape[-1]}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != dtype:
            raise TypeError(f"{fn}: argument '{name}' has dtype {t.dtype} but input has dtype {input.dtype}; "
                            f"convert one of them (.float() / .double())")
    if len(wshape) == 1:  # a single output without its own dim: y = x . w (+ b)
        out = matmul(input, weight)
        return out if bias is None else out + bias
    if bias is None:
        return Linear.apply(input, weight)
    if bias._data.shape != wshape[:1]:  # anything else must broadcast to (out_features,)
        try:
            np.broadcast_shapes(bias.shape, (weight.shape[0],))
        except ValueError:
            raise ShapeError(f"{fn}: bias of shape {bias.shape} does not match "
                             f"out_features={weight.shape[0]}") from None
    return Linear.apply(input, weight, bias)


def _check_p(fn, p):
    if not 0.0 <= p <= 1.0:
        raise ShapeError(f"{fn}: dropout probability has to be between 0 and 1, but got {p}")


def _masked(fn, input, p, training, inplace, mask_shape):
    """Shared body of the dropout family: keep with probability 1 - p, scale kept by 1/(1-p)."""
    _check_p(fn, p)
    check_float(fn, "input", input)
    if not training or p == 0 or input.numel() == 0:
        return input
    xp = array_module(input._data)
    if p == 1:
        mask = xp.zeros(mask_shape, dtype=input.dtype)
    else:
        keep = xp.asarray(default_generator().random(mask_shape) >= p)
        mask = keep.astype(input.dtype) * input.dtype.type(1.0 / (1.0 - p))
    out = Dropout.apply(input, mask=mask)
    if inplace and not input.requires_grad:  # in place only where no graph needs the old values
        input._data[...] = out._data
        return input
    return out


def dropout(input, p=0.5, training=True, inplace=False):
    """Inverted dropout: zero each element with probability ``p``, scale the rest by ``1/(1-p)``.

    Identity when ``training`` is False (so no rescaling is needed at test time). ``inplace``
    writes into ``input`` when it does not require a gradient, otherwise returns a new tensor.

    Args:
        input: any shape.
        p: drop probability in [0, 1] (1 gives zeros).

    Shape:
        output has the shape of ``input``.

    Backward:
        dL/dx = dL/dy * mask / (1 - p), the same mask and scale as the forward; identity when ``training`` is
        False. Implemented by ``convnet.ops.linear.Dropout``.

    Example:
        >>> import convnet as cn
        >>> dropout(cn.ones(4), p=0.5, training=False).tolist()
        [1.0, 1.0, 1.0, 1.0]
    """
    return _masked("dropout", input, p, training, inplace, input.shape)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Drop whole channels of ``(N, C, L)`` (or unbatched ``(C, L)``) inputs.

    Backward:
        dL/dx = dL/dy * mask / (1 - p), the same mask and scale as the forward (one mask value per channel,
        broadcast over L); identity when ``training`` is False. Implemented by ``convnet.ops.linear.Dropout``.
    """
    _check_p("dropout1d", p)
    if input.ndim not in (2, 3):
        raise ShapeError(f"dropout1d: expected a 2D (C, L) or 3D (N, C, L) input, got shape {input.shape}")
    lead = 2 if input.ndim == 3 else 1
    return _masked("dropout1d", input, p, training, inplace, input.shape[:lead] + (1,) * (input.ndim - lead))


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Drop whole channels (feature maps) of ``(N, C, H, W)`` inputs, mask ``(N, C, 1, 1)``.

    As in torch, any input with 2+ dims is read as ``(N, C, *)``: a 3D input is ``(N, C, L)``.

    Backward:
        dL/dx = dL/dy * mask / (1 - p), the same mask and scale as the forward (one mask value per channel,
        broadcast over H, W); identity when ``training`` is False. Implemented by
        ``convnet.ops.linear.Dropout``.

    Example:
        >>> import convnet as cn
        >>> dropout2d(cn.ones(2, 3, 4, 4), p=0.5).shape
        (2, 3, 4, 4)
    """
    _check_p("dropout2d", p)
    if input.ndim < 2:
        raise ShapeError(f"dropout2d: expected a 4D input (N, C, H, W), got shape {input.shape}")
    return _masked("dropout2d", input, p, training, inplace, input.shape[:2] + (1,) * (input.ndim - 2))


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Drop whole channels of ``(N, C, D, H, W)`` inputs; other ranks are unbatched ``(C, *)`` (torch).

    Backward:
        dL/dx = dL/dy * mask / (1 - p), the same mask and scale as the forward (one mask value per channel,
        broadcast over D, H, W); identity when ``training`` is False. Implemented by
        ``convnet.ops.linear.Dropout``.
    """
    _check_p("dropout3d", p)
    if input.ndim < 1:
        raise ShapeError(f"dropout3d: expected a 5D input (N, C, D, H, W), got shape {input.shape}")
    lead = 2 if input.ndim == 5 else 1
    return _masked("dropout3d", input, p, training, inplace, input.shape[:lead] + (1,) * (input.ndim - lead))


_SELU_ALPHA_SCALED = 1.7580993408473766  # selu's alpha * scale: the saturation value is -this


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout for SELU networks: dropped units are set to SELU's saturation value and an affine
    correction ``a x + b`` keeps zero mean and unit variance (Klambauer et al. 2017, as torch).

    Backward:
        dL/dx = a * dL/dy where the unit was kept, 0 where it was dropped (the shift b is a constant);
        identity when ``training`` is False.

    Example:
        >>> import convnet as cn
        >>> alpha_dropout(cn.ones(3), p=0.2).tolist()  # training=False: identity
        [1.0, 1.0, 1.0]
    """
    fn = "alpha_dropout"
    _check_p(fn, p)
    check_float(fn, "input", input)
    if not training or p == 0 or input.numel() == 0:
        return input
    if p == 1:
        return input * 0.0
    xp = array_module(input._data)
    keep = xp.asarray(default_generator().random(input.shape) >= p).astype(input.dtype)
    a = (1 - p) * (1 + p * _SELU_ALPHA_SCALED ** 2)
    a = a ** -0.5
    b = (keep - 1) * (_SELU_ALPHA_SCALED * a) + _SELU_ALPHA_SCALED * a * p  # (alpha' a p) kept, shifted dropped
    out = Dropout.apply(input, mask=(keep * a).astype(input.dtype)) + b.astype(input.dtype)
    if inplace and not input.requires_grad:
        input._data[...] = out._data
        return input
    return out
