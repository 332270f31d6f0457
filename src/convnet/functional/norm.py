"""Normalization layers as stateless functions (PyTorch's ``torch.nn.functional`` names).

Batch / layer / instance norm run through the one fused primitive
:class:`convnet.ops.norm.Normalize`; group norm reshapes into it; local response and local
contrast normalization are composites of :class:`convnet.ops.norm.WindowSum1d` and elementwise
primitives, so they need no backward of their own.
"""
from __future__ import annotations

import math
import numbers

from .._backend import array_module
from ..ops import elementwise as _ew
from ..ops import movement as _mv
from ..ops import reduce as _red
from ..ops._util import check_float
from ..ops.norm import Normalize, WindowSum1d, batch_moments
from ..tensor import Tensor
from ..errors import ShapeError

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "local_response_norm",
           "local_contrast_norm"]


def _check_vec(fn, name, t, n, what):
    """``t`` (a per-channel vector) must hold ``n`` elements."""
    if t is None:
        return
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}: argument '{name}' must be a Tensor or None, got {type(t).__name__}")
    if t.numel() != n:
        raise ShapeError(f"{fn}: argument '{name}' should contain {n} elements ({what}), "
                         f"got shape {t.shape}")


def _affine(x, weight, bias, shape):
    """``(weight, bias)`` reshaped to ``shape`` for Normalize; a missing one becomes a constant."""
    if weight is None and bias is None:
        return ()
    xp = array_module(x._data)
    w = Tensor._wrap(xp.ones(shape, dtype=x.dtype), False) if weight is None else _mv.reshape(weight, shape)
    b = Tensor._wrap(xp.zeros(shape, dtype=x.dtype), False) if bias is None else _mv.reshape(bias, shape)
    return w, b


def _update(running, stat, momentum):
    """running <- (1 - momentum) * running + momentum * stat, in place on ``running.data``."""
    if running is not None:
        running._data[...] = ((1 - momentum) * running._data + momentum * stat.reshape(running.shape)
                             ).astype(running.dtype, copy=False)


def _check_momentum(fn, momentum):
    if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real):
        raise TypeError(f"{fn}: argument 'momentum' must be a float, got {momentum!r} (for a cumulative "
                        f"average pass 1/num_batches_tracked, as nn.BatchNorm does for momentum=None)")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Batch normalization over the batch and spatial axes, one statistic per channel.

    .. math:: y = \\frac{x - \\mathrm{E}[x]}{\\sqrt{\\mathrm{Var}[x] + \\epsilon}} \\gamma + \\beta

    In training the batch mean and biased variance normalise ``input`` and the running
    statistics are updated in place: ``running = (1 - momentum) * running + momentum * stat``,
    with the unbiased variance ``Var * M / (M - 1)`` (``M = N * prod(spatial)``). In eval the
    running statistics are used instead.

    Args:
        input: ``(N, C)``, ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        running_mean, running_var: ``(C,)`` buffers (may be None in training).
        weight, bias: optional ``(C,)`` affine parameters gamma, beta.
        training: use batch statistics (and update the running ones).
        momentum: float weight of the new statistic in the running average.
        eps: added to the variance.

    Shape:
        output has the shape of ``input``.

    Backward:
        With x_hat = (x - mean) * inv_std and g = dL/dy * weight: dL/dx = inv_std * (g - mean(g) - x_hat *
        mean(g * x_hat)), the means over the M normalised elements of each channel (over N and the spatial
        axes) (the gradient flows through the batch statistics); dL/dweight = sum of dL/dy * x_hat and
        dL/dbias = sum of dL/dy over the same axes. Implemented by ``convnet.ops.norm.Normalize``. In eval
        mode (``training=False``) the statistics are constants and dL/dx = dL/dy * weight * inv_std.

    Example:
        >>> import convnet as cn
        >>> x = cn.randn(4, 3, 5, 5)
        >>> batch_norm(x, cn.zeros(3), cn.ones(3), training=True).shape
        (4, 3, 5, 5)
    """
    fn = "batch_norm"
    check_float(fn, "input", input)
    if input.ndim < 2:
        raise ShapeError(f"{fn}: expected input of shape (N, C, *) with at least 2 dims, got {input.shape}")
    C = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        _check_vec(fn, name, t, C, f"one per channel of the input of shape {input.shape}")
    axes = (0,) + tuple(range(2, input.ndim))
    pshape = (C,) + (1,) * (input.ndim - 2)  # broadcasts against (N, C, *spatial)
    x = input._data
    if training:
        _check_momentum(fn, momentum)
        M = input.numel() // max(C, 1)
        if M <= 1:
            raise ShapeError(f"{fn}: Expected more than 1 value per channel when training, "
                             f"got input size {input.shape}")
        mean, var = batch_moments(x, axes)  # batch-parallel einsum sums, keepdims shape
        _update(running_mean, mean, momentum)
        _update(running_var, var * (M / (M - 1)), momentum)
    else:
        if running_mean is None or running_var is None:
            raise ShapeError(f"{fn}: running_mean and running_var must be given in evaluation mode "
                             f"(training=False)")
        mean = running_mean._data.reshape(pshape)
        var = running_var._data.reshape(pshape)
    return Normalize.apply(input, *_affine(input, weight, bias, pshape), axes=axes, mean=mean, var=var,
                           batch_stats=bool(training), eps=eps)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Instance normalization: statistics per sample and channel over the spatial axes.

    With ``use_input_stats`` the running buffers (if given) are updated with the batch average
    of the per-instance mean and unbiased variance, as torch does; otherwise the running
    statistics normalise the input.

    Args:
        input: ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        running_mean, running_var, weight, bias: optional ``(C,)`` tensors.

    Shape:
        output has the shape of ``input``.

    Backward:
        With x_hat = (x - mean) * inv_std and g = dL/dy * weight: dL/dx = inv_std * (g - mean(g) - x_hat *
        mean(g * x_hat)), the means over the M normalised elements of each sample and channel (over the
        spatial axes) (the gradient flows through the batch statistics); dL/dweight = sum of dL/dy * x_hat and
        dL/dbias = sum of dL/dy over N and the spatial axes. Implemented by ``convnet.ops.norm.Normalize``.
        With ``use_input_stats=False`` the running statistics are constants and dL/dx = dL/dy * weight *
        inv_std.

    Example:
        >>> import convnet as cn
        >>> instance_norm(cn.randn(2, 3, 4, 4)).shape
        (2, 3, 4, 4)
    """
    fn = "instance_norm"
    check_float(fn, "input", input)
    if input.ndim < 2:
        raise ShapeError(f"{fn}: expected input of shape (N, C, *) with at least 2 dims, got {input.shape}")
    N, C = input.shape[:2]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        _check_vec(fn, name, t, C, f"one per channel of the input of shape {input.shape}")
    axes = tuple(range(2, input.ndim))
    pshape = (C,) + (1,) * (input.ndim - 2)
    x = input._data
    if use_input_stats:
        S = math.prod(input.shape[2:])
        if S <= 1:
            raise ShapeError(f"{fn}: Expected more than 1 spatial element when training, "
                             f"got input size {input.shape}")
        mean = x.mean(axis=axes, keepdims=True)  # (N, C, 1, ...)
        d = x - mean
        var = (d * d).mean(axis=axes, keepdims=True)
        if running_mean is not None or running_var is not None:
            _check_momentum(fn, momentum)
            _update(running_mean, mean.mean(axis=0), momentum)
            _update(running_var, (var * (S / (S - 1))).mean(axis=0), momentum)
    else:
        if running_mean is None or running_var is None:
            raise ShapeError(f"{fn}: Expected running_mean and running_var to be defined when "
                             f"use_input_stats is false")
        mean = running_mean._data.reshape(pshape)
        var = running_var._data.reshape(pshape)
    return Normalize.apply(input, *_affine(input, weight, bias, pshape), axes=axes, mean=mean, var=var,
                           batch_stats=bool(use_input_stats), eps=eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalization over the trailing ``normalized_shape`` dims of every sample.

    Args:
        input: ``(*, *normalized_shape)``.
        normalized_shape: int or tuple, the trailing dims to normalise over.
        weight, bias: optional, of shape ``normalized_shape`` (elementwise affine).

    Shape:
        output has the shape of ``input``.

    Backward:
        With x_hat = (x - mean) * inv_std and g = dL/dy * weight: dL/dx = inv_std * (g - mean(g) - x_hat *
        mean(g * x_hat)), the means over the M normalised elements of each sample (over the trailing
        ``normalized_shape`` dims) (the gradient flows through the batch statistics); dL/dweight = sum of
        dL/dy * x_hat and dL/dbias = sum of dL/dy over the leading dims. Implemented by
        ``convnet.ops.norm.Normalize``.

    Example:
        >>> import convnet as cn
        >>> layer_norm(cn.randn(2, 3, 4), (3, 4)).shape
        (2, 3, 4)
    """
    fn = "layer_norm"
    check_float(fn, "input", input)
    ns = (int(normalized_shape),) if isinstance(normalized_shape, int) else tuple(int(s) for s in normalized_shape)
    k = len(ns)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != ns:
        raise ShapeError(f"{fn}: Given normalized_shape={list(ns)}, expected input with shape "
                         f"[*, {', '.join(map(str, ns))}], but got input of size {input.shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != ns:
            raise ShapeError(f"{fn}: argument '{name}' must have shape normalized_shape={ns}, got {t.shape}")
    axes = tuple(range(input.ndim - k, input.ndim))
    x = input._data
    mean = x.mean(axis=axes, keepdims=True)
    d = x - mean
    var = (d * d).mean(axis=axes, keepdims=True)
    return Normalize.apply(input, *_affine(input, weight, bias, ns), axes=axes, mean=mean, var=var,
                           batch_stats=True, eps=eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalization: channels split into ``num_groups`` groups, statistics per sample and group.

    Args:
        input: ``(N, C, *)`` with ``C`` divisible by ``num_groups``.
        num_groups: number of groups.
        weight, bias: optional per-channel ``(C,)`` affine parameters.

    Shape:
        output has the shape of ``input``.

    Backward:
        With x_hat = (x - mean) * inv_std and g = dL/dy * weight: dL/dx = inv_std * (g - mean(g) - x_hat *
        mean(g * x_hat)), the means over the M normalised elements of each sample and group (over C/G channels
        and the spatial axes) (the gradient flows through the batch statistics); dL/dweight = sum of dL/dy *
        x_hat and dL/dbias = sum of dL/dy over N and the spatial axes (the affine step is a broadcast
        multiply-add after the normalisation). Implemented by ``convnet.ops.norm.Normalize``.

    Example:
        >>> import convnet as cn
        >>> group_norm(cn.randn(2, 6, 4, 4), 3).shape
        (2, 6, 4, 4)
    """
    fn = "group_norm"
    check_float(fn, "input", input)
    if input.ndim < 2:
        raise ShapeError(f"{fn}: expected input of shape (N, C, *) with at least 2 dims, got {input.shape}")
    N, C = input.shape[:2]
    if not isinstance(num_groups, int) or num_groups <= 0 or C % num_groups:
        raise ShapeError(f"{fn}: Expected number of channels in input to be divisible by num_groups, "
                         f"but got input of shape {input.shape} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        _check_vec(fn, name, t, C, f"one per channel of the input of shape {input.shape}")
    xg = _mv.reshape(input, (N, num_groups, -1))  # (N, G, C/G * prod(spatial))
    x = xg._data
    mean = x.mean(axis=2, keepdims=True)
    d = x - mean
    var = (d * d).mean(axis=2, keepdims=True)
    y = Normalize.apply(xg, axes=(2,), mean=mean, var=var, batch_stats=True, eps=eps)
    y = _mv.reshape(y, input.shape)  # back to (N, C, *spatial)
    pshape = (C,) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = y * _mv.reshape(weight, pshape)
    if bias is not None:
        y = y + _mv.reshape(bias, pshape)
    return y


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Local response normalization across channels (Krizhevsky et al. 2012), PyTorch's convention.

    .. math:: b_c = a_c \\left(k + \\frac{\\alpha}{n} \\sum_{c'} a_{c'}^2\\right)^{-\\beta}

    where the sum runs over the ``n = size`` channels ``c - size//2 .. c + (size-1)//2`` (missing
    channels count as zero) and is divided by ``size`` even at the borders (torch averages
    with zero padding).

    Args:
        input: ``(N, C, *)`` with at least 3 dims.
        size: number of neighbouring channels.

    Shape:
        output has the shape of ``input``.

    Backward:
        Composite (square, a zero-padded window sum across channels, a power, a divide), so with d_c = k +
        alpha/n * sum_{c' in window(c)} x_{c'}^2 the chain rule gives dL/dx_c = dL/dy_c * d_c^(-beta) - (2
        alpha beta / n) * x_c * sum_{c'' whose window holds c} dL/dy_{c''} * x_{c''} * d_{c''}^(-beta-1); the
        window sum's adjoint is the correlation with the flipped window (``convnet.ops.norm.WindowSum1d``).

    Example:
        >>> import convnet as cn
        >>> local_response_norm(cn.randn(2, 6, 4, 4), size=5).shape
        (2, 6, 4, 4)
    """
    fn = "local_response_norm"
    check_float(fn, "input", input)
    if input.ndim < 3:
        raise ShapeError(f"{fn}: Expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    if not isinstance(size, int) or size < 1:
        raise ShapeError(f"{fn}: argument 'size' must be a positive int, got {size!r}")
    if input.numel() == 0:
        return input
    sq = input * input
    # sum of squares over `size` channels, zero-padded size//2 before and (size-1)//2 after
    div = WindowSum1d.apply(sq, axis=1, weights=(1.0,) * size, before=size // 2, after=(size - 1) // 2)
    div = (div / float(size) * float(alpha) + float(k)) ** float(beta)
    return input / div


def _gaussian_window(kernel_size, sigma):
    """1-D Gaussian weights summing to 1 (the 2-D window is their outer product, also summing to 1)."""
    r = [t - (kernel_size - 1) / 2 for t in range(kernel_size)]
    w = [math.exp(-(v * v) / (2 * sigma * sigma)) for v in r]
    s = sum(w)
    return tuple(v / s for v in w)


def local_contrast_norm(input, kernel_size=7, sigma=None, eps=1e-4):
    """Local contrast normalization (Jarrett et al. 2009): subtractive then divisive, across all maps.

    With a Gaussian window ``w_pq`` (``kernel_size x kernel_size``, standard deviation ``sigma``)
    normalised to sum to 1 over the window AND over the ``C`` feature maps (``w_pq / C``):

    .. math::
        v_{cik} = x_{cik} - \\sum_{j,p,q} \\frac{w_{pq}}{C} x_{j,i+p,k+q}, \\qquad
        \\sigma_{ik} = \\sqrt{\\sum_{j,p,q} \\frac{w_{pq}}{C} v_{j,i+p,k+q}^2 + \\epsilon^2}, \\qquad
        y_{cik} = \\frac{v_{cik}}{\\max(c, \\sigma_{ik})}

    where ``c`` is the mean of ``sigma`` over the sample's positions. The same local mean is
    subtracted from every channel, and the same local deviation divides every channel; the
    floor ``c`` keeps flat, low-contrast regions from being amplified, and ``eps`` (inside the
    root) keeps the divisor at least ``eps`` so a constant image maps to zeros, not NaN.

    Borders: the image is zero-padded ('same' output size) and the window is re-normalised by
    the weight mass that falls inside the image, i.e. at the border the local mean and local
    deviation are Gaussian-weighted averages over the pixels that exist.

    Args:
        input: ``(N, C, H, W)`` (or unbatched ``(C, H, W)``).
        kernel_size: side of the Gaussian window (odd recommended; default 7).
        sigma: the Gaussian's standard deviation in pixels; default ``kernel_size / 4``
            (torch7's ``SpatialContrastiveNormalization`` convention, 1.75 px for 7).
        eps: floor of the divisor.

    Shape:
        output has the shape and dtype of ``input``.

    Backward:
        Composite, so the chain rule runs through the subtractive step (dL/dx gets dL/dv minus the adjoint
        Gaussian blur of the coverage-weighted channel mean of dL/dv), the local deviation and the ``max(c,
        sigma)`` floor (the gradient goes to whichever of ``c`` and ``sigma`` won). Each Gaussian blur is a
        separable zero-padded correlation whose adjoint is the correlation with the flipped window
        (``convnet.ops.norm.WindowSum1d``).

    Example:
        >>> import convnet as cn
        >>> local_contrast_norm(cn.randn(2, 3, 16, 16)).shape
        (2, 3, 16, 16)
    """
    fn = "local_contrast_norm"
    check_float(fn, "input", input)
    if input.ndim == 3:
        return _mv.reshape(local_contrast_norm(_mv.unsqueeze(input, 0), kernel_size, sigma, eps), input.shape)
    if input.ndim != 4:
        raise ShapeError(f"{fn}: expected input of shape (N, C, H, W) or (C, H, W), got {input.shape}")
    if not isinstance(kernel_size, int) or kernel_size < 1:
        raise ShapeError(f"{fn}: argument 'kernel_size' must be a positive int, got {kernel_size!r}")
    sigma = kernel_size / 4 if sigma is None else float(sigma)
    if sigma <= 0:
        raise ShapeError(f"{fn}: argument 'sigma' must be positive, got {sigma}")
    w = _gaussian_window(kernel_size, sigma)
    before, after = (kernel_size - 1) // 2, kernel_size - 1 - (kernel_size - 1) // 2
    H, W = input.shape[2:]
    xp = array_module(input._data)

    def blur(t):  # separable Gaussian, zero padded: rows then columns
        t = WindowSum1d.apply(t, axis=3, weights=w, before=before, after=after)
        return WindowSum1d.apply(t, axis=2, weights=w, before=before, after=after)

    # weight mass of the window inside the image, (1, 1, H, W): re-normalises the border
    ones = xp.ones((1, 1, H, W), dtype=input.dtype)
    coverage = blur(Tensor._wrap(ones, False))._data
    mean = blur(_red.mean(input, 1, keepdim=True)) / coverage         # (N, 1, H, W) local mean
    v = input - mean                                                   # subtractive step
    local_var = blur(_red.mean(v * v, 1, keepdim=True)) / coverage     # (N, 1, H, W)
    sigma_map = _ew.sqrt(local_var + float(eps) ** 2)
    c = _red.mean(sigma_map, (2, 3), keepdim=True)                     # (N, 1, 1, 1) per-sample floor
    return v / _ew.maximum(sigma_map, c)                               # divisive step
