r"""The fully connected layer: ``y = x W^T + b``."""
from __future__ import annotations


import numpy as np

from .. import functional as F
from . import init
from .module import Module, Parameter


class Linear(Module):
    r"""Fully connected layer, :math:`y = x W^T + b`.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias (default True).

    Shape:
        ``(*, in_features) -> (*, out_features)``.

    Attributes:
        weight: ``(out_features, in_features)`` ~ U(-1/sqrt(in_features), 1/sqrt(in_features))
            (kaiming_uniform with a=sqrt(5), PyTorch's default).
        bias: ``(out_features,)``, same distribution.

    Example:
        >>> import convnet as cn
        >>> fc = cn.nn.Linear(20, 30)
        >>> fc
        Linear(in_features=20, out_features=30, bias=True)
        >>> fc(cn.randn(128, 20)).shape
        (128, 30)
    """

    def __init__(self, in_features, out_features, bias=True, *, dtype=None):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        dtype = np.float32 if dtype is None else np.dtype(dtype)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty((self.out_features,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_weight_bias_(self.weight, self.bias)

    def forward(self, input):
        # weight and bias from the Parameter store directly (Module.__getattr__ is the slow fallback)
        params = self._parameters
        weight = params["weight"] if "weight" in params else self.weight
        bias = params["bias"] if "bias" in params else self.bias
        return F.linear(input, weight, bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


__all__ = ["Linear"]
