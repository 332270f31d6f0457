"""Activation layers (no parameters) over ``convnet.functional``'s activations.

``inplace=True`` is accepted for PyTorch compatibility; the result is the same but the
input is not overwritten (NumPy autograd keeps the input for the backward pass).
"""
from __future__ import annotations

import warnings

from .. import functional as F
from .module import Module


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


__all__ = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softplus", "Abs", "Softmax", "LogSoftmax"]
