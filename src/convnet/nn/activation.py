"""Activation layers (no parameters) over ``convnet.functional``'s activations.

``inplace=True`` is accepted for PyTorch compatibility; the result is the same but the
input is not overwritten (NumPy autograd keeps the input for the backward pass).
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import functional as F
from .module import Module, Parameter


class ReLU(Module):
    """``max(0, x)`` elementwise. Shape: any -> same.

    Example:
        >>> import convnet as cn
        >>> cn.nn.ReLU()(cn.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]
        True
    """

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """``x`` if ``x >= 0`` else ``negative_slope * x``. Shape: any -> same.

    Example:
        >>> import convnet as cn
        >>> cn.nn.LeakyReLU(0.1)(cn.tensor([-1.0, 2.0])).tolist()
        [-0.10000000149011612, 2.0]
    """

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``. Shape: any -> same."""

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """``tanh(x)``. Shape: any -> same."""

    def forward(self, input):
        return F.tanh(input)


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta``, linear above ``threshold``. Shape: any -> same."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Abs(Module):
    """Absolute-value rectification ``|x|`` (ours; the notes' rectification layer, e.g. after
    Gabor-like filters, where a filter's response and its negation are both informative).

    Example:
        >>> import convnet as cn
        >>> cn.nn.Abs()(cn.tensor([-1.5, 2.0])).tolist()
        [1.5, 2.0]
    """

    def forward(self, input):
        return F.abs(input)


def _softmax_dim(name, ndim):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """``exp(x_i) / sum_j exp(x_j)`` along ``dim``. Shape: any -> same.

    Example:
        >>> import convnet as cn
        >>> cn.nn.Softmax(dim=1)(cn.zeros(1, 4)).tolist()
        [[0.25, 0.25, 0.25, 0.25]]
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        dim = _softmax_dim("softmax", input.ndim) if self.dim is None else self.dim
        return F.softmax(input, dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """``log(softmax(x))`` along ``dim``, computed stably. Shape: any -> same."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        dim = _softmax_dim("log_softmax", input.ndim) if self.dim is None else self.dim
        return F.log_softmax(input, dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmin(Module):
    """``softmax(-x)`` along ``dim``. Shape: any -> same."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        dim = _softmax_dim("softmin", input.ndim) if self.dim is None else self.dim
        return F.softmin(input, dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class _Inplace(Module):
    """An elementwise activation ``F.<fn>(input, **params)`` with torch's ``inplace`` flag
    (accepted; the result is returned as a new tensor)."""

    _fn = None

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return getattr(F, self._fn)(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class SiLU(_Inplace):
    """``x * sigmoid(x)`` (swish). Shape: any -> same."""
    _fn = "silu"


class Mish(_Inplace):
    """``x * tanh(softplus(x))``. Shape: any -> same."""
    _fn = "mish"


class Hardswish(_Inplace):
    """``x * relu6(x + 3) / 6`` (MobileNetV3). Shape: any -> same."""
    _fn = "hardswish"


class Hardsigmoid(_Inplace):
    """``relu6(x + 3) / 6``. Shape: any -> same."""
    _fn = "hardsigmoid"


class SELU(_Inplace):
    """``scale * elu(x, alpha)`` with the fixed self-normalising constants. Shape: any -> same."""
    _fn = "selu"


class Hardtanh(Module):
    """``clip(x, min_val, max_val)``. Shape: any -> same."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must be at most max_val ({max_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    """``min(max(0, x), 6)``. Shape: any -> same."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ELU(Module):
    """``x`` if ``x > 0`` else ``alpha (exp(x) - 1)``. Shape: any -> same."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class CELU(ELU):
    """``max(0, x) + min(0, alpha (exp(x / alpha) - 1))``. Shape: any -> same."""

    def forward(self, input):
        return F.celu(input, self.alpha)


class GELU(Module):
    """``x * Phi(x)`` (``approximate='tanh'``: the tanh formula). Shape: any -> same."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class PReLU(Module):
    """``x`` if ``x >= 0`` else ``a x`` with a learned slope ``a``.

    Args:
        num_parameters: 1 (one slope shared by all channels) or the number of channels ``C``
            (one slope per channel, dim 1 of the input).
        init: the initial slope (torch's 0.25).

    Attributes:
        weight: ``(num_parameters,)``, filled with ``init``.

    Example:
        >>> import convnet as cn
        >>> cn.nn.PReLU()(cn.tensor([-2.0, 3.0])).tolist()
        [-0.5, 3.0]
    """

    def __init__(self, num_parameters=1, init=0.25, *, dtype=None):
        super().__init__()
        self.num_parameters, self.init = int(num_parameters), float(init)
        if self.num_parameters < 1:
            raise ValueError(f"PReLU: num_parameters must be a positive int, got {num_parameters}")
        dtype = np.float32 if dtype is None else np.dtype(dtype)
        self.weight = Parameter(np.full((self.num_parameters,), self.init, dtype=dtype))

    def reset_parameters(self):
        self.weight._data[...] = self.init

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class Softsign(Module):
    """``x / (1 + |x|)``. Shape: any -> same."""

    def forward(self, input):
        return F.softsign(input)


class Tanhshrink(Module):
    """``x - tanh(x)``. Shape: any -> same."""

    def forward(self, input):
        return F.tanhshrink(input)


class LogSigmoid(Module):
    """``log(sigmoid(x))``. Shape: any -> same."""

    def forward(self, input):
        return F.logsigmoid(input)


class Softshrink(Module):
    """Soft thresholding by ``lambd``. Shape: any -> same."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):
        return F.softshrink(input, self.lambd)

    def extra_repr(self):
        return str(self.lambd)


class Hardshrink(Softshrink):
    """``x`` where ``|x| > lambd``, else 0. Shape: any -> same."""

    def forward(self, input):
        return F.hardshrink(input, self.lambd)


class Threshold(Module):
    """``x`` if ``x > threshold`` else ``value``. Shape: any -> same."""

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input):
        return F.threshold(input, self.threshold, self.value)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}" + (", inplace=True" if self.inplace else "")


__all__ = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softplus", "Abs", "Softmax", "LogSoftmax", "Softmin", "SiLU",
           "Mish", "Hardswish", "Hardsigmoid", "SELU", "Hardtanh", "ReLU6", "ELU", "CELU", "GELU", "PReLU",
           "Softsign", "Tanhshrink", "LogSigmoid", "Softshrink", "Hardshrink", "Threshold"]
