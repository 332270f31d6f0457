"""Activations with PyTorch's names, defaults and argument meanings (``torch.nn.functional``).

The primitives with a hand-written backward (relu, leaky_relu, sigmoid, tanh, softplus, the
softmax family, exact GELU) live in ``convnet.ops.activation``; every other activation here is a
composite of differentiable primitives (``where``, ``clip``, ``exp``, ``mul`` ...), so its gradient
is correct by construction.

``inplace=True`` is accepted wherever torch accepts it: the returned tensor equals torch's, but
the input is not overwritten (the NumPy autograd keeps inputs for their backward pass).
"""
from __future__ import annotations

import math
import warnings

from .. import ops
from ..ops.activation import gelu_exact
from ..ops.activation import sigmoid as _sigmoid
from ..ops.activation import softplus as _softplus
from ..ops.activation import tanh as _tanh
from ..ops.activation import leaky_relu as _leaky_relu
from ..ops.activation import log_softmax as _log_softmax
from ..ops.activation import relu as _relu
from ..ops.activation import softmax as _softmax
from ..ops._util import check_float
from ..ops.elementwise import abs  # noqa: F401  (the notes' |x| rectification)

# SELU's fixed constants (Klambauer et al., 2017), the values torch uses
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def sigmoid(input):
    """``1 / (1 + exp(-x))``, computed stably.

    Backward:
        dL/dx = dL/dy * y (1 - y), y the saved output (``convnet.ops.activation.Sigmoid``).
    """
    return _sigmoid(input)


def tanh(input):
    """``tanh(x)``.

    Backward:
        dL/dx = dL/dy * (1 - y^2), y the saved output (``convnet.ops.activation.Tanh``).
    """
    return _tanh(input)


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold`` (as torch).

    Backward:
        dL/dx = dL/dy * sigmoid(beta x), and dL/dy itself where beta x > threshold
        (``convnet.ops.activation.Softplus``).
    """
    return _softplus(input, beta, threshold)


def relu(input, inplace=False):
    """``max(0, x)`` elementwise. Shape: any -> same.

    Backward:
        dL/dx = dL/dy where x > 0, else 0 (0 at the kink x = 0, as PyTorch; the saved output is the mask)
        (``convnet.ops.activation.ReLU``).
    """
    return _relu(input)


def relu_(input):
    """``relu`` (torch's in-place spelling; returns a new tensor here).

    Backward:
        As ``relu``: dL/dx = dL/dy where x > 0, else 0.
    """
    return _relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``x`` if ``x > 0`` else ``negative_slope * x``. Shape: any -> same.

    Backward:
        dL/dx = dL/dy where x > 0, else negative_slope * dL/dy (``convnet.ops.activation.LeakyReLU``).
    """
    return _leaky_relu(input, negative_slope)


def _implicit_dim(name, ndim, dim, stacklevel):
    """torch's legacy rule when ``dim`` is omitted (with its deprecation warning)."""
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``exp(x_i) / sum_j exp(x_j)`` along ``dim``.

    Backward:
        dL/dx = y * (dL/dy - sum_dim(dL/dy * y)), the Jacobian-transpose product of softmax, y the saved
        output (``convnet.ops.activation.Softmax``).
    """
    dim = _implicit_dim("softmax", input.ndim, dim, _stacklevel)
    return _softmax(input if dtype is None else input.to(dtype), dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``log(softmax(x))`` along ``dim``, computed stably.

    Backward:
        dL/dx = dL/dy - softmax(x) * sum_dim(dL/dy) (``convnet.ops.activation.LogSoftmax``).
    """
    dim = _implicit_dim("log_softmax", input.ndim, dim, _stacklevel)
    return _log_softmax(input if dtype is None else input.to(dtype), dim)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """``softmax(-x)`` along ``dim``.

    Backward:
        Softmax's backward at -x, negated: dL/dx = -y * (dL/dy - sum_dim(dL/dy * y)), y the output.
    """
    dim = _implicit_dim("softmin", input.ndim, dim, _stacklevel)
    return _softmax(-(input if dtype is None else input.to(dtype)), dim)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """``clip(x, min_val, max_val)``. Shape: any -> same.

    Backward:
        dL/dx = dL/dy where min_val <= x <= max_val, else 0 (``convnet.ops.elementwise.Clip``).
    """
    check_float("hardtanh", "input", input)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must be at most max_val ({max_val})")
    return ops.clip(input, min_val, max_val)


def relu6(input, inplace=False):
    """``min(max(0, x), 6)`` (MobileNet's bounded ReLU).

    Backward:
        dL/dx = dL/dy where 0 <= x <= 6, else 0 (through ``hardtanh``).
    """
    return hardtanh(input, 0.0, 6.0)


def hardsigmoid(input, inplace=False):
    """``0`` for ``x <= -3``, ``1`` for ``x >= 3``, ``x / 6 + 1/2`` between (torch's definition).

    Backward:
        Composite: dL/dx = dL/dy / 6 where -3 <= x <= 3, else 0.
    """
    check_float("hardsigmoid", "input", input)
    return ops.clip(input / 6.0 + 0.5, 0.0, 1.0)


def hardswish(input, inplace=False):
    """``x * hardsigmoid(x)`` (MobileNetV3).

    Backward:
        Composite (product rule): dL/dx = dL/dy * (hardsigmoid(x) + x * hardsigmoid'(x)), i.e. dL/dy * (2x +
        3) / 6 on [-3, 3], dL/dy above, 0 below.
    """
    return input * hardsigmoid(input)


def silu(input, inplace=False):
    """``x * sigmoid(x)`` (a.k.a. swish).

    Backward:
        Composite (product rule): dL/dx = dL/dy * (s + x s (1 - s)), s = sigmoid(x).
    """
    check_float("silu", "input", input)
    return input * sigmoid(input)


def mish(input, inplace=False):
    """``x * tanh(softplus(x))``.

    Backward:
        Composite (product and chain rules): dL/dx = dL/dy * (t + x (1 - t^2) sigmoid(x)), t =
        tanh(softplus(x)).
    """
    check_float("mish", "input", input)
    return input * tanh(softplus(input))


def gelu(input, approximate="none"):
    """Gaussian error linear unit, ``x * Phi(x)``; ``approximate='tanh'`` uses
    ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.

    Backward:
        ``approximate='none'``: dL/dx = dL/dy * (Phi(x) + x phi(x)), phi the standard normal density
        (``convnet.ops.activation.GELU``); ``approximate='tanh'``: the chain rule through the tanh composite.
    """
    check_float("gelu", "input", input)
    if approximate == "none":
        return gelu_exact(input)
    if approximate != "tanh":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    inner = (input + 0.044715 * (input * input * input)) * math.sqrt(2.0 / math.pi)
    return 0.5 * input * (1.0 + tanh(inner))


def elu(input, alpha=1.0, inplace=False):
    """``x`` if ``x > 0`` else ``alpha (exp(x) - 1)``.

    Backward:
        Composite: dL/dx = dL/dy where x > 0, else dL/dy * alpha exp(x).
    """
    check_float("elu", "input", input)
    neg = alpha * (ops.exp(ops.clip(input, None, 0.0)) - 1.0)   # exp of non-positive values only
    return ops.where(input._data > 0, input, neg)


def selu(input, inplace=False):
    """``scale * elu(x, alpha)`` with the fixed SELU constants (self-normalising networks).

    Backward:
        Composite: dL/dx = scale * dL/dy where x > 0, else scale * alpha * exp(x) * dL/dy.
    """
    return SELU_SCALE * elu(input, SELU_ALPHA)


def celu(input, alpha=1.0, inplace=False):
    """``max(0, x) + min(0, alpha (exp(x / alpha) - 1))``.

    Backward:
        Composite: dL/dx = dL/dy where x > 0, else dL/dy * exp(x / alpha).
    """
    check_float("celu", "input", input)
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    neg = alpha * (ops.exp(ops.clip(input / alpha, None, 0.0)) - 1.0)
    return ops.where(input._data > 0, input, neg)


def prelu(input, weight):
    """``x`` if ``x >= 0`` else ``a_c x``, with ``a`` = ``weight`` of shape ``(1,)`` (shared) or
    ``(C,)`` (one slope per channel, dim 1 of the input; a 1-D input has one channel, as torch).

    Backward:
        Composite: dL/dx = dL/dy where x > 0, else a_c * dL/dy; dL/da_c = sum over the elements of channel c
        with x <= 0 of dL/dy * x (a shared slope sums over every element).
    """
    check_float("prelu", "input", input)
    check_float("prelu", "weight", weight)
    if weight.ndim != 1:
        raise ValueError(f"prelu: weight must be 1-D (num_parameters,), got shape {weight.shape}")
    c = weight.shape[0]
    if c != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1  # torch: a 0-D/1-D input has one channel
        if channels != c:
            raise ValueError(f"prelu: weight has {c} parameters but the input (shape {input.shape}) has "
                             f"{channels} channels (dim 1); they must match")
        shape = [1] * input.ndim
        shape[1] = c
        weight = weight.reshape(tuple(shape))                # (1, C, 1, ...): broadcast over dim 1
    return ops.where(input._data > 0, input, weight * input)


def softsign(input):
    """``x / (1 + |x|)``.

    Backward:
        Composite: dL/dx = dL/dy / (1 + ``|x|``)^2.
    """
    check_float("softsign", "input", input)
    return input / (1.0 + ops.abs(input))


def tanhshrink(input):
    """``x - tanh(x)``.

    Backward:
        Composite: dL/dx = dL/dy * tanh(x)^2.
    """
    check_float("tanhshrink", "input", input)
    return input - tanh(input)


def logsigmoid(input):
    """``log(sigmoid(x)) = -softplus(-x)``, computed stably.

    Backward:
        Composite: dL/dx = dL/dy * (1 - sigmoid(x)) = dL/dy * sigmoid(-x).
    """
    check_float("logsigmoid", "input", input)
    return -softplus(-input)


def softshrink(input, lambd=0.5):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, 0 between.

    Backward:
        Composite: dL/dx = dL/dy where ``|x| > lambd``, else 0.
    """
    check_float("softshrink", "input", input)
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be non-negative, got {lambd}")
    x = input._data
    return ops.where(x > lambd, input - lambd, ops.where(x < -lambd, input + lambd, ops.full_like(input, 0.0)))


def hardshrink(input, lambd=0.5):
    """``x`` where ``|x| > lambd``, else 0.

    Backward:
        Composite: dL/dx = dL/dy where ``|x| > lambd``, else 0.
    """
    check_float("hardshrink", "input", input)
    x = input._data
    return ops.where((x > lambd) | (x < -lambd), input, ops.full_like(input, 0.0))


def threshold(input, threshold, value, inplace=False):
    """``x`` if ``x > threshold`` else ``value``.

    Backward:
        Composite: dL/dx = dL/dy where x > threshold, else 0.
    """
    check_float("threshold", "input", input)
    return ops.where(input._data > threshold, input, ops.full_like(input, value))


__all__ = ["relu", "relu_", "leaky_relu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax", "softmin",
           "abs", "hardtanh", "relu6", "hardsigmoid", "hardswish", "silu", "mish", "gelu", "elu", "selu", "celu",
           "prelu", "softsign", "tanhshrink", "logsigmoid", "softshrink", "hardshrink", "threshold"]
