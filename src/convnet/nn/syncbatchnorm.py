r"""``SyncBatchNorm``: batch normalization whose statistics cover the whole batch over all ranks.

With data parallelism each rank sees N/W samples; plain ``BatchNorm`` would normalise with the
statistics of that small share. ``SyncBatchNorm`` all-reduces, per channel, the sum, the sum of
squares and the count in forward, so every rank normalises with the mean and variance of the
global batch of M elements per channel:

.. math::

    \mu = \frac{1}{M}\sum x, \qquad \sigma^2 = \frac{1}{M}\sum x^2 - \mu^2, \qquad
    y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} \gamma + \beta

and in backward the per-channel sums of the upstream gradient and of its product with
:math:`\hat x`, which the input gradient needs from every rank:

.. math::

    \frac{\partial L}{\partial x} = \frac{\gamma}{M \sqrt{\sigma^2+\epsilon}}
    \Big(M\,\frac{\partial L}{\partial y} - \sum_{\text{all ranks}} \frac{\partial L}{\partial y}
    - \hat x \sum_{\text{all ranks}} \frac{\partial L}{\partial y}\hat x\Big)

(the BatchNorm input gradient with the sums taken over all ranks; the gradients of gamma and
beta stay local, and DistributedDataParallel averages them with the other gradients). This is
how ``torch.nn.SyncBatchNorm`` works. Outside a process group of two or more ranks, or in eval
mode, it is exactly ``BatchNorm``.
"""
from __future__ import annotations

import sys

from .._backend import array_module
from ..autograd import Function
from ..errors import ShapeError
from .batchnorm import _BatchNorm


def _group():
    """The default process group when one with two or more ranks is running, else None.

    ``convnet.distributed`` is an application layer: it is only consulted if something imported it.
    """
    dist = sys.modules.get("convnet.distributed")
    if dist is None or not dist.is_initialized():
        return None
    g = dist.collectives._default_group()
    return g if g.size > 1 else None


def _all_reduce_sum(group, buf, what):
    from ..distributed import ReduceOp

    group.iallreduce(buf, ReduceOp.SUM, what).wait()


class SyncBatchNormFunction(Function):
    """Forward: normalise with the global batch statistics (put into ``stats`` for the running averages);
    backward: the BN gradient with the sums over all ranks."""

    def forward(self, x, weight, bias, *, group, eps, stats):
        xp = array_module(x)
        C = x.shape[1]
        axes = (0,) + tuple(range(2, x.ndim))  # every axis but the channel one
        bshape = (1, C) + (1,) * (x.ndim - 2)
        moments = xp.empty(2 * C + 1, xp.float64)  # [sum x (C), sum x^2 (C), count]
        moments[:C] = x.sum(axis=axes, dtype=xp.float64)
        moments[C:2 * C] = xp.square(x, dtype=xp.float64).sum(axis=axes)
        moments[2 * C] = x.size // C
        _all_reduce_sum(group, moments, "SyncBatchNorm: all-reduce of the batch statistics")
        M = float(moments[2 * C])
        mean = moments[:C] / M
        var = xp.maximum(moments[C:2 * C] / M - mean * mean, 0.0)  # biased, for normalising
        invstd = 1.0 / xp.sqrt(var + eps)
        x_hat = ((x - mean.astype(x.dtype).reshape(bshape)) * invstd.astype(x.dtype).reshape(bshape))
        self.save_for_backward(x_hat, invstd.astype(x.dtype), weight)
        self.group, self.M, self.axes, self.bshape = group, M, axes, bshape
        stats["mean"], stats["var_unbiased"] = mean, var * (M / max(M - 1.0, 1.0))  # for the running statistics
        return x_hat * weight.reshape(bshape) + bias.reshape(bshape)

    def backward(self, grad_out):
        x_hat, invstd, weight = self.saved_tensors
        xp = array_module(grad_out)
        C, axes, bshape = weight.shape[0], self.axes, self.bshape
        sums = xp.empty(2 * C, xp.float64)  # [sum dy (C), sum dy * x_hat (C)], this rank's
        sums[:C] = grad_out.sum(axis=axes, dtype=xp.float64)
        sums[C:] = (grad_out * x_hat).sum(axis=axes, dtype=xp.float64)
        grad_weight = sums[C:].astype(weight.dtype) if self.needs_input_grad[1] else None
        grad_bias = sums[:C].astype(weight.dtype) if self.needs_input_grad[2] else None
        grad_x = None
        if self.needs_input_grad[0]:
            _all_reduce_sum(self.group, sums, "SyncBatchNorm: all-reduce of the gradient sums")
            dt = grad_out.dtype
            M = self.M
            # dL/dx = gamma * invstd / M * (M dy - sum dy - x_hat * sum(dy x_hat)), sums over all ranks
            grad_x = (weight * invstd / M).reshape(bshape) * (
                M * grad_out - sums[:C].astype(dt).reshape(bshape) - x_hat * sums[C:].astype(dt).reshape(bshape))
        return grad_x, grad_weight, grad_bias


class SyncBatchNorm(_BatchNorm):
    """Batch normalization with the statistics of the global batch over all ranks (``torch.nn.SyncBatchNorm``).

    Args:
        num_features: C.
        eps, momentum, affine, track_running_stats: as :class:`BatchNorm2d`.
        process_group: accepted for torch compatibility; the default group is used.

    Shape:
        ``(N, C, *)`` -> same (any number of spatial dimensions, including none).

    Attributes:
        weight, bias: ``(C,)``; running_mean, running_var: ``(C,)`` buffers updated with the global
        batch mean and unbiased variance (the same on every rank).

    Example:
        >>> import convnet as cn
        >>> model = cn.nn.SyncBatchNorm.convert_sync_batchnorm(cn.models.get("resnet20"))
        >>> sum(isinstance(m, cn.nn.SyncBatchNorm) for m in model.modules())
        19
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None, *, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype=dtype)
        self.process_group = process_group

    def _check_input_dim(self, input):
        if input.ndim < 2:
            raise ShapeError(f"SyncBatchNorm: expected at least 2D input (N, C, *), got {input.ndim}D input of "
                             f"shape {input.shape}")

    def forward(self, input):
        self._check_input_dim(input)
        group = _group()
        if group is None or not self.training:
            return super().forward(input)
        if input.shape[1] != self.num_features:
            raise ShapeError(f"SyncBatchNorm: expected {self.num_features} channels (dim 1), got input of shape "
                             f"{input.shape}")
        from ..tensor import Tensor

        xp = array_module(input._data)
        weight = self.weight if self.weight is not None else Tensor(xp.ones(self.num_features, input.dtype))
        bias = self.bias if self.bias is not None else Tensor(xp.zeros(self.num_features, input.dtype))
        stats = {}
        out = SyncBatchNormFunction.apply(input, weight, bias, group=group, eps=self.eps, stats=stats)
        if self.track_running_stats:
            self.num_batches_tracked._data = self.num_batches_tracked._data + 1
            m = 1.0 / float(self.num_batches_tracked._data) if self.momentum is None else self.momentum
            for buf, stat in ((self.running_mean, stats["mean"]), (self.running_var, stats["var_unbiased"])):
                buf._data[...] = ((1 - m) * buf._data + m * stat).astype(buf._data.dtype)
        return out

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every ``BatchNorm1d/2d/3d`` replaced by a ``SyncBatchNorm`` sharing its
        parameters and holding its running statistics (returns the new root when ``module`` is one)."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, cls):
            out = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
                      process_group)
            if module.affine:
                out.weight, out.bias = module.weight, module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.train(module.training)
        for name, child in list(module._modules.items()):
            if child is not None:
                setattr(out, name, cls.convert_sync_batchnorm(child, process_group))
        return out


__all__ = ["SyncBatchNorm", "SyncBatchNormFunction"]
