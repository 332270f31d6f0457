"""Max unpooling modules (``torch.nn.MaxUnpool1d/2d/3d``): no parameters, they call
:func:`convnet.functional.max_unpool2d` and friends."""
from __future__ import annotations

from ..functional import unpool as F
from .module import Module


class _MaxUnpoolNd(Module):
    _fn = None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = stride if stride is not None else kernel_size

    def forward(self, input, indices, output_size=None):
        return type(self)._fn(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of :class:`MaxPool2d`: values back at their max positions, zeros elsewhere.

    Args:
        kernel_size, stride (default ``kernel_size``), padding: those of the max pooling undone.

    Shape:
        - Input: ``(N, C, H, W)`` and indices of the same shape (from ``MaxPool2d(return_indices=True)``)
        - Output: ``(N, C, H_out, W_out)``, ``H_out = (H - 1) * stride - 2 * padding + kernel_size``,
          or ``output_size`` given to ``forward``

    Example:
        >>> import convnet as cn
        >>> pool, unpool = cn.nn.MaxPool2d(2, return_indices=True), MaxUnpool2d(2)
        >>> y, i = pool(cn.randn(1, 1, 4, 4))
        >>> tuple(unpool(y, i).shape)
        (1, 1, 4, 4)
    """
    _fn = staticmethod(F.max_unpool2d)


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of :class:`MaxPool1d`, ``(N, C, L) -> (N, C, L_out)`` (see :class:`MaxUnpool2d`)."""
    _fn = staticmethod(F.max_unpool1d)


class MaxUnpool3d(_MaxUnpoolNd):
    """Partial inverse of :class:`MaxPool3d` (see :class:`MaxUnpool2d`)."""
    _fn = staticmethod(F.max_unpool3d)


__all__ = ["MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d"]
