r"""Batch normalization (Ioffe & Szegedy 2015) and instance normalization layers.

.. math::

    y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta

Training: batch statistics over ``(N, *spatial)`` per channel; the running estimates are
updated as ``running = (1 - momentum) * running + momentum * batch_stat`` (unbiased
variance), or as a cumulative average when ``momentum=None``. Evaluation: the running
estimates are used. ``state_dict`` keys: ``weight, bias, running_mean, running_var,
num_batches_tracked`` (as torch).
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..tensor import Tensor
from . import init
from .module import Module, Parameter
from ..errors import ShapeError


class _NormBase(Module):
    _expected = (4,)
    _expected_text = "4D"

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *,
                 bias=True, dtype=None):
        super().__init__()
        dtype = np.float32 if dtype is None else np.dtype(dtype)
        self.num_features = int(num_features)
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.empty((self.num_features,), dtype=dtype))
            if bias:
                self.bias = Parameter(np.empty((self.num_features,), dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(self.num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(self.num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data = np.array(0, dtype=np.int64)

    def reset_parameters(self):
        """Running mean 0, running variance 1; gamma (weight) 1, beta (bias) 0."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, input):
        if input.ndim not in self._expected:
            raise ShapeError(f"{type(self).__name__}: expected {self._expected_text} input "
                             f"(got {input.ndim}D input of shape {input.shape})")

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    def forward(self, input):
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked._data = self.num_batches_tracked._data + 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked._data)
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        use_running = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if use_running else None,
                            self.running_var if use_running else None, self.weight, self.bias,
                            bn_training, factor, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch normalization of ``(N, C)`` or ``(N, C, L)`` (after Linear / Conv1d).

    Args:
        num_features: C.
        eps: added to the variance (default 1e-5).
        momentum: weight of the new batch statistic (default 0.1); None = cumulative average.
        affine: learn gamma (``weight``, init 1) and beta (``bias``, init 0).
        bias: (keyword) also learn beta when ``affine``; False keeps only gamma.
        track_running_stats: keep ``running_mean``/``running_var`` for evaluation.

    Shape:
        ``(N, C)`` or ``(N, C, L)`` -> same.

    Example:
        >>> import convnet as cn
        >>> cn.nn.BatchNorm1d(4)(cn.randn(8, 4)).shape
        (8, 4)
    """

    _expected, _expected_text = (2, 3), "2D or 3D"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of ``(N, C, H, W)``: one mean/variance (and gamma, beta) per channel.

    Args: as :class:`BatchNorm1d`.

    Shape:
        ``(N, C, H, W)`` -> same.

    Attributes:
        weight, bias: ``(C,)`` (gamma = 1, beta = 0 initially).
        running_mean, running_var: ``(C,)`` buffers (0 and 1 initially).
        num_batches_tracked: int64 scalar buffer.

    Example:
        >>> import convnet as cn
        >>> bn = cn.nn.BatchNorm2d(16)
        >>> bn
        BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
        >>> bn(cn.randn(4, 16, 5, 5)).shape
        (4, 16, 5, 5)
    """

    _expected, _expected_text = (4,), "4D"


class BatchNorm3d(_BatchNorm):
    """Batch normalization of ``(N, C, D, H, W)``. Args as :class:`BatchNorm1d`."""

    _expected, _expected_text = (5,), "5D"


class _InstanceNorm(_NormBase):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, *,
                 bias=True, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, bias=bias, dtype=dtype)

    def _check_input_dim(self, input):
        if input.ndim not in (self._dim, self._dim + 1):
            raise ShapeError(f"{type(self).__name__}: expected {self._dim}D or {self._dim + 1}D input "
                             f"(got {input.ndim}D input of shape {input.shape})")

    def forward(self, input):
        self._check_input_dim(input)
        unbatched = input.ndim == self._dim  # (C, *spatial)
        x = input.unsqueeze(0) if unbatched else input
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              self.training or not self.track_running_stats,
                              self.momentum if self.momentum is not None else 0.0, self.eps)
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of ``(N, C, L)``: statistics per sample and channel. No affine by default."""

    _dim = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of ``(N, C, H, W)`` (style transfer); statistics per sample and channel."""

    _dim = 3


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of ``(N, C, D, H, W)``."""

    _dim = 4


__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]
