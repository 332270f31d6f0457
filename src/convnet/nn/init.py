r"""Weight initialisation, ``torch.nn.init``'s names and formulas.

Every function fills ``tensor.data`` in place (keeping its dtype), draws from the generator
seeded by ``cn.manual_seed`` and returns the tensor.

Fans of a weight of shape ``(out, in, *kernel)``: ``fan_in = in * prod(kernel)``,
``fan_out = out * prod(kernel)`` (for a transposed-conv weight ``(in, out/groups, *k)`` the
same rule reads dim 1, exactly as PyTorch does).

* Xavier/Glorot: :math:`\mathrm{std} = g\sqrt{2/(\mathrm{fan_{in}}+\mathrm{fan_{out}})}`.
* Kaiming/He ("Xavier/2" for ReLU): :math:`\mathrm{std} = g/\sqrt{\mathrm{fan}}` with
  :math:`g = \sqrt{2/(1+a^2)}`; uniform variants use the bound :math:`\sqrt3\,\mathrm{std}`.

Example:
    >>> import convnet as cn
    >>> w = cn.nn.Parameter(cn.zeros(64, 3, 3, 3))
    >>> _ = cn.nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
"""
from __future__ import annotations

import math

import numpy as np

from .._backend import array_module, default_generator

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
           "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
           "_calculate_fan_in_and_fan_out"]

_LINEAR = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "sigmoid", "identity"}


def calculate_gain(nonlinearity, param=None):
    """Recommended gain for a nonlinearity: linear/conv/sigmoid 1, tanh 5/3, relu sqrt(2),
    leaky_relu sqrt(2/(1+slope^2)) (slope defaults to 0.01), selu 3/4."""
    if nonlinearity in _LINEAR:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    """``(fan_in, fan_out)`` of a weight with at least 2 dims: ``shape[1]*rf`` and ``shape[0]*rf``."""
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(f"init: fan in and fan out can not be computed for a tensor with fewer than 2 "
                         f"dimensions (got shape {shape})")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor, values):
    """Write float64 NumPy ``values`` into ``tensor.data`` in place, in the tensor's dtype."""
    data = tensor._data
    xp = array_module(data)
    data[...] = values if xp is np else xp.asarray(values)
    return tensor


def _gen(generator):
    return default_generator() if generator is None else generator


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with samples of U(a, b)."""
    if tensor._data.dtype == np.float32:  # draw float32 directly: ~10x faster for VGG-sized layers
        return _fill(tensor, _gen(generator).random(tensor.shape, dtype=np.float32) * np.float32(b - a)
                     + np.float32(a))
    return _fill(tensor, _gen(generator).uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with samples of N(mean, std^2)."""
    if tensor._data.dtype == np.float32:  # draw float32 directly (faster, no float64 temporary)
        return _fill(tensor, _gen(generator).standard_normal(tensor.shape, dtype=np.float32)
                     * np.float32(std) + np.float32(mean))
    return _fill(tensor, _gen(generator).normal(mean, std, tensor.shape))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """N(mean, std^2) restricted to [a, b] (absolute bounds, like PyTorch), by inverse-CDF sampling."""
    from math import erf, sqrt

    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    cdf = lambda x: 0.5 * (1.0 + erf(x / sqrt(2.0)))  # noqa: E731
    lo, hi = cdf((a - mean) / std), cdf((b - mean) / std)
    u = _gen(generator).uniform(2 * lo - 1, 2 * hi - 1, tensor.shape)
    # x = mean + std * sqrt(2) * erfinv(u); erfinv from scipy, imported lazily (keeps import fast)
    from scipy.special import erfinv

    vals = np.clip(mean + std * math.sqrt(2.0) * erfinv(u), a, b)
    return _fill(tensor, vals)


def constant_(tensor, val):
    tensor._data[...] = val
    return tensor


def ones_(tensor):
    return constant_(tensor, 1)


def zeros_(tensor):
    return constant_(tensor, 0)


def eye_(tensor):
    """Identity matrix in a 2-D tensor."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tensor.shape}")
    return _fill(tensor, np.eye(*tensor.shape))


def dirac_(tensor, groups=1):
    """Conv weight that passes its input through (identity kernel, centred), per group."""
    shape = tensor.shape
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"dirac_: only 3-, 4- and 5-D tensors are supported, got shape {shape}")
    if shape[0] % groups:
        raise ValueError(f"dirac_: dim 0 ({shape[0]}) must be divisible by groups={groups}")
    out_per = shape[0] // groups
    vals = np.zeros(shape)
    centre = tuple(k // 2 for k in shape[2:])
    for g in range(groups):
        for d in range(min(out_per, shape[1])):
            vals[(g * out_per + d, d) + centre] = 1
    return _fill(tensor, vals)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot uniform: U(-a, a), ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot normal: N(0, std^2), ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He uniform: U(-b, b), ``b = gain * sqrt(3 / fan)``, ``gain = calculate_gain(nonlinearity, a)``.

    ``a=sqrt(5)`` (the Conv/Linear default) gives ``b = 1/sqrt(fan_in)``.
    """
    if 0 in tensor.shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He normal: N(0, std^2), ``std = gain / sqrt(fan)``: sqrt(2/fan_in) for ReLU ("Xavier/2")."""
    if 0 in tensor.shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def default_weight_bias_(weight, bias=None):
    """PyTorch's default for Linear and Conv layers, the one home of that formula:
    weight ~ kaiming_uniform(a=sqrt(5)) = U(±1/sqrt(fan_in)), bias ~ U(±1/sqrt(fan_in))."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)
    return weight


def orthogonal_(tensor, gain=1, generator=None):
    """(Semi-)orthogonal matrix from the QR decomposition of a Gaussian matrix (Saxe et al.)."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, got {tensor.shape}")
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _gen(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))
