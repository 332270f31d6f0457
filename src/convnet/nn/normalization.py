"""Per-sample normalization layers: LayerNorm, GroupNorm, LocalResponseNorm, LocalContrastNorm.

Batch and instance norm live in :mod:`convnet.nn.batchnorm` (re-exported here).
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from . import init
from .batchnorm import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d,  # noqa: F401
                        InstanceNorm3d)
from .module import Module, Parameter
from ..errors import ShapeError


class LayerNorm(Module):
    r"""Normalise each sample over its trailing ``normalized_shape`` dims (Ba et al. 2016).

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta

    Args:
        normalized_shape: int or tuple: the trailing dims.
        eps: added to the variance (default 1e-5).
        elementwise_affine: learn ``weight`` (1) and ``bias`` (0) of shape ``normalized_shape``.
        bias: also learn the bias (when elementwise_affine).

    Shape:
        ``(*, *normalized_shape)`` -> same.

    Example:
        >>> import convnet as cn
        >>> cn.nn.LayerNorm(10)
        LayerNorm((10,), eps=1e-05, elementwise_affine=True, bias=True)
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, *, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dtype = np.float32 if dtype is None else np.dtype(dtype)
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Split the channels into ``num_groups`` groups and normalise each sample per group (Wu & He 2018).

    Args:
        num_groups: groups (``C`` must be divisible by it; 1 = LayerNorm over C,H,W; C = InstanceNorm).
        num_channels: C.
        eps: added to the variance.
        affine: learn per-channel ``weight`` (1) and ``bias`` (0).
        bias: (keyword) also learn the bias when ``affine``.

    Shape:
        ``(N, C, *)`` -> same.

    Example:
        >>> import convnet as cn
        >>> cn.nn.GroupNorm(2, 6)(cn.randn(3, 6, 4, 4)).shape
        (3, 6, 4, 4)
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, *, bias=True, dtype=None):
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ShapeError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        dtype = np.float32 if dtype is None else np.dtype(dtype)
        if affine:
            self.weight = Parameter(np.ones(num_channels, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(num_channels, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class LocalResponseNorm(Module):
    r"""Local response normalization across nearby channels (AlexNet), PyTorch's convention.

    .. math:: b_c = a_c \left(k + \frac{\alpha}{n} \sum_{c'=c-n/2}^{c+n/2} a_{c'}^2\right)^{-\beta}

    Args:
        size: number of neighbouring channels ``n``.
        alpha, beta, k: as in the formula (defaults 1e-4, 0.75, 1.0).

    Shape:
        ``(N, C, *)`` -> same.

    Example:
        >>> import convnet as cn
        >>> cn.nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)
        LocalResponseNorm(5, alpha=0.0001, beta=0.75, k=2.0)
    """

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class LocalContrastNorm(Module):
    """Local contrast normalization (Jarrett et al. 2009; ours, torch has none): subtract a
    Gaussian-weighted local mean across all maps, then divide by the local standard deviation
    (floored by its mean over the image and by ``eps``).

    Args:
        kernel_size: side of the Gaussian window (default 7).
        sigma: its standard deviation (None = the functional's default for ``kernel_size``).
        eps: floor of the divisor.

    Shape:
        ``(N, C, H, W)`` -> same.

    Example:
        >>> import convnet as cn
        >>> cn.nn.LocalContrastNorm(5)(cn.randn(1, 3, 8, 8)).shape
        (1, 3, 8, 8)
    """

    def __init__(self, kernel_size=7, sigma=None, eps=1e-4):
        super().__init__()
        self.kernel_size, self.sigma, self.eps = kernel_size, sigma, eps

    def forward(self, input):
        return F.local_contrast_norm(input, self.kernel_size, self.sigma, self.eps)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, sigma={self.sigma}, eps={self.eps}"


__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
           "LayerNorm", "GroupNorm", "LocalResponseNorm", "LocalContrastNorm"]
